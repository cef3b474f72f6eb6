//! History: what the collector remembers between refreshes. First-seen time
//! per socket (so age is known), byte counters for rates, connection starts
//! per (process, remote endpoint) with timestamps, and new connections per
//! endpoint for rates and windows.
//!
//! A connection start is an outbound socket first seen in a later refresh,
//! in any connected state (sockets present at the first refresh have
//! unknown starts and are not counted).
//! Live sources also report every connection that closed between two
//! refreshes (the kernel's destroy events, and the connect tracepoint as
//! root): those count as starts too, and attempts that never completed the
//! handshake are kept per process as failed attempts. Without them (the
//! portable fallback, old recordings) polling misses connections shorter
//! than the interval and counts are lower bounds.

use std::collections::VecDeque;
use std::net::SocketAddr;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::keys::{EndpointKey, NetNs, SocketKey};
use super::socket::{Protocol, TcpCounters};

/// How long starts are kept.
pub const START_RETENTION_MS: i64 = 60 * 60 * 1000;
/// Most starts kept per series.
pub const MAX_STARTS_PER_SERIES: usize = 512;
/// Most series kept: a scan of every port of many hosts makes one series
/// per port; past this the oldest are forgotten.
pub const MAX_SERIES: usize = 50_000;
/// Most failed attempts kept per process.
pub const MAX_FAILED_PER_PROCESS: usize = 4096;

/// The series a connection start belongs to: the beacon score's key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SeriesKey {
    /// Executable path, or the process name when the path is unknown.
    pub process: String,
    pub uid: u32,
    pub remote: SocketAddr,
    pub protocol: Protocol,
    /// The namespace the connections were made in (none: the observer's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netns: Option<NetNs>,
}

impl SeriesKey {
    /// The series of a connection made by `owner` (its executable, else
    /// its name), else by a process known only by `name` (a closed
    /// socket's task name), else by an unknown one (`?`) of socket uid `uid`.
    pub fn of(owner: Option<&super::nodes::ProcessFacts>, name: Option<&str>, uid: u32, remote: SocketAddr, protocol: Protocol, netns: Option<NetNs>) -> Self {
        let process = match (owner, name) {
            (Some(f), _) => f.exe.clone().unwrap_or_else(|| f.name.clone()),
            (None, Some(n)) => n.to_string(),
            (None, None) => "?".to_string(),
        };
        Self { process, uid: owner.map_or(uid, |f| f.uid), remote, protocol, netns }
    }
}

/// One connection start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionStart {
    pub at_ms: i64,
    pub pid: u32,
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    first_ms: i64,
    /// First seen in a refresh after the first one.
    appeared: bool,
    /// The byte counters last read (sent, received; none without
    /// `tcp_info`), and when.
    counters: Option<(u64, u64)>,
    counters_ms: i64,
}
#[derive(Debug, Default)]
pub struct History {
    /// The sockets of the last refresh, in key order. A refresh observes
    /// its sockets in key order too, so finding each one's past is a walk
    /// beside it (a merge), not a hash lookup per socket.
    sockets: Vec<(SocketKey, Seen)>,
    /// This refresh's sockets so far; they replace `sockets` at `end`.
    seen_now: Vec<(SocketKey, Seen)>,
    /// How far the walk through `sockets` has come.
    cursor: usize,
    /// Whether this refresh observed its sockets in key order so far.
    out_of_order: bool,
    starts: FxHashMap<SeriesKey, VecDeque<ConnectionStart>>,
    endpoint_starts: FxHashMap<EndpointKey, VecDeque<i64>>,
    /// Attempts that never completed the handshake, per pid.
    failed: FxHashMap<u32, VecDeque<i64>>,
    refreshes: u64,
    last_ms: Option<i64>,
}

/// What history says about one socket this refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketHistory {
    pub first_seen_ms: i64,
    /// Seen for the first time in this refresh, and not in the first one.
    pub is_new: bool,
    /// First seen in a refresh after the first one (this one or earlier):
    /// `first_seen_ms` is then within one refresh of when it appeared.
    pub seen_appearing: bool,
    /// Bytes per second since the previous refresh: none the first time a
    /// socket is seen, and when this refresh or the previous had no
    /// counters (UDP, `TIME_WAIT`).
    pub send_rate: Option<u64>,
    pub recv_rate: Option<u64>,
}

