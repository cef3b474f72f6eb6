//! Reading authentication lines: OpenSSH's and PAM's messages, from an
//! auth log line (`auth.log`, `secure`: an RFC 3339 or a traditional
//! `Nov  3 14:22:07` stamp, host, `prog[pid]: message`) or a journal JSON
//! record (`journalctl -o json`).
//!
//! Messages read (OpenSSH 7 to 9):
//! - `Failed <method> for [invalid user ]U from A port P ssh2`
//! - `Invalid user U from A port P`
//! - `Accepted <method> for U from A port P ssh2[: KEY …]`
//! - `Connection closed by [authenticating |invalid ]user U A port P [preauth]`,
//!   `Connection closed by A port P [preauth]`, and the same with
//!   `Disconnected from`
//! - `error: maximum authentication attempts exceeded for [invalid user ]U from A port P ssh2 [preauth]`
//! - `Disconnecting [authenticating |invalid ]user U A port P: Too many authentication failures [preauth]`
//! - PAM `pam_unix(SERVICE:auth): authentication failure; … rhost=A  user=U`
//! - rsyslog's `message repeated N times: [ … ]` (N events, at most 100)
//!
//! User names are chosen by whoever connects: every string is escaped
//! (C0, C1, DEL, bidi) and bounded here, before anything else sees it. A
//! line from sshd that starts like one of these but does not read is
//! malformed (counted); any other line is not about logins.

use std::net::IpAddr;

use crate::model::{LoginEvent, LoginKind};
use crate::text::{bounded, escape_control};

/// Longest user name kept (escaped), and service or method.
const USER_MAX: usize = 64;
const WORD_MAX: usize = 32;
/// Most events one `message repeated N times` line makes.
const REPEAT_MAX: u32 = 100;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginParseError {
    #[error("no timestamp at the start of the line")]
    Time,
    #[error("not a journal JSON record: {0}")]
    Json(String),
    #[error("a login message that does not read: {0}")]
    Message(String),
}

/// Where a line came from: its time, program, pid and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    pub at_ms: i64,
    pub program: &'a str,
    pub pid: Option<u32>,
    pub message: &'a str,
}

fn clean(s: &str, max: usize) -> String {
    bounded(&escape_control(s), max)
}

/// A service name as logged (`sshd`, `sshd-session`, `sudo`).
fn service_of(program: &str) -> String {
    let p = program.rsplit('/').next().unwrap_or(program);
    // OpenSSH 9.8 splits the per-connection process into sshd-session.
    if p == "sshd-session" { "sshd".into() } else { clean(p, WORD_MAX) }
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// A traditional syslog stamp `Nov  3 14:22:07` (no year, read as UTC):
/// the year that puts it no more than a day ahead of `now_ms`.
fn traditional_time(line: &str, now_ms: i64) -> Option<(i64, &str)> {
    let month = MONTHS.iter().position(|m| line.get(..3) == Some(*m))? + 1;
    let rest = line.get(3..)?.trim_start();
    let (day, rest) = rest.split_once(' ')?;
    let (time, rest) = rest.split_once(' ')?;
    let day: u32 = day.parse().ok()?;
    let year: i64 = crate::duration::utc(now_ms).get(..4)?.parse().ok()?;
    let stamp = |y: i64| crate::intel::eve::parse_timestamp(&format!("{y:04}-{month:02}-{day:02}T{time}Z"));
    let at = stamp(year)?;
    let at = if at > now_ms + 86_400_000 { stamp(year - 1)? } else { at };
    Some((at, rest))
}

/// Split an auth log line into its header and message.
pub fn header(line: &str, now_ms: i64) -> Result<Header<'_>, LoginParseError> {
    let (at_ms, rest) = match line.split_once(' ') {
        Some((first, rest)) if first.contains('T') && first.starts_with(|c: char| c.is_ascii_digit()) => {
            (crate::intel::eve::parse_timestamp(first).ok_or(LoginParseError::Time)?, rest)
        }
        _ => traditional_time(line, now_ms).ok_or(LoginParseError::Time)?,
    };
    // host, then `prog[pid]:` or `prog:`.
    let (_host, rest) = rest.trim_start().split_once(' ').ok_or(LoginParseError::Time)?;
    let (tag, message) = rest.split_once(": ").unwrap_or((rest, ""));
    let (program, pid) = match tag.split_once('[') {
        Some((p, pid)) => (p, pid.trim_end_matches(']').parse().ok()),
        None => (tag, None),
    };
    Ok(Header { at_ms, program, pid, message })
}

