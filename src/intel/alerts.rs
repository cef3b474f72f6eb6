//! Alerts folded onto the map: recent alerts per remote party, and the
//! findings they become in each refresh (the block window is `window`).
//!
//! The eve tailer adds alerts to the book; each refresh the
//! [`AlertEvaluator`] (the rule engine plus this book) takes one
//! [`AlertDigest`] of it, turns each party's alerts of the last hour into
//! one endpoint finding, and publishes the digest with the snapshot, so the
//! map, MCP and the store read the alerts of that refresh and no later ones.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::model::{AlertDigest, EndpointKey, Evaluator, Finding, HealthMessage, History, PartyAlerts, Severity, Snapshot, Subject, TraceStep};

pub use super::window::{Candidate, WINDOW_MS, candidate, candidates, weight};
pub use crate::model::FlowSummary;

use super::eve::Alert;

/// Alerts shown per party: the last hour.
pub const SHOW_MS: i64 = 3_600_000;
/// Alerts kept per party, and parties kept.
const PER_PARTY: usize = 200;
const PARTIES: usize = 10_000;

/// Recent alerts, per remote party: what the intake fills. Each party's
/// record is an `Arc` shared with the digests published since it last
/// changed; adding to it copies it only when a digest still holds it.
#[derive(Debug, Default)]
pub struct AlertBook {
    parties: BTreeMap<IpAddr, Arc<PartyAlerts>>,
    /// Every party by when it was last heard from (its last alert's
    /// time): the least recent is forgotten first, in O(log n), however
    /// many parties an eve file names.
    recency: BTreeSet<(i64, IpAddr)>,
    /// Flow records per party (shown next to parties with alerts).
    flows: BTreeMap<IpAddr, FlowSummary>,
    /// Lines read, alerts kept, lines that did not parse (for health).
    pub lines: u64,
    pub alerts: u64,
    pub malformed: u64,
}

impl AlertBook {
    pub fn add(&mut self, alert: Alert) {
        self.alerts += 1;
        if !self.parties.contains_key(&alert.remote) && self.parties.len() >= PARTIES {
            // Forget the party heard from least recently.
            if let Some((_, ip)) = self.recency.pop_first() {
                self.parties.remove(&ip);
            }
        }
        let flows = self.flows.get(&alert.remote).copied();
        let party = Arc::make_mut(self.parties.entry(alert.remote).or_insert_with(|| Arc::new(PartyAlerts { alerts: Arc::default(), flows })));
        self.recency.remove(&(party.last_ms(), alert.remote));
        self.recency.insert((alert.at_ms, alert.remote));
        let queue = Arc::make_mut(&mut party.alerts);
        queue.push_back(alert);
        while queue.len() > PER_PARTY {
            queue.pop_front();
        }
    }

    /// Count a flow record against its party (bounded like the alerts).
    pub fn add_flow(&mut self, f: &super::eve::Flow) {
        if !self.flows.contains_key(&f.remote) && self.flows.len() >= PARTIES {
            return;
        }
        let s = self.flows.entry(f.remote).or_default();
        s.flows += 1;
        s.bytes_toserver += f.bytes_toserver;
        s.bytes_toclient += f.bytes_toclient;
        s.last_ms = s.last_ms.max(f.at_ms);
        let summary = *s;
        if let Some(party) = self.parties.get_mut(&f.remote) {
            Arc::make_mut(party).flows = Some(summary);
        }
    }

    /// What the book holds now, for the snapshot of `generation`: the
    /// parties' `Arc`s are shared, not copied.
    pub fn digest(&self, generation: u64) -> AlertDigest {
        AlertDigest { generation, parties: self.parties.clone(), lines: self.lines, alerts: self.alerts, malformed: self.malformed }
    }
}

