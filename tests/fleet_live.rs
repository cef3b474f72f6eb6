//! The fleet end to end, for real: a PostgreSQL started here, two agents
//! (`necromap agent --netns self`), each inside a network namespace this
//! test makes (joined by a veth pair, 10.77.0.1/24 and 10.77.0.2/24), a
//! client on host A talking to a server on host B.
//!
//! - the fleet MCP (`necromap --mcp --fleet`) shows the host-to-host edge
//!   with both processes, and who talks to B's address;
//! - PostgreSQL stopped for 20 s while A keeps connecting: the agent
//!   queues, and once PostgreSQL is back every connection made meanwhile
//!   is there, none twice;
//! - the fleet explorer's frame shows both hosts and the edge.
//!
//! Needs root (namespaces), `ip`, `python3`, `setpriv` and PostgreSQL:
//! CI runs as root with them installed (.ci/run). The agents reach
//! PostgreSQL over its Unix socket, which knows no network namespace.

#![allow(clippy::doc_markdown)] // "PostgreSQL" is a name, not code

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::pg::Pg;
use common::{Reaped, require, spawn_group};

const BIN: &str = env!("CARGO_BIN_EXE_necromap");
const PORT: u16 = 18_080;

/// Two namespaces joined by a veth pair; removed when dropped.
struct Netns {
    a: String,
    b: String,
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(out.status.success(), "ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
}

impl Netns {
    fn make() -> Netns {
        let id = std::process::id() % 10_000_000;
        let ns = Netns { a: format!("nmfleet-a-{id}"), b: format!("nmfleet-b-{id}") };
        ip(&["netns", "add", &ns.a]);
        ip(&["netns", "add", &ns.b]);
        let (va, vb) = (format!("nmfa{id}"), format!("nmfb{id}"));
        ip(&["link", "add", &va, "type", "veth", "peer", "name", &vb]);
        ip(&["link", "set", &va, "netns", &ns.a]);
        ip(&["link", "set", &vb, "netns", &ns.b]);
        for (n, v, addr) in [(&ns.a, &va, "10.77.0.1/24"), (&ns.b, &vb, "10.77.0.2/24")] {
            ip(&["-n", n, "addr", "add", addr, "dev", v]);
            ip(&["-n", n, "link", "set", v, "up"]);
            ip(&["-n", n, "link", "set", "lo", "up"]);
        }
        ns
    }

    fn exec(ns: &str, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns, program]);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting a namespace deletes its end of the veth pair, and so both.
        let _ = Command::new("ip").args(["netns", "del", &self.a]).status();
        let _ = Command::new("ip").args(["netns", "del", &self.b]).status();
    }
}

const SERVER: &str = "
import socket, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', 18080)); s.listen(64)
def serve(c):
    while c.recv(1024): pass
    c.close()
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
";

const CLIENT: &str = "
import socket, time
c = socket.create_connection(('10.77.0.2', 18080)); time.sleep(3600)
";

/// Connects `n` times, each held 1.5 s, writing each local port to a file.
const CLIENT_LOOP: &str = "
import socket, sys, time
out = open(sys.argv[1], 'w')
for i in range(int(sys.argv[2])):
    c = socket.create_connection(('10.77.0.2', 18080))
    out.write('%d\\n' % c.getsockname()[1]); out.flush()
    time.sleep(1.5); c.close(); time.sleep(0.3)
";

fn agent(ns: &str, name: &str, pg: &Pg, dir: &Path) -> Reaped {
    let mut c = Netns::exec(ns, BIN);
    c.args(["agent", "--fleet", &pg.socket_url(), "--host-name", name, "--netns", "self", "--interval", "500ms", "-n", "--no-trace"])
        .arg("--db")
        .arg(dir.join(format!("{name}.db")))
        .arg("--log")
        .arg(dir.join(format!("{name}.log")))
        .env("XDG_CONFIG_HOME", dir)
        .env("XDG_DATA_HOME", dir);
    spawn_group(c)
}

fn outbox_depth(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).expect("open the agent's store");
    conn.busy_timeout(Duration::from_secs(5)).expect("busy timeout");
    conn.query_row("SELECT count(*) FROM fleet_outbox", [], |r| r.get(0)).unwrap_or(-1)
}

