//! A socket row written straight as compact JSON: the bytes serde writes
//! for a [`super::rows::SocketRow`], without making the row's strings
//! first or escaping its fixed keys on every row (at 10k sockets the rows
//! were a third of a one-shot's CPU). Host strings still go through the
//! escaping serializer; numbers, addresses and the crate's own names need
//! none. The tests hold it to serde's bytes, field for field.

use std::io::{self, Write};

use serde::Serialize;

use super::safe_json::append_compact;
use crate::model::{Protocol, Snapshot};

/// Append socket `i` of `s` as compact JSON (no separator).
pub fn append_socket_row(buf: &mut Vec<u8>, s: &Snapshot, i: usize) -> io::Result<()> {
    let x = &s.sockets[i];
    let pid = x.owner();
    let facts = s.index.socket(i);
    let protocol: &[u8] = match x.key().protocol {
        Protocol::Tcp => b"tcp",
        Protocol::Udp => b"udp",
    };
    buf.extend_from_slice(b"{\"id\":\"");
    buf.extend_from_slice(protocol);
    buf.push(b':');
    hex16(buf, x.key().cookie);
    buf.extend_from_slice(b"\",\"protocol\":\"");
    buf.extend_from_slice(protocol);
    buf.extend_from_slice(b"\",\"state\":\"");
    buf.extend_from_slice(x.state().name().as_bytes());
    buf.extend_from_slice(b"\",\"direction\":\"");
    buf.extend_from_slice(x.direction.name().as_bytes());
    buf.extend_from_slice(b"\",\"local_address\":\"");
    address(buf, x.raw.local.ip())?;
    buf.extend_from_slice(b"\",\"local_port\":");
    number(buf, Some(x.raw.local.port()));
    buf.extend_from_slice(b",\"remote_address\":\"");
    address(buf, x.raw.remote.ip())?;
    buf.extend_from_slice(b"\",\"remote_port\":");
    number(buf, Some(x.raw.remote.port()));
    buf.extend_from_slice(b",\"zone\":\"");
    buf.extend_from_slice(x.zone.name().as_bytes());
    buf.extend_from_slice(b"\",\"pid\":");
    number(buf, pid.map(|p| p.0));
    buf.extend_from_slice(b",\"pids\":[");
    for (k, p) in x.raw.owners.iter().enumerate() {
        if k > 0 {
            buf.push(b',');
        }
        number(buf, Some(p.0));
    }
    buf.extend_from_slice(b"],\"process\":");
    text(buf, pid.and_then(|p| s.process(p)).map(|p| p.facts.name.as_str()))?;
    buf.extend_from_slice(b",\"uid\":");
    number(buf, Some(x.raw.uid));
    buf.extend_from_slice(b",\"inode\":");
    number(buf, Some(x.raw.inode));
    buf.extend_from_slice(b",\"first_seen_ms\":");
    number(buf, Some(x.first_seen_ms));
    buf.extend_from_slice(b",\"age_ms\":");
    number(buf, x.age().map(|a| a.ms));
    buf.extend_from_slice(b",\"bytes_sent\":");
    number(buf, x.raw.tcp.map(|t| t.bytes_acked));
    buf.extend_from_slice(b",\"bytes_received\":");
    number(buf, x.raw.tcp.map(|t| t.bytes_received));
    buf.extend_from_slice(b",\"rtt_us\":");
    number(buf, x.rtt_us());
    buf.extend_from_slice(b",\"send_rate\":");
    number(buf, x.send_rate());
    buf.extend_from_slice(b",\"recv_rate\":");
    number(buf, x.recv_rate());
    buf.extend_from_slice(b",\"recv_queue\":");
    number(buf, Some(x.raw.recv_queue));
    buf.extend_from_slice(b",\"send_queue\":");
    number(buf, Some(x.raw.send_queue));
    buf.extend_from_slice(b",\"severity\":");
    value(buf, &facts.map(|f| f.severity))?;
    buf.extend_from_slice(b",\"rule_ids\":");
    match facts {
        Some(f) if !f.rule_ids.is_empty() => value(buf, f.rule_ids.as_slice())?,
        _ => buf.extend_from_slice(b"[]"),
    }
    buf.extend_from_slice(b",\"age_bound\":");
    value(buf, &x.age().map(|a| a.bound))?;
    buf.extend_from_slice(b",\"netns\":");
    number(buf, s.namespace_inode(x.raw.netns));
    buf.extend_from_slice(b",\"namespace\":");
    text(buf, Some(&s.namespace_label(x.raw.netns)))?;
    buf.extend_from_slice(b",\"container\":");
    text(buf, s.workload_label(x).as_deref())?;
    buf.extend_from_slice(b",\"remote_name\":");
    text(buf, s.remote_name(x))?;
    buf.extend_from_slice(b",\"service\":");
    text(buf, crate::names::service_of(s, x))?;
    buf.push(b'}');
    Ok(())
}

