//! Joining a connect's two lines.
//!
//! The kernel enters `SYN_SENT` inside `connect()` *before* it picks the
//! source port, so that line names the process but has `sport=0`. The port
//! shows on the line that leaves `SYN_SENT` (to `ESTABLISHED`, or `CLOSE`
//! when refused), which often fires in softirq context and names whoever
//! was running. The text format carries no socket pointer, so the two are
//! joined by remote address: the oldest waiting connect to that address,
//! preferring one from the same thread (loopback handshakes complete in the
//! caller's context). Two processes connecting to the same remote at the
//! same moment may swap local ports; their remotes and owners stay right.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::parse::{CLOSE, ESTABLISHED, Transition};
use super::{ConnectOutcome, ConnectRecord};

/// How long a connect may stay in `SYN_SENT` before it is handed out
/// without its end: a host that does not answer keeps the kernel retrying
/// for minutes, and by then the socket shows in the regular dumps.
pub const MAX_WAIT: Duration = Duration::from_secs(3);

/// Waiting connects kept at most; beyond it the oldest leaves early.
const MAX_PENDING: usize = 100_000;

#[derive(Debug)]
struct Waiting {
    seq: u64,
    since: Instant,
    record: ConnectRecord,
}

/// Connects seen entering `SYN_SENT`, by remote address.
#[derive(Debug, Default)]
pub struct Pairer {
    by_remote: HashMap<SocketAddr, VecDeque<Waiting>>,
    /// Arrival order for expiry; entries already paired are skipped then.
    order: VecDeque<(u64, SocketAddr)>,
    next_seq: u64,
    len: usize,
}

impl Pairer {
    /// A connect entered `SYN_SENT`: hold it until its end tells the port.
    pub fn start(&mut self, record: ConnectRecord, now: Instant) -> Vec<ConnectRecord> {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.order.push_back((seq, record.remote));
        self.by_remote.entry(record.remote).or_default().push_back(Waiting { seq, since: now, record });
        self.len += 1;
        let mut out = Vec::new();
        while self.len > MAX_PENDING {
            match self.pop_oldest() {
                Some(r) => out.push(r),
                None => break,
            }
        }
        out
    }

    /// A socket left `SYN_SENT`: complete the connect it belongs to.
    pub fn finish(&mut self, end: &Transition) -> Option<ConnectRecord> {
        let queue = self.by_remote.get_mut(&end.remote)?;
        let at = queue.iter().position(|w| w.record.tid == end.tid).unwrap_or(0);
        let mut record = queue.remove(at)?.record;
        if queue.is_empty() {
            self.by_remote.remove(&end.remote);
        }
        self.len -= 1;
        if end.local.port() != 0 {
            record.local = end.local;
        }
        record.outcome = match end.new {
            ESTABLISHED => ConnectOutcome::Established,
            CLOSE => ConnectOutcome::Failed,
            _ => ConnectOutcome::Unknown,
        };
        Some(record)
    }

    /// Connects that waited longer than [`MAX_WAIT`], handed out as they are.
    pub fn expire(&mut self, now: Instant) -> Vec<ConnectRecord> {
        let mut out = Vec::new();
        while let Some(&(seq, remote)) = self.order.front() {
            let Some(queue) = self.by_remote.get(&remote) else {
                self.order.pop_front();
                continue;
            };
            match queue.iter().find(|w| w.seq == seq) {
                Some(w) if now.duration_since(w.since) < MAX_WAIT => break,
                Some(_) => out.extend(self.pop_oldest()),
                None => {
                    self.order.pop_front();
                }
            }
        }
        out
    }

    /// Connects still waiting.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    fn pop_oldest(&mut self) -> Option<ConnectRecord> {
        while let Some((seq, remote)) = self.order.pop_front() {
            let Some(queue) = self.by_remote.get_mut(&remote) else { continue };
            let Some(at) = queue.iter().position(|w| w.seq == seq) else { continue };
            let waiting = queue.remove(at)?;
            if queue.is_empty() {
                self.by_remote.remove(&remote);
            }
            self.len -= 1;
            return Some(waiting.record);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse::SYN_SENT;
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("test address")
    }

