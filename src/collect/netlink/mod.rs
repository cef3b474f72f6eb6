//! The Linux fast path for sockets: one netlink `sock_diag` dump for TCP over
//! both families (the legacy request walks the hash tables once), with
//! `tcp_info`, then one dump per family for UDP; a big table in two halves
//! on two threads (see [`SplitDump`]). Works unprivileged.
//! Falls back to per-family TCP requests when the legacy one is refused.
//!
//! Between refreshes, [`DestroyListener`] hears every TCP and UDP socket
//! the kernel frees (however short its life), and [`EventPump`] reads any
//! number of them, one per network namespace, on a thread of its own.

mod destroy;
mod message;
mod pump;
mod split;
mod unix;

use std::os::fd::OwnedFd;

use rustix::net::netlink::{self, SocketAddrNetlink};
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType, recv, sendto, socket_with};

pub use destroy::{DestroyListener, RecvOutcome};
pub use message::ParseError;
use message::{AF_INET, AF_INET6, ALL_STATES, IPPROTO_TCP, IPPROTO_UDP, Progress, family_request, legacy_tcp_request, parse_dump, tcp_probe_request};
pub use pump::{DEFAULT_MAX_QUEUED, EventPump, PumpStats};
pub use split::SplitDump;
use split::{Half, with_filter};
use split::{HalfTimes, SplitAt};

use crate::model::{Protocol, RawSocket};

