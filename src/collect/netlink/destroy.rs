//! Socket-destroy events: the kernel multicasts an `inet_diag_msg` (the
//! same message a dump returns, with `tcp_info` for TCP) to every
//! `sock_diag` socket in the `SKNLGRP_*_DESTROY` groups each time a full TCP
//! or UDP socket is freed. Refreshes see sockets that live across them;
//! these events see every connection, however short.
//!
//! Events belong to a network namespace: a listener hears the namespace it
//! was created in, which is the namespace of the thread that opens it.
//!
//! Kernel behaviour worth knowing when reading these events (Linux 6.18):
//! - When the receive queue is full the kernel drops the event, reports
//!   `ENOBUFS` once, and then drops *every* further event until the queue
//!   has been read empty. So a listener must be drained to the end, and
//!   [`DestroyListener::overruns`] counts episodes, each losing at least one
//!   event, not events.
//! - Events are sent from a kernel workqueue after the last reference goes,
//!   not by `close()`: on a busy machine they arrive hundreds of
//!   milliseconds late, and the socket's memory waits with them.
//! - `TIME_WAIT` and request sockets are not full sockets: they make no
//!   event. The full socket of a connection that enters `TIME_WAIT` is
//!   freed (and reported) as it does, not when `TIME_WAIT` ends. Closed
//!   listeners make events too, with no peer.
//! - TCP sockets are reported in state `CLOSE`; UDP ones as connected or
//!   not. `uid` and `inode` are always 0, so an event cannot name its owner.
//! - A failed connect and an abortive close (`SO_LINGER` 0) go through the
//!   kernel's disconnect first, which zeroes the remote port (and an
//!   unbound local address) and the byte and RTT counters; the minimum RTT
//!   survives (see [`DestroyedSocket::established`]).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::io::Errno;
use rustix::net::netlink::{self, SocketAddrNetlink};
use rustix::net::sockopt::{set_socket_recv_buffer_size, set_socket_recv_buffer_size_force, socket_recv_buffer_size};
use rustix::net::{AddressFamily, RecvFlags, SocketFlags, SocketType, bind, recv, socket_with};

use super::NetlinkError;
use super::message::parse_events;
use crate::collect::now_ms;
use crate::model::{DestroyedSocket, RawSocket};

/// `SKNLGRP_INET_TCP_DESTROY` (1), `SKNLGRP_INET_UDP_DESTROY` (2),
/// `SKNLGRP_INET6_TCP_DESTROY` (3), `SKNLGRP_INET6_UDP_DESTROY` (4): group
/// `n` is bit `n - 1` of the bind mask, which covers groups 1 to 32.
const DESTROY_GROUPS: u32 = 0b1111;

/// Queue space asked for. The reader can fall behind for a moment (it is
/// one thread on a busy host), and one overflow loses every event until
/// the queue is empty again, so the queue is made deep: the kernel doubles
/// this to 64 MiB, and charges 1,280 bytes per event, so it holds 52,428
/// events (Linux 6.18, x86-64). Memory is only used while events wait.
const WANTED_RCVBUF: usize = 32 << 20;

/// One datagram holds one event of a few hundred bytes; the slack leaves
/// room for attributes later kernels may add.
const DATAGRAM_BUF: usize = 16 * 1024;

/// Datagrams read per call at most, so that one namespace with a flood of
/// closing sockets cannot starve the other listeners of an [`super::EventPump`].
const RECV_BUDGET: usize = 65_536;

/// What one [`DestroyListener::recv_into`] call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecvOutcome {
    /// Events appended to the output.
    pub events: usize,
    /// `ENOBUFS` reports met: the kernel dropped events (see the module doc).
    pub overruns: u64,
    /// Datagrams that could not be parsed (or did not fit) and were skipped.
    pub malformed: u64,
    /// The read budget ran out with datagrams still queued: call again.
    pub more: bool,
}

/// A `sock_diag` socket subscribed to the destroy groups of the calling
/// thread's network namespace.
#[derive(Debug)]
pub struct DestroyListener {
    fd: OwnedFd,
    buf: Vec<u8>,
    /// Scratch for parsed rows, reused across datagrams.
    rows: Vec<RawSocket>,
    rcvbuf: usize,
    overruns: u64,
    malformed: u64,
}

impl DestroyListener {
    /// Open the socket and join the four destroy groups, with a deep
    /// receive queue. Unprivileged users may join; only the queue size
    /// depends on privilege.
    pub fn open() -> Result<Self, NetlinkError> {
        Self::with_queue(WANTED_RCVBUF)
    }

