//! Bounds read once per rule before its items are grouped: when one
//! falls short of what the rule's aggregates ask, no group can pass and
//! the items are not grouped at all (see `engine`). Each bound is exact:
//! it refuses only what the engine's `aggregates_hold` would refuse for
//! every group.

use std::collections::BTreeSet;
use std::net::IpAddr;

use rustc_hash::FxHashMap;

use super::candidates::HISTORY_ITEM_WINDOW_MS;
use super::engine::Context;
use super::load::LoadedRule;
use super::schema::{MatchDirection, Scope};
use crate::model::normalize_ip;

/// Whether some group of a rule's `passed` items could pass its
/// aggregates, by bounds read once per rule instead of grouping the
/// items: a group has no more items than passed, no more sockets waiting
/// for an answer than this refresh (`waiting`), no more history than the
/// busiest endpoint or process, and no more ports of one host than that
/// host was reached on (see [`ports_may_reach`]). On most refreshes of
/// most hosts no process is scanning, and the fifty thousand outbound
/// sockets a scan rule's direction passes are then not grouped at all.
/// Exact: a `false` here is a `false` from `aggregates_hold` for every
/// group.
pub(super) fn aggregates_may_hold(rule: &LoadedRule, ctx: &Context<'_>, passed: usize, waiting: usize, now: i64) -> bool {
    let m = &rule.rule.matcher;
    let window_ms = window_of(rule);
    let short = |n: usize, min: u64| (n as u64) < min;
    if m.connection_count_gte.is_some_and(|min| short(passed, min)) {
        return false;
    }
    if m.failed_attempts_gte.is_some_and(|min| short(waiting.min(passed) + ctx.history.most_failed_within(now, window_ms), min)) {
        return false;
    }
    if let Some(min) = m.rate_per_minute_gte {
        let busiest = match rule.rule.scope {
            Scope::Process => ctx.history.busiest_process_starts_within(now, window_ms),
            _ => ctx.history.busiest_endpoint_starts_within(now, window_ms),
        };
        if (busiest as f64) * 60_000.0 / (window_ms as f64) < min {
            return false;
        }
    }
    // Only outbound sockets pass: each one's remote port is among the
    // ports its endpoint was reached on. (A beacon stands for a series
    // that may have left every window.)
    let outbound = m.direction == Some(MatchDirection::Outbound) && m.beacon_score_gte.is_none();
    if outbound && m.distinct_remote_ports_gte.is_some_and(|min| !ports_may_reach(ctx, now, window_ms, min)) {
        return false;
    }
    true
}

/// A rule's window for its aggregates (60 s unless it says).
pub(super) fn window_of(rule: &LoadedRule) -> i64 {
    rule.rule.matcher.window_sec.map_or(60_000, |w| w as i64 * 1000)
}

/// Whether some host could show `min` distinct ports to one group of an
/// outbound rule judged at `now` over `window_ms`. A group counts, per
/// remote address, the ports of its sockets and of the connections its
/// process started within the window (and the stand-in for a process
/// with recent starts but no socket, up to five minutes back). The first
/// are among the ports the address's endpoints were reached on (every
/// namespace's, for loopback), the others among the remotes of the
/// series with a start that recent: their union, per address, bounds
/// every group's count. On a host where nothing scans each address was
/// reached on a few ports, and fifty thousand outbound sockets need not
/// be grouped to learn that.
pub(super) fn ports_may_reach(ctx: &Context<'_>, now: i64, window_ms: i64, min: u64) -> bool {
    let since = now - window_ms.max(HISTORY_ITEM_WINDOW_MS);
    let mut ports: FxHashMap<IpAddr, BTreeSet<u16>> = FxHashMap::default();
    for (series, starts) in ctx.history.series() {
        if starts.back().is_some_and(|s| s.at_ms > since) {
            ports.entry(normalize_ip(series.remote.ip())).or_default().insert(series.remote.port());
        }
    }
    let reaches = |n: usize| n as u64 >= min;
    // An address outside loopback has one endpoint: judged alone, and
    // only merged with its series when the sum could reach `min`.
    // Loopback addresses (one endpoint per namespace) are summed first.
    for (key, node) in &ctx.snapshot.endpoints {
        let started = ports.get(&key.ip).map_or(0, BTreeSet::len);
        if !key.ip.is_loopback() && !reaches(node.ports.len() + started) {
            continue;
        }
        let union = ports.entry(key.ip).or_default();
        union.extend(node.ports.iter().copied());
        if reaches(union.len()) {
            return true;
        }
    }
    ports.values().any(|p| reaches(p.len()))
}

#[cfg(test)]
#[path = "bounds_tests.rs"]
mod tests;
