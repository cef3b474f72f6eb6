//! `necromap rules check|suggest` and findings in `snapshot` output.

use std::process::Command;

use serde_json::Value;

fn necromap(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_necromap")).args(args).output().expect("run necromap")
}

#[test]
fn rules_check_passes_the_shipped_packs_and_fails_an_unreachable_rule() {
    let out = necromap(&["rules", "check"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("explanations: 100%") && text.ends_with("ok\n"), "{text}");

    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("bad.yaml"), "version: 1\nrules:\n  - id: never\n    name: Never\n    severity: low\n    scope: connection\n    tags: [nope]\n    match: { protocol: udp, state: LISTEN }\n").expect("write");
    let out = necromap(&["rules", "check", dir.path().to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("error: rule never can never match"), "{text}");
    assert!(text.contains("tag `nope` has no tag_definitions entry"), "{text}");
    assert!(text.contains("missing: never"), "{text}");
}

#[test]
fn rules_check_checks_the_login_rules_too() {
    let out = necromap(&["rules", "check"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("login rules: 7 rules from the shipped login rules: ok"), "{text}");

    let shipped = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/rules/logins/logins.yaml")).expect("shipped rules");
    let dir = tempfile::tempdir().expect("tmp");
    let bad = dir.path().join("logins.yaml");
    std::fs::write(&bad, shipped.replacen("when: { failures: 10, within: 10m }", "when: { failures: 10, within: soon }", 1)).expect("write");
    let line = std::fs::read_to_string(&bad).expect("read").lines().position(|l| l.contains("within: soon")).expect("line") + 1;
    let out = necromap(&["--login-rules", bad.to_str().expect("path"), "rules", "check"]);
    assert_eq!(out.status.code(), Some(1));
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(all.contains(&format!("{}:{line}:", bad.display())), "the file and line of the error: {all}");
}

#[test]
fn rules_suggest_prints_a_pack_the_loader_accepts() {
    let out = necromap(&["rules", "suggest", "shell talking to the internet on 4444"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("draft.yaml"), &out.stdout).expect("write");
    let check = necromap(&["rules", "check", "--rules-replace", "--rules", dir.path().to_str().expect("path")]);
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
    let out = necromap(&["--demo", "rules", "suggest", "odd listener", "--from-socket", "tcp:5ce00b0000000000"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("31337") && text.contains("kworkerd"), "{text}");
}

#[test]
fn snapshot_json_carries_findings_with_subject_trace_and_pid() {
    let dir = tempfile::tempdir().expect("tmp");
    let ioc = dir.path().join("c2.txt");
    std::fs::write(&ioc, "203.0.113.200\n").expect("write");
    let out = necromap(&["--demo", "--ioc", ioc.to_str().expect("path"), "snapshot", "--format", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let findings = v["findings"].as_array().expect("findings");
    let shell = findings.iter().find(|f| f["rule_id"] == "reverse_shell_stdio").expect("reverse shell finding");
    assert_eq!(shell["severity"], "critical");
    assert_eq!(shell["subject"], serde_json::json!({"kind": "process", "pid": 3401}));
    assert!(!shell["trace"].as_array().expect("trace").is_empty());
    let ioc_hit = findings.iter().find(|f| f["rule_id"] == "ioc_endpoint_outbound").expect("the --ioc list is used");
    assert_eq!(ioc_hit["subject"]["kind"], "socket");
    assert_eq!(ioc_hit["subject"]["pid"], 3401);
    assert!(ioc_hit["tags"].as_array().expect("tags").iter().any(|t| t == "ioc"));
    assert_eq!(
        v["summary"]["findings_by_severity"]["critical"].as_u64().expect("count"),
        findings.iter().filter(|f| f["severity"] == "critical").count() as u64
    );
}

#[test]
fn the_sample_ioc_lists_load_in_their_formats() {
    use necromap::rules::IocSet;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/ioc");
    let mut set = IocSet::new();
    for f in ["sample_ioc.txt", "sample_tor_exits.txt", "sample_ip_ranges.json", "sample_miner_pools.txt"] {
        assert!(set.load_file(&dir.join(f), None).expect(f) > 0, "{f} loaded nothing");
    }
    let tags = |ip: &str| set.tags(ip.parse().expect("ip"));
    assert!(tags("203.0.113.200").contains("ioc"));
    assert!(tags("192.0.2.50").contains("tor_exit"));
    assert!(tags("198.51.100.200").contains("aws_s3"));
    assert!(tags("198.51.100.9").contains("miner_pool"));
    assert!(set.domain_tags("eu.pool.example").contains("miner_pool"));
}

/// `baseline save|compare|list` in a private data directory, and the
/// new-listener rule using the saved `default` baseline.
#[test]
fn a_saved_baseline_reports_what_is_new() {
    let data = tempfile::tempdir().expect("tmp");
    let run = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_necromap")).args(args).env("XDG_DATA_HOME", data.path()).output().expect("run necromap");
    let out = run(&["--demo", "baseline", "save"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("saved baseline `default`"));
    assert_eq!(run(&["--demo", "baseline", "save"]).status.code(), Some(1), "an existing baseline is kept without --force");

    let out = run(&["--demo", "baseline", "compare"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("nothing new"), "{text}");
    let out = run(&["--demo", "snapshot", "--format", "json"]);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    let baseline_findings: Vec<&Value> =
        doc["findings"].as_array().expect("findings").iter().filter(|f| f["rule_id"].as_str().is_some_and(|r| r.contains("baseline"))).collect();
    assert!(baseline_findings.is_empty(), "the demo's own listeners are in its baseline: {baseline_findings:?}");

    let scenario = data.path().join("new.yaml");
    std::fs::write(
        &scenario,
        "host: crypt-01\nframes: 1\nprocesses:\n  - { pid: 7, ppid: 1, name: backdoor, exe: /usr/bin/backdoor, uid: 0 }\nsockets:\n  - { pid: 7, local: \"0.0.0.0:4444\", state: LISTEN }\n",
    )
    .expect("write");
    let replay = scenario.to_str().expect("path");
    let out = run(&["--replay", replay, "baseline", "compare", "--format", "json"]);
    let diff: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(diff["new_listeners"], serde_json::json!(["4444/tcp/0/backdoor"]));
    assert_eq!(diff["new_processes"], serde_json::json!(["/usr/bin/backdoor uid 0"]));
    let out = run(&["--replay", replay, "snapshot", "--format", "json"]);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    let f = doc["findings"].as_array().expect("findings").iter().find(|f| f["rule_id"] == "new_root_wildcard_listener_vs_baseline").cloned();
    let f = f.expect("new listener finding");
    assert_eq!(f["severity"], "high");
    assert!(f["trace"].to_string().contains("is not in baseline `default`"), "{f}");

    let out = run(&["baseline", "list"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("  default"));
    let out = run(&["baseline", "compare", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no baseline `nope`"));
}

/// With an event store, baselines are saved in it and read back from it.
#[test]
fn baselines_live_in_the_event_store_when_there_is_one() {
    let data = tempfile::tempdir().expect("tmp");
    let db = data.path().join("events.db");
    let db = db.to_str().expect("utf-8");
    let run = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_necromap")).args(args).env("XDG_DATA_HOME", data.path()).output().expect("run necromap");
    let out = run(&["--demo", "--db", db, "baseline", "save", "before"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("to the event store"), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(!data.path().join("necromap/baselines/before.json").exists(), "not written as a file");
    let out = run(&["--demo", "--db", db, "baseline", "list"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("  before  (in the event store"), "{}", String::from_utf8_lossy(&out.stdout));
    let out = run(&["--demo", "--db", db, "baseline", "compare", "before"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing new"));
    let conn = rusqlite::Connection::open(db).expect("db");
    let n: i64 = conn.query_row("SELECT count(*) FROM baselines WHERE name = 'before'", [], |r| r.get(0)).expect("count");
    assert_eq!(n, 1);
    assert_eq!(run(&["--demo", "--db", db, "baseline", "save", "before"]).status.code(), Some(1), "kept without --force");
}