/// The finding a party's recent alerts make.
pub fn alert_finding(digest: &AlertDigest, ip: IpAddr, now_ms: i64) -> Option<Finding> {
    let shown: Vec<&Alert> = digest.about(ip, now_ms - SHOW_MS).collect();
    let worst = shown.iter().map(|a| a.severity).min()?;
    let candidate = candidate(digest, ip, now_ms);
    let severity = match (worst, &candidate) {
        (_, Some(_)) => Severity::Critical,
        (1, None) => Severity::High,
        (2, None) => Severity::Medium,
        _ => Severity::Low,
    };
    let mut tags: Vec<String> = vec!["ids".into()];
    for a in &shown {
        if let Some(p) = super::phase_of(&a.category).or_else(|| super::phase_of(&a.signature)) {
            let tag = match p {
                super::Phase::Reconnaissance => "scan",
                super::Phase::Exploitation => "exploit",
                super::Phase::Persistence => "persistence",
                super::Phase::LateralMovement => "lateral",
                super::Phase::CommandAndControl => "c2",
                super::Phase::Exfiltration => "exfiltration",
            };
            if !tags.iter().any(|t| t == tag) {
                tags.push(tag.into());
            }
        }
    }
    let mut trace: Vec<TraceStep> = shown
        .iter()
        .rev()
        .take(10)
        .map(|a| TraceStep {
            condition: format!("suricata sid {} severity {}", a.signature_id, a.severity),
            value: format!(
                "{} {} · {} {}:{} → {}:{}",
                crate::duration::utc(a.at_ms),
                crate::text::escape_control(&a.signature),
                a.proto,
                a.src_ip,
                a.src_port.map_or_else(|| "-".into(), |p| p.to_string()),
                a.dest_ip,
                a.dest_port.map_or_else(|| "-".into(), |p| p.to_string())
            ),
        })
        .collect();
    if let Some(s) = digest.flows_of(ip) {
        trace.push(TraceStep {
            condition: "suricata flow records".into(),
            value: format!(
                "{} flows, {} bytes to server, {} bytes to client, last {}",
                s.flows,
                s.bytes_toserver,
                s.bytes_toclient,
                crate::duration::utc(s.last_ms)
            ),
        });
    }
    if let Some(c) = &candidate {
        trace.insert(
            0,
            TraceStep {
                condition: "block window 300 s: count ≥ 5, weighted score ≥ 20 or ≥ 3 signatures".into(),
                value: format!("{} alerts, score {}, {} signatures", c.count, c.score, c.signatures),
            },
        );
    }
    let first = shown.iter().map(|a| a.at_ms).min().unwrap_or(now_ms);
    let last = shown.iter().map(|a| a.at_ms).max().unwrap_or(now_ms);
    Some(Finding {
        id: format!("suricata_alerts@{ip}"),
        rule_id: "suricata_alerts".into(),
        rule_name: format!("Suricata alerts ({} in the last hour)", shown.len()),
        severity,
        tags,
        subject: Subject::Endpoint { endpoint: EndpointKey::host(ip) },
        netns: None,
        highlight: None,
        icon: Some(crate::spec::IconHint::Ghost),
        trace,
        explanation: "Suricata raised alerts about this address. The trace lists the latest with signature, ports and time; several in a few minutes make it a block candidate.".into(),
        explanation_ko: "Suricata가 이 주소에 대해 경보를 올렸습니다. 추적에 최근 경보의 시그니처, 포트, 시각이 있습니다. 몇 분 안에 여러 건이면 차단 후보가 됩니다.".into(),
        steps: vec![format!("grep '\"{ip}\"' /var/log/suricata/eve.json | tail"), format!("ss -tnp dst {ip}")],
        first_seen_ms: first,
        last_seen_ms: last,
    })
}

/// The rule engine plus the alert book: what the collector runs each
/// refresh. Each refresh takes one digest of the book; its findings and the
/// snapshot's `alerts` both come from that digest, so they agree.
#[derive(Debug)]
pub struct AlertEvaluator<E> {
    pub inner: E,
    pub book: Arc<Mutex<AlertBook>>,
    /// Named in health when alert intake has trouble.
    pub eve_path: String,
    /// The digest of the last refresh.
    pub digest: Option<Arc<AlertDigest>>,
}

impl<E> AlertEvaluator<E> {
    pub fn new(inner: E, book: Arc<Mutex<AlertBook>>, eve_path: String) -> Self {
        Self { inner, book, eve_path, digest: None }
    }
}

impl<E: Evaluator> Evaluator for AlertEvaluator<E> {
    fn lend_room(&mut self, room: Vec<crate::model::RawSocket>) {
        self.inner.lend_room(room);
    }

    fn leftovers(&mut self) -> Option<crate::drop_beside::Garbage> {
        self.inner.leftovers()
    }

    fn evaluate(&mut self, snapshot: &Snapshot, history: &History) -> Vec<Finding> {
        let mut findings = self.inner.evaluate(snapshot, history);
        let now = snapshot.taken_at_ms;
        // The lock is held only to share the parties' `Arc`s.
        let digest = self.book.lock().ok().map(|book| Arc::new(book.digest(snapshot.generation)));
        if let Some(d) = &digest {
            findings.extend(d.parties_since(now - SHOW_MS).filter_map(|ip| alert_finding(d, ip, now)));
        }
        self.digest = digest;
        findings
    }

    fn health(&self) -> Vec<HealthMessage> {
        let mut out = Vec::new();
        if let Some(d) = &self.digest {
            let mut line = HealthMessage::info(format!(
                "eve {}: {} lines read, {} alerts, {} malformed lines skipped",
                crate::text::escape_control(&self.eve_path),
                d.lines,
                d.alerts,
                d.malformed
            ));
            if d.malformed > 0 {
                line.level = crate::model::HealthLevel::Warn;
            }
            out.push(line);
        }
        out.extend(self.inner.health());
        out
    }

    fn alert_digest(&self) -> Option<Arc<AlertDigest>> {
        self.digest.clone()
    }
}

