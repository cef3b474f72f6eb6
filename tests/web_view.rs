//! The web view in headless Chromium, against `necromap --demo --web`.
//!
//! The driver is Node's `playwright-core` (one package, no dependencies,
//! no browser download: it drives Debian's `/usr/bin/chromium` over the
//! `DevTools` protocol), installed once with npm under the target directory
//! as `tests/mcp_sdk.rs` makes its Python venv. The script, `tests/web/drive.mjs`,
//! opens the one-time login link, checks the map, the detail, the filter,
//! an SSE event and the theme, takes a screenshot (kept under target/ as an
//! artefact, not compared) and prints what it saw as one JSON line; the
//! assertions are here. Node and Chromium run in their own process group,
//! killed when the test ends however it ends; the browser profile is a
//! temporary directory removed with it.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;
#[path = "web/server.rs"]
mod server;

use common::Reaped;
use server::{bearer, get, start};

const PLAYWRIGHT: &str = "1.65.1";
const CHROMIUM: &str = "/usr/bin/chromium";

/// `playwright-core` under the target directory, installed once.
fn playwright() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("web-driver-{PLAYWRIGHT}"));
    let module = dir.join("node_modules").join("playwright-core");
    if module.join("package.json").is_file() {
        return module;
    }
    std::fs::create_dir_all(&dir).expect("driver dir");
    let npm = Command::new("npm")
        .args(["install", "--no-save", "--no-audit", "--no-fund", "--no-package-lock", "--prefix"])
        .arg(&dir)
        .arg(format!("playwright-core@{PLAYWRIGHT}"))
        .output()
        .expect("run npm (Node.js and npm must be installed)");
    assert!(
        npm.status.success() && module.join("package.json").is_file(),
        "could not install playwright-core@{PLAYWRIGHT} from npm into {}: this test needs it.\n{}\n{}",
        dir.display(),
        String::from_utf8_lossy(&npm.stdout),
        String::from_utf8_lossy(&npm.stderr)
    );
    module
}

#[test]
fn the_page_shows_the_live_map_the_table_and_events() {
    assert!(Path::new(CHROMIUM).is_file(), "{CHROMIUM} is missing: install Debian's `chromium` package (.ci/run does when it runs as root)");
    let module = playwright();
    // 700 ms a frame: the page is up well before the replay's frame 31
    // brings a new finding.
    let web = start(&["--demo", "--interval", "700ms"]);
    let a = web.addr();

    // Refusals, over plain HTTP.
    assert_eq!(get(a, "/api/connections", &[]).status, 401, "no token");
    let (k, v) = bearer();
    assert_eq!(get(a, "/api/connections", &[(k, &v), ("Origin", "https://evil.example")]).status, 403, "a foreign Origin");

    let profile = tempfile::tempdir().expect("profile dir");
    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-view.png");
    let _ = std::fs::remove_file(&screenshot);
    let mut node = Command::new("node");
    node.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web/drive.mjs"))
        .env("PLAYWRIGHT", &module)
        .env("LOGIN", &web.login)
        .env("PROFILE", profile.path())
        .env("SCREENSHOT", &screenshot)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut driver = Reaped(node.spawn().expect("run node"));
    let stdout = driver.0.stdout.take().expect("stdout");
    let stderr = driver.0.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let lines: Vec<String> = BufReader::new(stdout).lines().map_while(Result::ok).collect();
        let _ = tx.send(lines);
    });
    let errors = std::thread::spawn(move || BufReader::new(stderr).lines().map_while(Result::ok).collect::<Vec<_>>().join("\n"));
    let lines = rx.recv_timeout(Duration::from_secs(180)).unwrap_or_default();
    drop(driver);
    let seen: serde_json::Value = lines
        .iter()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("the driver printed no result: {}", errors.join().unwrap_or_default()));

    assert_eq!(seen["landed"], "/", "the login link leads to the page: {seen}");
    let csp = seen["csp"].as_str().unwrap_or_default();
    assert!(csp.contains("default-src 'self'") && csp.contains("script-src 'self'"), "{seen}");
    assert_eq!(seen["bash_severity"], "critical", "{seen}");
    assert_eq!(seen["bash_fill"], "rgb(193, 18, 31)", "drawn in the critical colour: {seen}");
    let detail = seen["detail_text"].as_str().unwrap_or_default();
    assert!(detail.contains("reverse_shell_stdio") && detail.contains("Trace (why it matched)") && detail.contains("fd 0 → socket"), "{detail}");
    assert!(detail.contains("Next steps") && detail.contains("/proc/3401/fd"), "{detail}");
    assert_eq!(seen["detail_closed"], true, "Esc closes the detail");
    assert_eq!(seen["filter_focused"], true, "/ focuses the filter");
    assert!(seen["total_before"].as_u64().is_some_and(|n| n > 50), "{seen}");
    assert_eq!(seen["total_after"], 1, "proc:bash narrows the table: {seen}");
    assert!(seen["first_row"].as_str().is_some_and(|r| r.contains("bash (3401)") && r.contains("203.0.113.200:4444")), "{seen}");
    assert!(seen["filter_error"].as_str().is_some_and(|e| e.contains("severity `bogus`")), "the filter's own sentence: {seen}");
    assert!(seen["event_text"].as_str().is_some_and(|e| e.contains("new")), "{seen}");
    let delay = seen["event_delay_ms"].as_i64().expect("delay");
    assert!((0..2_000).contains(&delay), "the new finding reached the page {delay} ms after the server saw it: {seen}");
    assert_eq!(seen["theme_changed"], true, "{seen}");
    // The only console error is the 400 of the refused filter (no CSP violation, no missing file).
    let console = seen["console_errors"].as_array().cloned().unwrap_or_default();
    assert!(console.iter().all(|e| e.as_str().is_some_and(|e| e.contains("status of 400"))), "{console:?}");
    assert!(std::fs::metadata(&screenshot).is_ok_and(|m| m.len() > 10_000), "a screenshot at {}", screenshot.display());
}