impl History {
    pub fn new() -> Self {
        Self::default()
    }

    /// About how many heap bytes the per-socket table holds (entries and
    /// the hash table's control bytes), for the benchmarks' memory report.
    pub fn socket_table_bytes(&self) -> usize {
        (self.sockets.capacity() + self.seen_now.capacity()) * std::mem::size_of::<(SocketKey, Seen)>()
    }

    /// Start a refresh at `now_ms`.
    pub fn begin(&mut self, now_ms: i64) {
        self.refreshes += 1;
        self.last_ms = Some(now_ms);
        // The table of the refresh before last, emptied at `end`: its pages
        // are mapped already (see `crate::spare`).
        let want = self.sockets.len() + self.sockets.len() / 8;
        self.seen_now = crate::spare::refit(std::mem::take(&mut self.seen_now), want);
        self.cursor = 0;
        self.out_of_order = false;
    }

    /// Take `key`'s entry out of this refresh's table if it was observed
    /// already, else copy it from the last refresh's.
    fn past(&mut self, key: SocketKey) -> Option<Seen> {
        match self.seen_now.last() {
            Some((last, _)) if *last == key => return self.seen_now.pop().map(|(_, s)| s),
            Some((last, _)) if *last > key => {
                self.out_of_order = true;
                if let Some(i) = self.seen_now.iter().rposition(|(k, _)| *k == key) {
                    return Some(self.seen_now.swap_remove(i).1);
                }
                return self.sockets.binary_search_by_key(&key, |(k, _)| *k).ok().map(|i| self.sockets[i].1);
            }
            _ => {}
        }
        while self.sockets.get(self.cursor).is_some_and(|(k, _)| *k < key) {
            self.cursor += 1;
        }
        self.sockets.get(self.cursor).filter(|(k, _)| *k == key).map(|(_, s)| *s)
    }

    /// Record one socket seen in this refresh, with its `tcp_info`
    /// counters when it has them.
    pub fn observe_socket(&mut self, key: SocketKey, now_ms: i64, counters: Option<TcpCounters>) -> SocketHistory {
        let first_refresh = self.refreshes <= 1;
        let counters = counters.map(|c| (c.bytes_acked, c.bytes_received));
        let (seen, out) = if let Some(seen) = self.past(key) {
            let dt = (now_ms - seen.counters_ms).max(1) as u64;
            // Most sockets of a big host were idle since the last read: no
            // division for them (two per socket were a quarter of this).
            let rate = |new: u64, old: u64| match new.saturating_sub(old) {
                0 => 0,
                moved => moved.saturating_mul(1000) / dt,
            };
            let (send_rate, recv_rate) = match (counters, seen.counters) {
                (Some(new), Some(old)) => (Some(rate(new.0, old.0)), Some(rate(new.1, old.1))),
                _ => (None, None),
            };
            let out = SocketHistory { first_seen_ms: seen.first_ms, is_new: false, seen_appearing: seen.appeared, send_rate, recv_rate };
            (Seen { counters, counters_ms: now_ms, ..seen }, out)
        } else {
            let seen = Seen { first_ms: now_ms, appeared: !first_refresh, counters, counters_ms: now_ms };
            (seen, SocketHistory { first_seen_ms: now_ms, is_new: !first_refresh, seen_appearing: !first_refresh, send_rate: None, recv_rate: None })
        };
        self.seen_now.push((key, seen));
        out
    }

    /// Record a socket whose row was kept from an earlier read (a quiet
    /// namespace not read this refresh): it is still there, but its
    /// counters are old, so no rate is given and the next read's rate
    /// spans the whole gap.
    pub fn observe_kept(&mut self, key: SocketKey, now_ms: i64, counters: Option<TcpCounters>) -> SocketHistory {
        if let Some(seen) = self.past(key) {
            self.seen_now.push((key, seen));
            return SocketHistory { first_seen_ms: seen.first_ms, is_new: false, seen_appearing: seen.appeared, send_rate: None, recv_rate: None };
        }
        self.observe_socket(key, now_ms, counters)
    }

