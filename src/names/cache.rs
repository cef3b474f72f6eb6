//! What is known about addresses' names: from DNS answers seen on the
//! wire, from PTR lookups, from `/etc/hosts`. Bounded everywhere: a cap on
//! addresses with least-recently-used eviction (an answer or a refresh
//! showing the address is a use), four names per address, a
//! ring of recent queries, a cap on negative PTR entries.
//!
//! Expiry follows the record's TTL but is held between one minute and one
//! day: CDN answers with 20 s TTLs would otherwise make names flicker in
//! and out while the connection they named is still open.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};

use lru::LruCache;

use super::answer::DnsAnswer;

/// Default number of addresses kept.
pub const DEFAULT_CAP: usize = 100_000;
/// Names kept per address.
pub const NAMES_PER_ADDR: usize = 4;
/// Shortest life of a name, whatever its TTL.
pub const MIN_TTL_MS: i64 = 60_000;
/// Longest life of a name, whatever its TTL.
pub const MAX_TTL_MS: i64 = 24 * 3_600_000;
/// Life of a negative PTR entry (no answer, NXDOMAIN).
pub const NEGATIVE_MS: i64 = 5 * 60_000;
/// Recent queries kept for the rules.
pub const QUERY_RING: usize = 10_000;

/// Where a name came from (the model's type: endpoints carry it).
pub use crate::model::NameSource;

/// The socket that asked, as far as it could be identified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Asker {
    pub inode: u32,
    pub uid: u32,
    pub netns: Option<u32>,
}

/// The names of one address, most recent first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameRecord {
    pub names: Vec<String>,
    /// Source of the first name.
    pub source: NameSource,
    /// Asker of the first name.
    pub asker: Option<Asker>,
    /// When the first name was seen.
    pub seen_ms: i64,
}

/// One answered query, for rules that count names per asker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRecord {
    pub at_ms: i64,
    pub qname: String,
    pub addrs: Vec<IpAddr>,
    pub client: SocketAddr,
    pub asker: Option<Asker>,
}

#[derive(Debug, Clone)]
struct NameEntry {
    name: String,
    source: NameSource,
    seen_ms: i64,
    expires_ms: i64,
    asker: Option<Asker>,
}

/// Names by address; see the module documentation.
#[derive(Debug)]
pub struct NameCache {
    /// Unbounded to the crate, capped by [`capped_push`]: a bounded
    /// `LruCache` allocates its whole capacity up front (2.8 MB for the
    /// default cap on a host that may never see a name).
    addrs: LruCache<IpAddr, Vec<NameEntry>>,
    cap: usize,
    negative: LruCache<IpAddr, i64>,
    negative_cap: usize,
    queries: VecDeque<QueryRecord>,
    evicted: u64,
}

impl Default for NameCache {
    fn default() -> Self {
        Self::new(DEFAULT_CAP)
    }
}

/// Push `key` as the most recent entry; when that makes more than `cap`,
/// the least recent goes. Whether another entry was pushed out.
fn capped_push<V>(cache: &mut LruCache<IpAddr, V>, cap: usize, key: IpAddr, value: V) -> bool {
    let replaced = cache.push(key, value).is_some();
    if !replaced && cache.len() > cap {
        return cache.pop_lru().is_some();
    }
    false
}

/// When a name seen at `now_ms` with `ttl` seconds stops being shown.
fn expiry(now_ms: i64, ttl: u32) -> i64 {
    now_ms.saturating_add((i64::from(ttl) * 1000).clamp(MIN_TTL_MS, MAX_TTL_MS))
}

impl NameCache {
    /// A cache of at most `cap` addresses (at least 1).
    pub fn new(cap: usize) -> Self {
        let cap = cap.max(1);
        Self { addrs: LruCache::unbounded(), cap, negative: LruCache::unbounded(), negative_cap: (cap / 4).max(16), queries: VecDeque::new(), evicted: 0 }
    }

    /// Addresses with names (expired ones included until evicted).
    pub fn len(&self) -> usize {
        self.addrs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.addrs.is_empty()
    }

