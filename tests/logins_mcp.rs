//! Logins end to end, through the binary: `--mcp --demo --db FILE
//! --auth-log FIXTURE` (and `--journal` with a stand-in journalctl)
//! answered by rmcp's client: the brute-forcing party is on the map as an
//! endpoint with a critical finding, in `analyze_ip` with its tally, in the
//! timeline with phases, and proposed for a block; a restart neither
//! loses nor repeats events. Documentation addresses only; every child is
//! reaped and every file removed with its temporary directory.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use rusqlite::Connection;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_necromap");
const AUTH_LOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/auth/auth.log");
const JOURNAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/auth/journal.json");

type Client = RunningService<RoleClient, ()>;

async fn start(db: &Path, source: &[&str], env: Option<(&str, &Path)>) -> Client {
    let transport = TokioChildProcess::new(tokio::process::Command::new(BIN).configure(|c| {
        c.args(["--mcp", "--demo", "--interval", "100ms", "--retention", "3650d"]).arg("--db").arg(db).args(source).stderr(Stdio::null());
        if let Some((k, v)) = env {
            c.env(k, v);
        }
    }))
    .expect("spawn");
    tokio::time::timeout(Duration::from_secs(20), ().serve(transport)).await.expect("handshake in time").expect("handshake")
}

async fn ok(client: &Client, tool: &str, args: Value) -> Value {
    let Value::Object(map) = args else { panic!("object") };
    let r = tokio::time::timeout(Duration::from_secs(20), client.call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(map)))
        .await
        .expect("in time")
        .expect("answer");
    assert_ne!(r.is_error, Some(true), "{tool}: {:?}", r.content);
    r.structured_content.expect("structured")
}

