//! Loading spec files: the embedded one, a user copy, and bad files refused
//! with file, line, key and what was expected.

use necromap::model::SocketState;
use necromap::spec::{EMBEDDED_SPEC, Spec, SpecError};

fn refuse(text: &str) -> (usize, String, String) {
    match Spec::parse(text, "user.yaml") {
        Err(SpecError::Invalid { file, line, key, expected }) => {
            assert_eq!(file, "user.yaml");
            (line, key, expected)
        }
        Err(other) => panic!("unexpected error kind: {other}"),
        Ok(_) => panic!("the bad spec was accepted"),
    }
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).expect("needle present") + 1
}

#[test]
fn embedded_spec_loads_with_every_state_and_view() {
    let spec = Spec::embedded();
    assert_eq!(spec.states.len(), SocketState::ALL.len());
    let views: Vec<&str> = spec.views.keys().map(String::as_str).collect();
    assert_eq!(views, vec!["default", "suspicious_only", "active_only", "local_only", "internet_only", "listeners_only", "cleanup_states"]);
    assert_eq!(spec.layout.max_neighbors.small, 8);
}

#[test]
fn a_user_file_is_read_from_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("spec.yaml");
    std::fs::write(&path, EMBEDDED_SPEC.replace("small: 8, medium: 16, large: 32", "small: 4, medium: 16, large: 32")).expect("write");
    let spec = Spec::from_file(&path).expect("loads");
    assert_eq!(spec.layout.max_neighbors.small, 4);
    let missing = Spec::from_file(&dir.path().join("nope.yaml")).expect_err("missing file");
    assert!(missing.to_string().contains("nope.yaml"), "{missing}");
}

#[test]
fn an_unknown_colour_names_line_key_and_choices() {
    let bad = EMBEDDED_SPEC.replacen("style: { color: green, line: solid, icon: none }", "style: { color: purple, line: solid, icon: none }", 1);
    let (line, key, expected) = refuse(&bad);
    assert_eq!(line, line_of(&bad, "color: purple"));
    assert_eq!(key, "states.ESTABLISHED.style.color");
    assert!(expected.contains("purple") && expected.contains("orange"), "{expected}");
}

#[test]
fn a_misspelt_key_is_refused_not_ignored() {
    let bad = EMBEDDED_SPEC.replacen("    severity_hint: medium\n", "    severity_hnit: medium\n", 1);
    let (line, key, expected) = refuse(&bad);
    assert_eq!(line, line_of(&bad, "severity_hnit"));
    assert!(key.starts_with("states.CLOSE_WAIT"), "{key}");
    assert!(expected.contains("severity_hnit") && expected.contains("severity_hint"), "{expected}");
}

#[test]
fn a_missing_state_is_refused() {
    let start = EMBEDDED_SPEC.find("  CLOSING:\n").expect("CLOSING");
    let end = EMBEDDED_SPEC[start..].find("  BOUND_INACTIVE:").expect("next") + start;
    let bad = format!("{}{}", &EMBEDDED_SPEC[..start], &EMBEDDED_SPEC[end..]);
    let (line, key, expected) = refuse(&bad);
    assert_eq!(key, "states");
    assert_eq!(line, line_of(&bad, "states:"));
    assert!(expected.contains("CLOSING"), "{expected}");
}

#[test]
fn an_unknown_state_in_a_view_filter_is_refused() {
    let bad = EMBEDDED_SPEC.replacen("filter: { states_in: [LISTEN, UNCONN] }", "filter: { states_in: [LISTEN, LISTENING] }", 1);
    let (line, key, expected) = refuse(&bad);
    assert_eq!(line, line_of(&bad, "LISTENING"));
    assert!(key.starts_with("views.listeners_only.filter"), "{key}");
    assert!(expected.contains("LISTENING"), "{expected}");
}

#[test]
fn semantic_errors_name_their_key() {
    let bad = EMBEDDED_SPEC.replacen("max_neighbors: { small: 8, medium: 16, large: 32 }", "max_neighbors: { small: 40, medium: 16, large: 32 }", 1);
    let (line, key, expected) = refuse(&bad);
    assert_eq!(key, "layout.max_neighbors");
    assert_eq!(line, line_of(&bad, "max_neighbors:"));
    assert!(expected.contains("small ≤ medium ≤ large"));

    let bad = EMBEDDED_SPEC.replacen("  UDP:\n    protocol: udp", "  UDP:\n    protocol: tcp", 1);
    let (_, key, _) = refuse(&bad);
    assert_eq!(key, "states.UDP.protocol");

    let bad = EMBEDDED_SPEC.replacen("version: 1", "version: 7", 1);
    let (line, key, _) = refuse(&bad);
    assert_eq!((line, key.as_str()), (line_of(&bad, "version: 7"), "version"));
}

#[test]
fn broken_yaml_is_refused_with_a_line() {
    let (line, _, _) = refuse("version: 1\nnode_types: [unclosed\n");
    assert!(line >= 2, "line {line}");
}
