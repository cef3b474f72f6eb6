//! `necromap rules check`: what a pack author should know. Load errors
//! (unknown keys, bad values, duplicate ids, unknown styles) stop before
//! this; here: explanation coverage, tags without a definition, and rules
//! that can never match.

use std::fmt::Write;

use super::load::RuleSet;
use super::schema::{Match, MatchDirection};
use crate::model::{Protocol, SocketState};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub rules: usize,
    pub with_explanations: usize,
    pub missing_explanations: Vec<String>,
    pub undefined_tags: Vec<(String, String)>,
    pub unreachable: Vec<(String, String)>,
}

impl Report {
    pub fn coverage_percent(&self) -> f64 {
        if self.rules == 0 { 100.0 } else { self.with_explanations as f64 * 100.0 / self.rules as f64 }
    }

    /// Errors make `rules check` fail: rules that can never match.
    pub fn has_errors(&self) -> bool {
        !self.unreachable.is_empty()
    }
}

/// Why a match can never hold, if it cannot.
pub fn unreachable(m: &Match) -> Option<String> {
    let states: Vec<SocketState> = m.state.into_iter().chain(m.state_in.iter().flatten().copied()).collect();
    if let (Some(p), false) = (m.protocol, states.is_empty())
        && states.iter().all(|s| s.protocol() != p)
    {
        return Some(format!("protocol {p} but only {} states", if p == Protocol::Tcp { "UDP" } else { "TCP" }));
    }
    if let (Some(s), Some(list)) = (m.state, &m.state_in)
        && !list.contains(&s)
    {
        return Some(format!("state {s} is not in state_in"));
    }
    for (name, lo, hi) in [("local_port", m.local_port_gte, m.local_port_lte), ("remote_port", m.remote_port_gte, m.remote_port_lte)] {
        if let (Some(lo), Some(hi)) = (lo, hi)
            && lo > hi
        {
            return Some(format!("{name}_gte {lo} > {name}_lte {hi}"));
        }
    }
    if let (Some(lo), Some(hi)) = (m.duration_gte_sec, m.duration_lte_sec)
        && lo > hi
    {
        return Some(format!("duration_gte_sec {lo} > duration_lte_sec {hi}"));
    }
    if m.beacon_score_gte.is_some_and(|s| s > 1.0) {
        return Some("beacon_score_gte above 1: scores are between 0 and 1".into());
    }
    if m.direction == Some(MatchDirection::Listen)
        && (m.remote_port_gte.is_some() || m.remote_port_in.is_some() || m.remote_ip_in.is_some() || m.exclude_private_ips == Some(true))
    {
        return Some("a listener has no remote address, but the match asks about one".into());
    }
    if m.direction == Some(MatchDirection::Outbound) && states.iter().all(|s| s.is_listening()) && !states.is_empty() {
        return Some("outbound, but only listening states".into());
    }
    if m.exclude_private_ips == Some(true) && m.zone_in.as_ref().is_some_and(|z| !z.contains(&crate::model::Zone::Public)) {
        return Some("exclude_private_ips with zone_in that has no public zone".into());
    }
    None
}

pub fn check(set: &RuleSet) -> Report {
    let mut r = Report { rules: set.rules.len(), ..Report::default() };
    for lr in &set.rules {
        let rule = &lr.rule;
        if rule.explanation.en.trim().is_empty() || rule.explanation.ko.trim().is_empty() {
            r.missing_explanations.push(rule.id.clone());
        } else {
            r.with_explanations += 1;
        }
        for tag in rule.tags.iter().chain(&rule.effects.add_tag) {
            if !set.tags.contains_key(tag) {
                r.undefined_tags.push((rule.id.clone(), tag.clone()));
            }
        }
        let subs = rule.matcher.any_of.iter().flatten();
        let why = unreachable(&rule.matcher).or_else(|| {
            let all: Vec<Option<String>> = subs.map(unreachable).collect();
            (!all.is_empty() && all.iter().all(Option::is_some)).then(|| "every any_of alternative is unreachable".to_string())
        });
        if let Some(why) = why {
            r.unreachable.push((rule.id.clone(), why));
        }
    }
    r
}

/// The report as text.
pub fn render(set: &RuleSet, r: &Report) -> String {
    let mut out = format!("rules: {} in {} packs ({})\n", r.rules, set.files.len(), set.files.join(", "));
    let _ = writeln!(out, "explanations: {:.0}% ({}/{} with English and Korean)", r.coverage_percent(), r.with_explanations, r.rules);
    if !r.missing_explanations.is_empty() {
        let _ = writeln!(out, "  missing: {}", r.missing_explanations.join(", "));
    }
    if r.undefined_tags.is_empty() {
        out.push_str("tags: every tag has a definition\n");
    } else {
        for (id, tag) in &r.undefined_tags {
            let _ = writeln!(out, "warning: rule {id}: tag `{tag}` has no tag_definitions entry (no investigation steps)");
        }
    }
    if r.unreachable.is_empty() {
        out.push_str("unreachable rules: none\n");
    }
    for (id, why) in &r.unreachable {
        let _ = writeln!(out, "error: rule {id} can never match: {why}");
    }
    out.push_str(if r.has_errors() { "FAILED\n" } else { "ok\n" });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_packs_are_complete_and_reachable() {
        let set = RuleSet::embedded();
        let r = check(&set);
        assert_eq!(r.with_explanations, r.rules, "{:?}", r.missing_explanations);
        assert!(r.undefined_tags.is_empty(), "{:?}", r.undefined_tags);
        assert!(r.unreachable.is_empty(), "{:?}", r.unreachable);
    }

    #[test]
    fn contradictions_are_unreachable() {
        let m = |y: &str| serde_yaml::from_str::<Match>(y).expect("match");
        assert!(unreachable(&m("{ protocol: udp, state: ESTABLISHED }")).is_some());
        assert!(unreachable(&m("{ remote_port_gte: 2000, remote_port_lte: 1000 }")).is_some());
        assert!(unreachable(&m("{ direction: listen, remote_port_in: [22] }")).is_some());
        assert!(unreachable(&m("{ exclude_private_ips: true, zone_in: [loopback] }")).is_some());
        assert!(unreachable(&m("{ protocol: tcp, state_in: [ESTABLISHED, UDP] }")).is_none());
    }
}
