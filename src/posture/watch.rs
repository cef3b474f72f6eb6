//! Posture in the live pipeline: the checks run on a thread of their own
//! at start and every ten minutes (they read /proc and may run nft), and
//! each refresh adds the failed checks as findings about the host, so the
//! explorer, MCP and the store see them with the other findings.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Options, findings, run};
use crate::model::{AlertDigest, Evaluator, Finding, HealthMessage, History, LoginDigest, Snapshot};

/// How often the checks run again.
pub const EVERY: Duration = Duration::from_secs(600);

/// The latest failed checks, as findings (first seen kept across runs).
pub type Latest = Arc<Mutex<Vec<Finding>>>;

/// The thread running the checks; dropping it stops the thread.
#[derive(Debug)]
pub struct PostureWatch {
    _worker: crate::worker::Worker,
    pub latest: Latest,
}

impl PostureWatch {
    pub fn spawn(opts: Options, every: Duration) -> std::io::Result<Self> {
        let latest: Latest = Arc::default();
        let out = latest.clone();
        let worker = crate::worker::Worker::spawn("necromap-posture", move |stop| {
            let mut first_seen: HashMap<String, i64> = HashMap::new();
            while !stop.is_set() {
                let now = crate::collect::now_ms();
                let mut found = findings(&run(&opts), now);
                for f in &mut found {
                    f.first_seen_ms = *first_seen.entry(f.id.clone()).or_insert(now);
                }
                if let Ok(mut l) = out.lock() {
                    *l = found;
                }
                let next = Instant::now() + every;
                while Instant::now() < next && !stop.is_set() {
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        })?;
        Ok(Self { _worker: worker, latest })
    }
}

/// The evaluator before it, plus the latest posture findings (seen again
/// at each refresh).
#[derive(Debug)]
pub struct PostureEvaluator<E> {
    pub inner: E,
    pub latest: Latest,
}

impl<E: Evaluator> Evaluator for PostureEvaluator<E> {
    fn lend_room(&mut self, room: Vec<crate::model::RawSocket>) {
        self.inner.lend_room(room);
    }

    fn leftovers(&mut self) -> Option<crate::drop_beside::Garbage> {
        self.inner.leftovers()
    }

    fn evaluate(&mut self, snapshot: &Snapshot, history: &History) -> Vec<Finding> {
        let mut out = self.inner.evaluate(snapshot, history);
        if let Ok(l) = self.latest.lock() {
            out.extend(l.iter().cloned().map(|mut f| {
                f.last_seen_ms = snapshot.taken_at_ms.max(f.first_seen_ms);
                f
            }));
        }
        out
    }

    fn health(&self) -> Vec<HealthMessage> {
        self.inner.health()
    }

    fn alert_digest(&self) -> Option<Arc<AlertDigest>> {
        self.inner.alert_digest()
    }

    fn login_digest(&self) -> Option<Arc<LoginDigest>> {
        self.inner.login_digest()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Severity, SourceInfo, SourceKind, Subject};

    struct Nothing;
    impl Evaluator for Nothing {
        fn evaluate(&mut self, _: &Snapshot, _: &History) -> Vec<Finding> {
            Vec::new()
        }
    }

    #[test]
    fn failed_checks_of_a_root_become_host_findings_each_refresh() {
        let dir = tempfile::tempdir().expect("tmp");
        let f = dir.path().join("proc/sys/net/ipv4/tcp_syncookies");
        std::fs::create_dir_all(f.parent().expect("parent")).expect("mkdir");
        std::fs::write(&f, "0\n").expect("write");
        let watch = PostureWatch::spawn(Options { root: dir.path().to_path_buf(), policy: None, run_commands: false }, EVERY).expect("spawn");
        let deadline = Instant::now() + Duration::from_secs(10);
        while watch.latest.lock().expect("lock").is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut ev = PostureEvaluator { inner: Nothing, latest: watch.latest.clone() };
        let mut s = Snapshot::empty(SourceInfo { kind: SourceKind::Netlink, host: "h".into(), detail: String::new() });
        s.taken_at_ms = i64::MAX / 2;
        let found = ev.evaluate(&s, &History::new());
        let f = found.iter().find(|f| f.id == "posture@sysctl:net.ipv4.tcp_syncookies").expect("a host finding");
        assert_eq!((f.subject, f.severity), (Subject::Host, Severity::Medium));
        assert_eq!(f.last_seen_ms, i64::MAX / 2);
        assert!(!f.explanation_ko.is_empty());
        drop(watch);
    }
}
