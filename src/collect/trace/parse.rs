//! One `trace_pipe` text line of `sock:inet_sock_set_state`, parsed without
//! trusting it.
//!
//! A line looks like this (default options, `trace_clock` boot):
//!
//! ```text
//!         my-app 2-1434    [001] .....  6233.221820: inet_sock_set_state: family=AF_INET6 protocol=IPPROTO_TCP sport=0 dport=46679 saddr=0.0.0.0 daddr=0.0.0.0 saddrv6=::1 daddrv6=::1 oldstate=TCP_CLOSE newstate=TCP_SYN_SENT
//! ```
//!
//! The task name (comm) is right-aligned and may hold spaces, dashes and
//! brackets, so the context is read from the right: timestamp, optional
//! flags, the `[cpu]` column, an optional `(tgid)` column (`record-tgid`),
//! then `comm-tid` split at the last dash. The kernel also writes
//! `CPU:1 [LOST 12 EVENTS]` lines when the ring buffer overflowed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Between the context columns and the fields. Longer than any comm (15
/// bytes), and a comm is followed by `-<tid>`, so the first occurrence is
/// the real one.
const MARKER: &str = ": inet_sock_set_state: ";

/// `TCP_ESTABLISHED`.
pub const ESTABLISHED: u8 = 1;
/// `TCP_SYN_SENT`: entered inside `connect()`, in the caller's context.
pub const SYN_SENT: u8 = 2;
/// `TCP_CLOSE`.
pub const CLOSE: u8 = 7;

/// The kernel's names for TCP states, in their numeric order from 1.
const STATES: [&str; 12] = [
    "TCP_ESTABLISHED",
    "TCP_SYN_SENT",
    "TCP_SYN_RECV",
    "TCP_FIN_WAIT1",
    "TCP_FIN_WAIT2",
    "TCP_TIME_WAIT",
    "TCP_CLOSE",
    "TCP_CLOSE_WAIT",
    "TCP_LAST_ACK",
    "TCP_LISTEN",
    "TCP_CLOSING",
    "TCP_NEW_SYN_RECV",
];

/// What the task name shows when the trace buffer's name cache had no
/// entry for the thread when the line was formatted.
pub const UNKNOWN_COMM: &str = "<...>";

/// One TCP state change, as the line tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// Task name from the tracer's name cache, resolved when the line was
    /// formatted (read), not when the event fired: may be
    /// [`UNKNOWN_COMM`] or, rarely, a name the thread had before.
    pub comm: String,
    /// The thread the event fired in (for `SYN_SENT`, the caller of
    /// `connect()`; for later states often whoever ran the softirq).
    pub tid: u32,
    /// Thread group id, when a `record-tgid` column is present and resolved.
    pub tgid: Option<u32>,
    /// Trace timestamp in microseconds, in the instance's `trace_clock`.
    pub ts_us: Option<u64>,
    /// Source address and port (port 0 until the kernel picked one).
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// States as numbers (`TCP_ESTABLISHED` = 1 …).
    pub old: u8,
    pub new: u8,
}

/// One line of `trace_pipe`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceLine {
    Transition(Transition),
    /// `CPU:n [LOST k EVENTS]`: the ring buffer overwrote k events.
    Lost(u64),
}

/// Parse one line; `None` for anything that is not one of ours.
pub fn parse_line(line: &str) -> Option<TraceLine> {
    if let Some(lost) = parse_lost(line) {
        return Some(TraceLine::Lost(lost));
    }
    let (head, body) = line.split_once(MARKER)?;
    let ctx = parse_context(head)?;
    let fields = parse_fields(body)?;
    Some(TraceLine::Transition(Transition {
        comm: ctx.comm.to_string(),
        tid: ctx.tid,
        tgid: ctx.tgid,
        ts_us: ctx.ts_us,
        local: fields.local,
        remote: fields.remote,
        old: fields.old,
        new: fields.new,
    }))
}

