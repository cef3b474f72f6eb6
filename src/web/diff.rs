//! From the collector's published snapshots to events: findings new and
//! ended, Suricata alerts, a summary at most once a second, and the
//! health when it changes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::feed::{EventKind, Feed};
use crate::collector::Published;
use crate::mcp::dto::{Detail, FindingItem, safe};
use crate::model::{Severity, Snapshot};

/// At most one summary per this.
pub const SUMMARY_EVERY: Duration = Duration::from_secs(1);
/// Most alert events sent for one refresh (the rest are counted).
pub const ALERTS_PER_REFRESH: usize = 100;

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// What the last snapshot had, to tell what changed.
#[derive(Debug, Default)]
pub struct Differ {
    findings: HashMap<String, (String, Severity)>,
    health: Option<Value>,
    alerts_after_ms: i64,
    last_summary: Option<Instant>,
    summary_due: bool,
    seeded: bool,
}

impl Differ {
    /// Push the events `s` brings. The first snapshot only seeds the
    /// findings (the page loads them from the API).
    pub fn step(&mut self, s: &Snapshot, feed: &Feed, now: Instant) {
        let at_ms = now_ms();
        let current: HashMap<String, (String, Severity)> = s.findings.iter().map(|f| (f.id.clone(), (f.rule_id.clone(), f.severity))).collect();
        if self.seeded {
            for f in s.findings.iter().filter(|f| !self.findings.contains_key(&f.id)) {
                let mut item = serde_json::to_value(FindingItem::new(s, f, Detail::Brief)).unwrap_or(Value::Null);
                crate::mcp::prune(&mut item);
                feed.push(EventKind::FindingNew, &json!({ "generation": s.generation, "at_ms": at_ms, "rule_name": safe(&f.rule_name, 120), "finding": item }));
            }
            let mut ended: Vec<(&String, &(String, Severity))> = self.findings.iter().filter(|(id, _)| !current.contains_key(*id)).collect();
            ended.sort();
            for (id, (rule_id, severity)) in ended {
                feed.push(
                    EventKind::FindingEnded,
                    &json!({ "generation": s.generation, "at_ms": at_ms, "id": safe(id, 200), "rule_id": rule_id, "severity": severity }),
                );
            }
        }
        self.findings = current;
        self.alerts(s, feed, at_ms);
        let health = health_of(s);
        if self.health.as_ref() != Some(&health) {
            feed.push(EventKind::Health, &json!({ "generation": s.generation, "at_ms": at_ms, "health": health }));
            self.health = Some(health);
        }
        self.summary_due = true;
        self.tick(s, feed, now);
        self.seeded = true;
    }

    /// Send the summary when one is due and a second has passed since the last.
    pub fn tick(&mut self, s: &Snapshot, feed: &Feed, now: Instant) {
        if !self.summary_due || self.last_summary.is_some_and(|t| now.duration_since(t) < SUMMARY_EVERY) {
            return;
        }
        feed.push(EventKind::Summary, &summary(s, now_ms()));
        self.last_summary = Some(now);
        self.summary_due = false;
    }

    fn alerts(&mut self, s: &Snapshot, feed: &Feed, at_ms: i64) {
        let Some(digest) = &s.alerts else { return };
        let mut fresh: Vec<&crate::model::Alert> = digest.parties.values().flat_map(|p| p.alerts.iter()).filter(|a| a.at_ms > self.alerts_after_ms).collect();
        fresh.sort_by_key(|a| a.at_ms);
        let newest = fresh.last().map(|a| a.at_ms);
        // The first snapshot's alerts are history, not news.
        if self.seeded {
            let skipped = fresh.len().saturating_sub(ALERTS_PER_REFRESH);
            for a in fresh.iter().skip(skipped) {
                feed.push(
                    EventKind::Alert,
                    &json!({
                        "generation": s.generation, "at_ms": at_ms, "alert_ms": a.at_ms, "remote": a.remote.to_string(),
                        "signature_id": a.signature_id, "signature": safe(&a.signature, 200), "category": safe(&a.category, 120),
                        "severity": a.severity, "proto": safe(&a.proto, 16), "skipped": skipped,
                    }),
                );
            }
        }
        if let Some(n) = newest {
            self.alerts_after_ms = self.alerts_after_ms.max(n);
        }
    }
}

