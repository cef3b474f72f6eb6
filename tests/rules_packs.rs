//! Every shipped rule: a fixture that matches and a near miss that does
//! not, from `tests/fixtures/rule_cases.yaml`. Fixtures are scenarios (see
//! src/collect/scenario.rs) run through the same builder and engine as the
//! live host.

use std::sync::Arc;

use necromap::baseline::Baseline;
use necromap::collect::ReplaySource;
use necromap::model::{Finding, Severity};
use necromap::rules::{Engine, IocSet, RuleSet};
use necromap::spec::Spec;
use serde::Deserialize;

const CASES: &str = include_str!("fixtures/rule_cases.yaml");

const IOC: &str = "# tag: ioc\n203.0.113.66\nbadlist.test\n";
const TOR: &str = "ExitNode AB\nExitAddress 192.0.2.50 2025-01-01 00:00:00\n";
const AWS: &str = r#"{"prefixes":[{"ip_prefix":"198.51.100.128/25","region":"x","service":"S3"}]}"#;
const POOLS: &str = "# tag: miner_pool\n198.51.100.9\n";

/// The saved baseline the listener rules compare with.
fn baseline() -> Baseline {
    Baseline {
        name: "fixture".into(),
        host: "t".into(),
        taken_at_ms: 0,
        processes: ["/usr/bin/app uid 1000".parse().expect("process")].into(),
        remote_endpoints: ["203.0.113.5".parse().expect("ip")].into(),
        listeners: ["8080/tcp/500/app", "22/tcp/0/sshd"].map(|k| k.parse().expect("listener")).into(),
        remote_names: std::collections::BTreeSet::new(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixtures {
    processes: Vec<serde_yaml::Value>,
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    rule: String,
    #[serde(default = "one")]
    frames: u32,
    #[serde(default = "second")]
    interval_ms: u64,
    hit: Vec<serde_yaml::Value>,
    miss: Vec<serde_yaml::Value>,
    /// The severity the hit must have, when the case says.
    #[serde(default)]
    severity: Option<Severity>,
    /// The scenario's `dns:` section for the hit and for the near miss.
    #[serde(default)]
    hit_dns: Option<serde_yaml::Value>,
    #[serde(default)]
    miss_dns: Option<serde_yaml::Value>,
    /// Processes added for the hit and for the near miss alone (ones
    /// listed without a socket would otherwise be in every case).
    #[serde(default)]
    hit_processes: Vec<serde_yaml::Value>,
    #[serde(default)]
    miss_processes: Vec<serde_yaml::Value>,
}

fn one() -> u32 {
    1
}
fn second() -> u64 {
    1000
}

fn fixtures() -> Fixtures {
    serde_yaml::from_str(CASES).unwrap_or_else(|e| panic!("tests/fixtures/rule_cases.yaml: {e}"))
}

/// Findings of the shipped packs on a scenario of these sockets.
fn run(processes: &[serde_yaml::Value], sockets: &[serde_yaml::Value], frames: u32, interval_ms: u64, dns: Option<&serde_yaml::Value>) -> Vec<Finding> {
    let mut mapping = serde_yaml::Mapping::from_iter([
        ("host".into(), "t".into()),
        ("start_ms".into(), 1_700_000_000_000i64.into()),
        ("interval_ms".into(), interval_ms.into()),
        ("frames".into(), frames.into()),
        ("processes".into(), processes.to_vec().into()),
        ("sockets".into(), sockets.to_vec().into()),
    ]);
    if let Some(dns) = dns {
        mapping.insert("dns".into(), dns.clone());
    }
    let scenario = serde_yaml::to_string(&mapping).expect("scenario yaml");
    let mut replay = ReplaySource::from_text(&scenario, "fixture.yaml").unwrap_or_else(|e| panic!("fixture: {e}\n{scenario}"));
    let mut ioc = IocSet::new();
    for list in [IOC, TOR, AWS, POOLS] {
        ioc.load_text(list, "fixture-ioc", None, "ioc").expect("ioc");
    }
    let mut engine = Engine::new(RuleSet::embedded(), ioc).with_baseline(baseline());
    let mut last = replay.build_through(Arc::new(Spec::embedded()), None, Some(&mut engine)).0.expect("frames");
    std::mem::take(&mut last.findings)
}

/// Findings for sockets written as YAML flow lines (`  - { … }`).
fn findings(sockets: &str, frames: u32, interval_ms: u64) -> Vec<Finding> {
    let sockets: Vec<serde_yaml::Value> = serde_yaml::from_str(sockets).expect("sockets");
    run(&fixtures().processes, &sockets, frames, interval_ms, None)
}

#[test]
fn every_shipped_rule_has_a_fixture() {
    let f = fixtures();
    let covered: std::collections::BTreeSet<&str> = f.cases.iter().map(|c| c.rule.as_str()).collect();
    let shipped: std::collections::BTreeSet<String> = RuleSet::embedded().rules.iter().map(|r| r.rule.id.clone()).collect();
    let missing: Vec<&String> = shipped.iter().filter(|id| !covered.contains(id.as_str())).collect();
    assert!(missing.is_empty(), "rules without a fixture: {missing:?}");
}

#[test]
fn each_rule_matches_its_fixture_and_not_its_near_miss() {
    let f = fixtures();
    let mut failures = Vec::new();
    for case in &f.cases {
        let hit = run(&[f.processes.as_slice(), &case.hit_processes].concat(), &case.hit, case.frames, case.interval_ms, case.hit_dns.as_ref());
        match hit.iter().find(|x| x.rule_id == case.rule) {
            None => failures.push(format!("{}: fixture did not match (got {:?})", case.rule, hit.iter().map(|x| x.rule_id.as_str()).collect::<Vec<_>>())),
            Some(x) if x.trace.is_empty() => failures.push(format!("{}: finding without a trace", case.rule)),
            Some(x) if case.severity.is_some_and(|s| s != x.severity) => {
                failures.push(format!("{}: severity {} where the case wants {:?}; trace {:?}", case.rule, x.severity, case.severity, x.trace));
            }
            Some(_) => {}
        }
        let miss = run(&[f.processes.as_slice(), &case.miss_processes].concat(), &case.miss, case.frames, case.interval_ms, case.miss_dns.as_ref());
        if let Some(x) = miss.iter().find(|x| x.rule_id == case.rule) {
            failures.push(format!("{}: near miss matched: {:?}", case.rule, x.trace));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_new_root_wildcard_listener_replaces_the_medium_finding() {
    let found = findings(r#"  - { pid: 23, local: "0.0.0.0:2222", state: LISTEN }"#, 1, 1000);
    let ids: Vec<&str> = found.iter().filter(|f| f.rule_id.contains("listener_vs_baseline")).map(|f| f.rule_id.as_str()).collect();
    assert_eq!(ids, ["new_root_wildcard_listener_vs_baseline"]);
}

#[test]
fn without_a_baseline_the_listener_rules_stay_quiet() {
    let processes = serde_yaml::to_string(&fixtures().processes).expect("yaml");
    let text = format!(
        "host: t\nstart_ms: 1700000000000\ninterval_ms: 1000\nframes: 1\nprocesses:\n{processes}\nsockets:\n  - {{ pid: 10, local: \"0.0.0.0:9000\", state: LISTEN }}\n"
    );
    let mut replay = ReplaySource::from_text(&text, "fixture.yaml").expect("fixture");
    let mut engine = Engine::new(RuleSet::embedded(), IocSet::new());
    let snap = replay.build_through(Arc::new(Spec::embedded()), None, Some(&mut engine)).0.expect("frames");
    assert!(!snap.findings.iter().any(|f| f.rule_id.contains("baseline")), "{:?}", snap.findings);
}

#[test]
fn findings_carry_both_explanations() {
    let found = findings(r#"  - { pid: 23, local: "0.0.0.0:2222", state: LISTEN }"#, 1, 1000);
    let f = found.iter().find(|f| f.rule_id == "new_root_wildcard_listener_vs_baseline").expect("finding");
    assert!(f.explanation.contains("root process"), "{}", f.explanation);
    assert!(f.explanation_ko.contains("루트"), "{}", f.explanation_ko);
}

#[test]
fn a_masquerade_without_a_socket_is_a_process_finding_with_its_trace() {
    let f = fixtures();
    let case = f.cases.iter().find(|c| c.rule == "kernel_thread_masquerade" && c.hit.is_empty()).expect("the case without sockets");
    let found = run(&[f.processes.as_slice(), &case.hit_processes].concat(), &[], 1, 1000, None);
    let hit: Vec<&Finding> = found.iter().filter(|x| x.rule_id == "kernel_thread_masquerade").collect();
    assert_eq!(hit.len(), 1, "one finding: {found:?}");
    assert_eq!(hit[0].severity, Severity::High);
    assert_eq!(hit[0].subject, necromap::model::Subject::Process { pid: necromap::model::Pid(90) });
    assert!(hit[0].trace.iter().any(|t| t.value.contains("[kworker/9:9]")), "the trace names the command line: {:?}", hit[0].trace);
    // Nothing else is said about a process that holds no socket.
    assert!(found.iter().all(|x| x.rule_id == "kernel_thread_masquerade"), "{found:?}");
}
