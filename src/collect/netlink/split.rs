//! The TCP dump in two halves on two sockets, each kept by the kernel's
//! own filter (`INET_DIAG_REQ_BYTECODE`): the kernel walks its established
//! hash for both, but fills (with `tcp_info`) and sends only its half's
//! sockets, and filling is most of a dump. The halves split the (local
//! port, remote port) pairs of connections at a point chosen from the last
//! refresh; any point is correct, since the halves are complements.
//!
//! Only half `Below` asks for the listening and bound-only states, so only
//! it walks the kernel's listening and bind tables; half `From` asks for
//! the established hash's states alone and the kernel skips both walks.
//! The bind walk visits every bucket of the bind table (65,536 on this VM)
//! and every bound socket: about 0.5 ms at 10k sockets, which each half
//! paid before (the dump of every state against the established hash's
//! states, a filter keeping nothing: 1.83 against 1.31 ms). Every socket
//! without a remote port (listening, bound only) is `Below`'s, so nothing
//! is lost.
//! [`Balance`] moves the split point so the heavier half gets fewer
//! connections.
//!
//! Bytecode (`linux/inet_diag.h`): ops of `{code u8, yes u8, no u16}`, a
//! port comparison followed by an op whose `no` holds the port. From each
//! op the filter moves `yes` or `no` bytes on; ending exactly at the end
//! accepts, past it rejects. The kernel's audit wants the `yes` chain to
//! run through every op and `no` to land on an op or the end.

use std::time::Duration;

use super::message::{ALL_STATES, HASHED_TCP_STATES};
use super::{DiagSocket, NetlinkError};
use crate::model::{Protocol, RawSocket};

/// From this many TCP connections in its own namespace a refresh dumps
/// them in two halves on two threads (filling the rows with `tcp_info` is
/// most of a dump, and each half fills only its own).
const SPLIT_DUMP_FROM: usize = 4_096;

/// The split dump as a source keeps it between refreshes: where the next
/// one splits, the second socket its other half reads, and the share the
/// halves' times have taught. One refresh plans the next.
#[derive(Debug)]
pub struct SplitDump {
    at: Option<SplitAt>,
    second: Option<DiagSocket>,
    balance: Balance,
    /// [`SPLIT_DUMP_FROM`], smaller in tests.
    from: usize,
}

impl Default for SplitDump {
    fn default() -> Self {
        Self { at: None, second: None, balance: Balance::default(), from: SPLIT_DUMP_FROM }
    }
}

impl SplitDump {
    /// Plan the next dump from this one's rows (`own`: this namespace's):
    /// split at the (local port, remote port) pair that gives each half
    /// its learnt share, when the connections are many and a second core
    /// exists. The second socket is opened the first time; if it cannot
    /// be, the next dump is whole.
    pub fn plan(&mut self, own: &[RawSocket]) {
        let mut pairs: Vec<(u16, u16)> =
            own.iter().filter(|r| r.protocol() == Protocol::Tcp && r.remote.port() != 0).map(|r| (r.local.port(), r.remote.port())).collect();
        if pairs.len() < self.from || !crate::both::second_core() {
            self.at = None;
            return;
        }
        self.at = SplitAt::at_share(&mut pairs, self.balance.share());
        if self.at.is_some() && self.second.is_none() {
            self.second = DiagSocket::open().ok();
        }
    }

    /// A split dump that splits from `from` connections (tests).
    #[cfg(test)]
    pub fn with_threshold(from: usize) -> Self {
        Self { from, ..Self::default() }
    }

    /// Where the next dump splits; none: it is whole.
    #[cfg(test)]
    pub fn planned(&self) -> Option<SplitAt> {
        self.at.filter(|_| self.second.is_some())
    }

    /// Every TCP and UDP socket of `diag`'s namespace into `out`: in two
    /// halves when planned (then the share is learnt from their times),
    /// else in one dump.
    pub fn dump(&mut self, diag: &mut DiagSocket, out: &mut Vec<RawSocket>) -> Result<(), NetlinkError> {
        match self.at.zip(self.second.as_mut()) {
            Some((at, second)) => {
                let times = diag.dump_all_split(second, at, 1.0 - self.balance.share(), out)?;
                self.balance.settle(times);
                Ok(())
            }
            None => diag.dump_all(out),
        }
    }
}

