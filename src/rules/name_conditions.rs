//! The match keys about names: IOC domains, addresses nobody resolved,
//! generated-looking names, and what a process asks DNS for. Each holds or
//! not with the value that decided, like every other condition.

use crate::model::{NameSource, TraceStep, label_entropy, longest_label};
use crate::text::{bounded, escape_control};

use super::conditions::{Item, cond};
use super::engine::Context;
use super::schema::Match;

/// Shortest first label whose entropy counts (short labels cannot score high).
const ENTROPY_MIN_LABEL: usize = 12;
/// Slack between passive DNS starting and a socket's first sighting before
/// "nobody resolved it" is believed.
const RESOLVE_SLACK_MS: i64 = 2_000;

fn shown(name: &str) -> String {
    bounded(&escape_control(name), 120)
}

/// The connection keys about the remote endpoint's names.
pub fn remote_names(m: &Match, item: &Item<'_>, ctx: &Context<'_>, mut trace: Option<&mut Vec<TraceStep>>) -> bool {
    if m.remote_name_tags_contains.is_none() && m.remote_resolved.is_none() && m.remote_name_entropy_gte.is_none() && m.remote_name_label_gte.is_none() {
        return true;
    }
    let s = ctx.snapshot;
    // Refusals that need no lookup (most sockets, most refreshes): no name
    // anywhere, no domain list, passive DNS off.
    let any_names = !s.names.names.is_empty();
    let needs_names =
        m.remote_name_tags_contains.is_some() || m.remote_resolved == Some(true) || m.remote_name_entropy_gte.is_some() || m.remote_name_label_gte.is_some();
    if (needs_names && !any_names)
        || (m.remote_name_tags_contains.is_some() && !ctx.ioc.has_domains())
        || (m.remote_resolved == Some(false) && s.names.passive_since_ms.is_none())
    {
        return false;
    }
    let endpoint = item.endpoint().and_then(|k| s.endpoints.get(&k));
    let addr = || item.remote.map_or_else(|| "?".to_string(), |r| r.ip().to_string());
    let names: &[String] = endpoint.map_or(&[], |e| e.names.as_slice());
    if let Some(tag) = &m.remote_name_tags_contains {
        let hit = names.iter().find(|n| ctx.ioc.domain_tags(n).contains(tag));
        cond!(
            trace,
            hit.is_some(),
            format!("remote_name_tags_contains: {tag}"),
            format!("{} ({}) is on a domain list tagged {tag}", hit.map_or_else(String::new, |n| shown(n)), addr())
        );
    }
    if let Some(want) = m.remote_resolved {
        let answered = endpoint.is_some_and(|e| e.name_source == Some(NameSource::DnsAnswer));
        // "Nobody resolved it" is believed only for a connection first seen
        // after passive DNS was already running.
        let since = s.names.passive_since_ms.unwrap_or(i64::MAX);
        let first_seen = item.socket.map_or(i64::MIN, |x| x.first_seen_ms);
        let believed = first_seen >= since.saturating_add(RESOLVE_SLACK_MS);
        let holds = if want { answered } else { believed && !answered };
        cond!(
            trace,
            holds,
            format!("remote_resolved: {want}"),
            if want {
                format!("{} was named by a DNS answer: {}", addr(), names.first().map_or_else(String::new, |n| shown(n)))
            } else {
                format!(
                    "no DNS answer on this host named {} (passive DNS on since {}, connection first seen {})",
                    addr(),
                    crate::duration::utc(since),
                    crate::duration::utc(first_seen)
                )
            }
        );
    }
    if let Some(min) = m.remote_name_entropy_gte {
        let best = names
            .iter()
            .filter(|n| n.split('.').next().is_some_and(|l| l.len() >= ENTROPY_MIN_LABEL))
            .map(|n| (label_entropy(n), n))
            .max_by(|a, b| a.0.total_cmp(&b.0));
        cond!(
            trace,
            best.is_some_and(|(e, _)| e >= min),
            format!("remote_name_entropy_gte: {min}"),
            best.map_or_else(|| "no long first label".to_string(), |(e, n)| format!("{}: first label entropy {e:.2} bits per character", shown(n)))
        );
    }
    if let Some(min) = m.remote_name_label_gte {
        let best = names.iter().map(|n| (longest_label(n), n)).max_by_key(|x| x.0);
        cond!(
            trace,
            best.is_some_and(|(l, _)| l as u64 >= min),
            format!("remote_name_label_gte: {min}"),
            best.map_or_else(|| "no name".to_string(), |(l, n)| format!("{}: a label of {l} characters", shown(n)))
        );
    }
    true
}

/// The process key about what it asked DNS for.
pub fn process_dns(m: &Match, item: &Item<'_>, ctx: &Context<'_>, mut trace: Option<&mut Vec<TraceStep>>) -> bool {
    let Some(min) = m.dns_names_under_parent_gte else { return true };
    let activity = item.pid.and_then(|p| ctx.snapshot.dns_activity.get(&p));
    cond!(
        trace,
        activity.is_some_and(|a| u64::from(a.top_parent_names) >= min),
        format!("dns_names_under_parent_gte: {min}"),
        activity.map_or_else(
            || "no DNS queries attributed to the process".to_string(),
            |a| format!(
                "{} distinct names under {} in 5 min (e.g. {}; {} queries)",
                a.top_parent_names,
                a.top_parent.as_deref().map_or_else(String::new, shown),
                a.example.as_deref().map_or_else(String::new, shown),
                a.queries
            )
        )
    );
    true
}
