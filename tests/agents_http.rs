//! `necromap mcp-observe --http UPSTREAM --listen 127.0.0.1:0` in front of
//! a real Streamable HTTP MCP server (necromap's own `--mcp --http` on the
//! demo host, behind its token), with the official Python SDK as the
//! client (`tests/agents/http_client.py`): the client lists the tools and
//! calls one through the relay; a live refresh marks the upstream's
//! process as the observed server; the store then holds the server's spec
//! and the call, a malformed body is relayed and counted, and the token is
//! nowhere in the store or the relay's output. Traffic flows when the
//! store cannot be opened. A non-loopback `--listen` is refused.

mod sdk_venv;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use necromap::agents::evaluator::AgentEvaluator;
use necromap::collect::{LinuxSource, LiveOptions, Source};
use necromap::model::{Pid, SnapshotBuilder, Subject};
use necromap::rules::{Engine, IocSet, RuleSet};
use necromap::spec::Spec;

const BIN: &str = env!("CARGO_BIN_EXE_necromap");
const TOKEN: &str = "relay-test-token-4f1e9c0b7a2d6e83";

/// A child killed and reaped on drop, even when the test fails.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Read `stderr` on a thread until a line holds `marker`; the rest is
/// collected and returned when the child ends.
fn watch(stderr: ChildStderr, marker: &'static str) -> (String, mpsc::Receiver<String>) {
    let (first_tx, first_rx) = mpsc::channel();
    let (all_tx, all_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut all = String::new();
        let mut first = Some(first_tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains(marker)
                && let Some(tx) = first.take()
            {
                let _ = tx.send(line.clone());
            }
            all.push_str(&line);
            all.push('\n');
        }
        let _ = all_tx.send(all);
    });
    let line = first_rx.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| panic!("no line with `{marker}` within 60 s"));
    (line, all_rx)
}

fn url_after(line: &str, marker: &str) -> String {
    let rest = line.split_once(marker).unwrap_or_else(|| panic!("{marker} in {line}")).1;
    format!("http://{}", rest.split_whitespace().next().unwrap_or_default().trim_end_matches([';', ',']))
}

/// A raw POST of a body that is not JSON-RPC, through the relay.
fn post_garbage(relay: &str) -> String {
    let addr = relay.trim_start_matches("http://").split('/').next().unwrap_or_default().to_owned();
    let mut s = std::net::TcpStream::connect(&addr).expect("connect to the relay");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let body = "{this is not json";
    write!(
        s,
        "POST /mcp HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer
}

fn wait_exit(child: &mut Reaped, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(s) = child.0.try_wait().expect("wait") {
            return s;
        }
        assert!(Instant::now() < deadline, "the relay did not end after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn holds(path: &Path, needle: &[u8]) -> bool {
    std::fs::read(path).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle))
}

/// The upstream (`necromap --mcp --http` on the demo host, behind TOKEN)
/// and the relay in front of it, recording in `db`: the children, the
/// upstream's URL, the relay's URL and the relay's output when it ends.
fn upstream_and_relay(tmp: &Path, db: &Path) -> (Reaped, Reaped, String, String, mpsc::Receiver<String>) {
    let mut server = Reaped(
        Command::new(BIN)
            .args(["--mcp", "--http", "127.0.0.1:0", "--demo", "--no-store", "--interval", "200ms"])
            .env("NECROMAP_MCP_TOKEN", TOKEN)
            .env("XDG_DATA_HOME", tmp)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the upstream server"),
    );
    let (line, _) = watch(server.0.stderr.take().expect("stderr"), "at http://");
    let upstream = url_after(&line, "at http://");
    let mut relay = Reaped(
        Command::new(BIN)
            .arg("--db")
            .arg(db)
            .args(["mcp-observe", "--http", &upstream, "--listen", "127.0.0.1:0"])
            .env("HOME", tmp)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the relay"),
    );
    let (line, relay_log) = watch(relay.0.stderr.take().expect("stderr"), "relaying http://");
    let through = url_after(&line, "relaying http://");
    assert!(through.starts_with("http://127.0.0.1:") && through.ends_with("/mcp"), "{line}");
    (server, relay, upstream, through, relay_log)
}

/// One live refresh of this namespace judged with the observed servers
/// in `db`: the ids and subjects of the findings.
fn live_marks(db: &Path) -> Vec<(String, Subject)> {
    let options = LiveOptions { trace_connects: false, names: None, own_namespace_only: true };
    let mut source = LinuxSource::open_with(options).expect("netlink sock_diag");
    let info = source.info();
    let obs = source.collect().expect("collect");
    let engine = Engine::new(RuleSet::embedded(), IocSet::new());
    let mut judged = AgentEvaluator::new(engine, Some(db.to_path_buf()), Vec::new());
    let snap = SnapshotBuilder::new(Arc::new(Spec::embedded())).build(obs, info, Some(&mut judged));
    snap.findings.iter().map(|f| (f.id.clone(), f.subject)).collect()
}

/// The SDK client through the relay at `through`: what it saw.
fn sdk_client(python: &Path, through: &str) -> serde_json::Value {
    let client = Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/agents/http_client.py"))
        .args([through, TOKEN])
        .env("PYTHONUNBUFFERED", "1")
        .output()
        .expect("run the SDK client");
    let out = String::from_utf8_lossy(&client.stdout);
    assert!(client.status.success(), "the SDK client failed through the relay:\n{out}\n{}", String::from_utf8_lossy(&client.stderr));
    let seen: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON line");
    assert_eq!(seen["is_error"], false, "{seen}");
    seen
}

