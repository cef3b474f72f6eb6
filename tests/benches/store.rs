//! Store and alert-intake benchmark:
//! - eve.json intake: a 100k-line file (alerts, flows, a few malformed
//!   lines) read by the tailer, parsed, put in the alert book and committed
//!   to a fresh store; lines per second (target ≥ 50,000);
//! - `analyze_ip` over a store holding 1M socket events (target ≤ 50 ms),
//!   the whole MCP tool as a client would call it;
//! - for scale, `ss -tan` on this host in the same run.
//!
//! ```text
//! cargo bench --bench store
//! cargo bench --bench store -- 200000 2000000   # lines, events
//! ```

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use necromap::collector::Published;
use necromap::intel::alerts::AlertBook;
use necromap::intel::intake::take_lines;
use necromap::intel::tail::{EveTail, StartAt};
use necromap::mcp::tools_threats::AnalyzeIpArgs;
use necromap::mcp::{McpState, NecromapServer};
use necromap::rules::RuleSet;
use necromap::spec::{EMBEDDED_SPEC, Spec};
use necromap::store::{Batch, EventKind, SocketEvent};
use rmcp::handler::server::wrapper::Parameters;

#[path = "synthetic.rs"]
mod synthetic;

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn eve_line(i: usize) -> String {
    let ip = format!("203.0.113.{}", i % 250);
    if i % 1000 == 999 {
        return "{\"truncated\": ".into();
    }
    if i % 4 == 3 {
        return format!(
            r#"{{"timestamp":"2026-11-01T12:00:{:02}.000000+0000","flow_id":{i},"event_type":"flow","src_ip":"{ip}","src_port":{},"dest_ip":"10.0.0.5","dest_port":443,"proto":"TCP","flow":{{"pkts_toserver":3}}}}"#,
            i % 60,
            1024 + i % 60000
        );
    }
    format!(
        r#"{{"timestamp":"2026-11-01T12:00:{:02}.{:06}+0000","flow_id":{i},"in_iface":"eth0","event_type":"alert","src_ip":"{ip}","src_port":{},"dest_ip":"10.0.0.5","dest_port":22,"proto":"TCP","direction":"to_server","flow":{{"src_ip":"{ip}","dest_ip":"10.0.0.5"}},"alert":{{"action":"allowed","gid":1,"signature_id":{},"rev":3,"signature":"ET SCAN Potential SSH Scan {}","category":"Attempted Information Leak","severity":{}}}}}"#,
        i % 60,
        i % 1_000_000,
        1024 + i % 60000,
        2_001_000 + i % 50,
        i % 50,
        1 + i % 3
    )
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with('-'));
    let lines: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let events: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("tmp");

    // Intake.
    let eve = dir.path().join("eve.json");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&eve).expect("eve"));
    for i in 0..lines {
        writeln!(f, "{}", eve_line(i)).expect("write");
    }
    drop(f);
    let db = dir.path().join("intake.db");
    let mut conn = necromap::store::open(&db).expect("store");
    let book = Mutex::new(AlertBook::default());
    let t = Instant::now();
    let mut tail = EveTail::new(&eve, StartAt::Beginning, None);
    let mut malformed = 0;
    let local = |ip: std::net::IpAddr| ip.to_string() == "10.0.0.5";
    let mut read = 0;
    let mut stored = 0;
    loop {
        let batch = take_lines(&mut tail, "eve.json", &book, &local, &mut malformed);
        if batch.is_empty() {
            break;
        }
        stored += batch.alerts.len();
        necromap::store::write(&mut conn, &batch).expect("commit");
        read = book.lock().expect("book").lines;
    }
    let intake_ms = ms(t);
    let rate = read as f64 / (intake_ms / 1000.0);
    println!("eve intake · {read} lines ({stored} alerts, {malformed} malformed) in {intake_ms:.0} ms · {rate:.0} lines/s (target ≥ 50,000)");

    // analyze_ip over many socket events.
    let db = dir.path().join("history.db");
    let mut conn = necromap::store::open(&db).expect("store");
    let t = Instant::now();
    let mut batch = Batch::default();
    for i in 0..events {
        batch.events.push(SocketEvent {
            at_ms: 1_793_534_400_000 - 3_600_000 + (i as i64 % 3_600_000),
            kind: if i % 2 == 0 { EventKind::Opened } else { EventKind::Closed },
            socket_id: format!("tcp:{i:016x}"),
            protocol: "tcp",
            state: "ESTABLISHED",
            direction: "outbound".into(),
            local_ip: "10.0.0.5".into(),
            local_port: (20_000 + i % 40_000) as u16,
            remote_ip: format!("198.51.{}.{}", (i / 250) % 100, i % 250),
            remote_port: 443,
            remote_name: None,
            pid: Some(100 + (i % 8) as u32),
            comm: Some(format!("worker{}", i % 8)),
            exe: Some("/usr/bin/worker".into()),
            uid: 1000,
            bytes_sent: Some(i as u64),
            bytes_received: Some(2 * i as u64),
            duration_ms: Some(1000),
            netns: None,
            namespace: None,
        });
        if batch.events.len() == 50_000 {
            necromap::store::write(&mut conn, &batch).expect("commit");
            batch = Batch::default();
        }
    }
    necromap::store::write(&mut conn, &batch).expect("commit");
    drop(conn);
    println!("store · {events} socket events written in {:.0} ms", ms(t));
    let (_tx, rx) = tokio::sync::watch::channel(Arc::new(Published::of(Arc::new(synthetic::busy_snapshot(1_000)))));
    let server =
        NecromapServer::new(McpState { store: Some(db), ..McpState::new(rx, Arc::new(Spec::embedded()), EMBEDDED_SPEC.into(), Arc::new(RuleSet::embedded())) });
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let samples: Vec<f64> = (0..30)
        .map(|i| {
            let ip = format!("198.51.{}.{}", i % 100, i % 250);
            let args: AnalyzeIpArgs = serde_json::from_value(serde_json::json!({ "ip_address": ip, "hours": 8760 })).expect("args");
            let t = Instant::now();
            let out = runtime.block_on(server.analyze_ip(Parameters(args))).expect("answer");
            let took = ms(t);
            assert!(!out.0.processes.is_empty(), "{ip} has history");
            took
        })
        .collect();
    let analyze = median(samples);
    println!("analyze_ip over {events} socket events · median of 30: {analyze:.2} ms (target ≤ 50 ms)");
    let ss: Vec<f64> = (0..5)
        .filter_map(|_| {
            let t = Instant::now();
            std::process::Command::new("ss").arg("-tan").output().ok().filter(|o| o.status.success()).map(|_| ms(t))
        })
        .collect();
    if !ss.is_empty() {
        let ss = median(ss);
        println!("`ss -tan` on this host, same run: {ss:.2} ms · analyze_ip = {:.2}× ss -tan", analyze / ss);
    }
}
