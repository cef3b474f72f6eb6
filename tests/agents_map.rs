//! MCP servers on the map: a running observed server (holding a loopback
//! listener, so the live snapshot has its process) is marked `mcp_server`
//! with its tools and recent calls, and the observer's findings about it
//! join the snapshot's findings on that process.

mod agents_common;

use std::process::Command;

use agents_common::{BIN, Session, fake_home};
use serde_json::{Value, json};

#[test]
fn an_observed_server_is_marked_on_the_live_map_with_its_findings() {
    let tmp = tempfile::tempdir().expect("tmp");
    let home = fake_home(tmp.path());
    let db = tmp.path().join("events.db");
    let mut s = Session::start("victim", &home, &db);
    s.ask("tools/list", json!({}));
    s.call("read_file", json!({"path": home.join(".ssh/id_rsa")}));
    // The observer stores the call after relaying its answer: wait until
    // it is in the store (the snapshot reads the store once, at once).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let filter = necromap::agents::query::CallFilter { limit: 10, ..Default::default() };
    while necromap::store::open_reader(&db).ok().and_then(|c| necromap::agents::query::calls(&c, &filter).ok()).is_none_or(|calls| calls.is_empty()) {
        assert!(std::time::Instant::now() < deadline, "the observer never stored the read_file call");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // The server is still running: take one live snapshot reading the same store.
    let out = Command::new(BIN).arg("--db").arg(&db).args(["--no-trace", "-n", "snapshot", "--format", "json"]).env("HOME", &home).output().expect("snapshot");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let conn = necromap::store::open_reader(&db).expect("store");
    let pid = necromap::agents::query::servers(&conn).expect("servers")[0].pid.expect("pid");
    let findings = doc["findings"].as_array().expect("findings");
    let on_pid = |rule: &str| findings.iter().find(|f| f["rule_id"] == rule && f.to_string().contains(&format!("\"pid\":{pid}")));
    let marker = on_pid("mcp_server").unwrap_or_else(|| panic!("no mcp_server finding on pid {pid}: {findings:?}"));
    assert_eq!(marker["severity"], "info");
    let trace = marker["trace"].to_string();
    assert!(trace.contains("read_file, run_command") && trace.contains("read_file [mcp_sensitive_file_argument"), "{trace}");
    let key = on_pid("mcp_sensitive_file_argument").unwrap_or_else(|| panic!("the observer's finding joins the stream: {findings:?}"));
    assert_eq!(key["severity"], "high");
    assert!(on_pid("mcp_non_loopback_listener").is_none(), "a loopback listener is no exposure");
    assert!(s.finish().success());
}
