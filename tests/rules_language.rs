//! The rule language: bad packs are refused with file, line, key and what
//! was expected; the match keys the shipped packs do not exercise each get
//! a match and a near miss here.

use std::sync::Arc;

use necromap::collect::ReplaySource;
use necromap::rules::{Engine, IocSet, RuleError, RuleSet};
use necromap::spec::Spec;

fn refuse(pack: &str) -> (usize, String, String) {
    let mut set = RuleSet::empty();
    match set.add_text(pack, "user.yaml") {
        Err(RuleError::Invalid { file, line, key, expected }) => {
            assert_eq!(file, "user.yaml");
            (line, key, expected)
        }
        Err(e) => panic!("unexpected error: {e}"),
        Ok(()) => panic!("accepted:\n{pack}"),
    }
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).expect("needle") + 1
}

const GOOD: &str = "version: 1\nrules:\n  - id: r1\n    name: R\n    severity: low\n    scope: connection\n    match: { state: LISTEN }\n";

#[test]
fn a_good_pack_loads() {
    let mut set = RuleSet::empty();
    set.add_text(GOOD, "user.yaml").expect("loads");
    assert_eq!(set.rules.len(), 1);
}

#[test]
fn unknown_keys_bad_values_regexes_and_styles_are_refused_with_their_line() {
    let bad = GOOD.replace("{ state: LISTEN }", "{ state: LISTEN, remote_prot_gte: 1024 }");
    let (line, key, expected) = refuse(&bad);
    assert_eq!(line, line_of(&bad, "remote_prot_gte"));
    assert!(key.contains("match"), "{key}");
    assert!(expected.contains("remote_prot_gte") && expected.contains("remote_port_gte"), "{expected}");

    let bad = GOOD.replace("{ state: LISTEN }", "{ state: LISTENING }");
    let (line, _, expected) = refuse(&bad);
    assert_eq!(line, line_of(&bad, "LISTENING"));
    assert!(expected.contains("LISTENING"), "{expected}");

    let bad = GOOD.replace("severity: low", "severity: urgent");
    let (line, key, _) = refuse(&bad);
    assert_eq!((line, key.contains("severity")), (line_of(&bad, "urgent"), true));

    let bad = GOOD.replace("{ state: LISTEN }", "{ cmdline_regex_any: ['(unclosed'] }");
    let (line, key, expected) = refuse(&bad);
    assert_eq!(line, line_of(&bad, "(unclosed"));
    assert_eq!(key, "rules[0].match.cmdline_regex_any");
    assert!(expected.contains("regular expression"), "{expected}");

    let bad = format!("{GOOD}    effects: {{ highlight_style: purple_glow }}\n");
    let (line, key, expected) = refuse(&bad);
    assert_eq!(line, line_of(&bad, "purple_glow"));
    assert_eq!(key, "rules[0].effects.highlight_style");
    assert!(expected.contains("red_glow"), "{expected}");

    let bad = format!("{GOOD}  - id: r1\n    name: again\n    severity: low\n    scope: process\n    match: {{ has_tty: true }}\n");
    let (_, key, expected) = refuse(&bad);
    assert_eq!(key, "rules[1].id");
    assert!(expected.contains("defined twice"));

    let bad = GOOD.replace("{ state: LISTEN }", "{ any_of: [ { connection_count_gte: 3 } ] }");
    let (_, _, expected) = refuse(&bad);
    assert!(expected.contains("inside any_of"), "{expected}");

    let bad = GOOD.replace("{ state: LISTEN }", "{}");
    let (_, _, expected) = refuse(&bad);
    assert!(expected.contains("empty match"), "{expected}");

    let bad = GOOD.replace("{ state: LISTEN }", "{ remote_ip_in: [203.0.113.0/99] }");
    let (line, _, expected) = refuse(&bad);
    assert_eq!(line, line_of(&bad, "203.0.113.0/99"));
    assert!(expected.contains("CIDR"), "{expected}");
}

#[test]
fn a_rules_folder_adds_to_or_replaces_the_defaults() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("mine.yaml"), GOOD).expect("write");
    let added = RuleSet::load(Some(dir.path()), false).expect("loads");
    assert_eq!(added.rules.len(), RuleSet::embedded().rules.len() + 1);
    let replaced = RuleSet::load(Some(dir.path()), true).expect("loads");
    assert_eq!(replaced.rules.len(), 1);
    std::fs::write(dir.path().join("broken.yaml"), "version: 1\nrules: [ { id: x } ]\n").expect("write");
    let e = RuleSet::load(Some(dir.path()), true).expect_err("refused");
    assert!(e.to_string().contains("broken.yaml:"), "{e}");
}

/// Run one rule over one scenario; does it fire?
fn fires(rule_match: &str, processes: &str, sockets: &str, frames: u32, interval_ms: u64) -> bool {
    let pack = format!(
        "version: 1\ndefaults: {{ private_ip_treatment: {{ rfc1918_less_suspicious: false, localhost_less_suspicious: false }} }}\nrules:\n  - id: k\n    name: K\n    severity: low\n    scope: connection\n    match: {rule_match}\n"
    );
    let mut set = RuleSet::empty();
    set.add_text(&pack, "k.yaml").unwrap_or_else(|e| panic!("{e}"));
    let text = format!("host: t\nstart_ms: 1700000000000\ninterval_ms: {interval_ms}\nframes: {frames}\nprocesses:\n{processes}\nsockets:\n{sockets}\n");
    let mut replay = ReplaySource::from_text(&text, "k-scenario.yaml").unwrap_or_else(|e| panic!("{e}"));
    let mut engine = Engine::new(set, IocSet::new());
    let snap = replay.build_through(Arc::new(Spec::embedded()), None, Some(&mut engine)).0.expect("frames");
    snap.findings.iter().any(|f| f.rule_id == "k")
}

