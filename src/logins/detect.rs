//! Login findings of one refresh, judged on one published digest: each
//! party heard from in the last hour is an endpoint on the map (even with
//! no socket), and the login rules (`rules.rs`, from the YAML file) add
//! brute force, spraying, success after failures, logins from IOC-listed
//! or new addresses, and live SSH sessions whose peer had failures.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::rules::{LoginRuleId as Id, LoginRules};
use crate::model::{
    Direction, EndpointKey, Finding, HOUR_MS, LoginDigest, LoginEvent, LoginKind, LoginTally, Snapshot, SocketState, Subject, TraceStep, failure_times,
};
use crate::rules::ioc::IocSet;

/// What the rules look at besides the digest.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub snapshot: &'a Snapshot,
    pub ioc: &'a IocSet,
    /// Remote addresses of the saved baseline, when one is loaded.
    pub baseline: Option<&'a crate::model::KeySet<IpAddr>>,
    /// The login rules and their thresholds.
    pub rules: &'a LoginRules,
}

/// A finding of one rule about `ip` (its next steps filled in for it and `pid`).
#[allow(clippy::too_many_arguments)]
fn finding(
    cx: &Context<'_>,
    id: Id,
    subject: Subject,
    key: &str,
    ip: IpAddr,
    pid: Option<crate::model::Pid>,
    trace: Vec<TraceStep>,
    span: (i64, i64),
) -> Finding {
    let r = cx.rules.rule(id);
    Finding {
        id: format!("{}@{key}", id.name()),
        rule_id: id.name().into(),
        rule_name: r.name.clone(),
        severity: r.severity,
        tags: r.tags.clone(),
        subject,
        netns: None,
        highlight: None,
        icon: Some(crate::spec::IconHint::Ghost),
        trace,
        explanation: r.en.clone(),
        explanation_ko: r.ko.clone(),
        steps: r.steps_for(ip, pid),
        first_seen_ms: span.0,
        last_seen_ms: span.1,
    }
}

fn step(condition: impl Into<String>, value: impl Into<String>) -> TraceStep {
    TraceStep { condition: condition.into(), value: value.into() }
}

fn endpoint(ip: IpAddr) -> Subject {
    Subject::Endpoint { endpoint: EndpointKey::host(ip) }
}

fn counts(t: &LoginTally) -> String {
    let hour: Vec<String> = t.last_hour.iter().map(|(k, n)| format!("{} {n}", k.name())).collect();
    let day: Vec<String> = t.last_day.iter().map(|(k, n)| format!("{} {n}", k.name())).collect();
    format!("last hour: {}; last day: {}", if hour.is_empty() { "none".into() } else { hour.join(", ") }, day.join(", "))
}

fn users(t: &LoginTally) -> String {
    let more = t.users_total.saturating_sub(t.users.len());
    let mut s = t.users.join(", ");
    if more > 0 {
        s.push_str(" and ");
        s.push_str(&more.to_string());
        s.push_str(" more");
    }
    s
}

fn describe(e: &LoginEvent) -> String {
    format!(
        "{} {} {}{} from {}{} ({}[{}])",
        crate::duration::utc(e.at_ms),
        e.kind.name(),
        if e.invalid_user { "invalid user " } else { "" },
        e.user.as_deref().unwrap_or("-"),
        e.remote,
        e.port.map_or_else(String::new, |p| format!(" port {p}")),
        e.service,
        e.pid.map_or_else(|| "-".into(), |p| p.to_string())
    )
}

/// A finding about the party at `ip` (an endpoint, even with no socket).
fn party(cx: &Context<'_>, id: Id, ip: IpAddr, trace: Vec<TraceStep>, span: (i64, i64)) -> Finding {
    finding(cx, id, endpoint(ip), &ip.to_string(), ip, None, trace, span)
}

/// Seconds of a window, for traces.
fn secs(ms: i64) -> i64 {
    ms / 1000
}