/// Comparison codes.
const BC_S_GE: u8 = 2;
const BC_S_LE: u8 = 3;
const BC_D_GE: u8 = 4;
const BC_D_LE: u8 = 5;
/// The request attribute that carries a filter.
const INET_DIAG_REQ_BYTECODE: u16 = 1;

/// Where the pairs split: half `Below` holds every socket without a remote
/// port and every (local port, remote port) pair below `(local, remote)`,
/// half `From` the other connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitAt {
    pub local: u16,
    pub remote: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Half {
    Below,
    From,
}

impl Half {
    /// The TCP states this half asks for: only `Below` asks for the
    /// listening and bound-only ones, so only it makes their walks.
    pub fn states(self) -> u32 {
        match self {
            Half::Below => ALL_STATES,
            Half::From => HASHED_TCP_STATES,
        }
    }
}

impl SplitAt {
    /// The pair with `share` of `pairs` (reordered) below it, when a split
    /// keeps some on each side.
    pub fn at_share(pairs: &mut [(u16, u16)], share: f64) -> Option<Self> {
        if pairs.len() < 2 {
            return None;
        }
        // In 1..len: at least one pair on each side.
        let nth = ((pairs.len() as f64 * share) as usize).clamp(1, pairs.len() - 1);
        let (_, &mut (local, remote), _) = pairs.select_nth_unstable(nth);
        // Nothing is below (0, 0): that split would leave one side empty.
        ((local, remote) != (0, 0)).then_some(Self { local, remote })
    }

    /// Whether a socket with these ports falls in `half` (what its filter
    /// keeps; `Below` also asks for the states only its walks find).
    pub fn holds(self, half: Half, local: u16, remote: u16) -> bool {
        (remote == 0 || (local, remote) < (self.local, self.remote)) == (half == Half::Below)
    }

    /// The filter keeping `half`.
    pub fn bytecode(self, half: Half) -> Vec<u8> {
        let (p, q) = (self.local, self.remote);
        // After the first op (remote ≥ 1), the ops comparing the pair; a
        // `no` of exactly the bytes left accepts, 4 more rejects.
        let pair: Vec<(u8, u8, u16, u16)> = match half {
            // local < P, or local == P and remote < Q.
            Half::Below if q == 0 => vec![(BC_S_LE, 8, 12, p.saturating_sub(1))],
            Half::Below => vec![(BC_S_GE, 8, 24, p), (BC_S_LE, 8, 20, p), (BC_D_LE, 8, 12, q - 1)],
            // local > P, or local == P and remote ≥ Q.
            Half::From => vec![(BC_S_LE, 8, 24, p), (BC_S_GE, 8, 20, p), (BC_D_GE, 8, 12, q)],
        };
        let left = (8 + 8 * pair.len()) as u16;
        // No remote port: accepted by `Below`, rejected by `From`.
        let no_remote = match half {
            Half::Below => left,
            Half::From => left + 4,
        };
        let ops = std::iter::once((BC_D_GE, 8, no_remote, 1)).chain(pair);
        let mut b = Vec::with_capacity(left as usize);
        for (code, yes, no, port) in ops {
            b.extend_from_slice(&[code, yes]);
            b.extend_from_slice(&no.to_ne_bytes());
            b.extend_from_slice(&[0, 0]);
            b.extend_from_slice(&port.to_ne_bytes());
        }
        b
    }
}

/// `request` with `bytecode` appended as its filter attribute (the
/// message length grown to match).
pub fn with_filter(mut request: Vec<u8>, bytecode: &[u8]) -> Vec<u8> {
    let attr_len = (4 + bytecode.len()) as u16;
    request.extend_from_slice(&attr_len.to_ne_bytes());
    request.extend_from_slice(&INET_DIAG_REQ_BYTECODE.to_ne_bytes());
    request.extend_from_slice(bytecode);
    let len = request.len() as u32;
    request[..4].copy_from_slice(&len.to_ne_bytes());
    request
}

/// How long each half of a split dump took, on its own thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HalfTimes {
    pub below: Duration,
    pub from: Duration,
}