/// The events of one auth log line (empty: not about logins).
pub fn parse_syslog_line(line: &str, now_ms: i64) -> Result<Vec<LoginEvent>, LoginParseError> {
    let h = header(line.trim_end_matches('\r'), now_ms)?;
    parse_message(&h)
}

#[derive(serde::Deserialize)]
struct JournalRecord {
    #[serde(rename = "__REALTIME_TIMESTAMP")]
    realtime: Option<String>,
    #[serde(rename = "__CURSOR")]
    cursor: Option<String>,
    #[serde(rename = "_PID")]
    pid: Option<String>,
    #[serde(rename = "SYSLOG_PID")]
    syslog_pid: Option<String>,
    #[serde(rename = "SYSLOG_IDENTIFIER")]
    identifier: Option<String>,
    #[serde(rename = "_COMM")]
    comm: Option<String>,
    /// A string, or an array of bytes when it is not UTF-8.
    #[serde(rename = "MESSAGE")]
    message: Option<serde_json::Value>,
}

/// The events of one `journalctl -o json` record, and its cursor.
pub fn parse_journal_line(line: &str) -> Result<(Vec<LoginEvent>, Option<String>), LoginParseError> {
    let r: JournalRecord = serde_json::from_str(line).map_err(|e| LoginParseError::Json(bounded(&e.to_string(), 120)))?;
    let cursor = r.cursor.map(|c| bounded(&c, 512));
    let message = match r.message {
        Some(serde_json::Value::String(s)) => s,
        Some(serde_json::Value::Array(bytes)) => {
            let raw: Vec<u8> = bytes.iter().filter_map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok())).collect();
            String::from_utf8_lossy(&raw).into_owned()
        }
        _ => return Ok((Vec::new(), cursor)),
    };
    let at_ms = r.realtime.as_deref().and_then(|t| t.parse::<i64>().ok()).map(|us| us / 1000).ok_or(LoginParseError::Json("no __REALTIME_TIMESTAMP".into()))?;
    let program = r.identifier.or(r.comm).unwrap_or_default();
    let pid = r.syslog_pid.or(r.pid).and_then(|p| p.parse().ok());
    let events = parse_message(&Header { at_ms, program: &program, pid, message: &message })?;
    Ok((events, cursor))
}

/// `A port P` at the start of `s` (the port optional), and what follows.
fn addr_port(s: &str) -> Option<(IpAddr, Option<u16>, &str)> {
    let (addr, rest) = s.split_once(' ').unwrap_or((s, ""));
    let ip: IpAddr = addr.parse().ok()?;
    match rest.strip_prefix("port ") {
        Some(r) => {
            let (port, tail) = r.split_once([' ', ':']).unwrap_or((r, ""));
            Some((crate::model::normalize_ip(ip), Some(port.parse().ok()?), tail))
        }
        None => Some((crate::model::normalize_ip(ip), None, rest)),
    }
}

/// `[invalid user ]U from A port P…`: (user, invalid, remote, port).
fn user_from(s: &str) -> Option<(String, bool, IpAddr, Option<u16>)> {
    let (invalid, s) = match s.strip_prefix("invalid user ") {
        Some(r) => (true, r),
        None => (false, s),
    };
    // The user is what comes before the last ` from ` (a name may hold spaces).
    let (user, rest) = s.rsplit_once(" from ")?;
    let (ip, port, _) = addr_port(rest)?;
    Some((clean(user, USER_MAX), invalid, ip, port))
}

/// `[authenticating |invalid ]user U A port P…` or `A port P…`: (user, invalid, remote, port).
fn user_addr(s: &str) -> Option<(Option<String>, bool, IpAddr, Option<u16>)> {
    if let Some((ip, port, _)) = addr_port(s) {
        return Some((None, false, ip, port));
    }
    let (invalid, s) = if let Some(r) = s.strip_prefix("invalid user ") {
        (true, r)
    } else {
        (false, s.strip_prefix("authenticating user ").or_else(|| s.strip_prefix("user "))?)
    };
    // The address is the word before ` port `; the user what precedes it.
    let at = s.rfind(" port ")?;
    let (head, _) = s.split_at(at);
    let (user, addr) = head.rsplit_once(' ')?;
    let (ip, port, _) = addr_port(&s[at - addr.len()..])?;
    Some((Some(clean(user, USER_MAX)), invalid, ip, port))
}

