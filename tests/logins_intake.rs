//! Login intake through the library: the auth.log fixture (OpenSSH's and
//! PAM's real message formats, documentation addresses only) read by the
//! follower into the book, tallied and judged: brute force then success is
//! critical, near misses stay quiet. Then the follower across rotation and
//! truncation with its position kept in a store, like the eve intake.

use std::io::Write;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Mutex;

use necromap::intel::tail::StartAt;
use necromap::logins::book::LoginBook;
use necromap::logins::detect::{Context, findings};
use necromap::logins::intake::FileReader;
use necromap::logins::rules::LoginRules;
use necromap::model::{Finding, LoginKind, Severity, Snapshot, SourceInfo, SourceKind};
use necromap::rules::ioc::IocSet;

const AUTH_LOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/auth/auth.log");
/// 2026-11-01T12:10:00Z: fifteen minutes after the fixture starts.
const NOW: i64 = 1_793_535_000_000;

fn snapshot_at(ms: i64) -> Snapshot {
    let mut s = Snapshot::empty(SourceInfo { kind: SourceKind::Replay, host: "web1".into(), detail: String::new() });
    s.taken_at_ms = ms;
    s
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

fn of<'a>(all: &'a [Finding], rule: &str, who: &str) -> Option<&'a Finding> {
    all.iter().find(|f| f.rule_id == rule && f.id.ends_with(&format!("@{who}")))
}

fn read_fixture(ioc: &IocSet, baseline: Option<&necromap::model::KeySet<IpAddr>>) -> (necromap::model::LoginDigest, Vec<Finding>) {
    let book = Mutex::new(LoginBook::default());
    let mut reader = FileReader::new(Path::new(AUTH_LOG), StartAt::Beginning, None);
    let batch = reader.take(&book, NOW);
    assert_eq!(batch.login_positions.len(), 1, "the position goes to the store with the events");
    assert_eq!(batch.login_positions[0].1.offset, std::fs::metadata(AUTH_LOG).expect("meta").len());
    let digest = book.lock().expect("book").digest(1, "auth.log", NOW);
    let s = snapshot_at(NOW);
    let cx = Context { snapshot: &s, ioc, baseline, rules: LoginRules::embedded() };
    let found = findings(&digest, &cx);
    (digest, found)
}

#[test]
fn brute_force_then_success_is_critical_and_near_misses_stay_quiet() {
    let (digest, all) = read_fixture(&IocSet::default(), None);
    assert_eq!(digest.malformed, 1, "one sshd line that does not read");
    let t = &digest.tallies[&ip("203.0.113.45")];
    assert_eq!(t.failures_hour, 12, "{t:?}");
    assert_eq!(t.hour(LoginKind::Accepted), 1);
    assert_eq!(t.hour(LoginKind::TooManyFailures), 4, "two lines for each of two root connections");
    assert_eq!(t.users, ["admin", "oracle", "pi", "root", "test", "ubuntu"]);
    assert_eq!(t.accepted_after_failures.len(), 1);
    assert_eq!(t.accepted_after_failures[0].failures_burst, 12);

    let crit = of(&all, "login_success_after_failures", "203.0.113.45").expect("success after failures");
    assert_eq!(crit.severity, Severity::Critical);
    assert!(crit.trace[0].value.contains("accepted password for root after 12 failures"), "{:?}", crit.trace);
    assert_eq!(of(&all, "login_brute_force", "203.0.113.45").map(|f| f.severity), Some(Severity::High));
    assert!(of(&all, "login_password_spray", "203.0.113.45").is_some(), "six users from one address");
    assert_eq!(of(&all, "login_activity", "203.0.113.45").map(|f| f.severity), Some(Severity::Low));

    // Near misses: 9 failures is not brute force; 4 failures then an accept is not a burst.
    assert_eq!(digest.tallies[&ip("198.51.100.23")].failures_hour, 9);
    assert!(of(&all, "login_brute_force", "198.51.100.23").is_none());
    assert!(of(&all, "login_password_spray", "198.51.100.23").is_none(), "one user from one address");
    let carol = &digest.tallies[&ip("2001:db8::77")];
    assert_eq!(carol.accepted_after_failures.first().map(|a| a.failures_burst), Some(4));
    assert!(of(&all, "login_success_after_failures", "2001:db8::77").is_none());
    assert_eq!(of(&all, "login_activity", "2001:db8::77").map(|f| f.severity), Some(Severity::Low));
    // An ordinary key login is on the map, but raises nothing.
    assert_eq!(of(&all, "login_activity", "192.0.2.10").map(|f| f.severity), Some(Severity::Info));
    assert_eq!(all.iter().filter(|f| f.id.ends_with("@192.0.2.10")).count(), 1);

    // One user from five addresses: each of them is spraying.
    for i in 31..=35 {
        let f = of(&all, "login_password_spray", &format!("198.51.100.{i}")).expect("spray across addresses");
        assert!(f.trace[0].value.contains("user backup from 5 addresses"), "{:?}", f.trace);
    }
    // The hostile user name is escaped wherever it shows.
    let hostile = &digest.tallies[&ip("192.0.2.66")];
    assert!(hostile.users.iter().any(|u| u.starts_with("\\x1b]0;owned\\x07\\u{202e}root")), "{:?}", hostile.users);
    for f in &all {
        for s in &f.trace {
            assert!(!s.value.chars().any(necromap::text::is_unsafe), "{}: {}", f.id, s.value);
        }
    }
    // A day later nothing is shown any more.
    let later = snapshot_at(NOW + 2 * necromap::model::DAY_MS);
    let mut d = digest.clone();
    d.tally(later.taken_at_ms);
    assert!(findings(&d, &Context { snapshot: &later, ioc: &IocSet::default(), baseline: None, rules: LoginRules::embedded() }).is_empty());
}

