//! Authentication events as necromap keeps them: one login attempt, accept
//! or pre-auth disconnect, attributed to its remote party. Read from an
//! auth log or the journal by the login intake, folded onto the map, kept
//! in the event store.
//!
//! [`LoginDigest`] is what one refresh publishes of the logins followed:
//! each party's recent events (an `Arc`, shared with the digest before
//! when unchanged) and its [`LoginTally`], computed once here for every
//! front end.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;

use serde::Serialize;

/// An hour and a day, in ms: the tally's two spans.
pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;
/// Most distinct users a tally lists.
pub const USERS_SHOWN: usize = 20;

/// What one authentication line says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginKind {
    /// `Failed password|publickey|… for [invalid user] U from A port P`.
    Failed,
    /// `Invalid user U from A port P`.
    InvalidUser,
    /// `Accepted password|publickey for U from A port P`.
    Accepted,
    /// `Connection closed by …` / `Disconnected from …` before
    /// authentication (`[preauth]`).
    PreauthDisconnect,
    /// `maximum authentication attempts exceeded` / `Too many
    /// authentication failures`.
    TooManyFailures,
    /// PAM `authentication failure; … rhost=A user=U`.
    PamFailure,
}

impl LoginKind {
    pub const ALL: [Self; 6] = [Self::Failed, Self::InvalidUser, Self::Accepted, Self::PreauthDisconnect, Self::TooManyFailures, Self::PamFailure];

    pub fn name(self) -> &'static str {
        match self {
            Self::Failed => "failed",
            Self::InvalidUser => "invalid_user",
            Self::Accepted => "accepted",
            Self::PreauthDisconnect => "preauth_disconnect",
            Self::TooManyFailures => "too_many_failures",
            Self::PamFailure => "pam_failure",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// One authentication event. Strings are bounded and escaped when parsed
/// (user names are chosen by whoever connects).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoginEvent {
    pub at_ms: i64,
    pub kind: LoginKind,
    pub remote: IpAddr,
    pub port: Option<u16>,
    /// The user named (escaped, at most 64 characters), if any.
    pub user: Option<String>,
    /// The user does not exist on this host (`invalid user`).
    pub invalid_user: bool,
    /// `password`, `publickey`, `keyboard-interactive/pam`, … (escaped).
    pub method: Option<String>,
    /// The program that logged it (`sshd`, a PAM service; escaped).
    pub service: String,
    pub pid: Option<u32>,
}

/// One party's recent events, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartyLogins {
    pub events: VecDeque<LoginEvent>,
}

impl PartyLogins {
    /// When the party was last heard from (0: never).
    pub fn last_ms(&self) -> i64 {
        self.events.back().map_or(0, |e| e.at_ms)
    }
}

/// The burst before an accepted login: the failures of its last ten minutes.
pub const BURST_MS: i64 = 600_000;

/// An accepted login that came after failures from the same address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AcceptedAfterFailures {
    pub at_ms: i64,
    pub user: Option<String>,
    pub method: Option<String>,
    /// Failures from the address in the hour before it.
    pub failures_before: u32,
    /// Of those, in the [`BURST_MS`] before it (a burst).
    pub failures_burst: u32,
}

/// What one party did: counts by kind in the last hour and day, users
/// tried, and accepted logins that followed failures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LoginTally {
    pub last_hour: BTreeMap<LoginKind, u32>,
    pub last_day: BTreeMap<LoginKind, u32>,
    /// Failed attempts (see [`failure_times`]) in the last hour and day.
    pub failures_hour: u32,
    pub failures_day: u32,
    /// Distinct users named in the last day (at most [`USERS_SHOWN`]),
    /// and how many there were in all.
    pub users: Vec<String>,
    pub users_total: usize,
    pub accepted_after_failures: Vec<AcceptedAfterFailures>,
    pub first_ms: i64,
    pub last_ms: i64,
}

/// The times of a party's failed attempts: every `Failed` line, every
/// non-sshd PAM failure (sshd's own PAM line repeats its `Failed` line),
/// and an `Invalid user` connection that never got as far as a password
/// (same pid and port, no `Failed` line).
pub fn failure_times(events: &VecDeque<LoginEvent>) -> Vec<i64> {
    let failed_conns: BTreeSet<(Option<u32>, Option<u16>)> = events.iter().filter(|e| e.kind == LoginKind::Failed).map(|e| (e.pid, e.port)).collect();
    events
        .iter()
        .filter(|e| match e.kind {
            LoginKind::Failed => true,
            LoginKind::PamFailure => e.service != "sshd",
            LoginKind::InvalidUser => !failed_conns.contains(&(e.pid, e.port)),
            _ => false,
        })
        .map(|e| e.at_ms)
        .collect()
}