fn event(h: &Header<'_>, kind: LoginKind, remote: IpAddr, port: Option<u16>, user: Option<String>, invalid: bool, method: Option<&str>) -> LoginEvent {
    LoginEvent {
        at_ms: h.at_ms,
        kind,
        remote,
        port,
        user,
        invalid_user: invalid,
        method: method.map(|m| clean(m, WORD_MAX)),
        service: service_of(h.program),
        pid: h.pid,
    }
}

/// The events a message says (empty: not about logins).
pub fn parse_message(h: &Header<'_>) -> Result<Vec<LoginEvent>, LoginParseError> {
    let m = h.message.trim();
    if let Some(rest) = m.strip_prefix("message repeated ") {
        let (n, inner) = rest.split_once(" times: [ ").ok_or_else(|| bad(m))?;
        let n: u32 = n.parse().map_err(|_| bad(m))?;
        let inner = inner.strip_suffix(']').unwrap_or(inner).trim();
        let one = parse_message(&Header { message: inner, ..h.clone() })?;
        return Ok(std::iter::repeat_n(one, n.min(REPEAT_MAX) as usize).flatten().collect());
    }
    if let Some(pam) = m.split_once("): authentication failure;") {
        return Ok(pam_failure(h, pam.0, pam.1).into_iter().collect());
    }
    if !h.program.starts_with("sshd") {
        return Ok(Vec::new());
    }
    let m = m.strip_suffix("[preauth]").map_or(m, str::trim_end);
    if let Some(rest) = m.strip_prefix("Failed ") {
        let (method, rest) = rest.split_once(" for ").ok_or_else(|| bad(m))?;
        let (user, invalid, ip, port) = user_from(rest).ok_or_else(|| bad(m))?;
        return Ok(vec![event(h, LoginKind::Failed, ip, port, Some(user), invalid, Some(method))]);
    }
    if let Some(rest) = m.strip_prefix("Accepted ") {
        let (method, rest) = rest.split_once(" for ").ok_or_else(|| bad(m))?;
        let (user, _, ip, port) = user_from(rest).ok_or_else(|| bad(m))?;
        return Ok(vec![event(h, LoginKind::Accepted, ip, port, Some(user), false, Some(method))]);
    }
    if let Some(rest) = m.strip_prefix("Invalid user ") {
        // `Invalid user  from A` (an empty name) has two spaces.
        let (user, ip, port) = match rest.rsplit_once(" from ") {
            Some((user, r)) => addr_port(r).map(|(ip, port, _)| (clean(user, USER_MAX), ip, port)).ok_or_else(|| bad(m))?,
            None => return Err(bad(m)),
        };
        return Ok(vec![event(h, LoginKind::InvalidUser, ip, port, Some(user), true, None)]);
    }
    if let Some(rest) = m.strip_prefix("error: maximum authentication attempts exceeded for ") {
        let (user, invalid, ip, port) = user_from(rest).ok_or_else(|| bad(m))?;
        return Ok(vec![event(h, LoginKind::TooManyFailures, ip, port, Some(user), invalid, None)]);
    }
    if let Some(rest) = m.strip_prefix("Disconnecting ") {
        if !m.contains("Too many authentication failures") {
            return Ok(Vec::new());
        }
        // `Disconnecting: Too many … for U` (OpenSSH 6) names no address.
        let Some((user, invalid, ip, port)) = user_addr(rest) else { return Ok(Vec::new()) };
        return Ok(vec![event(h, LoginKind::TooManyFailures, ip, port, user, invalid, None)]);
    }
    let preauth = h.message.trim_end().ends_with("[preauth]");
    for prefix in ["Connection closed by ", "Disconnected from "] {
        if let Some(rest) = m.strip_prefix(prefix) {
            if !preauth {
                // A logout after a session, or a closed connection we cannot place.
                return Ok(Vec::new());
            }
            let (user, invalid, ip, port) = user_addr(rest).ok_or_else(|| bad(m))?;
            return Ok(vec![event(h, LoginKind::PreauthDisconnect, ip, port, user, invalid, None)]);
        }
    }
    Ok(Vec::new())
}