const P: &str = "  - { pid: 10, ppid: 1, name: app, exe: /opt/app/bin/app, uid: 1000 }\n  - { pid: 11, ppid: 10, name: child, exe: /memfd:x, uid: 0 }\n  - { pid: 12, ppid: 1, name: other, exe: /usr/bin/other, uid: 1000 }";

#[test]
fn the_keys_the_packs_do_not_use_each_match_and_miss() {
    let sock =
        |pid: u32, local: &str, remote: &str, extra: &str| format!("  - {{ pid: {pid}, local: \"{local}\", remote: \"{remote}\", state: ESTABLISHED{extra} }}");
    let cases: Vec<(&str, String, String, u32, u64)> = vec![
        ("{ remote_port_lte: 1023 }", sock(10, "10.0.0.5:40000", "203.0.113.5:443", ""), sock(10, "10.0.0.5:40000", "203.0.113.5:8443", ""), 1, 1000),
        ("{ local_port_in: [40000] }", sock(10, "10.0.0.5:40000", "203.0.113.5:443", ""), sock(10, "10.0.0.5:40001", "203.0.113.5:443", ""), 1, 1000),
        ("{ duration_lte_sec: 5 }", sock(10, "10.0.0.5:40000", "203.0.113.5:443", ", from_s: 8"), sock(10, "10.0.0.5:40000", "203.0.113.5:443", ""), 10, 1000),
        (
            "{ bytes_received_gte: 5000 }",
            sock(10, "10.0.0.5:40000", "203.0.113.5:443", ", bytes_per_s: [0, 1000]"),
            sock(10, "10.0.0.5:40000", "203.0.113.5:443", ", bytes_per_s: [1000, 100]"),
            8,
            1000,
        ),
        ("{ remote_country_not_in: [US] }", sock(10, "10.0.0.5:40000", "175.45.176.1:443", ""), sock(10, "10.0.0.5:40000", "203.0.113.5:443", ""), 1, 1000),
        ("{ process_name_not_in: [other] }", sock(10, "10.0.0.5:40000", "203.0.113.5:443", ""), sock(12, "10.0.0.5:40000", "203.0.113.5:443", ""), 1, 1000),
        ("{ exe_path_prefix_in: [/opt/] }", sock(10, "10.0.0.5:40000", "203.0.113.5:443", ""), sock(12, "10.0.0.5:40000", "203.0.113.5:443", ""), 1, 1000),
        ("{ exe_memfd: true }", sock(11, "10.0.0.5:40000", "203.0.113.5:443", ""), sock(12, "10.0.0.5:40000", "203.0.113.5:443", ""), 1, 1000),
        ("{ parent_name_in: [app] }", sock(11, "10.0.0.5:40000", "203.0.113.5:443", ""), sock(12, "10.0.0.5:40000", "203.0.113.5:443", ""), 1, 1000),
        ("{ uid_in: [0] }", sock(11, "10.0.0.5:40000", "203.0.113.5:443", ""), sock(12, "10.0.0.5:40000", "203.0.113.5:443", ""), 1, 1000),
    ];
    for (m, hit, miss, frames, interval) in cases {
        assert!(fires(m, P, &hit, frames, interval), "{m} should match:\n{hit}");
        assert!(!fires(m, P, &miss, frames, interval), "{m} should not match:\n{miss}");
    }
}

#[test]
fn findings_are_stable_across_refreshes_with_first_and_last_seen() {
    let text = format!(
        "host: t\nstart_ms: 1000\ninterval_ms: 1000\nframes: 3\nprocesses:\n{P}\nsockets:\n  - {{ pid: 10, local: \"10.0.0.5:40000\", remote: \"203.0.113.5:4444\", state: ESTABLISHED }}\n"
    );
    let mut replay = ReplaySource::from_text(&text, "s.yaml").expect("scenario");
    let mut engine = Engine::new(RuleSet::embedded(), IocSet::new());
    let spec = Arc::new(Spec::embedded());
    let (first, _) = replay.build_through(spec.clone(), Some(1), Some(&mut engine));
    let (last, _) = replay.build_through(spec, None, Some(&mut engine));
    let a = first.expect("first").findings.iter().find(|f| f.rule_id == "callback_port").cloned().expect("finding");
    let b = last.expect("last").findings.iter().find(|f| f.rule_id == "callback_port").cloned().expect("finding");
    assert_eq!(a.id, b.id, "same rule and subject → same id");
    assert_eq!(b.first_seen_ms, 1000);
    assert_eq!(b.last_seen_ms, 3000);
    assert!(b.steps.iter().any(|s| s.contains("/proc/10/")), "steps have the pid filled in: {:?}", b.steps);
}
