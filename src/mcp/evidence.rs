//! What the threat tools weigh: findings and alerts in a time window,
//! from the event store when one is kept, else from this process's memory
//! (the current snapshot's findings and the alerts it was published with).
//! Each result names its source.

// Field docs here are JSON Schema descriptions read by models.
#![allow(clippy::doc_markdown)]

use std::collections::BTreeSet;
use std::net::IpAddr;

use rmcp::schemars::{self, JsonSchema};
use serde::Serialize;

use super::McpState;
use super::dto::{Lang, portable_schema, safe};
use crate::intel::{Phase, phase_of};
use crate::model::{Finding, Severity, Snapshot, Subject};
use crate::store::query::{self, StoredAlert, StoredFinding};

pub const FROM_STORE: &str = "event store: findings and Suricata alerts kept across restarts, socket events for processes";
pub const FROM_MEMORY: &str = "in-memory (no event store: --no-store or a replay without --db): findings of the current snapshot since necromap started, alerts followed since start, open sockets";

/// What a threat item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ThreatKind {
    /// A finding of a detection rule.
    Finding,
    /// A Suricata alert.
    Alert,
}

/// One finding or alert.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct ThreatItem {
    pub kind: ThreatKind,
    /// The finding id, or `suricata:<signature id>`.
    pub id: String,
    /// Rule name or alert signature (escaped, bounded).
    pub title: String,
    /// Alerts: Suricata 1 → high, 2 → medium, 3 → low.
    pub severity: Severity,
    /// Tags of a finding, or the category of an alert.
    pub types: Vec<String>,
    /// The remote address it concerns, when it has one.
    pub remote_address: Option<String>,
    pub pid: Option<u32>,
    pub first_ms: i64,
    pub last_ms: i64,
    /// Refreshes a finding was seen in (1 for an alert).
    pub count: u64,
    /// The attack phase its tags or category point to.
    pub phase: Option<Phase>,
    /// Why a finding matters (from its rule, in the language asked); empty for alerts.
    pub explanation: String,
}

impl ThreatItem {
    fn phase_of_types(&self) -> Option<Phase> {
        self.types.iter().find_map(|t| phase_of(t)).or_else(|| phase_of(&self.title))
    }
}

fn explanation(state: &McpState, rule_id: &str, lang: Lang) -> String {
    state.rules.rules.iter().find(|r| r.rule.id == rule_id).map_or_else(
        // The built-in login rules are not in the packs.
        || state.login_rules.explanation_of(rule_id, lang == Lang::Ko).unwrap_or_default().to_string(),
        |r| match lang {
            Lang::Ko if !r.rule.explanation.ko.is_empty() => r.rule.explanation.ko.clone(),
            _ => r.rule.explanation.en.clone(),
        },
    )
}

fn with_phase(mut item: ThreatItem) -> ThreatItem {
    item.phase = item.phase_of_types();
    item
}

fn from_stored_finding(state: &McpState, f: StoredFinding, lang: Lang) -> ThreatItem {
    with_phase(ThreatItem {
        kind: ThreatKind::Finding,
        explanation: explanation(state, &f.rule_id, lang),
        id: safe(&f.id, 256),
        title: safe(&f.rule_name, 256),
        severity: f.severity,
        types: f.tags,
        remote_address: f.endpoint,
        pid: f.pid,
        first_ms: f.first_seen_ms,
        last_ms: f.last_seen_ms,
        count: f.count,
        phase: None,
    })
}

fn from_stored_alert(a: &StoredAlert) -> ThreatItem {
    with_phase(ThreatItem {
        kind: ThreatKind::Alert,
        id: format!("suricata:{}", a.signature_id),
        title: safe(&a.signature, 512),
        severity: a.finding_severity(),
        types: vec![safe(&a.category, 256)],
        remote_address: Some(a.remote_ip.clone()),
        pid: None,
        first_ms: a.at_ms,
        last_ms: a.at_ms,
        count: 1,
        phase: None,
        explanation: String::new(),
    })
}

