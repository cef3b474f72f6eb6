//! Resource subscriptions: a client subscribes to `necromap://findings` or
//! `necromap://alerts/recent` and is sent `notifications/resources/updated`
//! when a finding of medium or above appears or a Suricata alert arrives,
//! at most once a second per resource.
//!
//! One watcher task per session (stdio has one session; HTTP one per
//! client) follows the collector's watch channel of published snapshots;
//! it starts with the first subscription and ends when the session's
//! transport closes or the collector stops.

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::RoleServer;
use rmcp::model::ResourceUpdatedNotificationParam;
use rmcp::service::Peer;
use tokio::sync::watch;
use tokio::time::Instant;

use super::resources::{ALERTS, FINDINGS};
use crate::collector::Published;
use crate::model::{Severity, Snapshot};

/// Most one resource's updates are sent: once per this.
pub const DEBOUNCE: Duration = Duration::from_secs(1);

/// The resources a session subscribed to, and whether its watcher runs.
#[derive(Debug, Default)]
pub struct Subscriptions {
    uris: Mutex<BTreeSet<String>>,
    watching: AtomicBool,
}

impl Subscriptions {
    /// Subscribe to `uri`; the error is a sentence for the client.
    pub fn add(&self, uri: &str) -> Result<(), String> {
        if uri != FINDINGS && uri != ALERTS {
            return Err(format!(
                "{} cannot be subscribed to: subscribe to {FINDINGS} (new findings of medium or above) or {ALERTS} (new Suricata alerts)",
                super::dto::safe(uri, 120)
            ));
        }
        if let Ok(mut uris) = self.uris.lock() {
            uris.insert(uri.to_string());
        }
        Ok(())
    }

    pub fn remove(&self, uri: &str) {
        if let Ok(mut uris) = self.uris.lock() {
            uris.remove(uri);
        }
    }

    fn has(&self, uri: &str) -> bool {
        self.uris.lock().is_ok_and(|u| u.contains(uri))
    }

    /// Start the session's watcher, once.
    pub fn watch(self: &Arc<Self>, published: watch::Receiver<Arc<Published>>, peer: Peer<RoleServer>) {
        if self.watching.swap(true, Ordering::SeqCst) {
            return;
        }
        let subs = self.clone();
        tokio::spawn(async move { subs.run(published, peer).await });
    }

    async fn run(self: Arc<Self>, mut published: watch::Receiver<Arc<Published>>, peer: Peer<RoleServer>) {
        let mut seen = Seen::of(&published.borrow_and_update().snapshot);
        let mut pending: BTreeSet<&'static str> = BTreeSet::new();
        let mut last_sent: [Option<Instant>; 2] = [None, None];
        loop {
            let due = pending.iter().map(|uri| last_sent[slot(uri)].map_or_else(Instant::now, |t| t + DEBOUNCE)).min();
            tokio::select! {
                changed = published.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let snapshot = published.borrow_and_update().snapshot.clone();
                    let (findings, alerts) = seen.update(&snapshot);
                    if findings {
                        pending.insert(FINDINGS);
                    }
                    if alerts {
                        pending.insert(ALERTS);
                    }
                }
                () = sleep_until(due), if due.is_some() => {}
            }
            if peer.is_transport_closed() {
                return;
            }
            let now = Instant::now();
            let ready: Vec<&'static str> = pending.iter().copied().filter(|uri| last_sent[slot(uri)].is_none_or(|t| now >= t + DEBOUNCE)).collect();
            for uri in ready {
                pending.remove(uri);
                if !self.has(uri) {
                    continue;
                }
                last_sent[slot(uri)] = Some(now);
                if peer.notify_resource_updated(ResourceUpdatedNotificationParam::new(uri)).await.is_err() {
                    return;
                }
            }
        }
    }
}

fn slot(uri: &str) -> usize {
    usize::from(uri == ALERTS)
}

async fn sleep_until(due: Option<Instant>) {
    if let Some(t) = due {
        tokio::time::sleep_until(t).await;
    }
}

/// What the watcher has already told about: the medium-or-above findings
/// of the last snapshot and the alerts counted so far.
#[derive(Debug, Default, PartialEq)]
struct Seen {
    findings: HashSet<String>,
    alerts: u64,
}

impl Seen {
    fn of(s: &Snapshot) -> Self {
        Self {
            findings: s.findings.iter().filter(|f| f.severity >= Severity::Medium).map(|f| f.id.clone()).collect(),
            alerts: s.alerts.as_ref().map_or(0, |d| d.alerts),
        }
    }

    /// Take in a new snapshot: whether a finding of medium or above
    /// appeared, and whether alerts arrived.
    fn update(&mut self, s: &Snapshot) -> (bool, bool) {
        let next = Self::of(s);
        let new_finding = next.findings.iter().any(|id| !self.findings.contains(id));
        let new_alerts = next.alerts > self.alerts;
        *self = next;
        (new_finding, new_alerts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_existing_resources_can_be_subscribed_to() {
        let subs = Subscriptions::default();
        assert!(subs.add(FINDINGS).is_ok());
        assert!(subs.add(ALERTS).is_ok());
        let e = subs.add("necromap://snapshot").expect_err("not subscribable");
        assert!(e.contains(FINDINGS), "{e}");
        assert!(subs.has(FINDINGS));
        subs.remove(FINDINGS);
        assert!(!subs.has(FINDINGS));
    }

    #[test]
    fn a_new_finding_of_medium_or_above_counts_and_a_repeated_one_does_not() {
        use crate::model::{Finding, Pid, Subject};
        let mut s = crate::model::two_namespaces::snapshot(None);
        let mut seen = Seen::of(&s);
        assert_eq!(seen.update(&s), (false, false), "the same snapshot again");
        s.findings.push(Finding::bare("quiet", Severity::Low, Subject::Process { pid: Pid(10) }));
        assert_eq!(seen.update(&s), (false, false), "low is below the bar");
        s.findings.push(Finding::bare("loud", Severity::High, Subject::Process { pid: Pid(10) }));
        assert_eq!(seen.update(&s), (true, false));
        assert_eq!(seen.update(&s), (false, false), "told once");
        s.alerts = Some(Arc::new(crate::model::AlertDigest { alerts: 3, ..Default::default() }));
        assert_eq!(seen.update(&s), (false, true), "alerts arrived");
        assert_eq!(seen.update(&s), (false, false), "and no more since");
    }
}
