//! The settings layers against the built binary: defaults < the file in
//! `$XDG_CONFIG_HOME/necromap/config.toml` (or `--config`) < `NECROMAP_*`
//! variables < flags, with `config print` saying where each value came from.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_necromap");

fn necromap(home: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut c = Command::new(BIN);
    c.args(args).env("XDG_CONFIG_HOME", home).env("XDG_DATA_HOME", home).env("HOME", home);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("NECROMAP_")) {
        c.env_remove(k);
    }
    c.envs(env.iter().copied()).output().expect("run necromap")
}

fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The line of `key` in `config print`.
fn line<'a>(printed: &'a str, key: &str) -> &'a str {
    printed.lines().find(|l| l.starts_with(&format!("{key} ="))).unwrap_or_else(|| panic!("no {key} in {printed}"))
}

#[test]
fn file_then_environment_then_flags() {
    let home = tempfile::tempdir().expect("tmp");
    let dir = home.path().join("necromap");
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("config.toml");
    std::fs::write(
        &file,
        "interval = \"2s\"\ntheme = \"light\"\nicons = \"ascii\"\nresolve = false\n[store]\nretention = \"7d\"\n[mcp]\naddress = \"127.0.0.1:9100\"\n",
    )
    .expect("write");
    let file = file.display().to_string();

    let printed = stdout(&necromap(home.path(), &[], &["config", "print"]));
    assert!(printed.contains(&format!("# file: {file}")), "{printed}");
    assert!(line(&printed, "interval").contains("\"2s\"") && line(&printed, "interval").ends_with(&format!("# file {file}")), "{printed}");
    assert!(line(&printed, "theme").contains("\"light\""), "{printed}");
    assert!(line(&printed, "resolve").contains("false"), "{printed}");
    assert!(printed.contains("\n# view = "), "an unset view is a comment: {printed}");
    assert!(line(&printed, "address").contains("127.0.0.1:9100"), "{printed}");

    // The environment over the file.
    let env = [("NECROMAP_THEME", "dark"), ("NECROMAP_INTERVAL", "3s"), ("NECROMAP_RETENTION", "14d")];
    let printed = stdout(&necromap(home.path(), &env, &["config", "print"]));
    assert!(line(&printed, "theme").contains("\"dark\"") && line(&printed, "theme").ends_with("# env NECROMAP_THEME"), "{printed}");
    assert!(line(&printed, "interval").contains("\"3s\"") && line(&printed, "interval").ends_with("# env NECROMAP_INTERVAL"), "{printed}");
    assert!(line(&printed, "icons").ends_with(&format!("# file {file}")), "the file still gives what the environment does not: {printed}");

    // Flags over both.
    let printed = stdout(&necromap(home.path(), &env, &["--interval", "500ms", "--theme", "light", "--retention", "1d", "--resolve", "config", "print"]));
    assert!(line(&printed, "interval").contains("\"500ms\"") && line(&printed, "interval").ends_with("# flag --interval"), "{printed}");
    assert!(line(&printed, "theme").contains("\"light\"") && line(&printed, "theme").ends_with("# flag --theme"), "{printed}");
    assert!(line(&printed, "retention").contains("\"1d\"") && line(&printed, "retention").ends_with("# flag --retention"), "{printed}");
    assert!(line(&printed, "resolve").contains("true") && line(&printed, "resolve").ends_with("# flag --resolve"), "{printed}");
    assert!(line(&printed, "path").ends_with("# default"), "{printed}");

    // What is printed is a config file necromap takes back.
    let again = home.path().join("again.toml");
    std::fs::write(&again, &printed).expect("write");
    let reread = stdout(&necromap(home.path(), &[], &["--config", again.to_str().expect("utf-8"), "config", "print"]));
    assert!(line(&reread, "interval").contains("\"500ms\""), "{reread}");
}

#[test]
fn no_file_means_defaults() {
    let home = tempfile::tempdir().expect("tmp");
    let printed = stdout(&necromap(home.path(), &[], &["config", "print"]));
    assert!(printed.contains("# file: none"), "{printed}");
    for key in ["theme", "icons", "resolve", "retention", "address"] {
        assert!(line(&printed, key).ends_with("# default"), "{key}: {printed}");
    }
}

#[test]
fn a_bad_key_or_value_names_file_line_and_key() {
    let home = tempfile::tempdir().expect("tmp");
    let file = home.path().join("bad.toml");
    let path = file.to_str().expect("utf-8");
    for (body, line, key) in [
        ("theme = \"dark\"\n\ncolour = \"red\"\n", 3, "colour"),
        ("[store]\npath = \"/x\"\nretention = \"30\"\n", 3, "store.retention"),
        ("interval = \"50ms\"\n", 1, "interval"),
        ("theme = \"sepia\"\n", 1, "theme"),
    ] {
        std::fs::write(&file, body).expect("write");
        let out = necromap(home.path(), &[], &["--config", path, "--demo", "summary"]);
        assert_eq!(out.status.code(), Some(1), "{body}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("{path}:{line}: `{key}`")), "{body}: {err}");
    }
    let out = necromap(home.path(), &[("NECROMAP_THEME", "sepia")], &["config", "print"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("NECROMAP_THEME: `sepia`: expected dark or light"));
    let out = necromap(home.path(), &[], &["--config", "/nonexistent/necromap.toml", "config", "print"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/necromap.toml"), "an explicit file must exist");
}

#[test]
fn help_names_the_variables() {
    let home = tempfile::tempdir().expect("tmp");
    let help = stdout(&necromap(home.path(), &[], &["--help"]));
    for var in ["NECROMAP_INTERVAL", "NECROMAP_THEME", "NECROMAP_RESOLVE", "NECROMAP_STORE", "NECROMAP_MCP_ADDRESS", "config print"] {
        assert!(help.contains(var), "{var}");
    }
}
