//! Block proposals for brute-forcing parties: an address with at least
//! the brute-force rule's failures in its window (ending now) is a
//! candidate, under the same never-block safeguards as alert parties
//! (loopback, link-local, this host, gateway, resolvers, allowlist).
//! Proposing changes nothing.

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::time::Duration;

use super::rules::Thresholds;
use crate::intel::respond::{Proposal, Safeguards, nft_add};
use crate::model::{LoginDigest, LoginEvent, failure_times};

/// A brute-forcing party: failures in the window ending at `now_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BruteCandidate {
    pub remote: IpAddr,
    pub failures: usize,
}

/// Brute-force candidates among parties' events at `now_ms`.
pub fn candidates<'a>(parties: impl Iterator<Item = (IpAddr, &'a VecDeque<LoginEvent>)>, now_ms: i64, th: Thresholds) -> Vec<BruteCandidate> {
    parties
        .filter_map(|(ip, events)| {
            let n = failure_times(events).iter().filter(|at| **at > now_ms - th.brute_window_ms && **at <= now_ms).count();
            (n as u32 >= th.brute_failures).then_some(BruteCandidate { remote: ip, failures: n })
        })
        .collect()
}

/// Candidates from a live digest.
pub fn digest_candidates(d: &LoginDigest, now_ms: i64, th: Thresholds) -> Vec<BruteCandidate> {
    candidates(d.parties.iter().map(|(ip, p)| (*ip, &p.events)), now_ms, th)
}

/// Candidates from stored events (oldest or newest first, any order).
pub fn stored_candidates(events: Vec<LoginEvent>, now_ms: i64, th: Thresholds) -> Vec<BruteCandidate> {
    let mut by: BTreeMap<IpAddr, VecDeque<LoginEvent>> = BTreeMap::new();
    for e in events {
        by.entry(e.remote).or_default().push_back(e);
    }
    for q in by.values_mut() {
        q.make_contiguous().sort_by_key(|e| e.at_ms);
    }
    candidates(by.iter().map(|(ip, q)| (*ip, q)), now_ms, th)
}

/// Candidates split into proposals and refusals (address, why).
pub fn propose(found: &[BruteCandidate], guards: &Safeguards, timeout: Duration, th: Thresholds) -> (Vec<Proposal>, Vec<(IpAddr, String)>) {
    let mut proposals = Vec::new();
    let mut refused = Vec::new();
    for c in found {
        match guards.why_not(c.remote) {
            Some(why) => refused.push((c.remote, why)),
            None => proposals.push(Proposal {
                remote: c.remote,
                reason: format!("{} failed logins in {} s (brute force)", c.failures, th.brute_window_ms / 1000),
                command: nft_add(c.remote, timeout),
            }),
        }
    }
    (proposals, refused)
}

/// Proposals and refusals, as `(proposals, refused)`.
pub type Split = (Vec<Proposal>, Vec<(IpAddr, String)>);

/// Brute-force proposals joined to the alert ones: an address proposed
/// for both gets both reasons, one refused for both is listed once.
pub fn join((mut proposals, mut refused): Split, (more, no): Split) -> Split {
    for p in more {
        match proposals.iter_mut().find(|x| x.remote == p.remote) {
            Some(x) => x.reason = format!("{}; {}", x.reason, p.reason),
            None => proposals.push(p),
        }
    }
    for r in no {
        if !refused.iter().any(|x| x.0 == r.0) {
            refused.push(r);
        }
    }
    (proposals, refused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logins::book::LoginBook;
    use crate::logins::book::tests::login;
    use crate::model::LoginKind;

    #[test]
    fn brute_forcing_parties_are_proposed_under_the_same_safeguards() {
        let mut b = LoginBook::default();
        for i in 0..10 {
            b.add(login("203.0.113.45", 100_000 + i * 1_000, LoginKind::Failed, "root"));
            b.add(login("192.0.2.10", 100_000 + i * 1_000, LoginKind::Failed, "root"));
        }
        for i in 0..9 {
            b.add(login("198.51.100.23", 100_000 + i * 1_000, LoginKind::Failed, "root"));
        }
        let d = b.digest(1, "auth.log", 120_000);
        let th = crate::logins::rules::LoginRules::embedded().thresholds;
        let found = digest_candidates(&d, 120_000, th);
        assert_eq!(found.len(), 2, "nine failures are not enough: {found:?}");
        let guards = Safeguards { own: ["192.0.2.10".parse().expect("ip")].into(), ..Safeguards::default() };
        let (p, r) = propose(&found, &guards, Duration::from_secs(3600), th);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].command_line(), "nft add element inet necromap block4 { 203.0.113.45 timeout 3600s }");
        assert!(p[0].reason.contains("10 failed logins"));
        assert_eq!(r, vec![("192.0.2.10".parse().expect("ip"), "one of this host's addresses".to_string())]);
        assert!(digest_candidates(&d, 120_000 + th.brute_window_ms, th).is_empty(), "the window has passed");
        let mut stored: Vec<LoginEvent> = d.about("203.0.113.45".parse().expect("ip"), 0).cloned().collect();
        stored.reverse();
        assert_eq!(stored_candidates(stored, 120_000, th).len(), 1, "stored newest first reads the same");
    }
}