/// Poll `check` every 250 ms until it gives something or `limit` passes.
async fn until<T>(limit: Duration, what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "gave up after {limit:?} waiting for {what}; the agents said:\n{}", logs());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

static LOG_DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// The agents' logs (where a failure says why).
fn logs() -> String {
    LOG_DIR.get().map_or_else(String::new, |d| {
        let mut out = String::new();
        for f in ["host-a.log", "host-b.log"] {
            out.push_str("--- ");
            out.push_str(f);
            out.push('\n');
            out.push_str(&std::fs::read_to_string(Path::new(&d).join(f)).unwrap_or_default());
        }
        out
    })
}

/// `necromap --mcp --fleet URL` over stdio, line by line.
struct Mcp {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    next_id: u64,
}

impl Drop for Mcp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Mcp {
    fn start(url: &str, dir: &Path) -> Mcp {
        let mut child = Command::new(BIN)
            .args(["--mcp", "--fleet", url])
            .env("XDG_CONFIG_HOME", dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the fleet MCP server");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut m = Mcp { child, stdin, lines, next_id: 1 };
        let init = m.request(
            "initialize",
            &serde_json::json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "fleet-test", "version": "1"}}),
        );
        assert_eq!(init["result"]["serverInfo"]["name"], "necromap-fleet", "{init}");
        m.send(&serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        m
    }

    fn send(&mut self, v: &serde_json::Value) {
        writeln!(self.stdin, "{v}").expect("write to the server");
        self.stdin.flush().expect("flush");
    }

    fn request(&mut self, method: &str, params: &serde_json::Value) -> serde_json::Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let line = self.lines.recv_timeout(Duration::from_secs(30)).expect("an answer within 30 s");
            let v: serde_json::Value = serde_json::from_str(&line).expect("JSON-RPC");
            if v["id"] == id {
                return v;
            }
        }
    }

    fn call(&mut self, tool: &str, args: &serde_json::Value) -> serde_json::Value {
        let v = self.request("tools/call", &serde_json::json!({"name": tool, "arguments": args}));
        assert_ne!(v["result"]["isError"], true, "{tool}: {v}");
        v["result"]["structuredContent"].clone()
    }
}

