//! `sock_diag` wire format: building dump requests and parsing the replies
//! and the socket-destroy events (the same `inet_diag_msg`, one parser).
//! Pure functions over bytes, so every edge (truncation, kernel errors,
//! short attributes) is tested without a kernel.
//!
//! ```text
//! nlmsghdr (16)         len u32 | type u16 | flags u16 | seq u32 | pid u32
//! inet_diag_msg (72)    family u8 | state u8 | timer u8 | retrans u8
//!                       id: sport be16 | dport be16 | src [16] | dst [16]
//!                           | if u32 | cookie [2]u32
//!                       expires u32 | rqueue u32 | wqueue u32 | uid u32 | inode u32
//! rtattr* (4-aligned)   len u16 | type u16 | payload
//!   INET_DIAG_INFO (2)  struct tcp_info: rtt @68, bytes_acked @120, bytes_received @128,
//!                       min_rtt @148
//!   INET_DIAG_PROTOCOL (10)  u8: 6 TCP, 17 UDP (events carry it; dumps need not)
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::model::{Protocol, RawSocket, SocketKey, SocketState, TcpCounters, normalize_addr};

pub const NLMSG_HDR_LEN: usize = 16;
pub const NLMSG_NOOP: u16 = 1;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_DUMP: u16 = 0x300;
/// Legacy request type: TCP over both families in one hash-table walk.
pub const TCPDIAG_GETSOCK: u16 = 18;
/// Modern request type: one family and protocol per request.
pub const SOCK_DIAG_BY_FAMILY: u16 = 20;
pub const AF_INET: u8 = 2;
pub const AF_INET6: u8 = 10;
pub const IPPROTO_TCP: u8 = 6;
pub const IPPROTO_UDP: u8 = 17;
const INET_DIAG_INFO: u16 = 2;
/// `u8` attribute naming the socket's protocol; the only place a destroy
/// event says whether it is about TCP or UDP.
const INET_DIAG_PROTOCOL: u16 = 10;
const INET_DIAG_MSG_LEN: usize = 72;
/// Every state (`1 << state` each).
pub const ALL_STATES: u32 = 0xffff_ffff;
/// The kernel's numbers for the two TCP states outside the established
/// hash (`include/net/tcp_states.h`; [`crate::model::SocketState::from_kernel`]
/// reads them).
pub const TCP_LISTEN: u32 = 10;
pub const TCP_BOUND_INACTIVE: u32 = 13;
/// The TCP states of the established hash alone: all but listening and
/// bound-only. Asking for either makes the kernel walk the table that
/// holds them, the bind table's walk visiting every bucket and every
/// bound socket (about 0.5 ms at 10k sockets here).
pub const HASHED_TCP_STATES: u32 = ALL_STATES & !(1 << TCP_LISTEN | 1 << TCP_BOUND_INACTIVE);

/// What a reply buffer said.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("netlink message truncated at byte {offset}: needs {needed} bytes, {available} left")]
    Truncated { offset: usize, needed: usize, available: usize },
    #[error("the kernel refused the sock_diag request: {}", std::io::Error::from_raw_os_error(*errno))]
    Kernel { errno: i32 },
    #[error("netlink message at byte {offset} has an impossible length {len}")]
    BadLength { offset: usize, len: usize },
}

/// Whether a dump continues past this buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    More,
    Done,
}

fn header(len: u32, kind: u16, seq: u32) -> Vec<u8> {
    let mut b = Vec::with_capacity(len as usize);
    b.extend_from_slice(&len.to_ne_bytes());
    b.extend_from_slice(&kind.to_ne_bytes());
    b.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    b.extend_from_slice(&seq.to_ne_bytes());
    b.extend_from_slice(&0u32.to_ne_bytes());
    b
}

/// A legacy TCP dump asking for no state at all: the kernel skips every
/// table walk and answers at once, so this tells whether `sock_diag`
/// works (and whether the legacy request is known) without a dump.
pub fn tcp_probe_request(seq: u32) -> Vec<u8> {
    legacy_tcp_request(seq, 0)
}

/// The legacy `inet_diag_req` dump for TCP sockets in `states`: the
/// kernel walks the TCP hash once for IPv4 and IPv6 (family is ignored and
/// treated as unspecified). Asks for `tcp_info` (`INET_DIAG_INFO`).
pub fn legacy_tcp_request(seq: u32, states: u32) -> Vec<u8> {
    // inet_diag_req: family, src_len, dst_len, ext, id (48), states, dbug.
    let body_len = 4 + 48 + 4 + 4;
    let mut b = header((NLMSG_HDR_LEN + body_len) as u32, TCPDIAG_GETSOCK, seq);
    b.extend_from_slice(&[0, 0, 0, 1 << (INET_DIAG_INFO - 1)]);
    b.extend_from_slice(&[0u8; 48]);
    b.extend_from_slice(&states.to_ne_bytes());
    b.extend_from_slice(&0u32.to_ne_bytes());
    b
}

