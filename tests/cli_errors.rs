//! Errors a user sees for bad input: each names the file and says what is
//! wrong once, and nothing wrong passes silently.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_necromap");

fn fails(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).env("XDG_DATA_HOME", "/nonexistent").output().expect("run");
    assert_eq!(out.status.code(), Some(1), "{args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_os_error_is_said_once() {
    let text = fails(&["--rules", "/nonexistent-rules-dir", "--demo", "summary"]);
    assert!(text.contains("/nonexistent-rules-dir"), "{text}");
    assert_eq!(text.matches("No such file or directory").count(), 1, "{text}");
    let text = fails(&["--ioc", "/nonexistent-ioc", "--demo", "summary"]);
    assert_eq!(text.matches("No such file or directory").count(), 1, "{text}");
}

#[test]
fn a_wrong_eve_path_is_refused_whatever_the_command() {
    let text = fails(&["--eve", "/nonexistent-eve.json", "--demo", "summary"]);
    assert!(text.contains("--eve") && text.contains("/nonexistent-eve.json"), "{text}");
    let dir = tempfile::tempdir().expect("tmp");
    let text = fails(&["--eve", &dir.path().display().to_string(), "--demo", "summary"]);
    assert!(text.contains("is a directory"), "{text}");
}
