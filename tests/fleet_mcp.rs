//! The fleet MCP tools narrowed to hosts, on a real PostgreSQL started
//! here: `list_hosts`, `fleet_edges`, `who_talks_to` and `fleet_threats`
//! take `hosts` (ids or names), `host_sockets` takes `host`, and a host
//! the fleet does not know is an error that lists the ones it does. The
//! tools are called in-process (the server over stdio is `fleet_live.rs`).

#![allow(clippy::doc_markdown)] // "PostgreSQL" is a name, not code

mod common;

use std::time::SystemTime;

use common::fleet::{host, migrated, opened, row};
use common::pg::Pg;
use necromap::fleet::batch::{Batch, FindingRow};
use necromap::fleet::ship::{AgentHealth, apply};
use necromap::mcp::tools_fleet::FleetServer;
use necromap::model::{Direction, Severity};
use rmcp::handler::server::wrapper::Parameters;
use serde_json::{Value, json};

/// The structured answer of a tool, or its error text.
fn out(r: Result<rmcp::model::CallToolResult, String>) -> Result<Value, String> {
    r.map(|r| r.structured_content.unwrap_or(Value::Null))
}

fn args<T: serde::de::DeserializeOwned>(v: Value) -> Parameters<T> {
    Parameters(serde_json::from_value(v).expect("valid arguments"))
}

fn names(v: &Value, list: &str, field: &str) -> Vec<String> {
    let mut n: Vec<String> = v[list].as_array().expect("a list").iter().filter_map(|x| x.pointer(field).and_then(Value::as_str).map(str::to_string)).collect();
    n.sort();
    n
}

#[tokio::test(flavor = "current_thread")]
#[allow(clippy::too_many_lines)] // one fleet, every tool
async fn every_fleet_tool_narrows_to_hosts_and_names_the_known_ones() {
    let pg = Pg::start();
    let mut c = migrated(&pg, true).await;
    let url = necromap::fleet::conn::parse(&pg.url(), &|_| None).expect("url");
    let t = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).expect("clock").as_millis() as i64;
    let health = AgentHealth::default();
    // web-1 talks to db-1:5432 and cache-1:6379; db-1 has a finding.
    let finding = FindingRow {
        id: "net.odd@db".into(),
        rule_id: "net.odd".into(),
        rule_name: "odd".into(),
        severity: Severity::High,
        tags: vec![],
        subject: "postgres".into(),
        pid: Some(70),
        endpoint: None,
        first_seen_ms: t,
        last_seen_ms: t,
    };
    let batches = [
        ("db-1", "10.9.0.2", vec![opened(t, row("tcp:d", Direction::Listen, "0.0.0.0:5432", "0.0.0.0:0", 70, "postgres"))], vec![finding]),
        ("cache-1", "10.9.0.3", vec![opened(t, row("tcp:c", Direction::Listen, "0.0.0.0:6379", "0.0.0.0:0", 80, "redis"))], vec![]),
        (
            "web-1",
            "10.9.0.1",
            vec![
                opened(t, row("tcp:w1", Direction::Outbound, "10.9.0.1:40000", "10.9.0.2:5432", 50, "nginx")),
                opened(t, row("tcp:w2", Direction::Outbound, "10.9.0.1:40001", "10.9.0.3:6379", 50, "nginx")),
            ],
            vec![],
        ),
    ];
    for (name, ip, events, findings) in batches {
        let b = Batch { at_ms: t, host_name: name.into(), resync: true, addresses: Some(vec![ip.parse().expect("ip")]), events, findings, ..Batch::default() };
        assert!(apply(&mut c, &host(name), 1, 1, &b, &health).await.expect("apply"));
    }
    let server = FleetServer::new(url);
    let unknown = |e: Result<Value, String>, what: &str| {
        let e = e.expect_err(what);
        assert!(e.contains("unknown host `nope`") && e.contains("cache-1, db-1, web-1"), "{what}: {e}");
    };

    // list_hosts
    let all = out(server.list_hosts(args(json!({}))).await).expect("list_hosts");
    assert_eq!(all["total"], 3, "{all}");
    let one = out(server.list_hosts(args(json!({"hosts": ["db-1"]}))).await).expect("list_hosts db-1");
    assert_eq!(names(&one, "hosts", "/name"), vec!["db-1"], "{one}");
    unknown(out(server.list_hosts(args(json!({"hosts": ["nope"]}))).await), "list_hosts");

    // fleet_edges: by name, by id, unknown.
    let all = out(server.fleet_edges(args(json!({}))).await).expect("edges");
    assert_eq!(names(&all, "edges", "/to/host"), vec!["cache-1", "db-1"], "{all}");
    let db = out(server.fleet_edges(args(json!({"hosts": ["db-1"]}))).await).expect("edges db-1");
    assert_eq!(names(&db, "edges", "/to/host"), vec!["db-1"], "{db}");
    assert_eq!(db["edges"][0]["from"]["process"], "nginx", "{db}");
    assert_eq!(db["edges"][0]["to"]["process"], "postgres", "{db}");
    let cache = out(server.fleet_edges(args(json!({"hosts": ["id-cache-1"]}))).await).expect("edges by id");
    assert_eq!(names(&cache, "edges", "/to/host"), vec!["cache-1"], "{cache}");
    unknown(out(server.fleet_edges(args(json!({"hosts": ["db-1", "nope"]}))).await), "fleet_edges");

    // who_talks_to: the talker's host in or out of the filter.
    let who = out(server.who_talks_to(args(json!({"address": "10.9.0.2:5432", "hosts": ["web-1"]}))).await).expect("who");
    assert_eq!(names(&who, "talkers", "/host"), vec!["web-1"], "{who}");
    assert_eq!(who["talkers"][0]["process"], "nginx", "{who}");
    let none = out(server.who_talks_to(args(json!({"address": "10.9.0.2:5432", "hosts": ["cache-1"]}))).await).expect("who cache-1");
    assert_eq!(none["talkers"].as_array().map(Vec::len), Some(0), "{none}");
    unknown(out(server.who_talks_to(args(json!({"address": "10.9.0.2", "hosts": ["nope"]}))).await), "who_talks_to");

    // fleet_threats: db-1's finding only when db-1 is asked for.
    let db = out(server.fleet_threats(args(json!({"hosts": ["db-1"], "hours": 1}))).await).expect("threats db-1");
    assert_eq!(names(&db, "findings", "/host"), vec!["db-1"], "{db}");
    let web = out(server.fleet_threats(args(json!({"hosts": ["web-1"], "hours": 1}))).await).expect("threats web-1");
    assert_eq!(web["findings"].as_array().map(Vec::len), Some(0), "{web}");
    unknown(out(server.fleet_threats(args(json!({"hosts": ["nope"]}))).await), "fleet_threats");

    // host_sockets: by name or id; unknown.
    let s = out(server.host_sockets(args(json!({"host": "id-cache-1"}))).await).expect("sockets");
    assert_eq!(s["sockets"][0]["local"], "0.0.0.0:6379", "{s}");
    unknown(out(server.host_sockets(args(json!({"host": "nope"}))).await), "host_sockets");
    // An unknown host did not cost the connection: the next call works.
    assert_eq!(out(server.list_hosts(args(json!({}))).await).expect("again")["total"], 3);
}