/// An `inet_diag_req_v2` dump for one family and protocol, sockets in
/// `states`.
pub fn family_request(seq: u32, family: u8, protocol: u8, states: u32) -> Vec<u8> {
    // inet_diag_req_v2: family, protocol, ext, pad, states, id (48).
    let body_len = 4 + 4 + 48;
    let mut b = header((NLMSG_HDR_LEN + body_len) as u32, SOCK_DIAG_BY_FAMILY, seq);
    let ext = if protocol == IPPROTO_TCP { 1 << (INET_DIAG_INFO - 1) } else { 0 };
    b.extend_from_slice(&[family, protocol, ext, 0]);
    b.extend_from_slice(&states.to_ne_bytes());
    b.extend_from_slice(&[0u8; 48]);
    b
}

fn u16_ne(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}
fn u32_ne(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn u64_ne(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_ne_bytes(a)
}

const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// One netlink message of a buffer: its header fields and payload.
#[derive(Debug, Clone, Copy)]
struct NlMsg<'a> {
    kind: u16,
    seq: u32,
    payload: &'a [u8],
    /// Offset of the payload in the buffer, for error messages.
    payload_at: usize,
}

/// The messages of one received buffer, in order; stops after the first
/// framing error (nothing after a bad length can be trusted).
#[derive(Debug)]
struct Messages<'a> {
    buf: &'a [u8],
    offset: usize,
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<NlMsg<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (buf, offset) = (self.buf, self.offset);
        if offset >= buf.len() {
            return None;
        }
        // Whatever happens below, this buffer is finished on error.
        self.offset = buf.len();
        let available = buf.len() - offset;
        if available < NLMSG_HDR_LEN {
            return Some(Err(ParseError::Truncated { offset, needed: NLMSG_HDR_LEN, available }));
        }
        let len = u32_ne(buf, offset) as usize;
        if len < NLMSG_HDR_LEN {
            return Some(Err(ParseError::BadLength { offset, len }));
        }
        if len > available {
            return Some(Err(ParseError::Truncated { offset, needed: len, available }));
        }
        self.offset = offset + align4(len);
        Some(Ok(NlMsg {
            kind: u16_ne(buf, offset + 4),
            seq: u32_ne(buf, offset + 8),
            payload: &buf[offset + NLMSG_HDR_LEN..offset + len],
            payload_at: offset + NLMSG_HDR_LEN,
        }))
    }
}

fn messages(buf: &[u8]) -> Messages<'_> {
    Messages { buf, offset: 0 }
}

/// Parse one buffer of a dump reply, appending sockets to `out`. Messages
/// whose sequence number is not `seq` are skipped (stale replies).
pub fn parse_dump(buf: &[u8], seq: u32, protocol: Protocol, out: &mut Vec<RawSocket>) -> Result<Progress, ParseError> {
    for msg in messages(buf) {
        let msg = msg?;
        if msg.seq != seq {
            continue;
        }
        let payload = msg.payload;
        match msg.kind {
            NLMSG_DONE => {
                // With NLM_F_MULTI the kernel may put an error code here.
                if payload.len() >= 4 {
                    let code = u32_ne(payload, 0) as i32;
                    if code < 0 {
                        return Err(ParseError::Kernel { errno: code.checked_neg().unwrap_or(i32::MAX) });
                    }
                }
                return Ok(Progress::Done);
            }
            NLMSG_ERROR => {
                if payload.len() < 4 {
                    return Err(ParseError::Truncated { offset: msg.payload_at, needed: 4, available: payload.len() });
                }
                let code = u32_ne(payload, 0) as i32;
                if code == 0 {
                    // An acknowledgement, not an error.
                    return Ok(Progress::Done);
                }
                return Err(ParseError::Kernel { errno: code.checked_neg().unwrap_or(i32::MAX) });
            }
            NLMSG_NOOP => {}
            _ => {
                if let Some(sock) = parse_inet_msg(payload, Some(protocol), msg.payload_at)? {
                    out.push(sock);
                }
            }
        }
    }
    Ok(Progress::More)
}

