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
    let endpoint = item.endpoint().and_then(|k| s.endpoints.get(&k));
    let addr = item.remote.map_or_else(|| "?".to_string(), |r| r.ip().to_string());
    let names: &[String] = endpoint.map_or(&[], |e| e.names.as_slice());
    if let Some(tag) = &m.remote_name_tags_contains {
        let hit = names.iter().find(|n| ctx.ioc.domain_tags(n).contains(tag));
        cond!(
            trace,
            hit.is_some(),
            format!("remote_name_tags_contains: {tag}"),
            format!("{} ({addr}) is on a domain list tagged {tag}", hit.map_or_else(String::new, |n| shown(n)))
        );
    }
    if let Some(want) = m.remote_resolved {
        let answered = endpoint.is_some_and(|e| e.name_source == Some(NameSource::DnsAnswer));
        let (holds, value) = if want {
            (answered, format!("{addr} was named by a DNS answer: {}", names.first().map_or_else(String::new, |n| shown(n))))
        } else {
            let since = s.names.passive_since_ms;
            let first_seen = item.socket.map(|x| x.first_seen_ms);
            match (since, first_seen) {
                (Some(since), Some(seen)) if seen >= since + RESOLVE_SLACK_MS => (
                    !answered,
                    format!(
                        "no DNS answer on this host named {addr} (passive DNS on since {}, connection first seen {})",
                        crate::duration::utc(since),
                        crate::duration::utc(seen)
                    ),
                ),
                _ => (false, "passive DNS was not running when the connection appeared".to_string()),
            }
        };
        cond!(trace, holds, format!("remote_resolved: {want}"), value);
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