#[test]
fn logins_from_ioc_listed_or_new_addresses() {
    let mut ioc = IocSet::default();
    ioc.insert(ip("192.0.2.10"), 32, "watchlist");
    let mut known = necromap::model::KeySet::new();
    known.insert(ip("203.0.113.45"));
    let (_, all) = read_fixture(&ioc, Some(&known));
    let f = of(&all, "login_from_ioc", "192.0.2.10").expect("IOC login");
    assert!(f.trace[0].value.contains("watchlist"));
    assert!(of(&all, "login_from_ioc", "2001:db8::77").is_none(), "not listed");
    assert!(of(&all, "login_new_address", "2001:db8::77").is_some(), "not in the baseline");
    assert!(of(&all, "login_new_address", "203.0.113.45").is_none(), "in the baseline");
    let (_, none) = read_fixture(&IocSet::default(), None);
    assert!(!none.iter().any(|f| f.rule_id == "login_new_address"), "no baseline, no judgement");
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).expect("open");
    f.write_all(text.as_bytes()).expect("write");
}

fn failed(n: u32) -> String {
    format!("2026-11-01T11:5{}:00.000000+00:00 web1 sshd[{}]: Failed password for root from 203.0.113.{n} port 5{n:04} ssh2\n", n % 10, 100 + n)
}

#[test]
fn the_follower_survives_rotation_and_truncation_and_resumes_from_the_store() {
    let dir = tempfile::tempdir().expect("tmp");
    let (log, db) = (dir.path().join("auth.log"), dir.path().join("events.db"));
    append(&log, &failed(1));
    let book = Mutex::new(LoginBook::default());
    let mut conn = necromap::store::open(&db).expect("store");
    let key = log.display().to_string();
    let mut r = FileReader::new(&log, StartAt::End, None);
    assert!(r.take(&book, NOW).logins.is_empty(), "starts at the end");
    append(&log, &failed(2));
    let b = r.take(&book, NOW);
    assert_eq!(b.logins.iter().map(|e| e.remote.to_string()).collect::<Vec<_>>(), ["203.0.113.2"]);
    necromap::store::write(&mut conn, &b).expect("write");
    // A partial line waits for its end.
    append(&log, "2026-11-01T11:53:00.000000+00:00 web1 sshd[9]: Failed password for root from 203.0.113.3 ");
    assert!(r.take(&book, NOW).logins.is_empty());
    append(&log, "port 53 ssh2\n");
    let b = r.take(&book, NOW);
    assert_eq!(b.logins.len(), 1);
    necromap::store::write(&mut conn, &b).expect("write");

    // A restart resumes where the store says: nothing lost, nothing repeated.
    append(&log, &failed(4));
    let saved = necromap::store::query::login_position(&conn, &key).expect("query").expect("a position");
    let mut again = FileReader::new(&log, StartAt::End, Some(&saved));
    let b = again.take(&book, NOW);
    assert_eq!(b.logins.iter().map(|e| e.remote.to_string()).collect::<Vec<_>>(), ["203.0.113.4"]);
    necromap::store::write(&mut conn, &b).expect("write");

    // Rotation: the old file's last line, then the new file from its start.
    append(&log, &failed(5));
    std::fs::rename(&log, dir.path().join("auth.log.1")).expect("rotate");
    append(&log, &failed(6));
    let b = again.take(&book, NOW);
    assert_eq!(b.logins.iter().map(|e| e.remote.to_string()).collect::<Vec<_>>(), ["203.0.113.5", "203.0.113.6"]);
    necromap::store::write(&mut conn, &b).expect("write");

    append(&log, &failed(8));
    let b = again.take(&book, NOW);
    assert_eq!(b.logins.len(), 1);
    necromap::store::write(&mut conn, &b).expect("write");

    // Truncation in place (copytruncate): from the start again. (As with
    // eve.json, a file rewritten past the old length between two polls
    // cannot be told from one appended to.)
    std::fs::write(&log, "").expect("truncate");
    append(&log, &failed(7));
    let b = again.take(&book, NOW);
    assert_eq!(b.logins.iter().map(|e| e.remote.to_string()).collect::<Vec<_>>(), ["203.0.113.7"]);
    necromap::store::write(&mut conn, &b).expect("write");

    let stored = necromap::store::query::logins_since(&conn, 0, None, 100).expect("logins");
    let mut who: Vec<String> = stored.iter().map(|e| e.remote.to_string()).collect();
    who.sort();
    assert_eq!(who, ["203.0.113.2", "203.0.113.3", "203.0.113.4", "203.0.113.5", "203.0.113.6", "203.0.113.7", "203.0.113.8"], "each once");
    assert!(stored.iter().all(|e| e.kind == LoginKind::Failed && e.user.as_deref() == Some("root")));
    let pos = necromap::store::query::login_position(&conn, &key).expect("query").expect("a position");
    assert_eq!(pos.offset, std::fs::metadata(&log).expect("meta").len());
    // Another file's position is not this one's.
    let other = necromap::store::LoginPosition { inode: pos.inode + 1, ..pos };
    let mut fresh = FileReader::new(&log, StartAt::Beginning, Some(&other));
    assert_eq!(fresh.take(&book, NOW).logins.len(), 1, "a stale position is ignored: the file is read from its start");
    assert!(necromap::store::prune(&conn, i64::MAX).expect("prune") >= 6, "login events are pruned with the rest");
    assert!(necromap::store::query::logins_since(&conn, 0, None, 100).expect("logins").is_empty());
}