/// The share of connections the next split gives half `Below`, moved after
/// each split dump toward the share that ends both halves together: a
/// half's time is its walks (`Below` has two more, and the UDP dump) plus
/// filling its share of the connections.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Balance {
    share: f64,
}

/// Neither half is ever given less than this share or more than its
/// complement, however one refresh was timed.
const MIN_SHARE: f64 = 0.1;

impl Default for Balance {
    fn default() -> Self {
        Self { share: 0.5 }
    }
}

impl Balance {
    pub fn share(self) -> f64 {
        self.share
    }

    /// Learn from one split dump. With `b = wb + s·F` and `f = wf + (1 − s)·F`
    /// (walks, share `s`, filling `F`), both end together at
    /// `s + (f − b) / 2F`; `F` is at most `b + f`, so this step never
    /// overshoots, and it closes most of the gap when filling dominates.
    pub fn settle(&mut self, times: HalfTimes) {
        let (b, f) = (times.below.as_secs_f64(), times.from.as_secs_f64());
        if b + f > 0.0 {
            self.share = (self.share + (f - b) / (2.0 * (b + f))).clamp(MIN_SHARE, 1.0 - MIN_SHARE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::message::{TCP_BOUND_INACTIVE, TCP_LISTEN};
    use super::*;

    /// The filter as the kernel runs it (`inet_diag_bc_run`).
    fn run(bc: &[u8], local: u16, remote: u16) -> bool {
        let mut at = 0usize;
        let mut len = bc.len() as i64;
        while len > 0 {
            let (code, yes, no) = (bc[at], i64::from(bc[at + 1]), i64::from(u16::from_ne_bytes([bc[at + 2], bc[at + 3]])));
            let port = u16::from_ne_bytes([bc[at + 6], bc[at + 7]]);
            let hit = match code {
                BC_S_GE => local >= port,
                BC_S_LE => local <= port,
                BC_D_GE => remote >= port,
                BC_D_LE => remote <= port,
                _ => unreachable!("only comparisons are written"),
            };
            let step = if hit { yes } else { no };
            len -= step;
            at += step as usize;
        }
        len == 0
    }

    /// The kernel's audit: the `yes` chain ends exactly at the end, and
    /// each `no` lands on an op of that chain, the end, or just past it.
    fn audit(bc: &[u8]) -> bool {
        let mut len = bc.len() as i64;
        let mut at = 0usize;
        let mut chain = vec![len];
        while len > 0 {
            let (yes, no) = (i64::from(bc[at + 1]), i64::from(u16::from_ne_bytes([bc[at + 2], bc[at + 3]])));
            if yes < 8 || yes > len + 4 || yes % 4 != 0 || no < 8 || no > len + 4 || no % 4 != 0 {
                return false;
            }
            if no < len && !chain_reaches(bc, len - no) {
                return false;
            }
            len -= yes;
            at += yes as usize;
            chain.push(len);
        }
        len == 0
    }

    fn chain_reaches(bc: &[u8], cc: i64) -> bool {
        let mut len = bc.len() as i64;
        let mut at = 0usize;
        while len >= 0 {
            if cc > len {
                return false;
            }
            if cc == len {
                return true;
            }
            let yes = i64::from(bc[at + 1]);
            len -= yes;
            at += yes as usize;
        }
        false
    }

    /// Every pair is in exactly one half, the one `holds` names, for
    /// split points at the edges and inside, and every filter passes the
    /// kernel's audit.
    #[test]
    fn the_halves_are_complements_and_pass_the_audit() {
        let points = [(1, 0), (1, 1), (443, 0), (443, 50_000), (40_000, 8080), (65_535, 65_535), (0, 7)];
        let ports = [0u16, 1, 2, 442, 443, 444, 8079, 8080, 8081, 39_999, 40_000, 40_001, 49_999, 50_000, 50_001, 65_534, 65_535];
        for (local, remote) in points {
            let at = SplitAt { local, remote };
            let (below, from) = (at.bytecode(Half::Below), at.bytecode(Half::From));
            assert!(audit(&below) && audit(&from), "{at:?}");
            for l in ports {
                for r in ports {
                    let (b, f) = (run(&below, l, r), run(&from, l, r));
                    assert!(b != f, "{at:?}: ({l}, {r}) in both or neither");
                    assert_eq!(b, at.holds(Half::Below, l, r), "{at:?}: ({l}, {r})");
                }
            }
        }
    }

    #[test]
    fn an_even_share_splits_evenly_and_never_at_zero() {
        let mut pairs: Vec<(u16, u16)> = (0..1000u16).map(|i| (8080, 30_000 + i)).chain((0..1000u16).map(|i| (30_000 + i, 8080))).collect();
        let at = SplitAt::at_share(&mut pairs, 0.5).expect("a split");
        let below = pairs.iter().filter(|&&(l, r)| at.holds(Half::Below, l, r)).count();
        assert_eq!(below, 1000, "{at:?}");
        assert_eq!(SplitAt::at_share(&mut [(0, 0), (0, 0), (0, 0)], 0.5), None);
        assert_eq!(SplitAt::at_share(&mut [(5, 5)], 0.5), None);
    }

    /// Halves whose walks differ: the share moves toward the even finish,
    /// never past it, and stays in bounds however lopsided a refresh was.
    #[test]
    fn the_balance_moves_toward_an_even_finish() {
        // Below walks 2 ms more; filling everything takes 10 ms.
        let time = |share: f64| HalfTimes {
            below: Duration::from_secs_f64((3.0 + 10.0 * share) / 1e3),
            from: Duration::from_secs_f64((1.0 + 10.0 * (1.0 - share)) / 1e3),
        };
        let even = 0.4;
        let mut balance = Balance::default();
        let mut last_gap = f64::INFINITY;
        for _ in 0..6 {
            balance.settle(time(balance.share()));
            let gap = balance.share() - even;
            assert!(gap >= -1e-9 && gap < last_gap, "{gap} after {last_gap}");
            last_gap = gap;
        }
        assert!(last_gap < 0.01, "{last_gap}");
        balance.settle(HalfTimes { below: Duration::from_secs(1), from: Duration::ZERO });
        balance.settle(HalfTimes { below: Duration::from_secs(1), from: Duration::ZERO });
        assert!((balance.share() - MIN_SHARE).abs() < 1e-9, "{}", balance.share());
        balance.settle(HalfTimes::default());
        assert!((balance.share() - MIN_SHARE).abs() < 1e-9, "nothing timed, nothing learnt");
    }

    #[test]
    fn a_share_splits_at_that_share() {
        let mut pairs: Vec<(u16, u16)> = (1..=1000u16).map(|i| (i, 80)).collect();
        let at = SplitAt::at_share(&mut pairs, 0.3).expect("a split");
        assert_eq!(pairs.iter().filter(|&&(l, r)| at.holds(Half::Below, l, r)).count(), 300, "{at:?}");
        let edge = SplitAt::at_share(&mut pairs, 0.0).expect("a split");
        assert_eq!(pairs.iter().filter(|&&(l, r)| edge.holds(Half::Below, l, r)).count(), 1, "one pair each side at least");
    }

    #[test]
    fn only_below_asks_for_listening_and_bound_only_sockets() {
        let (listen, bound) = (1 << TCP_LISTEN, 1 << TCP_BOUND_INACTIVE);
        assert_eq!(Half::Below.states(), ALL_STATES);
        assert_eq!(Half::From.states() & (listen | bound), 0);
        assert_eq!(Half::From.states() | listen | bound, ALL_STATES);
    }

    #[test]
    fn the_filter_is_appended_as_an_attribute() {
        let request = vec![0u8; 72];
        let bc = SplitAt { local: 1, remote: 2 }.bytecode(Half::From);
        let out = with_filter(request, &bc);
        assert_eq!(out.len(), 72 + 4 + bc.len());
        assert_eq!(u32::from_ne_bytes([out[0], out[1], out[2], out[3]]) as usize, out.len());
        assert_eq!(u16::from_ne_bytes([out[72], out[73]]) as usize, 4 + bc.len());
        assert_eq!(u16::from_ne_bytes([out[74], out[75]]), INET_DIAG_REQ_BYTECODE);
    }
}
