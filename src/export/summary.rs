//! A short text summary of a snapshot for the terminal (plain `necromap`
//! without the explorer, and `--help` examples). Host strings are escaped.

use std::fmt::Write;

use crate::model::{Direction, Snapshot};
use crate::text::{bounded, escape_control};

/// Render the summary: totals, states, busiest processes and endpoints,
/// listeners, health.
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
        let _ = writeln!(o, "  {:<40} {:<10} {:>6} conns  ports {}", e.ip, e.zone.name(), e.connection_count, ports.join(","));
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