    /// Addresses pushed out by the cap so far.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Record `name` for `addr`: it becomes the most recent name, and the
    /// address the most recently seen.
    pub fn insert_name(&mut self, addr: IpAddr, name: &str, source: NameSource, ttl: u32, asker: Option<Asker>, now_ms: i64) {
        let entry = NameEntry { name: name.to_string(), source, seen_ms: now_ms, expires_ms: expiry(now_ms, ttl), asker };
        self.negative.pop(&addr);
        if let Some(names) = self.addrs.get_mut(&addr) {
            names.retain(|n| n.name != name);
            names.insert(0, entry);
            names.truncate(NAMES_PER_ADDR);
            return;
        }
        if capped_push(&mut self.addrs, self.cap, addr, vec![entry]) {
            self.evicted += 1;
        }
    }

    /// Record every address of an answer, each under the asked name (first)
    /// and the canonical names, and log the query.
    pub fn insert_answer(&mut self, answer: &DnsAnswer, asker: Option<Asker>, now_ms: i64) {
        for record in &answer.records {
            // Least specific first, so the asked name ends up most recent.
            for name in answer.names_for(record).iter().rev() {
                self.insert_name(record.addr, name, NameSource::DnsAnswer, record.ttl, asker, now_ms);
            }
        }
        if self.queries.len() >= QUERY_RING {
            self.queries.pop_front();
        }
        self.queries.push_back(QueryRecord {
            at_ms: now_ms,
            qname: answer.qname.clone(),
            addrs: answer.records.iter().map(|r| r.addr).collect(),
            client: answer.client,
            asker,
        });
    }

    /// Remember that `addr` has no PTR name, for [`NEGATIVE_MS`].
    pub fn insert_negative(&mut self, addr: IpAddr, now_ms: i64) {
        capped_push(&mut self.negative, self.negative_cap, addr, now_ms.saturating_add(NEGATIVE_MS));
    }

    /// Whether a PTR lookup of `addr` is known to give nothing (for now).
    pub fn is_negative(&self, addr: IpAddr, now_ms: i64) -> bool {
        self.negative.peek(&addr).is_some_and(|&until| until > now_ms)
    }

    /// The live names of `addr`, most recent first (a look that does not
    /// count as use: PTR bookkeeping, tests).
    pub fn lookup(&self, addr: IpAddr, now_ms: i64) -> Option<NameRecord> {
        Self::live(self.addrs.peek(&addr)?, now_ms)
    }

    /// The live names of an address a refresh shows, marking it used: the
    /// names of open connections stay while a flood of new answers evicts
    /// the least recently used.
    pub fn lookup_used(&mut self, addr: IpAddr, now_ms: i64) -> Option<NameRecord> {
        Self::live(self.addrs.get(&addr)?, now_ms)
    }

    fn live(entries: &[NameEntry], now_ms: i64) -> Option<NameRecord> {
        let live: Vec<&NameEntry> = entries.iter().filter(|e| e.expires_ms > now_ms).collect();
        let first = live.first()?;
        Some(NameRecord { names: live.iter().map(|e| e.name.clone()).collect(), source: first.source, asker: first.asker, seen_ms: first.seen_ms })
    }