/// Parse one datagram of socket-destroy events (multicast by the kernel to
/// the `SKNLGRP_*_DESTROY` groups), appending a row per destroyed socket.
/// Each event is an ordinary `inet_diag_msg` whose protocol is only in its
/// `INET_DIAG_PROTOCOL` attribute; other message types are skipped.
pub fn parse_events(buf: &[u8], out: &mut Vec<RawSocket>) -> Result<(), ParseError> {
    for msg in messages(buf) {
        let msg = msg?;
        if msg.kind == SOCK_DIAG_BY_FAMILY
            && let Some(sock) = parse_inet_msg(msg.payload, None, msg.payload_at)?
        {
            out.push(sock);
        }
    }
    Ok(())
}

/// One `inet_diag_msg` and its attributes, from a dump reply or a destroy
/// event. `protocol` is what the request asked for; an `INET_DIAG_PROTOCOL`
/// attribute (always present in events) overrides it. `Ok(None)` for a
/// family other than IPv4/IPv6, a protocol other than TCP/UDP, or a state
/// the protocol does not have.
pub fn parse_inet_msg(p: &[u8], protocol: Option<Protocol>, at: usize) -> Result<Option<RawSocket>, ParseError> {
    if p.len() < INET_DIAG_MSG_LEN {
        return Err(ParseError::Truncated { offset: at, needed: INET_DIAG_MSG_LEN, available: p.len() });
    }
    let mut info = None;
    let mut protocol = protocol;
    let mut a = INET_DIAG_MSG_LEN;
    while a + 4 <= p.len() {
        let alen = u16_ne(p, a) as usize;
        let akind = u16_ne(p, a + 2);
        if alen < 4 || a + alen > p.len() {
            return Err(ParseError::Truncated { offset: at + a, needed: alen.max(4), available: p.len() - a });
        }
        let value = &p[a + 4..a + alen];
        match akind {
            INET_DIAG_INFO => info = Some(value),
            INET_DIAG_PROTOCOL => {
                protocol = match value.first() {
                    Some(&IPPROTO_TCP) => Some(Protocol::Tcp),
                    Some(&IPPROTO_UDP) => Some(Protocol::Udp),
                    _ => None,
                };
            }
            _ => {}
        }
        a += align4(alen);
    }
    let Some(protocol) = protocol else {
        return Ok(None);
    };

    let family = p[0];
    let Some(state) = SocketState::from_kernel(protocol, p[1]) else {
        return Ok(None);
    };
    let sport = u16::from_be_bytes([p[4], p[5]]);
    let dport = u16::from_be_bytes([p[6], p[7]]);
    let addr = |from: usize| -> Option<IpAddr> {
        match family {
            AF_INET => Some(IpAddr::V4(Ipv4Addr::new(p[from], p[from + 1], p[from + 2], p[from + 3]))),
            AF_INET6 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(&p[from..from + 16]);
                Some(IpAddr::V6(Ipv6Addr::from(a)))
            }
            _ => None,
        }
    };
    let (Some(src), Some(dst)) = (addr(8), addr(24)) else {
        return Ok(None);
    };
    let cookie = u64::from(u32_ne(p, 44)) | (u64::from(u32_ne(p, 48)) << 32);

    Ok(Some(RawSocket {
        key: SocketKey { protocol, cookie },
        state,
        local: normalize_addr(SocketAddr::new(src, sport)),
        remote: normalize_addr(SocketAddr::new(dst, dport)),
        inode: u32_ne(p, 68),
        uid: u32_ne(p, 64),
        owners: crate::model::Owners::default(),
        tcp: if protocol == Protocol::Tcp { info.and_then(parse_tcp_info) } else { None },
        recv_queue: u32_ne(p, 56),
        send_queue: u32_ne(p, 60),
        netns: None,
    }))
}

/// Read the counters from `struct tcp_info`, checking its length first:
/// older kernels send shorter structures, and then the later counters are
/// simply absent.
fn parse_tcp_info(info: &[u8]) -> Option<TcpCounters> {
    const RTT: usize = 68;
    const BYTES_ACKED: usize = 120;
    const BYTES_RECEIVED: usize = 128;
    const MIN_RTT: usize = 148;
    /// What the kernel reports before the first sample (`~0U`).
    const NO_SAMPLE: u32 = u32::MAX;
    if info.len() < RTT + 4 {
        return None;
    }
    let rtt_us = u32_ne(info, RTT);
    let (bytes_acked, bytes_received) = if info.len() >= BYTES_RECEIVED + 8 { (u64_ne(info, BYTES_ACKED), u64_ne(info, BYTES_RECEIVED)) } else { (0, 0) };
    let min_rtt_us = if info.len() >= MIN_RTT + 4 { Some(u32_ne(info, MIN_RTT)).filter(|&v| v != NO_SAMPLE) } else { None };
    Some(TcpCounters { bytes_acked, bytes_received, rtt_us, min_rtt_us })
}

#[cfg(test)]
#[path = "message_tests.rs"]
mod tests;