    /// Record a new outbound connection start for its series.
    pub fn record_start(&mut self, series: SeriesKey, start: ConnectionStart) {
        if self.starts.len() >= MAX_SERIES && !self.starts.contains_key(&series) {
            self.forget_oldest_series();
        }
        let q = self.starts.entry(series).or_default();
        // Events can arrive a little out of order (a connect's tracepoint
        // record waits for its outcome): keep each series sorted.
        let at = q.iter().rposition(|s| s.at_ms <= start.at_ms).map_or(0, |i| i + 1);
        q.insert(at, start);
        while q.len() > MAX_STARTS_PER_SERIES {
            q.pop_front();
        }
    }

    fn forget_oldest_series(&mut self) {
        let oldest = self.starts.iter().min_by_key(|(_, q)| q.back().map_or(i64::MIN, |s| s.at_ms)).map(|(k, _)| k.clone());
        if let Some(k) = oldest {
            self.starts.remove(&k);
        }
    }

    /// Record a connection attempt of `pid` that never completed its
    /// handshake.
    pub fn record_failed(&mut self, pid: u32, at_ms: i64) {
        let q = self.failed.entry(pid).or_default();
        q.push_back(at_ms);
        while q.len() > MAX_FAILED_PER_PROCESS {
            q.pop_front();
        }
    }

    /// Failed attempts of `pid` in the `window_ms` before `now_ms`.
    pub fn failed_within(&self, pid: u32, now_ms: i64, window_ms: i64) -> usize {
        self.failed.get(&pid).map_or(0, |q| q.iter().filter(|&&t| t > now_ms - window_ms).count())
    }

    /// Whether a socket with this key was seen in a refresh (and is still
    /// remembered): its start was counted then.
    pub fn knows_socket(&self, key: SocketKey) -> bool {
        let now = if self.out_of_order { self.seen_now.iter().any(|(k, _)| *k == key) } else { self.seen_now.binary_search_by_key(&key, |(k, _)| *k).is_ok() };
        now || self.sockets.binary_search_by_key(&key, |(k, _)| *k).is_ok()
    }

    /// Processes with connection starts or failed attempts in the
    /// `window_ms` before `now_ms`, each with the series of its latest
    /// start: what rules about a process's recent history look at when it
    /// holds no socket right now.
    pub fn recent_processes(&self, now_ms: i64, window_ms: i64) -> Vec<(u32, &SeriesKey)> {
        let mut latest: FxHashMap<u32, (i64, &SeriesKey)> = FxHashMap::default();
        for (key, q) in &self.starts {
            for s in q.iter().rev().take_while(|s| s.at_ms > now_ms - window_ms) {
                let e = latest.entry(s.pid).or_insert((s.at_ms, key));
                if s.at_ms > e.0 {
                    *e = (s.at_ms, key);
                }
            }
        }
        let mut out: Vec<(u32, &SeriesKey)> = latest.into_iter().filter(|(pid, _)| *pid != 0).map(|(pid, (_, k))| (pid, k)).collect();
        out.sort_unstable_by_key(|(pid, _)| *pid);
        out
    }

    /// Record a new connection (either direction) with this remote address.
    pub fn record_endpoint_start(&mut self, ip: EndpointKey, at_ms: i64) {
        let q = self.endpoint_starts.entry(ip).or_default();
        let at = q.iter().rposition(|&t| t <= at_ms).map_or(0, |i| i + 1);
        q.insert(at, at_ms);
    }

    /// Forget sockets not seen this refresh and starts past retention.
    pub fn end(&mut self, now_ms: i64) {
        if self.out_of_order {
            self.seen_now.sort_unstable_by_key(|(k, _)| *k);
        }
        // Sockets not seen this refresh are forgotten with the old table,
        // whose room the next refresh fills.
        std::mem::swap(&mut self.sockets, &mut self.seen_now);
        self.seen_now.clear();
        self.cursor = 0;
        self.out_of_order = false;
        let horizon = now_ms - START_RETENTION_MS;
        self.starts.retain(|_, q| {
            while q.front().is_some_and(|s| s.at_ms < horizon) {
                q.pop_front();
            }
            !q.is_empty()
        });
        self.endpoint_starts.retain(|_, q| {
            while q.front().is_some_and(|&t| t < horizon) {
                q.pop_front();
            }
            !q.is_empty()
        });
        self.failed.retain(|_, q| {
            while q.front().is_some_and(|&t| t < horizon) {
                q.pop_front();
            }
            !q.is_empty()
        });
    }

