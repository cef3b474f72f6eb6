//! Checks of an MCP server's process against the live snapshot: a listener
//! beyond loopback, and established connections to public addresses the
//! server never declared ([`super::detect::outbound`]). Each is a finding
//! on the map's finding stream, with the rule's en/ko explanation.

use crate::model::{Direction, Finding, Pid, Snapshot, Subject, TraceStep};
use crate::terms::{SocketState, Zone};

use super::AgentRule;
use super::detect::outbound::{Declared, Remote, undeclared};

fn step(condition: &str, value: &str) -> TraceStep {
    TraceStep { condition: condition.into(), value: crate::text::bounded(value, 300) }
}

fn finding(rule: AgentRule, id: String, subject: Subject, trace: Vec<TraceStep>, steps: Vec<String>, now: i64) -> Finding {
    Finding {
        id,
        rule_id: rule.id().into(),
        rule_name: rule.name().into(),
        severity: rule.severity(),
        tags: vec!["mcp".into(), "exposure".into()],
        subject,
        netns: None,
        highlight: None,
        icon: None,
        trace,
        explanation: rule.explanation().into(),
        explanation_ko: rule.explanation_ko().into(),
        steps,
        first_seen_ms: now,
        last_seen_ms: now,
    }
}

/// The server process listens beyond loopback (a wildcard address included).
pub fn listener_finding(snapshot: &Snapshot, pid: Pid, now: i64) -> Option<Finding> {
    let s = snapshot.sockets.iter().find(|s| s.direction == Direction::Listen && s.raw.owners.contains(&pid) && !s.raw.local.ip().is_loopback())?;
    let rule = AgentRule::NonLoopbackListener;
    Some(finding(
        rule,
        format!("{}@{}", rule.id(), pid.0),
        Subject::Socket { socket: s.raw.key, pid: Some(pid) },
        vec![step("listens on", &s.raw.local.to_string())],
        vec![format!("ss -tlnp | grep 'pid={},'", pid.0)],
        now,
    ))
}

/// The public endpoints `pid` has established connections to, with their names.
pub fn public_remotes(snapshot: &Snapshot, pid: Pid) -> Vec<Remote> {
    snapshot
        .sockets
        .iter()
        .filter(|s| s.direction == Direction::Outbound && s.state() == SocketState::Established && s.zone == Zone::Public && s.raw.owners.contains(&pid))
        .map(|s| {
            let names = snapshot.endpoints.get(&s.endpoint()).map(|e| if e.names.is_empty() { e.hostname.iter().cloned().collect() } else { e.names.clone() });
            Remote { addr: s.raw.remote, names: names.unwrap_or_default() }
        })
        .collect()
}

/// The server process is connected to public addresses nothing it declares points at.
pub fn outbound_finding(snapshot: &Snapshot, pid: Pid, declared: &Declared, now: i64) -> Option<Finding> {
    let remotes = public_remotes(snapshot, pid);
    let found = undeclared(&remotes, declared)?;
    let rule = found.rule;
    Some(finding(
        rule,
        format!("{}@{}", rule.id(), pid.0),
        Subject::Process { pid },
        vec![step("endpoints", &found.evidence), step("declared", "none of them in its command line, env names, URL or tool descriptions")],
        vec![format!("ss -tnp | grep 'pid={},'", pid.0), "necromap mcp-audit".into()],
        now,
    ))
}
