//! A short text summary of a snapshot for the terminal (plain `necromap`
//! without the explorer, and `--help` examples). Host strings are escaped
//! and bounded.

use std::fmt::Write;

use crate::model::{Direction, Finding, Pid, Severity, Snapshot, Socket, Subject};
use crate::text::{bounded, escape_control};

/// Longest evidence line, in characters.
const EVIDENCE_MAX: usize = 100;

/// A host string for one line: escaped, then bounded.
fn safe(s: &str, max: usize) -> String {
    bounded(&escape_control(s), max)
}

/// `pid 1234 bash`, or `pid 1234` when its facts are unknown.
fn process_text(s: &Snapshot, pid: Pid) -> String {
    match s.process(pid) {
        Some(p) => format!("pid {pid} {}", safe(&p.facts.name, 32)),
        None => format!("pid {pid}"),
    }
}

/// An endpoint's address, with its best name beside it when it has one:
/// `203.0.113.41 (api.github.com)`. Names are attacker-controlled: escaped
/// and bounded.
fn endpoint_text(e: &crate::model::RemoteEndpointNode) -> String {
    match e.hostname.as_deref().filter(|h| !h.is_empty()) {
        Some(name) => format!("{} ({})", e.ip, safe(name, 48)),
        None => e.ip.to_string(),
    }
}

/// What a finding is about, in one phrase.
fn subject_text(s: &Snapshot, f: &Finding) -> String {
    match f.subject {
        Subject::Process { pid } => process_text(s, pid),
        Subject::Host => "this host".into(),
        Subject::Socket { socket, pid } => {
            let owner = pid.map(|p| format!("{} ", process_text(s, p))).unwrap_or_default();
            match s.socket(socket) {
                Some(x) if x.raw.remote.ip().is_unspecified() => format!("{owner}{} {} {}", socket.protocol, x.raw.local, x.state()),
                Some(x) => format!("{owner}{} {} → {}", socket.protocol, x.raw.local, x.raw.remote),
                None => format!("{owner}socket {socket}"),
            }
        }
        Subject::Endpoint { endpoint } => {
            let talkers = s.endpoints.get(&endpoint).map_or(0, |e| e.process_count);
            // The one process talking to it, when there is exactly one.
            let talker = if talkers == 1 { s.sockets.iter().filter(|x| x.raw.remote.ip() == endpoint.ip).find_map(Socket::owner) } else { None };
            let name = s.endpoints.get(&endpoint).and_then(|e| e.hostname.as_deref()).map_or(String::new(), |n| format!(" {}", safe(n, 48)));
            match talker {
                Some(p) => format!("{endpoint}{name} ({})", process_text(s, p)),
                None => format!("{endpoint}{name}"),
            }
        }
    }
}

/// Conditions that set the scene (direction, state, protocol, zone,
/// exclusions, `any_of` headers, `not` and the private-address treatment)
/// rather than say what is odd.
fn is_context(condition: &str) -> bool {
    let key: String = condition.chars().take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_').collect();
    key.starts_with("exclude_")
        || matches!(
            key.as_str(),
            "direction" | "state" | "state_in" | "protocol" | "remote_ip_version" | "zone_in" | "local_zone_in" | "any_of" | "not" | "private_ip_treatment"
        )
}

/// The most telling evidence: the value of the last trace step that is not
/// context (rules narrow down last), else of the first step, else the
/// explanation.
fn evidence_text(f: &Finding) -> String {
    let step = f.trace.iter().rev().find(|t| !is_context(&t.condition)).or_else(|| f.trace.first());
    safe(step.map_or(f.explanation.as_str(), |t| t.value.as_str()), EVIDENCE_MAX)
}

/// The findings section: worst first (the snapshot keeps them sorted by
/// severity, then id), two lines each, at most `top` findings.
fn findings_section(o: &mut String, s: &Snapshot, top: usize) {
    if s.findings.is_empty() {
        let _ = writeln!(o, "\nfindings: no findings");
        return;
    }
    let mut counts: Vec<(Severity, usize)> = Vec::new();
    for f in &s.findings {
        match counts.last_mut() {
            Some((sev, n)) if *sev == f.severity => *n += 1,
            _ => counts.push((f.severity, 1)),
        }
    }
    let counts: Vec<String> = counts.iter().map(|(sev, n)| format!("{n} {sev}")).collect();
    let _ = writeln!(o, "\nfindings ({}: {}):", s.findings.len(), counts.join(" · "));
    for f in s.findings.iter().take(top) {
        let severity = f.severity.name().to_ascii_uppercase();
        let _ = writeln!(o, "  {severity:<8}  {} · {}", safe(&f.rule_name, 80), subject_text(s, f));
        let _ = writeln!(o, "  {:<8}  {}", "", evidence_text(f));
    }
    if s.findings.len() > top {
        let _ = writeln!(o, "  … and {} more (necromap snapshot --format csv --table findings)", s.findings.len() - top);
    }
}