async fn eventually(limit: Duration, mut f: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f().await {
        assert!(Instant::now() < deadline, "condition not met in {limit:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn login_count(db: &Path) -> i64 {
    Connection::open(db).expect("db").query_row("SELECT count(*) FROM login_events", [], |r| r.get(0)).unwrap_or(0)
}

/// The demo's last frame (generation 60) with the logins read.
async fn settled(client: &Client, ip: &str) -> Value {
    let mut last = Value::Null;
    eventually(Duration::from_secs(40), async || {
        last = ok(client, "analyze_ip", json!({ "ip_address": ip, "hours": 8760 })).await;
        last["generation"] == 60 && last["findings"].to_string().contains("login_success_after_failures")
    })
    .await;
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auth_log_puts_brute_force_then_success_on_the_map_critical() {
    let dir = tempfile::tempdir().expect("tmp");
    let (db, log) = (dir.path().join("events.db"), dir.path().join("auth.log"));
    std::fs::copy(AUTH_LOG, &log).expect("fixture");
    let path = log.display().to_string();
    let client = start(&db, &["--auth-log", &path, "--logins-from-start"], None).await;
    let ip = settled(&client, "203.0.113.45").await;
    let findings = ip["findings"].as_array().expect("findings");
    let crit = findings.iter().find(|f| f["id"] == "login_success_after_failures@203.0.113.45").expect("critical finding");
    assert_eq!(crit["severity"], "critical", "{crit}");
    assert!(findings.iter().any(|f| f["id"] == "login_brute_force@203.0.113.45"), "{ip}");
    assert!(ip["attack_phases"].to_string().contains("exploitation"), "{ip}");
    assert_eq!(ip["logins"]["failures_hour"], 12, "{ip}");
    assert!(ip["logins"]["users"].to_string().contains("oracle"), "{ip}");
    assert_eq!(ip["logins"]["accepted_after_failures"][0]["user"], "root");
    assert_eq!(ip["risk_level"], "critical");

    // The party is an endpoint of the map though it holds no socket.
    let sus = ok(&client, "get_suspicious_connections", json!({ "min_severity": "critical", "detail": "full" })).await;
    let f = sus["findings"].as_array().expect("findings").iter().find(|f| f["rule_id"] == "login_success_after_failures").cloned().expect("on the map");
    assert_eq!(f["remote_address"], "203.0.113.45");
    // The near miss draws nothing above low.
    let near = ok(&client, "analyze_ip", json!({ "ip_address": "198.51.100.23", "hours": 8760 })).await;
    assert!(!near["findings"].to_string().contains("brute_force"), "{near}");

    let tl = ok(&client, "get_threat_timeline", json!({ "source_ip": "203.0.113.45", "hours": 8760 })).await;
    let events = tl["events"].as_array().expect("events");
    assert_eq!(events.iter().filter(|e| e["event"] == "login_failed").count(), 12, "{tl}");
    assert!(events.iter().filter(|e| e["event"] == "login_failed").all(|e| e["phase"] == "exploitation"));
    assert_eq!(events.iter().filter(|e| e["event"] == "login_accepted").count(), 1);

    let blocks = ok(&client, "propose_blocks", json!({})).await;
    let proposals = blocks["proposals"].as_array().expect("proposals");
    assert!(proposals.iter().any(|p| p["remote_address"] == "203.0.113.45" && p["reason"].as_str().is_some_and(|r| r.contains("failed logins"))), "{blocks}");
    assert!(!proposals.iter().any(|p| p["remote_address"] == "198.51.100.23"), "nine failures: no block");
    client.cancel().await.expect("shutdown");

    // A restart neither loses nor repeats: one more line while it was down.
    let before = login_count(&db);
    assert!(before > 40, "{before} events stored");
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).expect("append");
    writeln!(f, "2026-11-01T12:01:00.000000+00:00 web1 sshd[3000]: Failed password for root from 192.0.2.200 port 4000 ssh2").expect("write");
    drop(f);
    let client = start(&db, &["--auth-log", &path], None).await;
    eventually(Duration::from_secs(20), async || login_count(&db) > before).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    client.cancel().await.expect("shutdown");
    assert_eq!(login_count(&db), before + 1, "the old events once, the new one once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_is_followed_through_journalctl_and_resumed_after_its_cursor() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("events.db");
    let args = dir.path().join("args.txt");
    // A stand-in journalctl: says how it was called, prints the records, waits.
    let script = dir.path().join("journalctl");
    std::fs::write(&script, format!("#!/bin/sh\necho \"$@\" >> '{}'\ncat '{JOURNAL}'\nexec sleep 600\n", args.display())).expect("script");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    let client = start(&db, &["--journal"], Some(("NECROMAP_JOURNALCTL", &script))).await;
    let ip = settled(&client, "203.0.113.99").await;
    assert_eq!(ip["logins"]["failures_hour"], 11, "{ip}");
    assert!(ip["logins"]["last_hour"].to_string().contains("accepted"), "{ip}");
    let other = ok(&client, "analyze_ip", json!({ "ip_address": "198.51.100.200", "hours": 8760 })).await;
    assert_eq!(other["logins"]["users"][0], "\u{fffd}\u{fffd}", "a MESSAGE of bytes is read: {other}");
    client.cancel().await.expect("shutdown");
    let conn = Connection::open(&db).expect("db");
    let (cursor, malformed): (String, i64) =
        conn.query_row("SELECT cursor, malformed FROM login_positions WHERE source = 'journal'", [], |r| Ok((r.get(0)?, r.get(1)?))).expect("position");
    assert!(cursor.starts_with("s=0123abcd;i=f"), "the last record's cursor: {cursor}");
    assert_eq!(malformed, 1, "the broken last record");
    drop(conn);
    // Started again, journalctl is asked for what came after that cursor.
    let client = start(&db, &["--journal"], Some(("NECROMAP_JOURNALCTL", &script))).await;
    eventually(Duration::from_secs(20), async || std::fs::read_to_string(&args).unwrap_or_default().lines().count() >= 2).await;
    client.cancel().await.expect("shutdown");
    let calls = std::fs::read_to_string(&args).expect("args");
    let calls: Vec<&str> = calls.lines().collect();
    assert!(calls[0].contains("-o json -f") && calls[0].contains("-n 0"), "{calls:?}");
    assert!(calls[1].contains(&format!("--after-cursor={cursor}")), "{calls:?}");
}