/// The shipped login rule file with one text replaced, written to `dir`.
fn tuned(dir: &Path, from: &str, to: &str) -> std::path::PathBuf {
    let (_, shipped) = necromap::logins::rules::EMBEDDED_FILE;
    assert!(shipped.contains(from), "{from}");
    let path = dir.join("logins.yaml");
    std::fs::write(&path, shipped.replacen(from, to, 1)).expect("write");
    path
}

#[test]
fn editing_a_threshold_in_the_yaml_changes_what_fires_and_a_bad_value_names_its_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let judge = |rules: &LoginRules| {
        let book = Mutex::new(LoginBook::default());
        FileReader::new(Path::new(AUTH_LOG), StartAt::Beginning, None).take(&book, NOW);
        let digest = book.lock().expect("book").digest(1, "auth.log", NOW);
        let s = snapshot_at(NOW);
        findings(&digest, &Context { snapshot: &s, ioc: &IocSet::default(), baseline: None, rules })
    };
    // The near misses fire once their thresholds are lowered in the file …
    let nine = LoginRules::load(&tuned(dir.path(), "when: { failures: 10, within: 10m }", "when: { failures: 9, within: 10m }")).expect("nine");
    let all = judge(&nine);
    let f = of(&all, "login_brute_force", "198.51.100.23").expect("nine failures are brute force now");
    assert!(f.trace[0].condition.contains("≥ 9 in 600 s"), "{:?}", f.trace);
    let four = LoginRules::load(&tuned(dir.path(), "when: { failures: 5, within: 10m }", "when: { failures: 4, within: 10m }")).expect("four");
    assert_eq!(of(&judge(&four), "login_success_after_failures", "2001:db8::77").map(|f| f.severity), Some(Severity::Critical));
    // … and raising one silences the attacker of the fixture.
    let strict = LoginRules::load(&tuned(dir.path(), "when: { failures: 10, within: 10m }", "when: { failures: 13, within: 10m }")).expect("strict");
    let all = judge(&strict);
    assert!(of(&all, "login_brute_force", "203.0.113.45").is_none(), "12 failures are not 13");
    assert!(of(&all, "login_success_after_failures", "203.0.113.45").is_some(), "the other rules are unchanged");
    // Severity, text and next steps come from the file too.
    let renamed =
        LoginRules::load(&tuned(dir.path(), "name: Brute-force login attempts\n    severity: high", "name: Guessing\n    severity: medium")).expect("renamed");
    let all = judge(&renamed);
    let f = of(&all, "login_brute_force", "203.0.113.45").expect("brute force");
    assert_eq!((f.rule_name.as_str(), f.severity), ("Guessing", Severity::Medium));
    assert!(f.steps.iter().any(|s| s == "ss -tnp dst 203.0.113.45"), "{:?}", f.steps);

    // A bad value is refused with the file, its line and the key.
    let bad = tuned(dir.path(), "when: { users: 5, addresses: 5, within: 1h }", "when: { users: 5, addresses: 5, within: 2d }");
    let line = std::fs::read_to_string(&bad).expect("read").lines().position(|l| l.contains("within: 2d")).expect("line") + 1;
    let e = LoginRules::load(&bad).expect_err("two days").to_string();
    assert!(e.starts_with(&format!("{}:{line}: at `login_rules.login_password_spray.when.within`", bad.display())), "{e}");
    assert!(e.contains("from 1s to 24h"), "{e}");
}