    /// Queries answered at or after `since_ms`, oldest first.
    pub fn queries_since(&self, since_ms: i64) -> Vec<QueryRecord> {
        let start = self.queries.partition_point(|q| q.at_ms < since_ms);
        self.queries.iter().skip(start).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::answer::{AnswerRecord, parse_message};

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn ttl_is_held_between_a_minute_and_a_day() {
        let mut c = NameCache::new(10);
        c.insert_name(ip("10.0.0.1"), "short.test", NameSource::DnsAnswer, 5, None, 0);
        c.insert_name(ip("10.0.0.2"), "long.test", NameSource::DnsAnswer, u32::MAX, None, 0);
        c.insert_name(ip("10.0.0.3"), "mid.test", NameSource::DnsAnswer, 300, None, 0);
        assert!(c.lookup(ip("10.0.0.1"), 59_999).is_some(), "short TTLs live a minute");
        assert!(c.lookup(ip("10.0.0.1"), 60_000).is_none());
        assert!(c.lookup(ip("10.0.0.3"), 299_999).is_some());
        assert!(c.lookup(ip("10.0.0.3"), 300_000).is_none());
        assert!(c.lookup(ip("10.0.0.2"), MAX_TTL_MS - 1).is_some());
        assert!(c.lookup(ip("10.0.0.2"), MAX_TTL_MS).is_none(), "long TTLs end after a day");
    }

    #[test]
    fn lru_cap_evicts_the_least_recently_seen() {
        let mut c = NameCache::new(2);
        c.insert_name(ip("10.0.0.1"), "a", NameSource::DnsAnswer, 300, None, 0);
        c.insert_name(ip("10.0.0.2"), "b", NameSource::DnsAnswer, 300, None, 1);
        c.insert_name(ip("10.0.0.1"), "a2", NameSource::DnsAnswer, 300, None, 2);
        c.insert_name(ip("10.0.0.3"), "c", NameSource::DnsAnswer, 300, None, 3);
        assert_eq!(c.len(), 2);
        assert_eq!(c.evicted(), 1);
        assert!(c.lookup(ip("10.0.0.2"), 4).is_none(), "b was the least recently seen");
        assert_eq!(c.lookup(ip("10.0.0.1"), 4).expect("a").names, vec!["a2", "a"]);
    }

    #[test]
    fn an_address_a_refresh_shows_outlives_a_flood_of_new_answers() {
        let mut c = NameCache::new(3);
        c.insert_name(ip("10.0.0.1"), "c2.example.test", NameSource::DnsAnswer, 300, None, 0);
        for i in 2..=3 {
            c.insert_name(ip(&format!("10.0.0.{i}")), "x", NameSource::DnsAnswer, 300, None, i);
        }
        for i in 4..=40 {
            assert!(c.lookup_used(ip("10.0.0.1"), i).is_some(), "shown at refresh {i}");
            c.insert_name(ip(&format!("10.0.1.{i}")), "flood", NameSource::DnsAnswer, 300, None, i);
        }
        assert_eq!(c.lookup(ip("10.0.0.1"), 41).expect("kept").names, vec!["c2.example.test"]);
        assert!(c.lookup(ip("10.0.0.2"), 41).is_none(), "an address nobody shows is evicted");
        assert_eq!(c.len(), 3);
    }

    #[test]
    fn four_names_most_recent_first() {
        let mut c = NameCache::new(10);
        for (i, n) in ["a", "b", "c", "d", "e", "c"].iter().enumerate() {
            c.insert_name(ip("10.0.0.1"), n, NameSource::Ptr, 300, None, i as i64);
        }
        let r = c.lookup(ip("10.0.0.1"), 10).expect("names");
        assert_eq!(r.names, vec!["c", "e", "d", "b"]);
        assert_eq!(r.seen_ms, 5);
        assert_eq!(r.source, NameSource::Ptr);
    }

    #[test]
    fn answers_name_addresses_by_the_asked_name_first() {
        let a = parse_message(&crate::names::answer::tests::cdn_answer(), "127.0.0.1:4000".parse().expect("a"), "127.0.0.53:53".parse().expect("a"))
            .expect("answer");
        let mut c = NameCache::new(10);
        let asker = Asker { inode: 7, uid: 0, netns: None };
        c.insert_answer(&a, Some(asker), 1000);
        let r = c.lookup(ip("93.184.216.34"), 2000).expect("name");
        assert_eq!(r.names, vec!["www.example.com", "www.example.com.cdn.net", "edge7.cdn.net"]);
        assert_eq!(r.source, NameSource::DnsAnswer);
        assert_eq!(r.asker, Some(asker));
        let q = c.queries_since(1000);
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].addrs.len(), 2);
        assert!(c.queries_since(1001).is_empty());
    }

    #[test]
    fn query_ring_is_bounded() {
        let mut c = NameCache::new(10);
        let a = DnsAnswer {
            client: "127.0.0.1:1".parse().expect("a"),
            server: "127.0.0.1:53".parse().expect("a"),
            qname: "x.test".into(),
            records: vec![AnswerRecord { name: "x.test".into(), addr: ip("127.0.0.9"), ttl: 1 }],
            cnames: vec![],
            id: 1,
        };
        for t in 0..(QUERY_RING as i64 + 5) {
            c.insert_answer(&a, None, t);
        }
        assert_eq!(c.queries_since(0).len(), QUERY_RING);
        assert_eq!(c.queries_since(0)[0].at_ms, 5);
    }

    #[test]
    fn negative_entries_expire_and_yield_to_names() {
        let mut c = NameCache::new(10);
        c.insert_negative(ip("10.0.0.1"), 0);
        assert!(c.is_negative(ip("10.0.0.1"), NEGATIVE_MS - 1));
        assert!(!c.is_negative(ip("10.0.0.1"), NEGATIVE_MS));
        c.insert_name(ip("10.0.0.1"), "a", NameSource::Hosts, 300, None, 1);
        assert!(!c.is_negative(ip("10.0.0.1"), 2));
    }
}