#[tokio::test(flavor = "current_thread")]
#[allow(clippy::too_many_lines)] // one scenario, step by step
async fn two_agents_one_edge_an_outage_loses_nothing() {
    assert!(rustix::process::geteuid().is_root(), "this test makes network namespaces: run it as root (CI does)");
    for tool in ["ip", "python3", "setpriv"] {
        require(tool);
    }
    let dir = tempfile::tempdir().expect("tmp");
    let _ = LOG_DIR.set(dir.path().to_path_buf());
    let pg = Pg::start();
    let net = Netns::make();
    let mut server = Netns::exec(&net.b, "python3");
    server.args(["-c", SERVER]);
    let server = spawn_group(server);
    let agent_b = agent(&net.b, "host-b", &pg, dir.path());
    let agent_a = agent(&net.a, "host-a", &pg, dir.path());
    // The client once the server listens (connect until it works).
    let mut client = Netns::exec(&net.a, "python3");
    client.args([
        "-c",
        &format!(
            "import time\nfor i in range(100):\n    try:\n{}\n    except OSError: time.sleep(0.1)",
            CLIENT.trim().lines().map(|l| format!("        {l}")).collect::<Vec<_>>().join("\n")
        ),
    ]);
    let client = spawn_group(client);

    let db = pg.client().await;
    let filter = necromap::fleet::edges::EdgeFilter { hosts: vec![], port: Some(PORT), window: Duration::from_secs(600), limit: 10 };
    let deadline = Instant::now() + Duration::from_secs(90);
    let edge = loop {
        let edges = necromap::fleet::edges::fleet_edges(&db, &filter).await.unwrap_or_default();
        if let Some(e) = edges.iter().find(|e| e.from.pid == Some(client.pid().0 as i32)) {
            break e.clone();
        }
        if Instant::now() > deadline {
            let rows = db
                .query("SELECT host_id || ' ' || kind || ' ' || direction || ' ' || state || ' ' || host(local_ip) || ':' || local_port || ' ' || host(remote_ip) || ':' || remote_port || ' ' || coalesce(pid::text, '-') || ' ' || coalesce(comm, '-') FROM socket_events ORDER BY at", &[])
                .await
                .expect("events");
            let rows: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
            panic!(
                "no edge from the client (pid {}, server pid {}) after 90 s; edges: {edges:?}\nevents:\n{}\n{}",
                client.pid().0,
                server.pid().0,
                rows.join("\n"),
                logs()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!((edge.from.host.as_str(), edge.to.host.as_str()), ("host-a", "host-b"), "{edge:?}");
    assert_eq!(edge.to.pid, Some(server.pid().0 as i32), "the server's process is the edge's other end: {edge:?}");
    assert_eq!((edge.from.process.as_deref(), edge.to.process.as_deref()), (Some("python3"), Some("python3")));
    assert_eq!(edge.address, "10.77.0.2");

    // The fleet MCP says the same.
    let mut mcp = Mcp::start(&pg.url(), dir.path());
    let tools = mcp.request("tools/list", &serde_json::json!({}));
    let names: Vec<&str> = tools["result"]["tools"].as_array().expect("tools").iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names.len(), 5, "{names:?}");
    for n in ["list_hosts", "fleet_edges", "who_talks_to", "fleet_threats", "host_sockets"] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
    let hosts = mcp.call("list_hosts", &serde_json::json!({}));
    let mut host_names: Vec<&str> = hosts["hosts"].as_array().expect("hosts").iter().filter_map(|h| h["name"].as_str()).collect();
    host_names.sort_unstable();
    assert_eq!(host_names, vec!["host-a", "host-b"], "{hosts}");
    let edges = mcp.call("fleet_edges", &serde_json::json!({"hosts": ["host-b"], "port": PORT}));
    let found = edges["edges"].as_array().expect("edges").iter().find(|e| e["from"]["pid"] == client.pid().0).cloned().unwrap_or_default();
    assert_eq!(found["from"]["host"], "host-a", "{edges}");
    assert_eq!(found["from"]["process"], "python3", "{edges}");
    assert_eq!(found["to"]["host"], "host-b", "{edges}");
    assert_eq!(found["to"]["pid"], server.pid().0, "{edges}");
    assert_eq!(found["to"]["process"], "python3", "{edges}");
    let none = mcp.request("tools/call", &serde_json::json!({"name": "fleet_edges", "arguments": {"hosts": ["no-such-host"]}}));
    assert_eq!(none["result"]["isError"], true, "an unknown host is an error: {none}");
    assert!(none.to_string().contains("host-a, host-b"), "the error lists the known hosts: {none}");
    let who = mcp.call("who_talks_to", &serde_json::json!({"address": "10.77.0.2:18080"}));
    assert_eq!(who["owned_by"][0]["host"], "host-b", "{who}");
    assert!(who["talkers"].as_array().expect("talkers").iter().any(|t| t["host"] == "host-a" && t["pid"] == client.pid().0), "{who}");
    let bad = mcp.request("tools/call", &serde_json::json!({"name": "who_talks_to", "arguments": {"address": "not an address"}}));
    assert_eq!(bad["result"]["isError"], true, "{bad}");
    let threats = mcp.call("fleet_threats", &serde_json::json!({"hours": 1}));
    assert!(threats["fleet_findings"].is_array(), "{threats}");
    // The edge can show through B's accepted socket before B's agent has
    // shipped its listener: poll, with a deadline.
    let listens =
        |v: &serde_json::Value| v["sockets"].as_array().is_some_and(|a| a.iter().any(|s| s["direction"] == "listen" && s["local"] == "0.0.0.0:18080"));
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut sockets = mcp.call("host_sockets", &serde_json::json!({"host": "host-b"}));
    while !listens(&sockets) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
        sockets = mcp.call("host_sockets", &serde_json::json!({"host": "host-b"}));
    }
    assert!(listens(&sockets), "host-b's listener within 20 s: {sockets}");

    // The explorer's frame: both hosts and the edge.
    let map = necromap::fleet::view::load(&db).await.expect("the fleet map");
    let screen = necromap::tui::fleet_view::FleetScreen { map, ..Default::default() };
    let area = ratatui::layout::Rect::new(0, 0, 100, 8);
    let mut buf = ratatui::buffer::Buffer::empty(area);
    let theme = necromap::tui::theme::Theme { plain: true, glow: false, look: necromap::tui::theme::Look::default() };
    screen.render(theme, area, &mut buf);
    let frame: String =
        (0..area.height).map(|y| (0..area.width).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>().trim_end().to_string() + "\n").collect();
    // Counts of sockets and connections vary with timing, and a host's
    // worst severity with the machine (its posture checks, its other
    // sockets): both are masked, at their width; the rest may not vary.
    let frame = regex::Regex::new(r"×\d+").expect("re").replace_all(&frame, "×N");
    let frame = regex::Regex::new(r"(-|info|low|medium|high|critical)( +)\d+ ")
        .expect("re")
        .replace_all(&frame, |c: &regex::Captures| format!("{:<width$}N ", "sev", width = c[1].len() + c[2].len()));
    insta::assert_snapshot!("fleet_explorer_two_hosts", frame);

    // PostgreSQL away for 20 s while host A keeps connecting.
    drop(mcp);
    drop(db);
    let ports_file = dir.path().join("ports");
    pg.down();
    let down_at = Instant::now();
    let mut looping = Netns::exec(&net.a, "python3");
    looping.args(["-c", CLIENT_LOOP]).arg(&ports_file).arg("8");
    let mut looping = spawn_group(looping);
    let a_db = dir.path().join("host-a.db");
    let queued = until(Duration::from_secs(20), "batches queued in host A's outbox", async || Some(outbox_depth(&a_db)).filter(|d| *d > 0)).await;
    assert!(queued > 0);
    let loop_end = Instant::now() + Duration::from_secs(30);
    while looping.0.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < loop_end, "the client loop did not finish");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    while down_at.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(outbox_depth(&a_db) >= queued, "nothing left the outbox while PostgreSQL was down");
    pg.up();
    let ports: Vec<i32> = std::fs::read_to_string(&ports_file).expect("ports").lines().map(|l| l.trim().parse().expect("a port")).collect();
    assert_eq!(ports.len(), 8, "the client made its connections");
    let db = pg.client().await;
    until(Duration::from_secs(90), "both outboxes sent", async || (outbox_depth(&a_db) == 0 && outbox_depth(&dir.path().join("host-b.db")) == 0).then_some(()))
        .await;
    let rows = db
        .query(
            "SELECT local_port, kind, state, socket_id, at::text FROM socket_events WHERE host_id = 'host-a' AND remote_ip = '10.77.0.2' AND remote_port = $1 AND local_port = ANY($2) ORDER BY at",
            &[&i32::from(PORT), &ports],
        )
        .await
        .expect("events");
    for p in &ports {
        for kind in ["opened", "closed"] {
            assert!(
                rows.iter().any(|r| r.get::<_, i32>(0) == *p && r.get::<_, String>(1) == kind),
                "the connection from port {p} made while PostgreSQL was down has its `{kind}` event; host A sent: {:?}",
                rows.iter()
                    .map(|r| (r.get::<_, i32>(0), r.get::<_, String>(1), r.get::<_, String>(2), r.get::<_, String>(3), r.get::<_, String>(4)))
                    .collect::<Vec<_>>()
            );
        }
    }
    let twice: i64 = db
        .query_one("SELECT count(*) FROM (SELECT host_id, socket_id, kind FROM socket_events GROUP BY 1, 2, 3 HAVING count(*) > 1) d", &[])
        .await
        .expect("dups")
        .get(0);
    assert_eq!(twice, 0, "no event is stored twice");
    // Host B saw the same connections arrive.
    let inbound: i64 = db
        .query_one(
            "SELECT count(DISTINCT remote_port) FROM socket_events WHERE host_id = 'host-b' AND direction = 'inbound' AND remote_port = ANY($1)",
            &[&ports],
        )
        .await
        .expect("inbound")
        .get(0);
    assert_eq!(inbound, 8, "host B's agent shipped the accepted side of each");
    drop((agent_a, agent_b, client, server));
}