/// A number, or `null`.
fn number(buf: &mut Vec<u8>, v: Option<impl itoa::Integer>) {
    match v {
        Some(v) => buf.extend_from_slice(itoa::Buffer::new().format(v).as_bytes()),
        None => buf.extend_from_slice(b"null"),
    }
}

/// Sixteen lowercase hex digits, as `{:016x}` writes them.
fn hex16(buf: &mut Vec<u8>, v: u64) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for shift in (0..16).rev() {
        buf.push(DIGITS[((v >> (shift * 4)) & 0xf) as usize]);
    }
}

/// An address as its `Display` writes it (IPv4 by hand: nearly every row).
fn address(buf: &mut Vec<u8>, ip: std::net::IpAddr) -> io::Result<()> {
    match ip {
        std::net::IpAddr::V4(v4) => {
            for (k, octet) in v4.octets().into_iter().enumerate() {
                if k > 0 {
                    buf.push(b'.');
                }
                number(buf, Some(octet));
            }
            Ok(())
        }
        std::net::IpAddr::V6(v6) => write!(buf, "{v6}"),
    }
}

/// A string as serde writes it (escaped, unsafe characters as `\uNNNN`),
/// or `null`. Printable ASCII with no quote or backslash is written as
/// it is: serde would write it so.
fn text(buf: &mut Vec<u8>, v: Option<&str>) -> io::Result<()> {
    let Some(v) = v else {
        buf.extend_from_slice(b"null");
        return Ok(());
    };
    if v.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\') {
        buf.push(b'"');
        buf.extend_from_slice(v.as_bytes());
        buf.push(b'"');
        return Ok(());
    }
    append_compact(v, buf)
}

/// Anything else through serde (enums, lists of host strings).
fn value<T: Serialize + ?Sized>(buf: &mut Vec<u8>, v: &T) -> io::Result<()> {
    append_compact(v, buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::rows::SocketRow;

    fn serde_row(s: &Snapshot, i: usize) -> String {
        let mut buf = Vec::new();
        append_compact(&SocketRow::new(s, &s.sockets[i]), &mut buf).expect("serde");
        String::from_utf8(buf).expect("utf-8")
    }

    fn fast_row(s: &Snapshot, i: usize) -> String {
        let mut buf = Vec::new();
        append_socket_row(&mut buf, s, i).expect("fast");
        String::from_utf8(buf).expect("utf-8")
    }

    /// The demo host after all its frames, judged by the shipped rules.
    fn demo() -> Snapshot {
        let mut src = crate::collect::ReplaySource::from_text(crate::DEMO_SCENARIO, "demo").expect("demo");
        let mut engine = crate::rules::Engine::new(crate::rules::RuleSet::embedded(), crate::rules::IocSet::new());
        src.build_through(std::sync::Arc::new(crate::spec::Spec::embedded()), None, Some(&mut engine)).0.expect("frames")
    }

    /// Every socket of the demo host (findings, rule ids, names, ages,
    /// rates, containers, listeners, UDP) is written as serde writes it.
    #[test]
    fn every_demo_row_is_what_serde_writes() {
        let s = demo();
        assert!(s.sockets.len() > 20 && s.sockets.iter().enumerate().any(|(i, _)| s.index.socket(i).is_some()), "a demo with findings");
        for i in 0..s.sockets.len() {
            assert_eq!(fast_row(&s, i), serde_row(&s, i), "socket {i}");
        }
    }

    /// Host strings with quotes, backslashes, C0, DEL, C1, bidi controls
    /// and wide characters are escaped exactly as serde escapes them.
    #[test]
    fn hostile_names_are_escaped_as_serde_escapes_them() {
        let mut s = demo();
        let names = ["a\"b\\c", "tab\there\n", "del\u{7f}c1\u{85}\u{9b}", "bidi\u{202e}txt.exe\u{2066}", "한국어 ✓", ""];
        for (k, p) in s.processes.values_mut().enumerate() {
            p.facts.name = names[k % names.len()].into();
        }
        for e in s.endpoints.values_mut() {
            e.hostname = Some("host\u{202e}moc.example".into());
        }
        // IPv6 addresses (shortened, mapped) and absent counters.
        for (x, ip) in s.sockets.iter_mut().zip(["2001:db8::1", "::ffff:192.0.2.7", "fe80::1:2:3:4"]) {
            x.raw.local.set_ip(ip.parse().expect("ip"));
            x.raw.tcp = None;
            *x = x.clone().with_age(None);
        }
        let mut hostile = 0;
        for i in 0..s.sockets.len() {
            let fast = fast_row(&s, i);
            assert_eq!(fast, serde_row(&s, i), "socket {i}");
            hostile += usize::from(fast.contains("\\u202e"));
            assert!(!fast.chars().any(crate::text::is_unsafe), "{fast}");
        }
        assert!(hostile > 0, "some rows carry the hostile names");
    }
}