impl LoginTally {
    /// The tally of one party's events at `now_ms`.
    pub fn of(events: &VecDeque<LoginEvent>, now_ms: i64) -> Self {
        let mut t = Self { first_ms: events.front().map_or(0, |e| e.at_ms), last_ms: events.back().map_or(0, |e| e.at_ms), ..Self::default() };
        let mut users = BTreeSet::new();
        for e in events.iter().filter(|e| e.at_ms >= now_ms - DAY_MS) {
            *t.last_day.entry(e.kind).or_insert(0) += 1;
            if e.at_ms >= now_ms - HOUR_MS {
                *t.last_hour.entry(e.kind).or_insert(0) += 1;
            }
            if let Some(u) = &e.user {
                users.insert(u.clone());
            }
        }
        let failures = failure_times(events);
        t.failures_day = failures.iter().filter(|at| **at >= now_ms - DAY_MS).count() as u32;
        t.failures_hour = failures.iter().filter(|at| **at >= now_ms - HOUR_MS).count() as u32;
        t.users_total = users.len();
        t.users = users.into_iter().take(USERS_SHOWN).collect();
        // Failures are sorted by time: a count in a span is two searches.
        let within = |from: i64, to: i64| failures.partition_point(|at| *at <= to).saturating_sub(failures.partition_point(|at| *at < from)) as u32;
        for e in events.iter().filter(|e| e.kind == LoginKind::Accepted && e.at_ms >= now_ms - DAY_MS) {
            let before = within(e.at_ms - HOUR_MS, e.at_ms);
            if before > 0 {
                let burst = within(e.at_ms - BURST_MS, e.at_ms);
                t.accepted_after_failures.push(AcceptedAfterFailures {
                    at_ms: e.at_ms,
                    user: e.user.clone(),
                    method: e.method.clone(),
                    failures_before: before,
                    failures_burst: burst,
                });
            }
        }
        t
    }

    /// Events of `kind` in the last hour.
    pub fn hour(&self, kind: LoginKind) -> u32 {
        self.last_hour.get(&kind).copied().unwrap_or(0)
    }

    /// Events of `kind` in the last day.
    pub fn day(&self, kind: LoginKind) -> u32 {
        self.last_day.get(&kind).copied().unwrap_or(0)
    }
}

/// The logins followed, as one refresh saw them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginDigest {
    /// The generation of the snapshot this digest was published with.
    pub generation: u64,
    /// What was followed: the auth log's path or `journal`.
    pub source: String,
    pub parties: BTreeMap<IpAddr, Arc<PartyLogins>>,
    /// Each party's tally at the snapshot's time (parties heard from in
    /// the last day).
    pub tallies: BTreeMap<IpAddr, LoginTally>,
    /// Lines read, login events kept, lines that looked like logins but
    /// did not parse.
    pub lines: u64,
    pub events: u64,
    pub malformed: u64,
}

impl LoginDigest {
    /// Events from `ip` since `since_ms`, oldest first.
    pub fn about(&self, ip: IpAddr, since_ms: i64) -> impl Iterator<Item = &LoginEvent> {
        self.parties.get(&ip).into_iter().flat_map(|p| p.events.iter()).filter(move |e| e.at_ms >= since_ms)
    }

    /// Fill the tallies for `now_ms` (once per snapshot).
    pub fn tally(&mut self, now_ms: i64) {
        self.tallies = self.parties.iter().filter(|(_, p)| p.last_ms() >= now_ms - DAY_MS).map(|(ip, p)| (*ip, LoginTally::of(&p.events, now_ms))).collect();
    }

    /// Addresses that named `user` since `since_ms`.
    pub fn addresses_of_user(&self, user: &str, since_ms: i64) -> BTreeSet<IpAddr> {
        self.parties
            .iter()
            .filter(|(_, p)| p.events.iter().any(|e| e.at_ms >= since_ms && e.user.as_deref() == Some(user) && e.kind != LoginKind::Accepted))
            .map(|(ip, _)| *ip)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(at_ms: i64, kind: LoginKind, user: &str, port: u16) -> LoginEvent {
        LoginEvent {
            at_ms,
            kind,
            remote: "203.0.113.7".parse().expect("ip"),
            port: Some(port),
            user: Some(user.into()),
            invalid_user: false,
            method: Some("password".into()),
            service: "sshd".into(),
            pid: Some(u32::from(port)),
        }
    }

    #[test]
    fn a_tally_counts_kinds_failures_users_and_accepts_after_failures() {
        let now = 10 * DAY_MS;
        let mut q = VecDeque::new();
        // Two days ago: out of the day.
        q.push_back(ev(now - 2 * DAY_MS, LoginKind::Failed, "old", 1));
        // Invalid user then its Failed line on the same connection: one failure.
        q.push_back(ev(now - 5_000, LoginKind::InvalidUser, "admin", 2));
        q.push_back(ev(now - 4_900, LoginKind::Failed, "admin", 2));
        // Invalid user with no password tried: a failure of its own.
        q.push_back(ev(now - 4_000, LoginKind::InvalidUser, "oracle", 3));
        // sshd's PAM line repeats a Failed line: not counted again.
        q.push_back(LoginEvent { kind: LoginKind::PamFailure, ..ev(now - 3_000, LoginKind::Failed, "root", 4) });
        q.push_back(ev(now - 2_990, LoginKind::Failed, "root", 4));
        q.push_back(ev(now - 1_000, LoginKind::Accepted, "root", 5));
        let t = LoginTally::of(&q, now);
        assert_eq!(t.failures_hour, 3, "{t:?}");
        assert_eq!(t.failures_day, 3);
        assert_eq!(t.hour(LoginKind::Failed), 2);
        assert_eq!(t.day(LoginKind::InvalidUser), 2);
        assert_eq!(t.users, ["admin", "oracle", "root"]);
        assert_eq!(t.accepted_after_failures.len(), 1);
        assert_eq!(t.accepted_after_failures[0].failures_before, 3);
        assert_eq!(t.accepted_after_failures[0].user.as_deref(), Some("root"));
        let mut quiet = VecDeque::new();
        quiet.push_back(ev(now - 1_000, LoginKind::Accepted, "alice", 9));
        assert!(LoginTally::of(&quiet, now).accepted_after_failures.is_empty(), "an accept alone follows nothing");
    }
}
