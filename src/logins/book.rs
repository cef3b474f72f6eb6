//! Recent login events per remote party: what the intake fills and each
//! refresh takes one [`LoginDigest`] of (the parties' `Arc`s shared, not
//! copied), tallied once for every front end.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Arc;

use crate::model::{LoginDigest, LoginEvent, PartyLogins};

/// Events kept per party, and parties kept.
pub(crate) const PER_PARTY: usize = 500;
const PARTIES: usize = 10_000;

#[derive(Debug, Default)]
pub struct LoginBook {
    parties: BTreeMap<IpAddr, Arc<PartyLogins>>,
    /// Every party by its last event's time: the least recent is
    /// forgotten first when the book is full.
    recency: BTreeSet<(i64, IpAddr)>,
    /// Lines read, events kept, login lines that did not read.
    pub lines: u64,
    pub events: u64,
    pub malformed: u64,
    /// Why the source cannot be read now (e.g. journalctl exited).
    pub trouble: Option<String>,
}

impl LoginBook {
    pub fn add(&mut self, e: LoginEvent) {
        self.events += 1;
        if !self.parties.contains_key(&e.remote)
            && self.parties.len() >= PARTIES
            && let Some((_, ip)) = self.recency.pop_first()
        {
            self.parties.remove(&ip);
        }
        let party = Arc::make_mut(self.parties.entry(e.remote).or_default());
        self.recency.remove(&(party.last_ms(), e.remote));
        // Lines may come out of order (a rotated file read late): keep
        // each party's events sorted by time.
        let at = party.events.iter().rposition(|x| x.at_ms <= e.at_ms).map_or(0, |i| i + 1);
        let remote = e.remote;
        party.events.insert(at, e);
        while party.events.len() > PER_PARTY {
            party.events.pop_front();
        }
        self.recency.insert((party.last_ms(), remote));
    }

    /// What the book holds now, for the snapshot of `generation` taken at
    /// `now_ms`, with each party's tally.
    pub fn digest(&self, generation: u64, source: &str, now_ms: i64) -> LoginDigest {
        let mut d = LoginDigest {
            generation,
            source: source.to_string(),
            parties: self.parties.clone(),
            tallies: BTreeMap::new(),
            lines: self.lines,
            events: self.events,
            malformed: self.malformed,
        };
        d.tally(now_ms);
        d
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::LoginKind;

    pub(crate) fn login(ip: &str, at_ms: i64, kind: LoginKind, user: &str) -> LoginEvent {
        LoginEvent {
            at_ms,
            kind,
            remote: ip.parse().expect("ip"),
            port: Some(40_000 + (at_ms % 1000) as u16),
            user: Some(user.into()),
            invalid_user: false,
            method: Some("password".into()),
            service: "sshd".into(),
            pid: Some(1000 + (at_ms % 1000) as u32),
        }
    }

    #[test]
    fn a_book_keeps_order_shares_unchanged_parties_and_stays_bounded() {
        let mut b = LoginBook::default();
        b.add(login("203.0.113.7", 2_000, LoginKind::Failed, "root"));
        b.add(login("203.0.113.7", 1_000, LoginKind::Failed, "admin"));
        b.add(login("198.51.100.4", 1_500, LoginKind::Accepted, "alice"));
        let first = b.digest(1, "auth.log", 3_000);
        let ip: IpAddr = "203.0.113.7".parse().expect("ip");
        let times: Vec<i64> = first.about(ip, 0).map(|e| e.at_ms).collect();
        assert_eq!(times, [1_000, 2_000], "sorted by time");
        assert_eq!(first.tallies[&ip].failures_hour, 2);
        b.add(login("203.0.113.7", 2_500, LoginKind::Failed, "root"));
        let second = b.digest(2, "auth.log", 3_000);
        let quiet: IpAddr = "198.51.100.4".parse().expect("ip");
        assert!(Arc::ptr_eq(&first.parties[&quiet], &second.parties[&quiet]));
        assert_eq!(first.about(ip, 0).count(), 2, "a published digest never changes");
        for i in 0..(PER_PARTY as i64 + 10) {
            b.add(login("192.0.2.1", 10_000 + i, LoginKind::Failed, "x"));
        }
        assert_eq!(b.digest(3, "auth.log", 20_000).about("192.0.2.1".parse().expect("ip"), 0).count(), PER_PARTY);
    }
}
