//! Around the explorer: completions, the man page, durations that need a
//! unit, `baseline compare`'s exit status and `rules suggest`.

use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_necromap");

fn run(args: &[&str], data: &std::path::Path) -> Output {
    Command::new(BIN).args(args).env("XDG_DATA_HOME", data).env("XDG_CONFIG_HOME", data).output().expect("run necromap")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn completions_and_the_man_page_name_the_subcommands() {
    let data = tempfile::tempdir().expect("tmp");
    for shell in ["bash", "zsh", "fish"] {
        let out = run(&["completions", shell], data.path());
        assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        for sub in ["snapshot", "record", "baseline", "rules", "completions"] {
            assert!(script.contains(sub), "{shell} completions lack {sub}");
        }
    }
    let out = run(&["man"], data.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let page = text(&out.stdout);
    assert!(page.starts_with(".ie") || page.contains(".TH necromap 1"), "roff: {}", &page[..page.len().min(200)]);
    for sub in ["snapshot", "record", "baseline", "rules", "completions", "man"] {
        assert!(page.contains(sub), "the man page lacks {sub}");
    }
    assert!(page.contains(".TH necromap\\-baseline") || page.contains(".TH necromap-baseline"), "one section per subcommand");
}

#[test]
fn a_duration_without_a_unit_or_below_the_minimum_is_refused() {
    let data = tempfile::tempdir().expect("tmp");
    let out = run(&["--demo", "--interval", "5", "summary"], data.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("5: add a unit: 5s, 500ms, 1m"), "{}", text(&out.stderr));
    let out = run(&["--demo", "--interval", "50ms", "summary"], data.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("below the shortest refresh interval, 100ms"), "{}", text(&out.stderr));
    let out = run(&["--demo", "--retention", "30", "summary"], data.path());
    assert!(text(&out.stderr).contains("add a unit"), "{}", text(&out.stderr));
}

#[test]
fn baseline_compare_exits_1_when_something_is_new() {
    let data = tempfile::tempdir().expect("tmp");
    let out = run(&["--demo", "baseline", "save"], data.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(&["--demo", "baseline", "compare"], data.path());
    assert_eq!(out.status.code(), Some(0), "nothing new: {}", text(&out.stdout));
    let scenario = data.path().join("new.yaml");
    std::fs::write(
        &scenario,
        "host: crypt-01\nframes: 1\nprocesses:\n  - { pid: 7, ppid: 1, name: backdoor, exe: /usr/bin/backdoor, uid: 0 }\nsockets:\n  - { pid: 7, local: \"0.0.0.0:4444\", state: LISTEN }\n",
    )
    .expect("write");
    let replay = scenario.to_str().expect("utf-8");
    for format in ["text", "json"] {
        let out = run(&["--replay", replay, "baseline", "compare", "--format", format], data.path());
        assert_eq!(out.status.code(), Some(1), "{format}: something new");
        assert!(text(&out.stdout).contains("backdoor"), "the difference is printed before the exit: {}", text(&out.stdout));
    }
    let help = text(&run(&["baseline", "compare", "--help"], data.path()).stdout);
    assert!(help.contains("1 when something is"), "{help}");
}

#[test]
fn rules_suggest_reads_intervals_ports_processes_and_addresses() {
    let data = tempfile::tempdir().expect("tmp");
    let draft = |d: &str| {
        let out = run(&["rules", "suggest", d], data.path());
        assert!(out.status.success(), "{d}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    let y = draft("curl to the internet every 60 seconds");
    assert!(y.contains("beacon_score_gte") && !y.contains("remote_port_in"), "{y}");
    let y = draft("process nc on port 4444");
    assert!(y.contains("process_name_in:\n    - nc") && y.contains("remote_port_in:\n    - 4444"), "{y}");
    let y = draft("'cryptod' talking to 198.51.100.0/24 or 2001:db8::/32");
    assert!(y.contains("- cryptod") && y.contains("198.51.100.0/24") && y.contains("2001:db8::/32"), "{y}");
    for nothing in ["", "something strange"] {
        let out = run(&["rules", "suggest", nothing], data.path());
        assert_eq!(out.status.code(), Some(1), "{nothing:?} is refused");
        let err = text(&out.stderr);
        assert!(err.contains("every 60 seconds") && err.contains("process nc") && err.contains("CIDR"), "names what it understands: {err}");
    }
}

#[test]
fn record_says_where_it_wrote_and_draws_no_progress_off_a_terminal() {
    let data = tempfile::tempdir().expect("tmp");
    let file = data.path().join("demo.ndjson");
    let out = run(&["--demo", "record", "--out", file.to_str().expect("utf-8")], data.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(!err.contains('\r') && !err.contains('\x1b'), "no progress line when stderr is not a terminal: {err:?}");
    assert!(err.contains("recorded ") && err.contains(" frames to ") && err.contains("demo.ndjson"), "{err}");
}