fn bad(m: &str) -> LoginParseError {
    LoginParseError::Message(clean(m, 120))
}

/// `pam_unix(sshd:auth` + `logname= uid=0 … rhost=A  user=U`: one event
/// when rhost is an address (a host name cannot be put on the map).
fn pam_failure(h: &Header<'_>, head: &str, fields: &str) -> Option<LoginEvent> {
    let service = head.rsplit_once('(').map_or("", |(_, s)| s).split(':').next().unwrap_or("");
    let field = |name: &str| fields.split_whitespace().find_map(|w| w.strip_prefix(name)).filter(|v| !v.is_empty());
    let ip: IpAddr = field("rhost=")?.parse().ok()?;
    let mut e = event(h, LoginKind::PamFailure, crate::model::normalize_ip(ip), None, field("user=").map(|u| clean(u, USER_MAX)), false, None);
    if !service.is_empty() {
        e.service = service_of(service);
    }
    Some(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_793_000_000_000; // 2026-10-27

    fn one(line: &str) -> LoginEvent {
        let mut v = parse_syslog_line(line, NOW).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(v.len(), 1, "{line}: {v:?}");
        v.remove(0)
    }

    #[test]
    fn reads_openssh_failed_invalid_accepted() {
        let e = one("2026-10-27T08:01:02.123456+00:00 web1 sshd[1201]: Failed password for invalid user admin from 203.0.113.7 port 52144 ssh2");
        assert_eq!((e.kind, e.user.as_deref(), e.invalid_user, e.port, e.pid), (LoginKind::Failed, Some("admin"), true, Some(52144), Some(1201)));
        assert_eq!(e.remote.to_string(), "203.0.113.7");
        assert_eq!(e.method.as_deref(), Some("password"));
        assert_eq!(e.service, "sshd");
        assert_eq!(e.at_ms % 1000, 123);
        let e = one("Oct 27 08:01:03 web1 sshd[1202]: Accepted publickey for deploy from 2001:db8::5 port 40022 ssh2: ED25519 SHA256:abc");
        assert_eq!((e.kind, e.user.as_deref(), e.method.as_deref()), (LoginKind::Accepted, Some("deploy"), Some("publickey")));
        assert_eq!(e.remote.to_string(), "2001:db8::5");
        let e = one("Oct 27 08:01:04 web1 sshd[1203]: Invalid user oracle from 198.51.100.4 port 1022");
        assert_eq!((e.kind, e.user.as_deref()), (LoginKind::InvalidUser, Some("oracle")));
        let e = one("Oct 27 08:01:04 web1 sshd-session[1203]: Failed password for root from ::ffff:198.51.100.4 port 1022 ssh2");
        assert_eq!(e.remote.to_string(), "198.51.100.4", "mapped addresses are the IPv4 party");
        assert_eq!(e.service, "sshd");
    }

    #[test]
    fn reads_preauth_disconnects_and_too_many_failures() {
        let e = one("Oct 27 08:02:00 web1 sshd[1300]: Connection closed by authenticating user root 203.0.113.7 port 52150 [preauth]");
        assert_eq!((e.kind, e.user.as_deref(), e.port), (LoginKind::PreauthDisconnect, Some("root"), Some(52150)));
        let e = one("Oct 27 08:02:00 web1 sshd[1301]: Connection closed by 192.0.2.9 port 4000 [preauth]");
        assert_eq!((e.kind, e.user.as_deref()), (LoginKind::PreauthDisconnect, None));
        let e = one("Oct 27 08:02:01 web1 sshd[1302]: Disconnected from invalid user test 192.0.2.9 port 4001 [preauth]");
        assert!(e.invalid_user && e.user.as_deref() == Some("test"));
        let e = one("Oct 27 08:02:02 web1 sshd[1303]: error: maximum authentication attempts exceeded for root from 203.0.113.7 port 52160 ssh2 [preauth]");
        assert_eq!(e.kind, LoginKind::TooManyFailures);
        let e =
            one("Oct 27 08:02:03 web1 sshd[1304]: Disconnecting authenticating user root 203.0.113.7 port 52160: Too many authentication failures [preauth]");
        assert_eq!((e.kind, e.port), (LoginKind::TooManyFailures, Some(52160)));
        assert!(parse_syslog_line("Oct 27 08:02:04 web1 sshd[1305]: Disconnected from user alice 192.0.2.1 port 22", NOW).expect("ok").is_empty(), "a logout");
    }

    #[test]
    fn reads_pam_and_repeats_and_ignores_the_rest() {
        let e = one(
            "Oct 27 08:03:00 web1 sshd[1400]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.7  user=root",
        );
        assert_eq!((e.kind, e.user.as_deref(), e.service.as_str()), (LoginKind::PamFailure, Some("root"), "sshd"));
        let e = one(
            "Oct 27 08:03:01 web1 dovecot[77]: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=x rhost=198.51.100.3 user=x",
        );
        assert_eq!(e.service, "dovecot");
        assert!(
            parse_syslog_line(
                "Oct 27 08:03:02 web1 sudo: pam_unix(sudo:auth): authentication failure; logname=a uid=1000 euid=0 tty=/dev/pts/0 ruser=a rhost=  user=a",
                NOW
            )
            .expect("ok")
            .is_empty(),
            "a local sudo failure has no remote party"
        );
        let v =
            parse_syslog_line("Oct 27 08:03:03 web1 sshd[1401]: message repeated 3 times: [ Failed password for root from 203.0.113.7 port 52170 ssh2]", NOW)
                .expect("ok");
        assert_eq!(v.len(), 3);
        assert!(parse_syslog_line("Oct 27 08:03:04 web1 CRON[5]: pam_unix(cron:session): session opened for user root", NOW).expect("ok").is_empty());
        assert!(parse_syslog_line("Oct 27 08:03:04 web1 sshd[9]: Server listening on 0.0.0.0 port 22.", NOW).expect("ok").is_empty());
        assert!(matches!(
            parse_syslog_line("Oct 27 08:03:05 web1 sshd[9]: Failed password for root from nowhere port x ssh2", NOW),
            Err(LoginParseError::Message(_))
        ));
        assert!(matches!(parse_syslog_line("garbage", NOW), Err(LoginParseError::Time)));
    }

    #[test]
    fn user_names_are_escaped_and_bounded() {
        let name = format!("\u{1b}]0;owned\u{7}\u{202e}{}", "x".repeat(200));
        let e = one(&format!("Oct 27 08:04:00 web1 sshd[1500]: Invalid user {name} from 203.0.113.7 port 1"));
        let user = e.user.expect("user");
        assert!(user.starts_with("\\x1b]0;owned\\x07\\u{202e}"), "{user}");
        assert!(user.chars().count() <= USER_MAX);
        assert!(!user.chars().any(crate::text::is_unsafe));
        // A name that holds ` from ` cannot move the address.
        let e = one("Oct 27 08:04:01 web1 sshd[1501]: Failed password for invalid user a from 192.0.2.1 from 203.0.113.8 port 2 ssh2");
        assert_eq!((e.user.as_deref(), e.remote.to_string().as_str()), (Some("a from 192.0.2.1"), "203.0.113.8"));
    }

    #[test]
    fn reads_journal_records() {
        let line = r#"{"__CURSOR":"s=abc;i=1","__REALTIME_TIMESTAMP":"1793000000123456","_PID":"1600","SYSLOG_IDENTIFIER":"sshd","MESSAGE":"Failed password for root from 203.0.113.7 port 52144 ssh2"}"#;
        let (v, cursor) = parse_journal_line(line).expect("parse");
        assert_eq!(cursor.as_deref(), Some("s=abc;i=1"));
        assert_eq!((v[0].at_ms, v[0].pid, v[0].kind), (1_793_000_000_123, Some(1600), LoginKind::Failed));
        // MESSAGE as bytes when it is not UTF-8.
        let bytes: Vec<String> = b"Invalid user \xff from 198.51.100.4 port 9".iter().map(u8::to_string).collect();
        let line = format!(r#"{{"__REALTIME_TIMESTAMP":"1793000000000000","_COMM":"sshd","MESSAGE":[{}]}}"#, bytes.join(","));
        let (v, _) = parse_journal_line(&line).expect("parse");
        assert_eq!(v[0].user.as_deref(), Some("\u{fffd}"));
        assert!(parse_journal_line("{not json").is_err());
    }
}