/// `CPU:1 [LOST 123 EVENTS]`.
fn parse_lost(line: &str) -> Option<u64> {
    let rest = line.trim().strip_prefix("CPU:")?;
    let (_, rest) = rest.split_once(" [LOST ")?;
    rest.strip_suffix(" EVENTS]")?.parse().ok()
}

struct Context<'a> {
    comm: &'a str,
    tid: u32,
    tgid: Option<u32>,
    ts_us: Option<u64>,
}

fn parse_context(head: &str) -> Option<Context<'_>> {
    let head = head.trim_end();
    let (rest, ts) = head.rsplit_once(char::is_whitespace)?;
    let ts_us = parse_timestamp(ts);
    let cpu_at = cpu_column(rest)?;
    let mut who = rest[..cpu_at].trim_end();
    let mut tgid = None;
    if let Some(inner) = who.strip_suffix(')') {
        let open = inner.rfind('(')?;
        let column = &inner[open + 1..];
        if column.bytes().all(|b| b.is_ascii_digit() || b == b' ' || b == b'-') {
            tgid = column.trim().parse().ok();
            who = inner[..open].trim_end();
        }
    }
    let (comm, thread) = who.trim_start().rsplit_once('-')?;
    Some(Context { comm, tid: thread.parse().ok()?, tgid, ts_us })
}

/// Byte offset of the `[NNN]` cpu column: the rightmost bracketed number
/// that stands alone (a comm such as `wrk-[7] x` sits further left).
fn cpu_column(s: &str) -> Option<usize> {
    s.rmatch_indices('[').map(|(i, _)| i).find(|&i| {
        let alone_before = s[..i].ends_with(char::is_whitespace);
        let after = &s[i + 1..];
        let Some(close) = after.find(']') else { return false };
        let digits = &after[..close];
        let alone_after = after[close + 1..].is_empty() || after[close + 1..].starts_with(char::is_whitespace);
        alone_before && alone_after && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

/// `6233.221820` (seconds and micro- or nanoseconds) → microseconds.
fn parse_timestamp(ts: &str) -> Option<u64> {
    let ts = ts.strip_suffix(':').unwrap_or(ts);
    let (secs, frac) = ts.split_once('.')?;
    if frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: u64 = secs.parse().ok()?;
    let micros: u64 = format!("{:0<6}", &frac[..frac.len().min(6)]).parse().ok()?;
    secs.checked_mul(1_000_000)?.checked_add(micros)
}

struct Fields {
    local: SocketAddr,
    remote: SocketAddr,
    old: u8,
    new: u8,
}

fn parse_fields(body: &str) -> Option<Fields> {
    let (mut family, mut tcp) = (None, false);
    let (mut sport, mut dport) = (None, None);
    let (mut saddr, mut daddr, mut saddr6, mut daddr6) = (None, None, None, None);
    let (mut old, mut new) = (None, None);
    for (key, value) in body.split_ascii_whitespace().filter_map(|kv| kv.split_once('=')) {
        match key {
            "family" => family = Some(value),
            "protocol" => tcp = value == "IPPROTO_TCP",
            "sport" => sport = value.parse::<u16>().ok(),
            "dport" => dport = value.parse::<u16>().ok(),
            "saddr" => saddr = value.parse::<Ipv4Addr>().ok(),
            "daddr" => daddr = value.parse::<Ipv4Addr>().ok(),
            "saddrv6" => saddr6 = value.parse::<Ipv6Addr>().ok(),
            "daddrv6" => daddr6 = value.parse::<Ipv6Addr>().ok(),
            "oldstate" => old = state(value),
            "newstate" => new = state(value),
            _ => {}
        }
    }
    if !tcp {
        return None;
    }
    let (s, d): (IpAddr, IpAddr) = match family? {
        "AF_INET" => (saddr?.into(), daddr?.into()),
        "AF_INET6" => (saddr6?.into(), daddr6?.into()),
        _ => return None,
    };
    Some(Fields { local: SocketAddr::new(s, sport?), remote: SocketAddr::new(d, dport?), old: old?, new: new? })
}

fn state(name: &str) -> Option<u8> {
    STATES.iter().position(|s| *s == name).map(|i| i as u8 + 1)
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
