//! The event store and Suricata alerts end to end, through the binary:
//! `--mcp --demo --db FILE --eve FIXTURE` answered by rmcp's client; a
//! restart that neither loses nor repeats alerts; a writer killed with
//! SIGKILL that keeps everything it reported committed. Fixtures use
//! documentation address ranges only; every child is reaped.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rmcp::model::{CallToolRequestParams, ReadResourceRequestParams, ResourceContents};
use rmcp::service::RunningService;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use rusqlite::Connection;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_necromap");
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/eve_alerts.json");

type Client = RunningService<RoleClient, ()>;

/// The fixture's alerts are dated 2026-11-01: a long retention keeps them
/// from being pruned as old whatever today's date is.
async fn start(db: &Path, eve: &Path) -> Client {
    let transport = TokioChildProcess::new(tokio::process::Command::new(BIN).configure(|c| {
        c.args(["--mcp", "--demo", "--interval", "100ms", "--eve-from-start", "--retention", "3650d"])
            .arg("--db")
            .arg(db)
            .arg("--eve")
            .arg(eve)
            .stderr(Stdio::null());
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

/// Poll `f` until it holds (bounded).
async fn eventually(limit: Duration, mut f: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f().await {
        assert!(Instant::now() < deadline, "condition not met in {limit:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn alert_count(db: &Path) -> i64 {
    Connection::open(db).expect("db").query_row("SELECT count(*) FROM alerts", [], |r| r.get(0)).expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_reach_the_map_the_store_and_the_threat_tools() {
    let dir = tempfile::tempdir().expect("tmp");
    let (db, eve) = (dir.path().join("events.db"), dir.path().join("eve.json"));
    std::fs::copy(FIXTURE, &eve).expect("fixture");
    let client = start(&db, &eve).await;
    // Wait until the replay ended and the intake read the file.
    eventually(Duration::from_secs(30), async || {
        let a = ok(&client, "get_recent_threats", json!({ "hours": 8760 })).await;
        a["generation"] == 60 && a["by_type"].to_string().contains("Misc activity")
    })
    .await;

    let ip = ok(&client, "analyze_ip", json!({ "ip_address": "203.0.113.45", "hours": 8760 })).await;
    assert!(ip["source"].as_str().is_some_and(|s| s.starts_with("event store")), "{ip}");
    let alerts = ip["alerts"].as_array().expect("alerts");
    assert_eq!(alerts.len(), 3, "two to_server alerts and the to_client one name .45: {ip}");
    assert!(alerts.iter().any(|a| a["title"].as_str().is_some_and(|t| t.contains("\\x1b[31m"))), "control characters escaped: {ip}");
    let phases = ip["attack_phases"].to_string();
    assert!(phases.contains("reconnaissance") && phases.contains("exploitation"), "{ip}");
    assert!(ip["threat_score"].as_u64().is_some_and(|s| s >= 35), "{ip}");

    let recent = ok(&client, "get_recent_threats", json!({ "hours": 8760, "severity": "low" })).await;
    assert!(recent["by_type"]["Attempted Information Leak"].as_u64() == Some(2), "{recent}");
    let tl = ok(&client, "get_threat_timeline", json!({ "source_ip": "203.0.113.45", "hours": 8760 })).await;
    let events = tl["events"].as_array().expect("events");
    let times: Vec<i64> = events.iter().map(|e| e["time_ms"].as_i64().expect("time")).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{tl}");
    assert_eq!(events.iter().filter(|e| e["event"] == "alert").count(), 3);

    // On the map: the party is a block candidate, so its finding is critical.
    // Full detail: the trace names each condition beside its value.
    let sus = ok(&client, "get_suspicious_connections", json!({ "min_severity": "critical", "detail": "full" })).await;
    let f = sus["findings"].as_array().expect("findings").iter().find(|f| f["rule_id"] == "suricata_alerts").cloned().expect("alert finding");
    assert_eq!(f["remote_address"], "203.0.113.45");
    assert!(f["trace"].to_string().contains("block window"), "{f}");
    assert!(f["trace"].to_string().contains("1 flows, 0 bytes to server"), "the flow record attaches to the same party: {f}");
    // Proposed, not run: .45 reached the window; the ICMP pinger did not.
    let blocks = ok(&client, "propose_blocks", json!({ "timeout_minutes": 30 })).await;
    let proposals = blocks["proposals"].as_array().expect("proposals");
    assert_eq!(proposals.len(), 1, "{blocks}");
    assert_eq!(proposals[0]["command"], "nft add element inet necromap block4 { 203.0.113.45 timeout 1800s }");
    let blocks = ok(&client, "propose_blocks", json!({ "allowlist": ["203.0.113.0/24"] })).await;
    // No proposal: MCP answers leave an empty list out.
    assert!(blocks.get("proposals").is_none() && blocks["refused"].to_string().contains("allowlisted"), "{blocks}");
    // Health counts the malformed lines.
    let snap = client.read_resource(ReadResourceRequestParams::new("necromap://snapshot")).await.expect("snapshot");
    let ResourceContents::TextResourceContents { text, .. } = &snap.contents[0] else { panic!("text") };
    assert!(
        text.contains("4 alerts, 2 malformed lines skipped"),
        "health: {}",
        &text[text.find("health").unwrap_or(0)..].chars().take(600).collect::<String>()
    );
    client.cancel().await.expect("shutdown");

    assert_eq!(alert_count(&db), 4);
    let conn = Connection::open(&db).expect("db");
    let (offset, malformed): (i64, i64) = conn.query_row("SELECT offset, malformed FROM eve_offsets", [], |r| Ok((r.get(0)?, r.get(1)?))).expect("offset");
    assert_eq!(offset as u64, std::fs::metadata(&eve).expect("meta").len());
    assert_eq!(malformed, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_neither_loses_nor_repeats_alerts() {
    let dir = tempfile::tempdir().expect("tmp");
    let (db, eve) = (dir.path().join("events.db"), dir.path().join("eve.json"));
    std::fs::copy(FIXTURE, &eve).expect("fixture");
    let client = start(&db, &eve).await;
    eventually(Duration::from_secs(20), async || alert_count(&db) == 4).await;
    client.cancel().await.expect("shutdown");

    // One more alert while necromap was down.
    let mut f = std::fs::OpenOptions::new().append(true).open(&eve).expect("append");
    writeln!(
        f,
        r#"{{"timestamp":"2026-11-01T12:01:00.000000+0000","event_type":"alert","src_ip":"192.0.2.66","src_port":4444,"dest_ip":"10.0.0.5","dest_port":8080,"proto":"TCP","alert":{{"signature_id":9,"signature":"ET TROJAN test","category":"A Network Trojan was detected","severity":1}}}}"#
    )
    .expect("write");
    drop(f);
    let client = start(&db, &eve).await;
    eventually(Duration::from_secs(20), async || alert_count(&db) >= 5).await;
    tokio::time::sleep(Duration::from_millis(1200)).await; // a couple more polls: nothing else may come
    client.cancel().await.expect("shutdown");
    assert_eq!(alert_count(&db), 5, "the old four once, the new one once");
}

#[test]
fn a_writer_killed_mid_stream_keeps_what_it_committed() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("events.db");
    let mut child = Command::new(BIN)
        .args(["--mcp", "--demo", "--interval", "100ms", "--db"])
        .arg(&db)
        .env("NECROMAP_STORE_TRACE", "1")
        .stdin(Stdio::piped()) // held open: the server waits for a client
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    // Sum what the writer says it committed, then kill it without warning.
    let (mut commits, mut events) = (0, 0_i64);
    while commits < 15 {
        let line = rx.recv_timeout(Duration::from_secs(20)).expect("the writer reports commits");
        if let Some(rest) = line.strip_prefix("necromap: store committed ") {
            commits += 1;
            events += rest.split('(').nth(1).and_then(|x| x.split_whitespace().next()).and_then(|n| n.parse::<i64>().ok()).expect("event count");
        }
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    assert!(events > 0, "the demo produced socket events");
    let conn = Connection::open(&db).expect("reopen after the kill");
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("integrity");
    assert_eq!(check, "ok");
    let stored: i64 = conn.query_row("SELECT count(*) FROM socket_events", [], |r| r.get(0)).expect("count");
    assert!(stored >= events, "{stored} stored < {events} reported committed");
    let findings: i64 = conn.query_row("SELECT count(*) FROM findings", [], |r| r.get(0)).expect("count");
    assert!(findings > 0);
}