    /// As [`DestroyListener::open`], asking for a receive queue of `bytes`
    /// instead: for a caller short of memory, or a test that wants the
    /// queue to overflow.
    pub fn with_queue(bytes: usize) -> Result<Self, NetlinkError> {
        let fd = socket_with(AddressFamily::NETLINK, SocketType::RAW, SocketFlags::CLOEXEC | SocketFlags::NONBLOCK, Some(netlink::SOCK_DIAG))
            .map_err(|e| NetlinkError::Open(e.into()))?;
        bind(&fd, &SocketAddrNetlink::new(0, DESTROY_GROUPS)).map_err(|e| NetlinkError::Io { what: "join the socket-destroy groups", source: e.into() })?;
        let rcvbuf = size_rcvbuf(&fd, bytes);
        Ok(Self { fd, buf: vec![0; DATAGRAM_BUF], rows: Vec::new(), rcvbuf, overruns: 0, malformed: 0 })
    }

    /// Read every queued event into `out`. With `timeout`, first wait up to
    /// that long for one to arrive; without, return at once. An overflow
    /// (`ENOBUFS`) is counted, never an error.
    pub fn recv_into(&mut self, out: &mut Vec<DestroyedSocket>, timeout: Option<Duration>) -> Result<RecvOutcome, NetlinkError> {
        let mut outcome = self.drain(out)?;
        if outcome.events == 0
            && !outcome.more
            && let Some(timeout) = timeout
            && self.wait(timeout)?
        {
            let again = self.drain(out)?;
            outcome = RecvOutcome {
                events: again.events,
                overruns: outcome.overruns + again.overruns,
                malformed: outcome.malformed + again.malformed,
                more: again.more,
            };
        }
        Ok(outcome)
    }

    /// Overflow episodes since the listener was opened.
    pub fn overruns(&self) -> u64 {
        self.overruns
    }

    /// Datagrams skipped as unparsable since the listener was opened.
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    /// Receive queue size the kernel granted, in bytes (it reports twice
    /// what was set, the half it keeps for bookkeeping included).
    pub fn recv_buffer(&self) -> usize {
        self.rcvbuf
    }

    fn drain(&mut self, out: &mut Vec<DestroyedSocket>) -> Result<RecvOutcome, NetlinkError> {
        let mut outcome = RecvOutcome::default();
        for _ in 0..RECV_BUDGET {
            let (n, full) = match recv(&self.fd, &mut self.buf[..], RecvFlags::TRUNC | RecvFlags::DONTWAIT) {
                Ok(got) => got,
                Err(Errno::AGAIN) => return Ok(outcome),
                Err(Errno::INTR) => continue,
                Err(Errno::NOBUFS) => {
                    self.overruns += 1;
                    outcome.overruns += 1;
                    continue;
                }
                Err(e) => return Err(NetlinkError::Io { what: "receive socket-destroy events", source: e.into() }),
            };
            self.rows.clear();
            if full > n || parse_events(&self.buf[..n], &mut self.rows).is_err() {
                self.malformed += 1;
                outcome.malformed += 1;
            }
            let at_ms = now_ms();
            outcome.events += self.rows.len();
            out.extend(self.rows.iter().map(|raw| DestroyedSocket::from_raw(raw, at_ms)));
        }
        outcome.more = true;
        Ok(outcome)
    }

    /// Whether the socket became readable within `timeout`.
    fn wait(&self, timeout: Duration) -> Result<bool, NetlinkError> {
        let ts = Timespec::try_from(timeout).unwrap_or(Timespec { tv_sec: i64::MAX, tv_nsec: 0 });
        let mut fds = [PollFd::new(&self.fd, PollFlags::IN)];
        match poll(&mut fds, Some(&ts)) {
            Ok(n) => Ok(n > 0),
            Err(Errno::INTR) => Ok(false),
            Err(e) => Err(NetlinkError::Io { what: "wait for socket-destroy events", source: e.into() }),
        }
    }
}

impl AsFd for DestroyListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Ask for a queue of `bytes`: `SO_RCVBUFFORCE` passes `rmem_max` with
/// `CAP_NET_ADMIN`; without it `SO_RCVBUF` gives what `rmem_max` allows.
/// Returns the size the kernel granted; failing to resize is not an error.
fn size_rcvbuf(fd: &OwnedFd, bytes: usize) -> usize {
    if set_socket_recv_buffer_size_force(fd, bytes).is_err() {
        let _ = set_socket_recv_buffer_size(fd, bytes);
    }
    socket_recv_buffer_size(fd).unwrap_or(0)
}