/// Receive buffer: large enough that the kernel fills it with many
/// messages per call (it sizes dump chunks up to 32 KiB).
const RECV_BUF: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    #[error("cannot open a netlink sock_diag socket: {0}")]
    Open(std::io::Error),
    #[error("netlink {what}: {source}")]
    Io { what: &'static str, source: std::io::Error },
    #[error("a netlink reply did not fit in {RECV_BUF} bytes (truncated by the kernel)")]
    Truncated,
    #[error(transparent)]
    Parse(#[from] ParseError),
}

/// An open `sock_diag` socket, reused across refreshes.
#[derive(Debug)]
pub struct DiagSocket {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
    /// Set once the legacy both-families request was refused.
    legacy_refused: bool,
}

impl DiagSocket {
    pub fn open() -> Result<Self, NetlinkError> {
        let fd =
            socket_with(AddressFamily::NETLINK, SocketType::RAW, SocketFlags::CLOEXEC, Some(netlink::SOCK_DIAG)).map_err(|e| NetlinkError::Open(e.into()))?;
        Ok(Self { fd, seq: 0, buf: vec![0; RECV_BUF], legacy_refused: false })
    }

    /// Whether `sock_diag` answers, at the cost of one empty reply (no hash
    /// walk): a TCP request for no state. A kernel that refuses the legacy
    /// request is remembered, so the first dump goes straight to the
    /// per-family ones.
    pub fn probe(&mut self) -> Result<(), NetlinkError> {
        let seq = self.next_seq();
        let mut none = Vec::new();
        match self.dump(&tcp_probe_request(seq), seq, Protocol::Tcp, &mut none) {
            Err(NetlinkError::Parse(ParseError::Kernel { .. })) => {
                self.legacy_refused = true;
                let seq = self.next_seq();
                self.dump(&family_request(seq, AF_INET, IPPROTO_UDP, ALL_STATES), seq, Protocol::Udp, &mut none)
            }
            other => other,
        }
    }

    /// Every TCP and UDP socket, IPv4 and IPv6, every state.
    pub fn dump_all(&mut self, out: &mut Vec<RawSocket>) -> Result<(), NetlinkError> {
        self.dump_tcp(out)?;
        self.dump_udp(out)
    }

    /// Every UDP socket, IPv4 and IPv6.
    fn dump_udp(&mut self, out: &mut Vec<RawSocket>) -> Result<(), NetlinkError> {
        for family in [AF_INET, AF_INET6] {
            let seq = self.next_seq();
            self.dump(&family_request(seq, family, IPPROTO_UDP, ALL_STATES), seq, Protocol::Udp, out)?;
        }
        Ok(())
    }

    /// [`Self::dump_all`] with the TCP dump in two halves split `at`, the
    /// second on `other` on a second thread (see [`SplitDump`]), and how long
    /// each half took. `from_share` is the share of `out`'s capacity the
    /// second half is expected to fill.
    pub fn dump_all_split(&mut self, other: &mut DiagSocket, at: SplitAt, from_share: f64, out: &mut Vec<RawSocket>) -> Result<HalfTimes, NetlinkError> {
        let mut theirs = Vec::with_capacity((out.capacity() as f64 * from_share) as usize);
        let clock = |dump: &mut dyn FnMut() -> Result<(), NetlinkError>| {
            let t = std::time::Instant::now();
            dump().map(|()| t.elapsed())
        };
        let (them, us) = crate::both::both(
            || clock(&mut || other.dump_tcp_half(at, Half::From, &mut theirs)),
            || {
                clock(&mut || {
                    self.dump_tcp_half(at, Half::Below, out)?;
                    self.dump_udp(out)
                })
            },
        );
        let times = HalfTimes { from: them?, below: us? };
        move_rows(out, theirs);
        Ok(times)
    }

    /// The TCP sockets of one half.
    fn dump_tcp_half(&mut self, at: SplitAt, half: Half, out: &mut Vec<RawSocket>) -> Result<(), NetlinkError> {
        self.dump_tcp_filtered(Some(&at.bytecode(half)), half.states(), out)
    }

    fn dump_tcp(&mut self, out: &mut Vec<RawSocket>) -> Result<(), NetlinkError> {
        self.dump_tcp_filtered(None, ALL_STATES, out)
    }

    /// Every TCP socket in `states` that `filter` keeps (all without one):
    /// one legacy dump for both families, or one per family once the legacy
    /// one is refused.
    fn dump_tcp_filtered(&mut self, filter: Option<&[u8]>, states: u32, out: &mut Vec<RawSocket>) -> Result<(), NetlinkError> {
        let filtered = |request: Vec<u8>| match filter {
            Some(bc) => with_filter(request, bc),
            None => request,
        };
        if !self.legacy_refused {
            let seq = self.next_seq();
            let before = out.len();
            match self.dump(&filtered(legacy_tcp_request(seq, states)), seq, Protocol::Tcp, out) {
                Ok(()) => return Ok(()),
                Err(NetlinkError::Parse(ParseError::Kernel { .. })) => {
                    out.truncate(before);
                    self.legacy_refused = true;
                }
                Err(e) => return Err(e),
            }
        }
        for family in [AF_INET, AF_INET6] {
            let seq = self.next_seq();
            self.dump(&filtered(family_request(seq, family, IPPROTO_TCP, states)), seq, Protocol::Tcp, out)?;
        }
        Ok(())
    }

    /// The peer inode of the Unix socket with this inode: `Ok(None)` when
    /// it has no peer or no longer exists.
    pub fn unix_peer(&mut self, inode: u32) -> Result<Option<u32>, NetlinkError> {
        let seq = self.next_seq();
        let request = unix::unix_peer_request(seq, inode);
        sendto(&self.fd, &request, SendFlags::empty(), &SocketAddrNetlink::new(0, 0)).map_err(|e| NetlinkError::Io { what: "send", source: e.into() })?;
        loop {
            let (n, full) = recv(&self.fd, &mut self.buf[..], RecvFlags::TRUNC).map_err(|e| NetlinkError::Io { what: "receive", source: e.into() })?;
            if full > n {
                return Err(NetlinkError::Truncated);
            }
            match unix::parse_peer_reply(&self.buf[..n], seq)? {
                unix::PeerReply::Found(peer) => return Ok(peer),
                unix::PeerReply::NotFound => return Ok(None),
                unix::PeerReply::Other => {}
            }
        }
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    fn dump(&mut self, request: &[u8], seq: u32, protocol: Protocol, out: &mut Vec<RawSocket>) -> Result<(), NetlinkError> {
        sendto(&self.fd, request, SendFlags::empty(), &SocketAddrNetlink::new(0, 0)).map_err(|e| NetlinkError::Io { what: "send", source: e.into() })?;
        loop {
            let (n, full) = recv(&self.fd, &mut self.buf[..], RecvFlags::TRUNC).map_err(|e| NetlinkError::Io { what: "receive", source: e.into() })?;
            if full > n {
                return Err(NetlinkError::Truncated);
            }
            if n == 0 {
                return Ok(());
            }
            if parse_dump(&self.buf[..n], seq, protocol, out)? == Progress::Done {
                return Ok(());
            }
        }
    }
}

/// Rows moved from one table to another at a time: small enough that the
/// pages given back as it goes bound what both tables hold together.
const MOVE_BLOCK: usize = 2_048;

/// Move `rows` to the end of `out`, a block at a time from its end, giving
/// each emptied block's pages back (the two tables are never both whole:
/// appending at once held half a dump's memory twice, and with a socket
/// table kept for the next refresh that was the process's peak). The
/// blocks change order; the builder sorts the rows anyway.
fn move_rows(out: &mut Vec<RawSocket>, mut rows: Vec<RawSocket>) {
    while !rows.is_empty() {
        let from = rows.len().saturating_sub(MOVE_BLOCK);
        out.extend(rows.drain(from..));
        rows.shrink_to_fit();
    }
}

#[cfg(test)]
mod live_tests {
    use super::*;

    /// A loopback listener with connections to it, both ends held.
    struct Held {
        listener: std::net::TcpListener,
        _connections: Vec<(std::net::TcpStream, std::net::TcpStream)>,
        /// The (local port, remote port) pairs of the connections' sockets.
        pairs: Vec<(u16, u16)>,
    }

    fn hold(n: usize) -> Held {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let held: Vec<_> = (0..n)
            .map(|_| {
                let c = std::net::TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
                let (a, _) = listener.accept().expect("accept");
                (c, a)
            })
            .collect();
        let pairs = held.iter().flat_map(|(c, a)| [c, a]).map(|s| (s.local_addr().expect("local").port(), s.peer_addr().expect("peer").port())).collect();
        Held { listener, _connections: held, pairs }
    }

    /// The two halves of a split dump hold every socket one dump holds,
    /// each once, on the side the split names (listeners and connections
    /// the test holds, split inside their ports).
    #[test]
    fn a_split_dump_sees_what_one_dump_sees() {
        let held = hold(40);
        let mut ours = held.pairs.clone();
        let at = SplitAt::at_share(&mut ours, 0.5).expect("a split point");
        let (mut one, mut two) = (DiagSocket::open().expect("sock_diag"), DiagSocket::open().expect("sock_diag"));
        let mut whole = Vec::new();
        one.dump_all(&mut whole).expect("dump");
        let mut halves = Vec::new();
        one.dump_all_split(&mut two, at, 0.5, &mut halves).expect("split dump");
        let key = |r: &RawSocket| (r.key, r.local.port(), r.remote.port(), r.local.ip().is_loopback());
        let mut a: Vec<_> = whole.iter().map(key).collect();
        let mut b: Vec<_> = halves.iter().map(key).collect();
        a.sort_unstable();
        b.sort_unstable();
        b.dedup();
        assert_eq!(b.len(), halves.len(), "no socket in both halves");
        for pair in &ours {
            assert!(a.iter().any(|k| (k.1, k.2) == *pair) && b.iter().any(|k| (k.1, k.2) == *pair), "{pair:?} in both dumps");
        }
        // Other tests open and close sockets meanwhile: ours (TCP on
        // loopback, with our port pairs) must match exactly.
        let mine =
            |v: &[(crate::model::SocketKey, u16, u16, bool)]| v.iter().filter(|k| k.0.protocol == Protocol::Tcp && k.3 && ours.contains(&(k.1, k.2))).count();
        assert_eq!(mine(&a), mine(&b));
        assert_eq!(mine(&b), ours.len());
    }

    /// A source's split dump: whole until a refresh shows enough
    /// connections (and a second core), then in halves that together hold
    /// what a whole dump holds, learning its share as it goes.
    #[test]
    fn a_planned_split_dump_holds_what_a_whole_one_holds() {
        let held = hold(12);
        let (listener, ours) = (&held.listener, &held.pairs);
        // Ours by protocol, address and ports: a UDP socket or another
        // namespace-mate's connection may share a port pair.
        let mine = |rows: &[RawSocket]| {
            rows.iter().filter(|r| r.protocol() == Protocol::Tcp && r.local.ip().is_loopback() && ours.contains(&(r.local.port(), r.remote.port()))).count()
        };
        let mut diag = DiagSocket::open().expect("sock_diag");

        let mut too_few = SplitDump::with_threshold(usize::MAX);
        let mut rows = Vec::new();
        too_few.dump(&mut diag, &mut rows).expect("dump");
        too_few.plan(&rows);
        assert_eq!(too_few.planned(), None, "below the threshold the next dump is whole");

        let mut split = SplitDump::with_threshold(ours.len());
        let mut whole = Vec::new();
        split.dump(&mut diag, &mut whole).expect("the first dump, whole");
        assert_eq!(mine(&whole), ours.len());
        split.plan(&whole);
        assert_eq!(split.planned().is_some(), crate::both::second_core(), "a split is planned when a second core can take half");
        for round in 0..3 {
            let mut halves = Vec::new();
            split.dump(&mut diag, &mut halves).expect("split dump");
            assert_eq!(mine(&halves), ours.len(), "round {round}: each of ours once, in one half or the other");
            assert!(
                halves.iter().any(|r| r.protocol() == Protocol::Tcp && r.local == listener.local_addr().expect("addr") && r.remote.port() == 0),
                "round {round}: the listener"
            );
            split.plan(&halves);
        }
    }

    /// Sockets without a remote port (a listener, a socket bound and
    /// nothing more) are dumped by half `Below` alone, which alone asks for
    /// their states, wherever the split falls; each connection by the half
    /// the split names, never both.
    #[test]
    fn sockets_without_a_peer_are_dumped_by_one_half_wherever_the_split_falls() {
        use rustix::net::{AddressFamily, SocketType, bind, getsockname, socket};
        let held = hold(8);
        let (listener, pairs) = (&held.listener, &held.pairs);
        let listening = listener.local_addr().expect("addr").port();
        let bound = socket(AddressFamily::INET, SocketType::STREAM, None).expect("socket");
        bind(&bound, &std::net::SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind only");
        let bound_port = std::net::SocketAddr::try_from(getsockname(&bound).expect("name")).expect("inet").port();
        let (mut one, mut two) = (DiagSocket::open().expect("sock_diag"), DiagSocket::open().expect("sock_diag"));
        let mut whole = Vec::new();
        one.dump_all(&mut whole).expect("dump");
        // TCP on loopback: a UDP socket may be bound to the same port.
        let has = |rows: &[RawSocket], port: u16| {
            rows.iter().any(|r| r.protocol() == Protocol::Tcp && r.local.ip().is_loopback() && r.local.port() == port && r.remote.port() == 0)
        };
        assert!(has(&whole, listening), "the whole dump sees the listener");
        let bound_seen = has(&whole, bound_port);
        let mut at_pairs = pairs.clone();
        for at in [SplitAt { local: 1, remote: 1 }, SplitAt { local: 65_535, remote: 65_535 }, SplitAt::at_share(&mut at_pairs, 0.5).expect("split")] {
            let (mut below, mut from) = (Vec::new(), Vec::new());
            one.dump_tcp_half(at, Half::Below, &mut below).expect("below");
            two.dump_tcp_half(at, Half::From, &mut from).expect("from");
            assert!(has(&below, listening) && !has(&from, listening), "{at:?}: the listener is Below's alone");
            assert_eq!(has(&below, bound_port), bound_seen, "{at:?}: the bound-only socket as the whole dump saw it");
            assert!(!has(&from, bound_port), "{at:?}");
            for &(l, r) in pairs {
                let in_half = |rows: &[RawSocket]| rows.iter().any(|s| (s.local.port(), s.remote.port()) == (l, r));
                assert_eq!((in_half(&below), in_half(&from)), (at.holds(Half::Below, l, r), at.holds(Half::From, l, r)), "{at:?}: ({l}, {r})");
            }
        }
    }

    /// The probe answers on this kernel without a walk, while a dump still
    /// sees a listener the test holds.
    #[test]
    fn the_probe_answers_and_the_dump_still_sees_sockets() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let mut diag = DiagSocket::open().expect("sock_diag socket");
        diag.probe().expect("the probe is answered");
        let mut rows = Vec::new();
        diag.dump_all(&mut rows).expect("dump");
        assert!(rows.iter().any(|r| r.state == crate::model::SocketState::Listen && r.local.port() == port), "the dump after a probe sees the listener");
    }
}
