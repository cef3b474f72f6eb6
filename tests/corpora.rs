//! The shipped corpora (assets/corpus): real software recorded on one host
//! (benign) and what attackers run (malicious), replayed through the
//! shipped packs. Benign: nothing above low. Malicious: every scenario draws
//! its findings at their severity. The scorer is checked for failing too.

use std::process::Command;
use std::sync::Arc;

use necromap::model::Severity;
use necromap::rules::corpus::{CorpusKind, Manifest, score};
use necromap::rules::{Engine, IocSet, RuleSet};
use necromap::spec::Spec;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/corpus");

fn manifests() -> Vec<Manifest> {
    ["benign.yaml", "malicious.yaml"].iter().map(|f| Manifest::load(&std::path::Path::new(CORPUS).join(f)).expect("manifest")).collect()
}

fn shipped_engine() -> Engine {
    Engine::new(RuleSet::embedded(), IocSet::new())
}

#[test]
fn the_benign_corpus_stays_low_and_the_malicious_one_is_all_found() {
    let card = score(&manifests(), &Arc::new(Spec::embedded()), &shipped_engine).expect("score");
    println!("{}", card.render());
    assert!(card.passed(), "{}", card.render());
    let benign = card.corpora.iter().find(|c| c.kind == CorpusKind::Benign).expect("benign");
    assert!(benign.frames >= 60, "the benign recording has {} frames", benign.frames);
    assert!(benign.by_severity.keys().all(|s| *s <= Severity::Low), "{:?}", benign.by_severity);
    let malicious = card.corpora.iter().find(|c| c.kind == CorpusKind::Malicious).expect("malicious");
    assert!(malicious.expectations >= 20 && malicious.met == malicious.expectations, "{malicious:?}");
    // Every class of the issue is in the corpus and found.
    for rule in [
        "reverse_shell_plumbing",
        "reverse_shell_stdio",
        "shell_fed_by_network",
        "kernel_thread_masquerade",
        "sensitive_file_local_peer",
        "deleted_or_memory_executable",
        "listener_odd_path",
        "beaconing_strong",
    ] {
        let s = &card.rules[rule];
        assert!(s.expected > 0 && s.found == s.expected, "{rule}: {s:?}");
        assert_eq!(s.serious_false_positives, 0, "{rule}: {s:?}");
    }
}

#[test]
fn the_scorer_reports_a_miss_and_a_benign_corpus_over_its_ceiling() {
    let dir = tempfile::tempdir().expect("tmp");
    let recording = std::path::Path::new(CORPUS).join("malicious.ndjson.gz");
    // The malicious recording called benign: its criticals break the ceiling.
    std::fs::write(dir.path().join("b.yaml"), format!("recording: {}\nkind: benign\n", recording.display())).expect("write");
    // An expectation nothing meets: the socat shell is not merely low.
    std::fs::write(
        dir.path().join("m.yaml"),
        format!(
            "recording: {}\nkind: malicious\nexpect:\n  - what: socat pty\n    addresses: [127.66.0.4]\n    findings: {{ reverse_shell_plumbing: low, tunnel_service: medium }}\n",
            recording.display()
        ),
    )
    .expect("write");
    let ms: Vec<Manifest> = ["b.yaml", "m.yaml"].iter().map(|f| Manifest::load(&dir.path().join(f)).expect("manifest")).collect();
    let card = score(&ms, &Arc::new(Spec::embedded()), &shipped_engine).expect("score");
    assert!(!card.passed());
    let text = card.render();
    assert!(text.contains("(this corpus allows low at most)"), "{text}");
    assert!(text.contains("socat pty: reverse_shell_plumbing should be low, got critical"), "{text}");
    assert!(text.contains("socat pty: tunnel_service should be medium, got nothing"), "{text}");
    assert_eq!(card.rules["tunnel_service"].expected, 1);
    assert_eq!(card.rules["tunnel_service"].found, 0);
}

#[test]
fn a_bad_manifest_is_refused_with_its_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("x.yaml");
    std::fs::write(&path, "recording: r.ndjson\nkind: benign\nexpect:\n  - what: w\n    addresses: [127.0.0.1]\n").expect("write");
    let e = Manifest::load(&path).expect_err("benign with expectations");
    assert!(e.to_string().contains("x.yaml:3: at `expect`"), "{e}");
    std::fs::write(&path, "recording: r.ndjson\nkind: sneaky\n").expect("write");
    let e = Manifest::load(&path).expect_err("unknown kind");
    assert!(e.to_string().contains("x.yaml:2") && e.to_string().contains("kind"), "{e}");
}

#[test]
fn rules_score_on_the_command_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_necromap"))
        .args(["rules", "score", &format!("{CORPUS}/benign.yaml"), &format!("{CORPUS}/malicious.yaml")])
        .output()
        .expect("run necromap");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("reverse_shell_plumbing") && text.contains("recall") && text.contains("ok: "), "{text}");
}
