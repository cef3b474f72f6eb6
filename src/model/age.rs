//! How long a socket has been open, as far as necromap can tell, and how
//! sure that is. The kernel keeps no creation time for a socket (neither
//! `sock_diag` nor `tcp_info` carries one), so an age comes from necromap's
//! own sightings, and for listeners from their owners' start times:
//!
//! - first seen in a refresh after necromap's first: `exact`, now − first
//!   seen (exact to within one refresh interval);
//! - already there at the first refresh, on a later refresh: `at_least`,
//!   now − first seen (a lower bound);
//! - already there at the first refresh, on that refresh: unknown, except
//!   for a listener (TCP `LISTEN`, UDP `UNCONN`) with a visible owner: a
//!   listener is created by a process that holds it, so it is at most as
//!   old as the earliest-started owner: `at_most`, now − that start. (A
//!   listener handed down by an exited parent, e.g. systemd socket
//!   activation, can be older; the bound is only used while nothing else is
//!   known.)
//!
//! When a lower and an upper bound are both known, the lower bound is kept:
//! it is what necromap saw itself.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How an age relates to the socket's real age.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgeBound {
    /// The real age, to within one refresh interval.
    Exact,
    /// The socket is at least this old.
    AtLeast,
    /// The socket is at most this old.
    AtMost,
}

impl AgeBound {
    pub const ALL: [Self; 3] = [Self::Exact, Self::AtLeast, Self::AtMost];

    /// The name used in every output (`exact`, `at_least`, `at_most`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::AtLeast => "at_least",
            Self::AtMost => "at_most",
        }
    }

    /// `≥`, `≤`, or nothing for an exact age.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Exact => "",
            Self::AtLeast => "≥",
            Self::AtMost => "≤",
        }
    }
}

impl fmt::Display for AgeBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for AgeBound {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|b| b.name() == s).ok_or_else(|| format!("age bound `{s}`: expected exact, at_least or at_most"))
    }
}

/// A socket's age in milliseconds and how sure it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocketAge {
    pub ms: i64,
    pub bound: AgeBound,
}

impl SocketAge {
    /// The age by the policy in the module docs. `seen_appearing`: first
    /// seen in a refresh after necromap's first; `owners_start_ms`: for a
    /// listener, the earliest start time among its visible owners.
    pub fn of(now_ms: i64, first_seen_ms: i64, seen_appearing: bool, owners_start_ms: Option<i64>) -> Option<Self> {
        let since_seen = (now_ms - first_seen_ms).max(0);
        if seen_appearing {
            return Some(Self { ms: since_seen, bound: AgeBound::Exact });
        }
        if now_ms > first_seen_ms {
            return Some(Self { ms: since_seen, bound: AgeBound::AtLeast });
        }
        owners_start_ms.filter(|&t| t > 0).map(|t| Self { ms: (now_ms - t).max(0), bound: AgeBound::AtMost })
    }

    /// Whole seconds.
    pub fn secs(self) -> i64 {
        self.ms / 1000
    }

    /// Certainly open for `secs` or longer: exact or a lower bound, and at least `secs`.
    pub fn open_at_least(self, secs: u64) -> bool {
        matches!(self.bound, AgeBound::Exact | AgeBound::AtLeast) && self.secs() >= secs as i64
    }

    /// Certainly open for `secs` or less: exact or an upper bound, and at most `secs`.
    pub fn open_at_most(self, secs: u64) -> bool {
        matches!(self.bound, AgeBound::Exact | AgeBound::AtMost) && self.secs() <= secs as i64
    }

    /// How a rule trace writes an age: `open 12 s`, `open ≥ 700 s`,
    /// `open ≤ 30 s`, `age unknown`.
    pub fn trace(age: Option<Self>) -> String {
        age.map_or_else(|| "age unknown".into(), |a| format!("open {a}"))
    }
}

/// `≥ 700 s`, `≤ 30 s`, `12 s`.
impl fmt::Display for SocketAge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.bound {
            AgeBound::Exact => write!(f, "{} s", self.secs()),
            b => write!(f, "{} {} s", b.symbol(), self.secs()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_prefers_what_was_seen() {
        // Appeared after the first refresh: exact.
        assert_eq!(SocketAge::of(10_000, 4_000, true, Some(1)), Some(SocketAge { ms: 6_000, bound: AgeBound::Exact }));
        // There at the first refresh, later: a lower bound, even for a listener.
        assert_eq!(SocketAge::of(10_000, 4_000, false, Some(1_000)), Some(SocketAge { ms: 6_000, bound: AgeBound::AtLeast }));
        // The first refresh: unknown, unless a listener's owner bounds it.
        assert_eq!(SocketAge::of(4_000, 4_000, false, None), None);
        assert_eq!(SocketAge::of(4_000, 4_000, false, Some(1_000)), Some(SocketAge { ms: 3_000, bound: AgeBound::AtMost }));
        // An unknown start (0) bounds nothing.
        assert_eq!(SocketAge::of(4_000, 4_000, false, Some(0)), None);
    }

    #[test]
    fn bounds_decide_what_a_duration_condition_may_claim() {
        let exact = SocketAge { ms: 12_500, bound: AgeBound::Exact };
        let least = SocketAge { ms: 700_000, bound: AgeBound::AtLeast };
        let most = SocketAge { ms: 30_000, bound: AgeBound::AtMost };
        assert!(exact.open_at_least(12) && exact.open_at_most(12) && !exact.open_at_least(13));
        assert!(least.open_at_least(600) && !least.open_at_most(10_000), "a lower bound says nothing about a maximum");
        assert!(most.open_at_most(30) && !most.open_at_least(1), "an upper bound says nothing about a minimum");
        assert_eq!((exact.to_string(), least.to_string(), most.to_string()), ("12 s".into(), "≥ 700 s".into(), "≤ 30 s".into()));
        assert_eq!((SocketAge::trace(Some(least)), SocketAge::trace(None)), ("open ≥ 700 s".into(), "age unknown".into()));
        assert_eq!("at_most".parse::<AgeBound>(), Ok(AgeBound::AtMost));
        assert_eq!(serde_json::to_string(&AgeBound::AtLeast).expect("json"), "\"at_least\"");
    }
}
