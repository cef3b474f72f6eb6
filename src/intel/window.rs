//! The block window of detection.md: which parties' alerts in the last
//! 300 s make them block candidates, judged on one published digest.

use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::model::{Alert, AlertDigest};

/// The block window: 300 s.
pub const WINDOW_MS: i64 = 300_000;

/// Weight of an alert in the block window by Suricata severity.
pub fn weight(severity: u8) -> u32 {
    match severity {
        1 => 10,
        2 => 5,
        _ => 2,
    }
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

/// The block window for one party ending at `now_ms`: a candidate when
/// count ≥ 5, or weighted score ≥ 20, or ≥ 3 distinct signatures.
pub fn candidate(digest: &AlertDigest, ip: IpAddr, now_ms: i64) -> Option<Candidate> {
    let recent: Vec<&Alert> = digest.about(ip, now_ms - WINDOW_MS).collect();
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
pub fn candidates(digest: &AlertDigest, now_ms: i64) -> Vec<Candidate> {
    digest.parties_since(now_ms - WINDOW_MS).filter_map(|ip| candidate(digest, ip, now_ms)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intel::alerts::AlertBook;
    use crate::intel::alerts::tests::alert;

    #[test]
    fn the_block_window_counts_weights_and_signatures() {
        let ip: IpAddr = "203.0.113.45".parse().expect("ip");
        let mut b = AlertBook::default();
        for i in 0..4 {
            b.add(alert("203.0.113.45", 1_000_000 + i, 1, 3));
        }
        assert_eq!(candidate(&b.digest(1), ip, 1_000_100), None, "4 low alerts of one signature: no");
        b.add(alert("203.0.113.45", 1_000_050, 1, 3));
        assert_eq!(candidate(&b.digest(2), ip, 1_000_100).map(|c| c.count), Some(5), "5 alerts: yes");
        let mut b = AlertBook::default();
        b.add(alert("203.0.113.45", 0, 1, 1));
        b.add(alert("203.0.113.45", 10, 2, 1));
        assert_eq!(candidate(&b.digest(1), ip, 100).map(|c| c.score), Some(20), "two severity-1 alerts weigh 20");
        let mut b = AlertBook::default();
        for sid in 1..=3 {
            b.add(alert("203.0.113.45", 0, sid, 3));
        }
        let d = b.digest(1);
        assert_eq!(candidate(&d, ip, 100).map(|c| c.signatures), Some(3));
        assert_eq!(candidate(&d, ip, WINDOW_MS + 1_000), None, "outside the window");
        assert_eq!(candidates(&d, 100).len(), 1);
    }
}