fn stop(relay: &mut Reaped) -> std::process::ExitStatus {
    let kill = Command::new("kill").args(["-TERM", &relay.0.id().to_string()]).status().expect("kill");
    assert!(kill.success());
    wait_exit(relay, Duration::from_secs(20))
}

#[test]
fn the_sdk_lists_and_calls_through_the_relay_and_the_store_holds_spec_and_call_but_no_token() {
    let python = sdk_venv::sdk("1.27.0");
    let tmp = tempfile::tempdir().expect("tmp");
    let db = tmp.path().join("events.db");
    let (server, mut relay, upstream, through, relay_log) = upstream_and_relay(tmp.path(), &db);
    let seen = sdk_client(&python, &through);
    let names: Vec<&str> = seen["tools"].as_array().expect("tools").iter().filter_map(|t| t.as_str()).collect();
    assert!(names.contains(&"list_connections") && names.len() >= 10, "{seen}");

    let garbage = post_garbage(&through);
    assert!(garbage.starts_with("HTTP/1.1 4"), "the upstream's refusal comes back: {garbage}");

    // On the map, while the relay runs: the process listening on the
    // upstream's port is marked as the observed server.
    let upstream_pid = server.0.id();
    let marked = live_marks(&db);
    assert!(
        marked.iter().any(|(id, subject)| *id == format!("mcp_server@{upstream_pid}") && *subject == Subject::Process { pid: Pid(upstream_pid) }),
        "the upstream (pid {upstream_pid}) is not marked as an MCP server: {marked:?}"
    );

    let status = stop(&mut relay);
    assert!(status.success(), "{status:?}");
    let log = relay_log.recv_timeout(Duration::from_secs(10)).expect("the relay's output");
    assert!(log.contains("1 calls") && !log.contains(TOKEN), "{log}");
    let mut stdout = String::new();
    relay.0.stdout.take().expect("stdout").read_to_string(&mut stdout).expect("stdout");
    assert!(!stdout.contains(TOKEN));

    let conn = necromap::store::open_reader(&db).expect("store");
    let servers = necromap::agents::query::servers(&conn).expect("servers");
    assert_eq!(servers.len(), 1, "{servers:?}");
    let s = &servers[0];
    assert_eq!(s.server_key, upstream, "keyed by the upstream URL");
    assert_eq!((s.name.as_deref(), s.calls, s.tools as usize, s.spec_versions), (Some("necromap"), 1, names.len(), 1), "{s:?}");
    assert!(s.last_ended_ms.is_some(), "{s:?}");
    let (_, latest, _) = necromap::agents::query::specs(&conn, &s.server_key).expect("specs").expect("a spec");
    let lc = latest.iter().find(|t| t.name == "list_connections").expect("list_connections in the spec");
    assert!(!lc.description.is_empty() && lc.input_schema["properties"]["limit"].is_object(), "{lc:?}");
    let calls = necromap::agents::query::calls(&conn, &necromap::agents::query::CallFilter { limit: 10, ..Default::default() }).expect("calls");
    assert_eq!(calls.len(), 1, "{calls:?}");
    let c = &calls[0];
    assert_eq!((c.tool.as_str(), c.arguments.as_str(), c.error.as_deref()), ("list_connections", r#"{"limit":5}"#, None), "{c:?}");
    assert!(c.result_bytes.is_some_and(|b| b > 100) && c.duration_ms.is_some(), "{c:?}");
    let malformed: i64 = conn.query_row("SELECT malformed FROM mcp_servers", [], |r| r.get(0)).expect("row");
    assert!(malformed >= 1, "the garbage body is counted: {malformed}");
    drop(conn);
    for f in std::fs::read_dir(tmp.path()).expect("dir").filter_map(Result::ok) {
        assert!(!holds(&f.path(), TOKEN.as_bytes()), "the token is in {}", f.path().display());
    }
}

#[test]
fn traffic_flows_through_the_relay_when_the_store_cannot_be_opened() {
    let python = sdk_venv::sdk("1.27.0");
    let tmp = tempfile::tempdir().expect("tmp");
    let (_server, mut relay, _, through, relay_log) = upstream_and_relay(tmp.path(), Path::new("/dev/null/cannot/events.db"));
    let seen = sdk_client(&python, &through);
    assert!(seen["tools"].as_array().is_some_and(|t| t.len() >= 10), "{seen}");
    assert!(stop(&mut relay).success());
    let log = relay_log.recv_timeout(Duration::from_secs(10)).expect("the relay's output");
    assert!(log.contains("not recording (traffic still flows)") && log.contains("1 calls"), "{log}");
}

#[test]
fn a_non_loopback_listen_address_is_refused() {
    let out = Command::new(BIN)
        .args(["--no-store", "mcp-observe", "--http", "http://127.0.0.1:9/mcp", "--listen", "0.0.0.0:0"])
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--listen 0.0.0.0:0 is not a loopback address"), "{err}");
    let https = Command::new(BIN)
        .args(["--no-store", "mcp-observe", "--http", "https://127.0.0.1:9/mcp", "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert!(!https.status.success() && String::from_utf8_lossy(&https.stderr).contains("only http://"), "{}", String::from_utf8_lossy(&https.stderr));
}
