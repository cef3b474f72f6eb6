//! Alerts folded onto the map: recent alerts per remote party, the block
//! window of detection.md, and the findings they become in each refresh.
//!
//! The eve tailer adds alerts; the [`AlertEvaluator`] (the rule engine plus
//! this book) turns each party's alerts of the last hour into one endpoint
//! finding, so the map glows by alert severity, the detail view lists the
//! alerts, and MCP and the store see them like any finding.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::model::{EndpointKey, Evaluator, Finding, HealthMessage, History, Severity, Snapshot, Subject, TraceStep};

use super::eve::Alert;

/// Alerts shown per party: the last hour.
pub const SHOW_MS: i64 = 3_600_000;
/// The block window (detection.md): 300 s.
pub const WINDOW_MS: i64 = 300_000;
/// Alerts kept per party, and parties kept.
const PER_PARTY: usize = 200;
const PARTIES: usize = 10_000;

/// Weight of an alert in the block window by Suricata severity.
pub fn weight(severity: u8) -> u32 {
    match severity {
        1 => 10,
        2 => 5,
        _ => 2,
    }
}

/// Recent alerts, per remote party.
#[derive(Debug, Default)]
pub struct AlertBook {
    parties: BTreeMap<IpAddr, VecDeque<Alert>>,
    /// Flow records per party (kept for parties with alerts, to show next to them).
    flows: BTreeMap<IpAddr, FlowSummary>,
    /// Lines read, alerts kept, lines that did not parse (for health).
    pub lines: u64,
    pub alerts: u64,
    pub malformed: u64,
}

/// Suricata flow records about one party.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowSummary {
    pub flows: u64,
    pub bytes_toserver: u64,
    pub bytes_toclient: u64,
    pub last_ms: i64,
}

/// Why a party is a block candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub remote: IpAddr,
    pub count: usize,
    pub score: u32,
    pub signatures: usize,
    /// The worst (lowest number) Suricata severity in the window.
    pub worst: u8,
    pub last_ms: i64,
}

impl AlertBook {
    pub fn add(&mut self, alert: Alert) {
        self.alerts += 1;
        if !self.parties.contains_key(&alert.remote) && self.parties.len() >= PARTIES {
            // Forget the party heard from least recently.
            let oldest = self.parties.iter().min_by_key(|(_, q)| q.back().map_or(0, |a| a.at_ms)).map(|(ip, _)| *ip);
            if let Some(ip) = oldest {
                self.parties.remove(&ip);
            }
        }
        let q = self.parties.entry(alert.remote).or_default();
        q.push_back(alert);
        while q.len() > PER_PARTY {
            q.pop_front();
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
    }

    /// Flow records about `ip`, if any.
    pub fn flows_of(&self, ip: IpAddr) -> Option<FlowSummary> {
        self.flows.get(&ip).copied()
    }

    /// Alerts about `ip` since `since_ms`, oldest first.
    pub fn about(&self, ip: IpAddr, since_ms: i64) -> impl Iterator<Item = &Alert> {
        self.parties.get(&ip).into_iter().flatten().filter(move |a| a.at_ms >= since_ms)
    }

    /// Parties with alerts since `since_ms`.
    pub fn parties_since(&self, since_ms: i64) -> impl Iterator<Item = IpAddr> + '_ {
        self.parties.iter().filter(move |(_, q)| q.back().is_some_and(|a| a.at_ms >= since_ms)).map(|(ip, _)| *ip)
    }

    /// The block window for one party ending at `now_ms`: a candidate when
    /// count ≥ 5, or weighted score ≥ 20, or ≥ 3 distinct signatures.
    pub fn candidate(&self, ip: IpAddr, now_ms: i64) -> Option<Candidate> {
        let recent: Vec<&Alert> = self.about(ip, now_ms - WINDOW_MS).collect();
        let count = recent.len();
        let score: u32 = recent.iter().map(|a| weight(a.severity)).sum();
        let signatures = recent.iter().map(|a| a.signature_id).collect::<BTreeSet<_>>().len();
        (count >= 5 || score >= 20 || signatures >= 3).then(|| Candidate {
            remote: ip,
            count,
            score,
            signatures,
            worst: recent.iter().map(|a| a.severity).min().unwrap_or(3),
            last_ms: recent.iter().map(|a| a.at_ms).max().unwrap_or(now_ms),
        })
    }