/// A digest of the alerts stored since `since_ms` (for block windows
/// computed outside the live process, e.g. `necromap respond`).
pub fn stored_digest(conn: &rusqlite::Connection, since_ms: i64) -> Result<AlertDigest, crate::store::StoreError> {
    let mut book = AlertBook::default();
    for a in crate::store::query::alerts_since(conn, since_ms, None, 100_000)?.into_iter().rev() {
        let (Ok(remote), Ok(src_ip), Ok(dest_ip)) = (a.remote_ip.parse(), a.src_ip.parse(), a.dest_ip.parse()) else { continue };
        book.add(crate::model::Alert {
            at_ms: a.at_ms,
            remote,
            local: None,
            src_ip,
            src_port: a.src_port,
            dest_ip,
            dest_port: a.dest_port,
            proto: a.proto,
            direction: None,
            flow_id: None,
            signature_id: a.signature_id,
            signature: a.signature,
            category: a.category,
            severity: a.severity,
            action: None,
        });
    }
    Ok(book.digest(0))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn alert(ip: &str, at_ms: i64, sid: u64, severity: u8) -> Alert {
        let remote: IpAddr = ip.parse().expect("ip");
        Alert {
            at_ms,
            remote,
            local: None,
            src_ip: remote,
            src_port: Some(4000),
            dest_ip: "10.0.0.5".parse().expect("ip"),
            dest_port: Some(22),
            proto: "TCP".into(),
            direction: None,
            flow_id: None,
            signature_id: sid,
            signature: "ET SCAN test".into(),
            category: "Attempted Information Leak".into(),
            severity,
            action: None,
        }
    }

    #[test]
    fn recent_alerts_become_one_endpoint_finding() {
        let mut b = AlertBook::default();
        b.add(alert("203.0.113.45", 1_000, 7, 2));
        let d = b.digest(1);
        let f = alert_finding(&d, "203.0.113.45".parse().expect("ip"), 2_000).expect("finding");
        assert_eq!(f.severity, Severity::Medium);
        assert!(f.tags.contains(&"scan".to_string()), "{:?}", f.tags);
        assert!(f.trace[0].value.contains("ET SCAN test"));
        assert_eq!(alert_finding(&d, "203.0.113.45".parse().expect("ip"), 1_000 + SHOW_MS + 1), None, "older than an hour");
    }

    #[test]
    fn a_full_book_forgets_the_party_heard_from_least_recently() {
        let mut book = AlertBook::default();
        let ip = |i: usize| format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
        for i in 0..PARTIES {
            book.add(alert(&ip(i), i as i64, 1, 2));
        }
        // Party 0 speaks again: now party 1 is the least recent.
        book.add(alert(&ip(0), PARTIES as i64, 1, 2));
        for i in PARTIES..PARTIES + 3 {
            book.add(alert(&ip(i), i as i64 + 1, 1, 2));
        }
        let d = book.digest(1);
        assert_eq!(d.parties.len(), PARTIES);
        assert_eq!(book.recency.len(), PARTIES, "one recency entry per party");
        let held = |i: usize| d.parties.contains_key(&ip(i).parse::<IpAddr>().expect("ip"));
        assert!(held(0), "heard from again, kept");
        assert!(!held(1) && !held(2) && !held(3), "the three least recent went");
        assert!(held(4) && held(PARTIES + 2));
    }

    #[test]
    fn a_digest_shares_the_parties_that_did_not_change() {
        let (quiet, busy): (IpAddr, IpAddr) = ("198.51.100.7".parse().expect("ip"), "203.0.113.45".parse().expect("ip"));
        let mut b = AlertBook::default();
        b.add(alert("198.51.100.7", 1_000, 1, 3));
        b.add(alert("203.0.113.45", 1_000, 1, 3));
        let first = b.digest(1);
        b.add(alert("203.0.113.45", 2_000, 2, 3));
        let second = b.digest(2);
        assert!(Arc::ptr_eq(&first.parties[&quiet], &second.parties[&quiet]), "an unchanged party is shared, not copied");
        assert!(!Arc::ptr_eq(&first.parties[&busy], &second.parties[&busy]), "a changed party is its own copy");
        assert_eq!(first.about(busy, 0).count(), 1, "a published digest never changes");
        let flow = super::super::eve::Flow {
            at_ms: 3_000,
            remote: quiet,
            proto: "TCP".into(),
            app_proto: None,
            bytes_toserver: 10,
            bytes_toclient: 20,
            pkts_toserver: 1,
            pkts_toclient: 1,
        };
        b.add_flow(&flow);
        let third = b.digest(3);
        assert_eq!(third.flows_of(quiet).map(|f| f.bytes_toclient), Some(20));
        assert_eq!(second.flows_of(quiet), None, "the flow is in the next digest only");
        assert!(Arc::ptr_eq(&second.parties[&quiet].alerts, &third.parties[&quiet].alerts), "a flow record does not copy the alerts");
        assert_eq!(second.about(busy, 0).count(), 2);
        assert_eq!((second.generation, second.alerts), (2, 3));
    }
}
