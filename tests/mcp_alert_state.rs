//! One published state for the MCP server: the Suricata alerts a tool
//! reports are the ones the snapshot was built with. Alerts that reach the
//! book after a refresh wait for the next one; the findings, the alerts and
//! the block proposals of an answer all come from one generation. The
//! collector replays the demo host with a refresh interval of an hour, so
//! only `RefreshNow` moves it on.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use necromap::collect::ReplaySource;
use necromap::collector::{Collector, Command};
use necromap::intel::alerts::{AlertBook, AlertEvaluator};
use necromap::mcp::tools_respond::ProposeArgs;
use necromap::mcp::tools_threats::{AnalyzeIpArgs, RecentArgs};
use necromap::mcp::{McpState, NecromapServer};
use necromap::model::Alert;
use necromap::rules::{Engine, IocSet, RuleSet};
use necromap::spec::{EMBEDDED_SPEC, Spec};
use rmcp::handler::server::wrapper::Parameters;
use serde_json::json;

const PARTY: &str = "203.0.113.45";
const LATE: &str = "198.51.100.7";

fn alert(remote: &str, at_ms: i64, sid: u64) -> Alert {
    let remote: IpAddr = remote.parse().expect("ip");
    Alert {
        at_ms,
        remote,
        local: None,
        src_ip: remote,
        src_port: Some(4000),
        dest_ip: "10.0.0.5".parse().expect("ip"),
        dest_port: Some(22),
        proto: "TCP".into(),
        direction: None,
        flow_id: None,
        signature_id: sid,
        signature: format!("ET SCAN test {sid}"),
        category: "Attempted Information Leak".into(),
        severity: 2,
        action: None,
    }
}

fn refresh(collector: &Collector) -> u64 {
    let (tx, rx) = tokio::sync::oneshot::channel();
    collector.commands().send(Command::RefreshNow(tx)).expect("refresh");
    rx.blocking_recv().expect("a new generation")
}

fn args<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("args")
}

struct Answers {
    generation: u64,
    party_alerts: usize,
    late_alerts: usize,
    proposals: Vec<String>,
}

fn ask(server: &NecromapServer, runtime: &tokio::runtime::Runtime) -> Answers {
    let ip = runtime.block_on(server.analyze_ip(Parameters(args::<AnalyzeIpArgs>(json!({ "ip_address": PARTY, "hours": 8760 }))))).expect("analyze_ip").0;
    let recent = runtime.block_on(server.get_recent_threats(Parameters(args::<RecentArgs>(json!({ "hours": 8760, "severity": "info" }))))).expect("recent").0;
    let blocks = runtime.block_on(server.propose_blocks(Parameters(args::<ProposeArgs>(json!({}))))).expect("propose_blocks").0;
    assert_eq!(ip.generation, recent.generation, "one generation per answer");
    assert_eq!(ip.generation, blocks.generation);
    let late = recent.items.iter().filter(|i| i.remote_address.as_deref() == Some(LATE)).count();
    Answers {
        generation: ip.generation,
        party_alerts: ip.alerts.len(),
        late_alerts: late,
        proposals: blocks.proposals.iter().map(|p| p.remote_address.clone()).collect(),
    }
}

#[test]
fn an_alert_after_a_refresh_is_not_in_the_answers_about_that_refresh() {
    let spec = Arc::new(Spec::embedded());
    let replay = ReplaySource::from_text(necromap::DEMO_SCENARIO, necromap::DEMO_NAME).expect("demo");
    let engine = Engine::new(RuleSet::embedded(), IocSet::new());
    let rules = Arc::new(engine.rules.clone());
    let book = Arc::new(Mutex::new(AlertBook::default()));
    let evaluator = AlertEvaluator::new(engine, book.clone(), "eve.json".into());
    let collector = Collector::spawn(Box::new(replay), spec.clone(), Some(Duration::from_secs(3600)), Some(Box::new(evaluator)));
    let state = McpState::new(collector.published(), spec, EMBEDDED_SPEC.into(), rules);
    let server = NecromapServer::new(state.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let (tx, rx) = tokio::sync::oneshot::channel();
    collector.commands().send(Command::Freeze(true, tx)).expect("freeze");
    assert!(rx.blocking_recv().expect("frozen"));
    let now = collector.latest().taken_at_ms;

    // One alert, then a refresh: the snapshot carries it.
    book.lock().expect("book").add(alert(PARTY, now, 1));
    let first = refresh(&collector);
    let published = state.published();
    assert_eq!(published.snapshot.generation, first);
    assert!(published.status.frozen, "the status comes with the snapshot");
    let digest = published.snapshot.alerts.clone().expect("a digest with --eve");
    assert_eq!(digest.generation, first, "the digest is the one of its snapshot's refresh");
    let a = ask(&server, &runtime);
    assert_eq!((a.generation, a.party_alerts, a.late_alerts), (first, 1, 0));
    assert!(a.proposals.is_empty(), "one alert is no block candidate");

    // Four more about the party and one about another arrive in the book,
    // with no refresh: every answer still speaks of the first refresh.
    for sid in 2..=5 {
        book.lock().expect("book").add(alert(PARTY, now + 10, sid));
    }
    book.lock().expect("book").add(alert(LATE, now + 10, 9));
    let a = ask(&server, &runtime);
    assert_eq!((a.generation, a.party_alerts, a.late_alerts), (first, 1, 0), "alerts after the snapshot are not in its answers");
    assert!(a.proposals.is_empty(), "nor in its block window");
    let finding = published.snapshot.findings.iter().find(|f| f.id == format!("suricata_alerts@{PARTY}")).expect("the party's finding");
    assert!(finding.rule_name.contains("(1 in the last hour)"), "the finding agrees with the digest: {}", finding.rule_name);

    // The next refresh takes them all, together.
    let second = refresh(&collector);
    let a = ask(&server, &runtime);
    assert_eq!((a.generation, a.party_alerts, a.late_alerts), (second, 5, 1));
    assert_eq!(a.proposals, vec![PARTY.to_string()], "five alerts in 300 s make a candidate");

    // A refresh with nothing new shares every party with the digest before.
    let before = state.snapshot().alerts.clone().expect("digest");
    refresh(&collector);
    let after = state.snapshot().alerts.clone().expect("digest");
    let party: IpAddr = PARTY.parse().expect("ip");
    assert!(Arc::ptr_eq(&before.parties[&party], &after.parties[&party]), "unchanged parties are shared, not copied");
    assert_eq!(after.generation, state.snapshot().generation);
}
