//! `necromap respond`: proposals from stored alerts, never for loopback or
//! allowlisted parties, logged; `--execute` runs them only as root, through
//! a stand-in `nft` here (`NECROMAP_NFT`), so the test never touches the
//! firewall. As non-root (as CI may run) the refusal is what is checked.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use rusqlite::{Connection, params};

const BIN: &str = env!("CARGO_BIN_EXE_necromap");

fn insert_alerts(db: &std::path::Path, ip: &str, now: i64) {
    let conn = Connection::open(db).expect("db");
    for sid in 1..=3 {
        conn.execute(
            "INSERT INTO alerts (at_ms, remote_ip, src_ip, dest_ip, proto, signature_id, signature, category, severity) VALUES (?1, ?2, ?2, '10.0.0.5', 'TCP', ?3, 'ET TEST', 'Misc', 2)",
            params![now - 10_000, ip, sid],
        )
        .expect("insert");
    }
}

fn count(db: &std::path::Path, kind: &str) -> i64 {
    Connection::open(db).expect("db").query_row("SELECT count(*) FROM responses WHERE kind = ?1", [kind], |r| r.get(0)).expect("count")
}

#[test]
fn proposals_are_logged_and_execution_needs_root() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("events.db");
    let run = |args: &[&str], nft: Option<&std::path::Path>| {
        let mut c = Command::new(BIN);
        c.arg("--db").arg(&db).args(args).env("XDG_DATA_HOME", dir.path());
        if let Some(n) = nft {
            c.env("NECROMAP_NFT", n);
        }
        c.output().expect("run")
    };
    let out = run(&["respond"], None);
    assert!(String::from_utf8_lossy(&out.stdout).contains("no block candidates"), "{}", String::from_utf8_lossy(&out.stderr));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as i64;
    insert_alerts(&db, "203.0.113.45", now);
    insert_alerts(&db, "127.0.0.1", now);
    insert_alerts(&db, "198.51.100.9", now);

    let out = run(&["respond", "--allow", "198.51.100.0/24"], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("nft add element inet necromap block4 { 203.0.113.45 timeout 3600s }"), "{text}");
    assert!(text.contains("never blocked: 127.0.0.1 (loopback"), "{text}");
    assert!(text.contains("never blocked: 198.51.100.9 (allowlisted"), "{text}");
    assert!(text.contains("nothing was run"), "{text}");
    assert_eq!(count(&db, "proposed"), 1);

    // A stand-in nft that records its arguments.
    let record = dir.path().join("nft-args");
    let fake = dir.path().join("fake-nft");
    std::fs::write(&fake, format!("#!/bin/sh\necho \"$@\" >> {}\n", record.display())).expect("script");
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let out = run(&["respond", "--execute", "--yes", "--allow", "198.51.100.0/24"], Some(&fake));
    if rustix::process::geteuid().is_root() {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(std::fs::read_to_string(&record).expect("nft ran").trim(), "add element inet necromap block4 { 203.0.113.45 timeout 3600s }");
        assert_eq!(count(&db, "executed"), 1);
    } else {
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("needs root"));
        assert!(!record.exists(), "nothing ran");
        assert_eq!(count(&db, "executed"), 0);
    }
    assert_eq!(count(&db, "proposed"), 2, "each run logs its proposals");
}

/// `n` failed passwords from `ip` in the last minute, each its own connection.
fn insert_failures(db: &std::path::Path, ip: &str, n: i64, now: i64) {
    let conn = Connection::open(db).expect("db");
    for i in 0..n {
        conn.execute(
            "INSERT INTO login_events (at_ms, kind, remote_ip, port, user, invalid_user, method, service, pid) VALUES (?1, 'failed', ?2, ?3, 'root', 0, 'password', 'sshd', ?4)",
            params![now - 60_000 + i * 1_000, ip, 40_000 + i, 2_000 + i],
        )
        .expect("insert");
    }
}

#[test]
fn brute_forcing_login_parties_are_proposed_under_the_same_never_block_rules() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("events.db");
    let run = |args: &[&str]| {
        let out = Command::new(BIN).arg("--db").arg(&db).args(args).env("XDG_DATA_HOME", dir.path()).output().expect("run");
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, text, err) = run(&["respond"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(text.contains("no block candidates"), "{text}");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as i64;
    insert_failures(&db, "203.0.113.77", 10, now);
    insert_failures(&db, "127.0.0.1", 12, now);
    insert_failures(&db, "198.51.100.50", 10, now);
    insert_failures(&db, "192.0.2.99", 9, now);
    // Alerts and brute force from one address: one proposal with both reasons.
    insert_alerts(&db, "203.0.113.88", now);
    insert_failures(&db, "203.0.113.88", 11, now);

    let (code, text, err) = run(&["respond", "--allow", "198.51.100.0/24"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(text.contains("nft add element inet necromap block4 { 203.0.113.77 timeout 3600s }    # 10 failed logins in 600 s (brute force)"), "{text}");
    assert!(text.contains("never blocked: 127.0.0.1 (loopback"), "{text}");
    assert!(text.contains("never blocked: 198.51.100.50 (allowlisted"), "{text}");
    let both = text.lines().find(|l| l.contains("{ 203.0.113.88 timeout")).unwrap_or_default();
    assert!(both.contains("; 11 failed logins in 600 s (brute force)"), "{text}");
    assert!(!text.contains("192.0.2.99"), "nine failures are a near miss: {text}");
    assert!(text.contains("proposed (2 from 1 alert parties and 4 brute-forcing login parties)"), "{text}");
    assert_eq!(count(&db, "proposed"), 2);

    // A tuned login rule file moves the threshold for respond too …
    let shipped = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/rules/logins/logins.yaml")).expect("shipped rules");
    let nine = dir.path().join("nine.yaml");
    std::fs::write(&nine, shipped.replacen("when: { failures: 10, within: 10m }", "when: { failures: 9, within: 10m }", 1)).expect("write");
    let (code, text, err) = run(&["--login-rules", nine.to_str().expect("path"), "respond", "--allow", "198.51.100.0/24"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(text.contains("{ 192.0.2.99 timeout 3600s }    # 9 failed logins in 600 s (brute force)"), "{text}");
    // … and a bad one is refused with its file and line, before anything is proposed.
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, shipped.replacen("when: { failures: 10, within: 10m }", "when: { failures: -1, within: 10m }", 1)).expect("write");
    let line = std::fs::read_to_string(&bad).expect("read").lines().position(|l| l.contains("failures: -1")).expect("line") + 1;
    let (code, _, err) = run(&["--login-rules", bad.to_str().expect("path"), "respond"]);
    assert_eq!(code, Some(1));
    assert!(err.contains(&format!("{}:{line}: at `login_rules.login_brute_force.when.failures`", bad.display())), "{err}");
    assert_eq!(count(&db, "proposed"), 5, "the bad run proposed nothing");
}
