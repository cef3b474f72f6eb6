//! Logins in the explorer: what the endpoint detail says of a remote
//! party that tried to log in (counts by kind in the last hour and day,
//! users tried, accepted logins that followed failures), and one raw
//! login event as the events pane lists it. User names and methods are
//! escaped when read; here they are escaped again and bounded, since they
//! are the attacker's words.

use std::net::IpAddr;

use crate::model::{LoginEvent, LoginTally, Snapshot};
use crate::text::{bounded, escape_control};

/// Most users listed, accepts after failures listed, characters of a user name.
const USERS: usize = 8;
const ACCEPTS: usize = 3;
const USER_CHARS: usize = 24;

fn user(u: Option<&str>) -> String {
    bounded(&escape_control(u.unwrap_or("-")), USER_CHARS)
}

fn kinds(counts: &std::collections::BTreeMap<crate::model::LoginKind, u32>) -> String {
    if counts.is_empty() {
        return "none".into();
    }
    counts.iter().map(|(k, n)| format!("{} {n}", short(*k))).collect::<Vec<_>>().join(" · ")
}

/// A kind in a few letters (the detail is narrow).
fn short(k: crate::model::LoginKind) -> &'static str {
    use crate::model::LoginKind as K;
    match k {
        K::Failed => "failed",
        K::InvalidUser => "invalid",
        K::Accepted => "accepted",
        K::PreauthDisconnect => "preauth",
        K::TooManyFailures => "too many",
        K::PamFailure => "pam",
    }
}

/// `(key, value)` lines about the party at `ip`, when logins are followed
/// and it was heard from in the last day.
pub fn endpoint_facts(s: &Snapshot, ip: IpAddr) -> Vec<(&'static str, String)> {
    let Some(t) = s.logins.as_ref().and_then(|d| d.tallies.get(&ip)) else { return Vec::new() };
    facts(t)
}

fn facts(t: &LoginTally) -> Vec<(&'static str, String)> {
    let mut out = vec![("login 1h", kinds(&t.last_hour)), ("login 1d", kinds(&t.last_day))];
    if t.users_total > 0 {
        let shown: Vec<String> = t.users.iter().take(USERS).map(|u| user(Some(u))).collect();
        let more = t.users_total.saturating_sub(shown.len());
        let more = if more > 0 { format!(" +{more} more") } else { String::new() };
        out.push(("users", format!("{}{more}", shown.join(", "))));
    }
    for a in t.accepted_after_failures.iter().rev().take(ACCEPTS) {
        out.push((
            "accepted",
            format!(
                "{} {} ({}) after {} failures in {} min, {} in the hour",
                crate::duration::utc(a.at_ms),
                user(a.user.as_deref()),
                bounded(&escape_control(a.method.as_deref().unwrap_or("-")), 24),
                a.failures_burst,
                crate::model::BURST_MS / 60_000,
                a.failures_before
            ),
        ));
    }
    out
}

/// Raw login events of the last day, newest first, at most `limit`.
pub fn recent(s: &Snapshot, limit: usize) -> Vec<&LoginEvent> {
    let Some(d) = s.logins.as_ref() else { return Vec::new() };
    let since = s.taken_at_ms - crate::model::DAY_MS;
    let mut v: Vec<&LoginEvent> = d.parties.values().flat_map(|p| p.events.iter().rev().take_while(|e| e.at_ms >= since)).collect();
    v.sort_by(|a, b| b.at_ms.cmp(&a.at_ms).then_with(|| a.remote.cmp(&b.remote)));
    v.truncate(limit);
    v
}

/// One login event for the events pane: kind, user, address and port, service and pid.
pub fn event_text(e: &LoginEvent) -> String {
    // `invalid_user` says it already.
    let invalid = if e.invalid_user && e.kind != crate::model::LoginKind::InvalidUser { "invalid user " } else { "" };
    let addr = match e.port {
        Some(p) => std::net::SocketAddr::new(e.remote, p).to_string(),
        None => e.remote.to_string(),
    };
    let pid = e.pid.map_or_else(String::new, |p| format!("[{p}]"));
    let kind = if e.kind == crate::model::LoginKind::InvalidUser { "invalid user" } else { short(e.kind) };
    format!("{kind} {invalid}{} ← {addr} · {}{pid}", user(e.user.as_deref()), bounded(&escape_control(&e.service), 24))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LoginKind;

    #[test]
    fn a_hostile_user_name_is_escaped_and_bounded() {
        let e = LoginEvent {
            at_ms: 0,
            kind: LoginKind::Failed,
            remote: "203.0.113.45".parse().expect("ip"),
            port: Some(50_000),
            user: Some(format!("\u{1b}]0;owned\u{7}\u{202e}{}", "x".repeat(100))),
            invalid_user: true,
            method: None,
            service: "sshd".into(),
            pid: Some(7),
        };
        let t = event_text(&e);
        assert!(!t.chars().any(crate::text::is_unsafe), "{t}");
        assert!(t.starts_with("failed invalid user \\x1b]0;owned"), "{t}");
        assert!(t.contains("… ← 203.0.113.45:50000 · sshd[7]"), "{t}");
    }
}