/// One POST of `body` to `/mcp` with `headers` (a `Host` among them
/// replaces the server's own); the status code.
fn post_status(addr: std::net::SocketAddr, headers: &[(&str, &str)], body: &str) -> u16 {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(10))).expect("timeout");
    let host = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("host")).map_or_else(|| addr.to_string(), |(_, v)| (*v).to_string());
    let mut head = format!(
        "POST /mcp HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers.iter().filter(|(k, _)| !k.eq_ignore_ascii_case("host")) {
        head.extend([*k, ": ", *v, "\r\n"]);
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).expect("write head");
    s.write_all(body.as_bytes()).expect("write body");
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    String::from_utf8_lossy(&got).split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

/// `necromap --mcp --fleet URL --http`: the single-host server's gate in
/// front of the fleet's tools — 401 without the token, 403 for a foreign
/// Origin or Host, and with the token `list_hosts` names the hosts shipped.
#[tokio::test(flavor = "current_thread")]
async fn the_fleet_over_http_is_gated_and_lists_the_shipped_hosts() {
    use common::mcp::{BIN, INIT, TOKEN, bearer, call_tool, result_of};
    let pg = Pg::start();
    let mut c = migrated(&pg, true).await;
    let t = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).expect("clock").as_millis() as i64;
    let health = AgentHealth::default();
    for (name, ip) in [("alpha-1", "10.8.0.1"), ("beta-2", "10.8.0.2")] {
        let events = vec![opened(t, row("tcp:l", Direction::Listen, "0.0.0.0:22", "0.0.0.0:0", 10, "sshd"))];
        let b = Batch { at_ms: t, host_name: name.into(), resync: true, addresses: Some(vec![ip.parse().expect("ip")]), events, ..Batch::default() };
        assert!(apply(&mut c, &host(name), 1, 1, &b, &health).await.expect("apply"));
    }

    let mut cmd = std::process::Command::new(BIN);
    cmd.args(["--mcp", "--fleet", &pg.url(), "--http", "127.0.0.1:0"]).env("NECROMAP_MCP_TOKEN", TOKEN);
    let server = common::mcp::start_command(cmd);
    assert!(server.banner.contains("token from NECROMAP_MCP_TOKEN"), "{}", server.banner);
    let a = server.addr;
    let auth = bearer();

    assert_eq!(post_status(a, &[], INIT), 401, "no token");
    assert_eq!(post_status(a, &[("Authorization", "Bearer wrong-token-0123456789")], INIT), 401, "a wrong token");
    assert_eq!(post_status(a, &[("Authorization", &auth), ("Origin", "https://evil.example")], INIT), 403, "a foreign Origin");
    assert_eq!(post_status(a, &[("Origin", "https://evil.example")], INIT), 403, "a foreign Origin before the token");
    let status = post_status(a, &[("Authorization", &auth), ("Host", "evil.example")], INIT);
    assert!((400..500).contains(&status), "a foreign Host (DNS rebinding): {status}");
    let own = format!("http://127.0.0.1:{}", a.port());
    assert_eq!(post_status(a, &[("Authorization", &auth), ("Origin", &own)], INIT), 200, "its own Origin");

    let body = call_tool(a, "list_hosts", "{}").expect("list_hosts over HTTP");
    let result = result_of(&body);
    let listed = &result["structuredContent"];
    assert_eq!(listed["total"], 2, "{result}");
    assert_eq!(names(listed, "hosts", "/name"), vec!["alpha-1", "beta-2"], "{result}");
    // The single-host tools are not this server's.
    let other = call_tool(a, "list_connections", "{}").expect("an answer");
    assert!(other.contains("error"), "{other}");
}
