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

#[test]
fn a_sqlite_error_is_said_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("garbage.db");
    std::fs::write(&db, b"this is not an SQLite database, only bytes\x00\x01\x02".repeat(100)).expect("write");
    let db = db.display().to_string();
    for args in [vec!["--db", db.as_str(), "respond"], vec!["--db", db.as_str(), "baseline", "list"]] {
        let text = fails(&args);
        assert!(text.contains(&db), "{args:?}: names the file: {text}");
        assert_eq!(text.matches("not a database").count(), 1, "{args:?}: {text}");
        assert!(!text.contains("Error code") && !text.contains("store: store"), "{args:?}: {text}");
    }
}

#[test]
fn baseline_list_says_when_the_store_cannot_be_opened() {
    let out = Command::new(BIN).args(["--db", "/proc/nonexistent/x.db", "baseline", "list"]).env("XDG_DATA_HOME", "/nonexistent").output().expect("run");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "stdout: {stdout} stderr: {stderr}");
    assert!(!stdout.contains("no saved baselines"), "{stdout}");
    assert!(stderr.contains("could not be opened") && stderr.contains("/proc/nonexistent/x.db"), "{stderr}");
}

/// A raw C0 (other than newline), DEL, C1 or bidi control in `text`.
fn raw_control(text: &str) -> Option<char> {
    text.chars().find(|&c| c != '\n' && necromap::text::is_unsafe(c))
}

#[test]
fn a_hostile_ioc_list_gives_a_short_inert_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let nested = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let cases = [
        ("controls.txt", "\x1b[2J\x1b]0;owned\x07\u{9b}31m\u{85}\u{7f}evil\u{202e}txt.exe\n".to_string()),
        ("deep.txt", format!("# tag: x\n{nested}\n")),
        ("deep.json", format!("{{\"prefixes\":{nested}\u{202e}}}")),
    ];
    for (name, body) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, body).expect("write");
        let text = fails(&["--ioc", &path.display().to_string(), "--demo", "summary"]);
        assert!(text.contains(name), "names the file: {text}");
        assert_eq!(raw_control(&text), None, "{name}: a raw control reached stderr: {text:?}");
        assert!(text.len() < 2048, "{name}: {} bytes of error", text.len());
    }
}