/// Whether a live finding concerns `ip` (a process finding does when the
/// process has a socket to it).
fn live_about(s: &Snapshot, f: &Finding, ip: IpAddr) -> bool {
    match f.subject {
        Subject::Process { pid } => !s.sockets_with(ip, Some(pid)).is_empty(),
        _ => s.subject_remote(f.subject) == Some(ip),
    }
}

fn from_live_finding(state: &McpState, s: &Snapshot, f: &Finding, lang: Lang) -> ThreatItem {
    let pid = f.subject.pid().map(|p| p.0);
    with_phase(ThreatItem {
        kind: ThreatKind::Finding,
        id: safe(&f.id, 256),
        title: safe(&f.rule_name, 256),
        severity: f.severity,
        types: f.tags.clone(),
        remote_address: s.subject_remote(f.subject).map(|ip| ip.to_string()),
        pid,
        first_ms: f.first_seen_ms,
        last_ms: f.last_seen_ms,
        count: 1,
        phase: None,
        explanation: explanation(state, &f.rule_id, lang),
    })
}

/// Findings and alerts since `since_ms` (about `ip` when given), and where
/// they came from. Live alert findings are left out: their alerts are
/// listed themselves.
/// A reader on the event store, when one is kept.
pub fn store_reader(state: &McpState) -> Result<Option<rusqlite::Connection>, String> {
    state.store.as_deref().map(crate::store::open_reader).transpose().map_err(|e| format!("the event store could not be read: {}", safe(&e.to_string(), 300)))
}

/// `conn` is the store reader from [`store_reader`] (None: from memory).
pub fn gather(
    state: &McpState,
    conn: Option<&rusqlite::Connection>,
    s: &Snapshot,
    since_ms: i64,
    ip: Option<IpAddr>,
    lang: Lang,
) -> Result<(Vec<ThreatItem>, String), String> {
    const MAX: usize = 10_000;
    // Store trouble is part of the answer's source: a failing store means
    // recent events may be missing from it.
    let trouble = s.health.messages.iter().find(|m| m.topic == Some(crate::model::HealthTopic::Store)).map(|m| format!(" — warning: {}", safe(&m.text, 300)));
    let source = |base: &str| format!("{base}{}", trouble.as_deref().unwrap_or(""));
    if let Some(conn) = conn {
        let mut items: Vec<ThreatItem> = query::findings_since(conn, since_ms, Severity::Info, ip, MAX)
            .map_err(|e| safe(&e.to_string(), 300))?
            .into_iter()
            .filter(|f| f.rule_id != "suricata_alerts")
            .map(|f| from_stored_finding(state, f, lang))
            .collect();
        items.extend(query::alerts_since(conn, since_ms, ip, MAX).map_err(|e| safe(&e.to_string(), 300))?.iter().map(from_stored_alert));
        return Ok((items, source(FROM_STORE)));
    }
    let mut items: Vec<ThreatItem> = s
        .findings
        .iter()
        .filter(|f| f.last_seen_ms >= since_ms && f.rule_id != "suricata_alerts" && ip.is_none_or(|ip| live_about(s, f, ip)))
        .map(|f| from_live_finding(state, s, f, lang))
        .collect();
    // The alerts of this snapshot's refresh, never later ones.
    if let Some(digest) = &s.alerts {
        let parties: Vec<IpAddr> = match ip {
            Some(ip) => vec![ip],
            None => digest.parties_since(since_ms).collect(),
        };
        for party in parties {
            items.extend(digest.about(party, since_ms).map(|a| from_stored_alert(&StoredAlert::from(a))));
        }
    }
    Ok((items, source(FROM_MEMORY)))
}

/// Distinct threat types among items (tags and categories).
pub fn distinct_types(items: &[ThreatItem]) -> usize {
    items.iter().flat_map(|i| i.types.iter()).collect::<BTreeSet<_>>().len()
}