    /// New connections to `ip` in the `window_ms` before `now_ms`.
    pub fn endpoint_starts_within(&self, ip: EndpointKey, now_ms: i64, window_ms: i64) -> usize {
        self.endpoint_starts.get(&ip).map_or(0, |q| q.iter().rev().take_while(|&&t| t > now_ms - window_ms).count())
    }

    /// The most new connections any one endpoint had in the `window_ms`
    /// before `now_ms`: a bound on each endpoint's, read once per rule.
    pub fn busiest_endpoint_starts_within(&self, now_ms: i64, window_ms: i64) -> usize {
        self.endpoint_starts.values().map(|q| q.iter().rev().take_while(|&&t| t > now_ms - window_ms).count()).max().unwrap_or(0)
    }

    /// The most connection starts any one process made (over all its
    /// series) in the `window_ms` before `now_ms`.
    pub fn busiest_process_starts_within(&self, now_ms: i64, window_ms: i64) -> usize {
        let mut per_pid: FxHashMap<u32, usize> = FxHashMap::default();
        for q in self.starts.values() {
            for s in q.iter().rev().take_while(|s| s.at_ms > now_ms - window_ms) {
                *per_pid.entry(s.pid).or_default() += 1;
            }
        }
        per_pid.into_values().max().unwrap_or(0)
    }

    /// The most failed attempts any one process made in the `window_ms`
    /// before `now_ms`.
    pub fn most_failed_within(&self, now_ms: i64, window_ms: i64) -> usize {
        self.failed.keys().map(|&pid| self.failed_within(pid, now_ms, window_ms)).max().unwrap_or(0)
    }

    /// New connections per minute to `ip`, over the last 60 s.
    pub fn new_per_minute(&self, ip: EndpointKey, now_ms: i64) -> f64 {
        self.endpoint_starts_within(ip, now_ms, 60_000) as f64
    }

    /// Connection starts of one series, oldest first.
    pub fn starts(&self, series: &SeriesKey) -> impl Iterator<Item = &ConnectionStart> {
        self.starts.get(series).into_iter().flatten()
    }

    /// Every series with its starts.
    pub fn series(&self) -> impl Iterator<Item = (&SeriesKey, &VecDeque<ConnectionStart>)> {
        self.starts.iter()
    }

    pub fn tracked_sockets(&self) -> usize {
        self.sockets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: u64) -> SocketKey {
        SocketKey { protocol: Protocol::Tcp, cookie: c }
    }

    fn tcp(sent: u64, received: u64) -> TcpCounters {
        TcpCounters { bytes_acked: sent, bytes_received: received, rtt_us: 0, min_rtt_us: None }
    }

    #[test]
    fn first_seen_survives_and_rates_are_per_second() {
        let mut h = History::new();
        h.begin(1_000);
        let a = h.observe_socket(key(1), 1_000, Some(tcp(0, 0)));
        h.end(1_000);
        assert_eq!(a.first_seen_ms, 1_000);
        assert!(!a.is_new && !a.seen_appearing, "present at the first refresh: start unknown");
        assert_eq!((a.send_rate, a.recv_rate), (None, None), "no previous counters: rate unknown, not 0");
        h.begin(3_000);
        let a = h.observe_socket(key(1), 3_000, Some(tcp(4_000, 2_000)));
        let b = h.observe_socket(key(2), 3_000, Some(tcp(0, 0)));
        let udp = h.observe_socket(key(3), 3_000, None);
        h.end(3_000);
        assert_eq!(a.first_seen_ms, 1_000);
        assert_eq!((a.send_rate, a.recv_rate), (Some(2_000), Some(1_000)));
        assert!(!a.seen_appearing);
        assert!(b.is_new && b.seen_appearing);
        assert_eq!(b.send_rate, None, "first sighting: no rate");
        assert_eq!(h.tracked_sockets(), 3);
        h.begin(5_000);
        let b = h.observe_socket(key(2), 5_000, Some(tcp(0, 0)));
        let udp2 = h.observe_socket(key(3), 5_000, None);
        h.end(5_000);
        assert!(!b.is_new && b.seen_appearing, "appeared once, stays known as such");
        assert_eq!(b.send_rate, Some(0), "a known idle rate is 0");
        assert_eq!((udp.send_rate, udp2.send_rate), (None, None), "no counters: no rate");
        assert_eq!(h.tracked_sockets(), 2, "socket 1 is gone and forgotten");
        // A socket that comes back is new again.
        h.begin(7_000);
        assert!(h.observe_socket(key(1), 7_000, None).is_new);
    }

