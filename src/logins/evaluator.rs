//! The rule engine (and alert book) plus the login book: what the
//! collector runs each refresh when logins are followed. Each refresh
//! takes one tallied digest of the book; its findings and the snapshot's
//! `logins` both come from that digest, so they agree.

use std::sync::{Arc, Mutex};

use super::book::LoginBook;
use super::detect::{Context, findings};
use super::rules::LoginRules;
use crate::model::{AlertDigest, Evaluator, Finding, HealthLevel, HealthMessage, History, LoginDigest, Snapshot};
use crate::rules::ioc::IocSet;

#[derive(Debug)]
pub struct LoginEvaluator<E> {
    pub inner: E,
    pub book: Arc<Mutex<LoginBook>>,
    /// The auth log's path or `journal` (named in health).
    pub source: String,
    pub ioc: IocSet,
    /// Remote addresses of the saved baseline, when one is loaded.
    pub baseline: Option<crate::model::KeySet<std::net::IpAddr>>,
    /// The login rules (the shipped file or `--login-rules`).
    pub rules: Arc<LoginRules>,
    digest: Option<Arc<LoginDigest>>,
    trouble: Option<String>,
}

impl<E> LoginEvaluator<E> {
    pub fn new(
        inner: E,
        book: Arc<Mutex<LoginBook>>,
        source: String,
        ioc: IocSet,
        baseline: Option<crate::model::KeySet<std::net::IpAddr>>,
        rules: Arc<LoginRules>,
    ) -> Self {
        Self { inner, book, source, ioc, baseline, rules, digest: None, trouble: None }
    }
}

impl<E: Evaluator> Evaluator for LoginEvaluator<E> {
    fn lend_room(&mut self, room: Vec<crate::model::RawSocket>) {
        self.inner.lend_room(room);
    }

    fn leftovers(&mut self) -> Option<crate::drop_beside::Garbage> {
        self.inner.leftovers()
    }

    fn evaluate(&mut self, snapshot: &Snapshot, history: &History) -> Vec<Finding> {
        let mut out = self.inner.evaluate(snapshot, history);
        // The lock is held only to share the parties' `Arc`s and tally them.
        let taken = self.book.lock().ok().map(|b| (Arc::new(b.digest(snapshot.generation, &self.source, snapshot.taken_at_ms)), b.trouble.clone()));
        if let Some((d, trouble)) = taken {
            let cx = Context { snapshot, ioc: &self.ioc, baseline: self.baseline.as_ref(), rules: &self.rules };
            out.extend(findings(&d, &cx));
            self.digest = Some(d);
            self.trouble = trouble;
        }
        out
    }

    fn health(&self) -> Vec<HealthMessage> {
        let mut out = Vec::new();
        if let Some(d) = &self.digest {
            let mut line = HealthMessage::info(format!(
                "logins {}: {} lines read, {} login events, {} parties today, {} malformed lines skipped",
                crate::text::escape_control(&self.source),
                d.lines,
                d.events,
                d.tallies.len(),
                d.malformed
            ));
            if d.malformed > 0 {
                line.level = HealthLevel::Warn;
            }
            out.push(line);
        }
        if let Some(t) = &self.trouble {
            let mut line = HealthMessage::info(format!("logins {}: {}", crate::text::escape_control(&self.source), crate::text::escape_control(t)));
            line.level = HealthLevel::Warn;
            out.push(line);
        }
        out.extend(self.inner.health());
        out
    }

    fn alert_digest(&self) -> Option<Arc<AlertDigest>> {
        self.inner.alert_digest()
    }

    fn login_digest(&self) -> Option<Arc<LoginDigest>> {
        self.digest.clone()
    }
}