    /// Every block candidate at `now_ms`.
    pub fn candidates(&self, now_ms: i64) -> Vec<Candidate> {
        self.parties_since(now_ms - WINDOW_MS).filter_map(|ip| self.candidate(ip, now_ms)).collect()
    }
}

/// The finding a party's recent alerts make.
pub fn alert_finding(book: &AlertBook, ip: IpAddr, now_ms: i64) -> Option<Finding> {
    let shown: Vec<&Alert> = book.about(ip, now_ms - SHOW_MS).collect();
    let worst = shown.iter().map(|a| a.severity).min()?;
    let candidate = book.candidate(ip, now_ms);
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
    if let Some(s) = book.flows_of(ip) {
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

/// The rule engine plus the alert book: what the collector runs each refresh.
#[derive(Debug)]
pub struct AlertEvaluator<E> {
    pub inner: E,
    pub book: Arc<Mutex<AlertBook>>,
    /// Named in health when alert intake has trouble.
    pub eve_path: String,
}

impl<E: Evaluator> Evaluator for AlertEvaluator<E> {
    fn evaluate(&mut self, snapshot: &Snapshot, history: &History) -> Vec<Finding> {
        let mut findings = self.inner.evaluate(snapshot, history);
        let now = snapshot.taken_at_ms;
        if let Ok(book) = self.book.lock() {
            findings.extend(book.parties_since(now - SHOW_MS).filter_map(|ip| alert_finding(&book, ip, now)));
        }
        findings
    }

    fn health(&self) -> Vec<HealthMessage> {
        let Ok(book) = self.book.lock() else { return Vec::new() };
        let mut out = vec![HealthMessage::info(format!(
            "eve {}: {} lines read, {} alerts, {} malformed lines skipped",
            crate::text::escape_control(&self.eve_path),
            book.lines,
            book.alerts,
            book.malformed
        ))];
        if book.malformed > 0 {
            out[0].level = crate::model::HealthLevel::Warn;
        }
        out
    }
}

/// An alert book of the alerts stored since `since_ms` (for block windows
/// computed outside the live process, e.g. `necromap respond`).
pub fn stored_book(conn: &rusqlite::Connection, since_ms: i64) -> Result<AlertBook, crate::store::StoreError> {
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
    Ok(book)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(ip: &str, at_ms: i64, sid: u64, severity: u8) -> Alert {
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
    fn the_block_window_counts_weights_and_signatures() {
        let ip: IpAddr = "203.0.113.45".parse().expect("ip");
        let mut b = AlertBook::default();
        for i in 0..4 {
            b.add(alert("203.0.113.45", 1_000_000 + i, 1, 3));
        }
        assert_eq!(b.candidate(ip, 1_000_100), None, "4 low alerts of one signature: no");
        b.add(alert("203.0.113.45", 1_000_050, 1, 3));
        assert_eq!(b.candidate(ip, 1_000_100).map(|c| c.count), Some(5), "5 alerts: yes");
        let mut b = AlertBook::default();
        b.add(alert("203.0.113.45", 0, 1, 1));
        b.add(alert("203.0.113.45", 10, 2, 1));
        assert_eq!(b.candidate(ip, 100).map(|c| c.score), Some(20), "two severity-1 alerts weigh 20");
        let mut b = AlertBook::default();
        for sid in 1..=3 {
            b.add(alert("203.0.113.45", 0, sid, 3));
        }
        assert_eq!(b.candidate(ip, 100).map(|c| c.signatures), Some(3));
        assert_eq!(b.candidate(ip, WINDOW_MS + 1_000), None, "outside the window");
    }

    #[test]
    fn recent_alerts_become_one_endpoint_finding() {
        let mut b = AlertBook::default();
        b.add(alert("203.0.113.45", 1_000, 7, 2));
        let f = alert_finding(&b, "203.0.113.45".parse().expect("ip"), 2_000).expect("finding");
        assert_eq!(f.severity, Severity::Medium);
        assert!(f.tags.contains(&"scan".to_string()), "{:?}", f.tags);
        assert!(f.trace[0].value.contains("ET SCAN test"));
        assert_eq!(alert_finding(&b, "203.0.113.45".parse().expect("ip"), 1_000 + SHOW_MS + 1), None, "older than an hour");
    }
}