/// The health as the page shows it (host text escaped).
pub fn health_of(s: &Snapshot) -> Value {
    let messages: Vec<Value> = s.health.messages.iter().map(|m| json!({ "level": m.level, "text": safe(&m.text, 300) })).collect();
    json!({ "privileged": s.health.privileged, "processes_denied": s.health.processes_denied, "messages": messages })
}

/// Counts of one snapshot.
pub fn summary(s: &Snapshot, at_ms: i64) -> Value {
    let mut by_severity: std::collections::BTreeMap<Severity, u64> = std::collections::BTreeMap::new();
    for f in &s.findings {
        *by_severity.entry(f.severity).or_default() += 1;
    }
    json!({
        "generation": s.generation, "taken_at_ms": s.taken_at_ms, "at_ms": at_ms, "host": safe(&s.source.host, 120),
        "sockets": s.sockets.len(), "processes": s.processes.len(), "endpoints": s.endpoints.len(), "listeners": s.listeners.len(),
        "findings": s.findings.len(), "findings_by_severity": by_severity,
    })
}

/// Follow the published snapshots until `cancel` or the collector stops.
pub async fn run(feed: Arc<Feed>, mut published: watch::Receiver<Arc<Published>>, cancel: CancellationToken) {
    let mut differ = Differ::default();
    let mut latest = published.borrow_and_update().snapshot.clone();
    differ.step(&latest, &feed, Instant::now());
    let mut ticks = tokio::time::interval(SUMMARY_EVERY / 4);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            changed = published.changed() => {
                if changed.is_err() {
                    return;
                }
                latest = published.borrow_and_update().snapshot.clone();
                differ.step(&latest, &feed, Instant::now());
            }
            _ = ticks.tick() => differ.tick(&latest, &feed, Instant::now()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Finding, Pid, Subject};
    use crate::web::feed::Since;

    fn with_findings(ids: &[&str]) -> Snapshot {
        let mut s = crate::model::two_namespaces::snapshot(None);
        s.findings = ids.iter().map(|id| Finding { id: (*id).into(), ..Finding::bare("r", Severity::High, Subject::Process { pid: Pid(10) }) }).collect();
        s
    }

    fn kinds(feed: &Feed, after: u64) -> Vec<(EventKind, String)> {
        let Since::Events(events) = feed.since(after) else { panic!("events") };
        events.into_iter().map(|e| (e.kind, e.data.to_string())).collect()
    }

    #[test]
    fn findings_new_and_ended_health_once_and_a_summary_a_second() {
        let feed = Feed::new(64);
        let mut d = Differ::default();
        let t0 = Instant::now();
        d.step(&with_findings(&["a", "b"]), &feed, t0);
        let first: Vec<EventKind> = kinds(&feed, 0).into_iter().map(|k| k.0).collect();
        assert_eq!(first, vec![EventKind::Health, EventKind::Summary], "the first snapshot only seeds the findings");
        let seen = feed.last_id();
        d.step(&with_findings(&["b", "c"]), &feed, t0 + Duration::from_millis(300));
        let next = kinds(&feed, seen);
        assert_eq!(next.len(), 2, "no health (unchanged), no summary (within the second): {next:?}");
        assert_eq!(next[0].0, EventKind::FindingNew);
        assert!(next[0].1.contains("\"id\":\"c\""), "{}", next[0].1);
        assert_eq!(next[1].0, EventKind::FindingEnded);
        assert!(next[1].1.contains("\"id\":\"a\""), "{}", next[1].1);
        // The summary held back is sent once the second has passed.
        let seen = feed.last_id();
        d.tick(&with_findings(&["b", "c"]), &feed, t0 + Duration::from_millis(600));
        assert!(kinds(&feed, seen).is_empty());
        d.tick(&with_findings(&["b", "c"]), &feed, t0 + Duration::from_secs(1));
        assert_eq!(kinds(&feed, seen).into_iter().map(|k| k.0).collect::<Vec<_>>(), vec![EventKind::Summary]);
        let seen = feed.last_id();
        d.tick(&with_findings(&["b", "c"]), &feed, t0 + Duration::from_millis(2_500));
        assert!(kinds(&feed, seen).is_empty(), "nothing new, no summary");
    }
}