/// Every login finding of this refresh.
pub fn findings(d: &LoginDigest, cx: &Context<'_>) -> Vec<Finding> {
    let now = cx.snapshot.taken_at_ms;
    let th = cx.rules.thresholds;
    let mut out = Vec::new();
    for (ip, t) in &d.tallies {
        let ip = *ip;
        let events: Vec<&LoginEvent> = d.about(ip, now - crate::model::DAY_MS).collect();
        if t.last_ms >= now - th.activity_window_ms {
            let mut trace = vec![step("login events from this address", counts(t))];
            if !t.users.is_empty() {
                trace.push(step("users named in the last day", users(t)));
            }
            trace.extend(events.iter().rev().take(8).map(|e| step("login event", describe(e))));
            let mut f = party(cx, Id::Activity, ip, trace, (t.first_ms, t.last_ms));
            if t.failures_hour == 0 {
                // Accepted logins alone are ordinary: shown, not raised.
                f.severity = crate::model::Severity::Info;
                f.tags.retain(|x| x != "scan");
            }
            out.push(f);
        }
        let fails = d.parties.get(&ip).map(|p| failure_times(&p.events)).unwrap_or_default();
        // Brute force: the most failures in any window ending at a failure
        // of the last day (the times are sorted: one pass).
        let mut best: Option<(usize, i64)> = None;
        let mut lo = 0;
        for (hi, end) in fails.iter().enumerate() {
            while fails.get(lo).is_some_and(|x| *x <= end - th.brute_window_ms) {
                lo += 1;
            }
            let n = (hi + 1).saturating_sub(lo);
            if *end >= now - crate::model::DAY_MS && best.is_none_or(|(b, _)| n >= b) {
                best = Some((n, *end));
            }
        }
        if let Some((n, end)) = best.filter(|(n, _)| *n as u32 >= th.brute_failures) {
            let trace = vec![
                step(
                    format!("failures from one address ≥ {} in {} s", th.brute_failures, secs(th.brute_window_ms)),
                    format!("{n} failures in the {} s before {}", secs(th.brute_window_ms), crate::duration::utc(end)),
                ),
                step("users named in the last day", users(t)),
            ];
            out.push(party(cx, Id::BruteForce, ip, trace, (t.first_ms, end)));
        }
        // Spraying from one address: many users with failures.
        let sprayed: BTreeSet<&str> = events
            .iter()
            .filter(|e| e.at_ms >= now - th.spray_window_ms && e.kind != LoginKind::Accepted && e.kind != LoginKind::PreauthDisconnect)
            .filter_map(|e| e.user.as_deref())
            .collect();
        if sprayed.len() >= th.spray_users {
            let trace = vec![step(
                format!("distinct users failing from one address ≥ {} in {} s", th.spray_users, secs(th.spray_window_ms)),
                format!("{} users: {}", sprayed.len(), sprayed.iter().take(12).copied().collect::<Vec<_>>().join(", ")),
            )];
            out.push(party(cx, Id::Spray, ip, trace, (t.first_ms, t.last_ms)));
        }
        // Success after a burst of failures (the latest such accept).
        let within = |from: i64, to: i64| fails.partition_point(|at| *at <= to).saturating_sub(fails.partition_point(|at| *at < from)) as u32;
        let burst = events
            .iter()
            .filter(|e| e.kind == LoginKind::Accepted)
            .map(|e| (*e, within(e.at_ms - th.burst_window_ms, e.at_ms)))
            .rfind(|(_, n)| *n >= th.burst_failures);
        if let Some((a, n)) = burst {
            let trace = vec![
                step(
                    format!("accepted login after ≥ {} failures from the same address in {} s", th.burst_failures, secs(th.burst_window_ms)),
                    format!(
                        "{} accepted {} for {} after {n} failures in {} s ({} in the hour)",
                        crate::duration::utc(a.at_ms),
                        a.method.as_deref().unwrap_or("-"),
                        a.user.as_deref().unwrap_or("-"),
                        secs(th.burst_window_ms),
                        within(a.at_ms - HOUR_MS, a.at_ms)
                    ),
                ),
                step("users named in the last day", users(t)),
            ];
            out.push(party(cx, Id::SuccessAfterFailures, ip, trace, (t.first_ms, a.at_ms)));
        }
        // Accepted logins from an IOC-listed address, or one new against the baseline.
        if let Some(acc) = events.iter().rev().find(|e| e.kind == LoginKind::Accepted) {
            let tags = cx.ioc.tags(ip);
            if !tags.is_empty() {
                let trace = vec![step("remote on an IOC list", tags.iter().cloned().collect::<Vec<_>>().join(", ")), step("accepted login", describe(acc))];
                out.push(party(cx, Id::FromIoc, ip, trace, (acc.at_ms, acc.at_ms)));
            }
            if let Some(known) = cx.baseline
                && !known.has(&ip)
            {
                let trace =
                    vec![step("remote_not_in_baseline", format!("{ip} is not among the baseline's remote endpoints")), step("accepted login", describe(acc))];
                out.push(party(cx, Id::NewAddress, ip, trace, (acc.at_ms, acc.at_ms)));
            }
        }
    }
    spray_across_addresses(d, cx, &mut out);
    live_sessions(d, cx, &mut out);
    out
}