/// Render the summary: totals, states, findings, busiest processes and
/// endpoints, listeners, health.
pub fn summary_text(s: &Snapshot, top: usize) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "necromap · {} · {} sockets · {} processes · {} endpoints · {} listeners · refresh {:.1} ms",
        escape_control(&s.source.host),
        s.sockets.len(),
        s.processes.len(),
        s.endpoints.len(),
        s.listeners.len(),
        s.timings.total_ms
    );
    let states: Vec<String> = s.state_counts().into_iter().map(|(k, v)| format!("{k} {v}")).collect();
    let _ = writeln!(o, "states: {}", states.join(" · "));
    findings_section(&mut o, s, top);

    let mut procs: Vec<_> = s.processes.values().collect();
    procs.sort_by(|a, b| b.socket_count.cmp(&a.socket_count).then(a.facts.pid.cmp(&b.facts.pid)));
    let _ = writeln!(o, "\nprocesses by sockets:");
    for p in procs.iter().take(top) {
        let _ = writeln!(
            o,
            "  {:>7}  {:<16} {:>6} sockets  {:>3} listening  {}",
            p.facts.pid,
            escape_control(&p.facts.name),
            p.socket_count,
            p.listener_count,
            bounded(&escape_control(&p.facts.cmdline), 60)
        );
    }
    let mut eps: Vec<_> = s.endpoints.values().collect();
    eps.sort_by(|a, b| b.connection_count.cmp(&a.connection_count).then(a.ip.cmp(&b.ip)));
    let _ = writeln!(o, "\nendpoints by connections:");
    for e in eps.iter().take(top) {
        let ports: Vec<String> = e.ports.iter().take(6).map(ToString::to_string).collect();
        let _ = writeln!(o, "  {:<40} {:<10} {:>6} conns  ports {}", endpoint_text(e), e.zone.name(), e.connection_count, ports.join(","));
    }
    let _ = writeln!(o, "\nlisteners:");
    for l in s.listeners.values().take(top) {
        let _ = writeln!(
            o,
            "  {:<4} {:<40} {:<16} {}",
            l.protocol,
            std::net::SocketAddr::new(l.address, l.port).to_string(),
            l.process_name.as_deref().map_or_else(|| "?".into(), escape_control),
            l.pid.map_or_else(|| "-".into(), |p| p.to_string())
        );
    }
    let inbound = s.sockets.iter().filter(|x| x.direction == Direction::Inbound).count();
    let outbound = s.sockets.iter().filter(|x| x.direction == Direction::Outbound).count();
    let _ = writeln!(o, "\nconnections: {inbound} inbound · {outbound} outbound");
    if !s.health.messages.is_empty() {
        let _ = writeln!(o, "\nhealth:");
        for m in &s.health.messages {
            let _ = writeln!(o, "  [{:?}] {}", m.level, escape_control(&m.text));
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::summary_text;
    use crate::model::{EndpointKey, NameSource};

    #[test]
    fn top_endpoints_show_their_name_beside_the_address_escaped() {
        let mut src = crate::collect::ReplaySource::from_text(crate::DEMO_SCENARIO, "demo").expect("demo");
        let mut s = src.build_through(Arc::new(crate::spec::Spec::embedded()), None, None).0.expect("frames");
        let plain = summary_text(&s, 20);
        let busiest = s.endpoints.values().max_by_key(|e| e.connection_count).map(|e| EndpointKey::host(e.ip)).expect("endpoints");
        for (key, name) in [(busiest, "db.internal.test"), (EndpointKey::host("203.0.113.200".parse().expect("ip")), "c2\u{1b}]0;x\u{7}\u{202e}.test")] {
            let e = s.endpoints.get_mut(&key).expect("endpoint in the demo");
            e.names = vec![name.to_string()];
            e.hostname = Some(name.to_string());
            e.name_source = Some(NameSource::DnsAnswer);
        }
        let text = summary_text(&s, 20);
        let section = text.split("endpoints by connections:").nth(1).expect("section");
        let first = section.lines().nth(1).expect("the busiest endpoint");
        assert!(first.trim_start().starts_with(&format!("{} (db.internal.test)", busiest.ip)), "{first}");
        assert!(section.contains("203.0.113.200 (c2\\x1b]0;x\\x07\\u{202e}.test)"), "escaped: {section}");
        assert!(!text.chars().any(|c| crate::text::is_unsafe(c) && c != '\n'), "{text}");
        assert!(!plain.contains(" (db.internal.test)"), "no name, only the address");
    }
}