    fn started(tid: u32, remote: &str) -> ConnectRecord {
        ConnectRecord {
            at_ms: 1,
            tid,
            pid: tid,
            comm: format!("t{tid}"),
            local: addr("127.0.0.1:0"),
            remote: addr(remote),
            outcome: ConnectOutcome::Unknown,
            net_ns: None,
        }
    }

    fn end(tid: u32, local: &str, remote: &str, new: u8) -> Transition {
        Transition { comm: String::new(), tid, tgid: None, ts_us: None, local: addr(local), remote: addr(remote), old: SYN_SENT, new }
    }

    #[test]
    fn the_end_line_gives_port_and_outcome() {
        let now = Instant::now();
        let mut p = Pairer::default();
        assert!(p.start(started(10, "127.0.0.1:80"), now).is_empty());
        assert!(p.start(started(11, "127.0.0.1:1"), now).is_empty());
        let refused = p.finish(&end(0, "127.0.0.1:5001", "127.0.0.1:1", CLOSE)).expect("paired");
        assert_eq!((refused.tid, refused.local.port(), refused.outcome), (11, 5001, ConnectOutcome::Failed));
        let ok = p.finish(&end(0, "127.0.0.1:5000", "127.0.0.1:80", ESTABLISHED)).expect("paired");
        assert_eq!((ok.tid, ok.local.port(), ok.outcome), (10, 5000, ConnectOutcome::Established));
        assert_eq!(p.len(), 0);
        assert!(p.finish(&end(0, "127.0.0.1:5000", "127.0.0.1:80", ESTABLISHED)).is_none(), "no second pairing");
    }

    #[test]
    fn same_thread_is_preferred_then_oldest() {
        let now = Instant::now();
        let mut p = Pairer::default();
        p.start(started(10, "10.0.0.1:443"), now);
        p.start(started(11, "10.0.0.1:443"), now);
        p.start(started(12, "10.0.0.1:443"), now);
        assert_eq!(p.finish(&end(11, "10.0.0.9:1", "10.0.0.1:443", ESTABLISHED)).map(|r| r.tid), Some(11));
        assert_eq!(p.finish(&end(0, "10.0.0.9:2", "10.0.0.1:443", ESTABLISHED)).map(|r| r.tid), Some(10));
        assert_eq!(p.finish(&end(0, "10.0.0.9:3", "10.0.0.1:443", ESTABLISHED)).map(|r| r.tid), Some(12));
    }

    #[test]
    fn unanswered_connects_leave_after_the_wait_without_a_port() {
        let t0 = Instant::now();
        let mut p = Pairer::default();
        p.start(started(10, "192.0.2.1:80"), t0);
        p.start(started(11, "192.0.2.2:80"), t0 + Duration::from_secs(2));
        p.finish(&end(11, "10.0.0.9:7", "192.0.2.2:80", ESTABLISHED));
        assert!(p.expire(t0 + Duration::from_secs(1)).is_empty());
        let gone = p.expire(t0 + MAX_WAIT);
        assert_eq!(gone.len(), 1);
        assert_eq!((gone[0].tid, gone[0].local.port(), gone[0].outcome), (10, 0, ConnectOutcome::Unknown));
        assert_eq!(p.len(), 0);
        assert!(p.order.is_empty(), "paired entries are skipped, not kept");
    }

    #[test]
    fn the_oldest_leaves_early_past_the_cap() {
        let now = Instant::now();
        let mut p = Pairer::default();
        let mut early = Vec::new();
        for i in 0..=MAX_PENDING as u32 {
            early.extend(p.start(started(i, "192.0.2.1:80"), now));
        }
        assert_eq!(early.iter().map(|r| r.tid).collect::<Vec<_>>(), vec![0]);
        assert_eq!(p.len(), MAX_PENDING);
    }
}