/// One user failing from many addresses: each of them is part of it.
fn spray_across_addresses(d: &LoginDigest, cx: &Context<'_>, out: &mut Vec<Finding>) {
    let th = cx.rules.thresholds;
    let since = cx.snapshot.taken_at_ms - th.spray_window_ms;
    let mut by_user: BTreeMap<&str, BTreeSet<IpAddr>> = BTreeMap::new();
    for (ip, p) in &d.parties {
        for e in p.events.iter().filter(|e| e.at_ms >= since && matches!(e.kind, LoginKind::Failed | LoginKind::InvalidUser | LoginKind::PamFailure)) {
            if let Some(u) = e.user.as_deref() {
                by_user.entry(u).or_default().insert(*ip);
            }
        }
    }
    for (user, ips) in by_user.into_iter().filter(|(_, ips)| ips.len() >= th.spray_addresses) {
        for ip in &ips {
            // One finding per address (the one from its own users may exist already).
            let id = format!("{}@{ip}", Id::Spray.name());
            let shown: Vec<String> = ips.iter().take(12).map(ToString::to_string).collect();
            let s = step(
                format!("addresses failing for one user ≥ {} in {} s", th.spray_addresses, secs(th.spray_window_ms)),
                format!("user {user} from {} addresses: {}", ips.len(), shown.join(", ")),
            );
            if let Some(f) = out.iter_mut().find(|f| f.id == id) {
                f.trace.push(s);
            } else {
                let last = d.parties.get(ip).map_or(0, |p| p.last_ms());
                out.push(party(cx, Id::Spray, *ip, vec![s], (since.max(0), last)));
            }
        }
    }
}

/// Live inbound SSH connections (to a listener held by sshd, or on port
/// 22) whose peer failed to log in within the rule's window.
fn live_sessions(d: &LoginDigest, cx: &Context<'_>, out: &mut Vec<Finding>) {
    let s = cx.snapshot;
    let th = cx.rules.thresholds;
    for sock in s.sockets.iter().filter(|x| x.direction == Direction::Inbound && x.state() == SocketState::Established) {
        let ip = crate::model::normalize_ip(sock.raw.remote.ip());
        let (Some(t), Some(party)) = (d.tallies.get(&ip), d.parties.get(&ip)) else { continue };
        let failures = failure_times(&party.events).iter().filter(|at| **at >= s.taken_at_ms - th.session_window_ms).count() as u32;
        if failures < th.session_failures {
            continue;
        }
        let by_sshd = sock.listener().and_then(|l| s.listeners.get(&l)).and_then(|l| l.process_name.as_deref()).is_some_and(|n| n.starts_with("sshd"));
        if !by_sshd && sock.raw.local.port() != 22 {
            continue;
        }
        let trace = vec![
            step("inbound SSH connection open", format!("{} → {}", sock.raw.remote, sock.raw.local)),
            step(
                format!("peer failures in the last {} s ≥ {}", secs(th.session_window_ms), th.session_failures),
                format!("{failures} failures; {}", counts(t)),
            ),
        ];
        let key = sock.key();
        let subject = Subject::Socket { socket: key, pid: sock.owner() };
        let mut f = finding(cx, Id::SessionAfterFailures, subject, &key.to_string(), ip, sock.owner(), trace, (sock.first_seen_ms, s.taken_at_ms));
        f.netns = sock.raw.netns;
        out.push(f);
    }
}