    #[test]
    fn a_kept_row_stays_known_without_a_rate_and_the_next_read_spans_the_gap() {
        let mut h = History::new();
        h.begin(1_000);
        h.observe_socket(key(9), 1_000, Some(tcp(0, 0)));
        h.end(1_000);
        h.begin(2_000);
        let kept = h.observe_kept(key(9), 2_000, Some(tcp(0, 0)));
        h.end(2_000);
        assert_eq!((kept.first_seen_ms, kept.send_rate), (1_000, None), "still there, rate unknown");
        assert!(h.knows_socket(key(9)), "a kept row keeps the socket known");
        h.begin(5_000);
        let read = h.observe_socket(key(9), 5_000, Some(tcp(8_000, 0)));
        h.end(5_000);
        assert_eq!(read.send_rate, Some(2_000), "8000 bytes over the 4 s since the last read, not the 3 s since the kept row");
    }

    #[test]
    fn starts_per_series_and_per_endpoint_are_windowed() {
        let mut h = History::new();
        let series =
            SeriesKey { process: "/usr/bin/curl".into(), uid: 1000, remote: "203.0.113.5:443".parse().expect("addr"), protocol: Protocol::Tcp, netns: None };
        let ip = EndpointKey::host("203.0.113.5".parse().expect("ip"));
        for i in 0..10 {
            h.record_start(series.clone(), ConnectionStart { at_ms: i * 30_000, pid: 7 });
            h.record_endpoint_start(ip, i * 30_000);
        }
        assert_eq!(h.starts(&series).count(), 10);
        // Starts at 240 s and 270 s fall within the minute before 270.001 s.
        assert!((h.new_per_minute(ip, 270_001) - 2.0).abs() < f64::EPSILON);
        assert_eq!(h.endpoint_starts_within(ip, 270_001, 300_000), 10);
        h.end(START_RETENTION_MS + 100_000);
        // Horizon 100 s: the starts at 0, 30, 60 and 90 s are dropped.
        assert_eq!(h.starts(&series).count(), 6, "starts older than retention dropped");
    }

    /// The busiest endpoint's and process's counts are the largest of the
    /// per-endpoint and per-process counts, in the same window.
    #[test]
    fn the_busiest_counts_are_the_largest_of_each_ones() {
        let mut h = History::new();
        assert_eq!((h.busiest_endpoint_starts_within(0, 60_000), h.busiest_process_starts_within(0, 60_000), h.most_failed_within(0, 60_000)), (0, 0, 0));
        let series = |port: u16| SeriesKey {
            process: "/usr/bin/nc".into(),
            uid: 1000,
            remote: std::net::SocketAddr::new("203.0.113.5".parse().expect("ip"), port),
            protocol: Protocol::Tcp,
            netns: None,
        };
        let (a, b) = (EndpointKey::host("203.0.113.5".parse().expect("ip")), EndpointKey::host("198.51.100.7".parse().expect("ip")));
        // Process 7: three starts in two series within the window, one
        // before it; process 8: two. Endpoint a: four starts, b: one.
        for (port, at, pid) in [(80, 10_000, 7), (80, 70_000, 7), (81, 80_000, 7), (82, 90_000, 8), (83, 95_000, 8), (84, 99_000, 7)] {
            h.record_start(series(port), ConnectionStart { at_ms: at, pid });
        }
        for at in [20_000, 70_000, 75_000, 99_000] {
            h.record_endpoint_start(a, at);
        }
        h.record_endpoint_start(b, 99_000);
        for at in [65_000, 66_000] {
            h.record_failed(7, at);
        }
        h.record_failed(8, 99_000);
        let (now, window) = (100_000, 60_000);
        assert_eq!(h.busiest_process_starts_within(now, window), 3, "process 7's starts at 70, 80 and 99 s");
        assert_eq!(h.busiest_endpoint_starts_within(now, window), 3, "endpoint a's starts at 70, 75 and 99 s");
        assert_eq!(h.endpoint_starts_within(a, now, window), 3);
        assert_eq!(h.most_failed_within(now, window), 2);
        assert_eq!(h.most_failed_within(now, 10_000), 1, "only process 8's is in the last 10 s");
    }
}
