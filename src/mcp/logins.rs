//! What the threat tools read of logins: a party's events in a window and
//! its tally, from the event store when one is kept, else from the digest
//! the snapshot was published with; and the attack phase of each kind.

use std::collections::VecDeque;
use std::net::IpAddr;

use super::dto::safe;
use crate::intel::Phase;
use crate::model::{DAY_MS, LoginEvent, LoginKind, LoginTally, Snapshot};

/// The phase a login event points to: attempts at getting in are
/// exploitation (initial access), a pre-auth disconnect is a probe.
pub fn phase(kind: LoginKind) -> Option<Phase> {
    match kind {
        LoginKind::Failed | LoginKind::InvalidUser | LoginKind::TooManyFailures | LoginKind::PamFailure => Some(Phase::Exploitation),
        LoginKind::PreauthDisconnect => Some(Phase::Reconnaissance),
        LoginKind::Accepted => None,
    }
}

/// One line for a login event (its strings were escaped when parsed).
pub fn title(e: &LoginEvent) -> String {
    format!(
        "{} {}{}{}{}",
        e.kind.name(),
        if e.invalid_user { "invalid user " } else { "user " },
        e.user.as_deref().map_or_else(|| "-".into(), |u| safe(u, 64)),
        e.port.map_or_else(String::new, |p| format!(" port {p}")),
        e.method.as_deref().map_or_else(String::new, |m| format!(" ({})", safe(m, 32)))
    )
}

/// Events from `ip` since `since_ms`, oldest first (at most 500).
pub fn events(s: &Snapshot, conn: Option<&rusqlite::Connection>, ip: IpAddr, since_ms: i64) -> Result<Vec<LoginEvent>, String> {
    if let Some(conn) = conn {
        let mut v = crate::store::query::logins_since(conn, since_ms, Some(ip), 500).map_err(|e| safe(&e.to_string(), 300))?;
        v.reverse();
        return Ok(v);
    }
    Ok(s.logins.as_ref().map(|d| d.about(ip, since_ms).cloned().collect::<Vec<_>>()).map(|mut v| v.split_off(v.len().saturating_sub(500))).unwrap_or_default())
}

/// The tally of `ip` at the snapshot's time, when it tried to log in today.
pub fn tally(s: &Snapshot, conn: Option<&rusqlite::Connection>, ip: IpAddr) -> Result<Option<LoginTally>, String> {
    if let Some(t) = s.logins.as_ref().and_then(|d| d.tallies.get(&ip)) {
        return Ok(Some(t.clone()));
    }
    let Some(conn) = conn else { return Ok(None) };
    let mut q: VecDeque<LoginEvent> =
        crate::store::query::logins_since(conn, s.taken_at_ms - DAY_MS, Some(ip), 5_000).map_err(|e| safe(&e.to_string(), 300))?.into();
    if q.is_empty() {
        return Ok(None);
    }
    q.make_contiguous().reverse();
    Ok(Some(LoginTally::of(&q, s.taken_at_ms)))
}
