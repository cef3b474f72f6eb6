//! The inspector: what is selected, and its findings with why.
//!
//! ```text
//! ┌ socket tcp:5ce0… ──────────────┐
//! │ state ESTABLISHED · outbound    │
//! │ 10.0.0.5:38812 → 203.0.113.200… │
//! │ names c2.example (dns-answer, …) │
//! │ process bash (3401) www-data    │
//! │ ▲ CRITICAL Reverse shell …      │
//! │   • stdio_is_socket → fd 0 …    │
//! ```

use std::collections::BTreeMap;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget};

use super::super::app::App;
use super::super::naming;
use super::super::state::{MapMode, MapNode, Pane};
use super::super::theme::{age_spaced, bytes, rate, utc};
use super::tree::TreeId;
use crate::model::{AgeBound, EndpointKey, Finding, Pid, Socket, SocketKey, Subject};
use crate::text::{bounded, escape_control};

/// What the inspector shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Nothing,
    Host,
    Socket(SocketKey),
    Process(Pid),
    Endpoint(EndpointKey),
    Listener(crate::model::ListenerKey),
    Group(String),
    /// Processes drawn as one map node, by its label.
    Processes(String),
}

/// The inspector's target: the selection of the active pane.
pub fn target(app: &App) -> Target {
    match (app.ui.pane, app.ui.map_mode) {
        (Pane::List, _) => app.ui.list_selected.map_or(Target::Nothing, Target::Socket),
        (Pane::Map, MapMode::Graph) => match &app.ui.map_selected {
            MapNode::Host => app.ui.focus.map_or(Target::Host, Target::Process),
            MapNode::Process(p) => Target::Process(*p),
            MapNode::Listener(l) => Target::Listener(*l),
            MapNode::Endpoint(e) => Target::Endpoint(*e),
            MapNode::Group(g) => Target::Group(g.clone()),
            MapNode::Processes(g) => Target::Processes(g.clone()),
        },
        (Pane::Map, _) => {
            let sel = app.ui.tree.selected();
            match sel.last() {
                Some(TreeId::Endpoint(e)) => Target::Endpoint(*e),
                Some(TreeId::Socket(k)) => Target::Socket(*k),
                Some(TreeId::Process(Some(p))) => Target::Process(*p),
                _ => Target::Nothing,
            }
        }
    }
}

fn kv(key: &str, value: impl Into<String>) -> Line<'static> {
    Line::from(vec![Span::styled(format!("{key:<9}"), Style::default().add_modifier(Modifier::DIM)), Span::raw(value.into())])
}

/// Findings about the target.
fn findings_for<'a>(app: &'a App, t: &Target) -> Vec<&'a Finding> {
    let s = &app.snapshot;
    let about_socket = |sock: &Socket, f: &Finding| crate::model::view::finding_about_socket(f, sock);
    // A group's members, looked up once (a group of parties can be large).
    let members: std::collections::HashSet<crate::model::EndpointKey> = match t {
        Target::Group(label) => {
            let graph = app.derived.map_graph(s);
            graph.group_by_label(label).map(|(i, _)| graph.members(i).iter().copied().collect()).unwrap_or_default()
        }
        _ => std::collections::HashSet::new(),
    };
    s.findings
        .iter()
        .filter(|f| match t {
            Target::Socket(k) => s.socket(*k).is_some_and(|sock| about_socket(sock, f)),
            Target::Process(p) => match f.subject {
                Subject::Process { pid } => pid == *p,
                Subject::Socket { pid, .. } => pid == Some(*p),
                Subject::Endpoint { .. } | Subject::Host => false,
            },
            Target::Endpoint(e) => match f.subject {
                Subject::Endpoint { endpoint } => endpoint == *e,
                Subject::Socket { socket, .. } => s.socket(socket).is_some_and(|x| x.endpoint() == *e),
                Subject::Process { .. } | Subject::Host => false,
            },
            Target::Listener(l) => {
                s.sockets.iter().any(|x| x.state().is_listening() && x.raw.local.port() == l.port && x.raw.local.ip() == l.address && about_socket(x, f))
            }
            Target::Host => true,
            Target::Processes(label) => app.derived.process_group(label).is_some_and(|m| match f.subject {
                Subject::Process { pid } | Subject::Socket { pid: Some(pid), .. } => m.contains(&pid),
                Subject::Socket { pid: None, .. } | Subject::Endpoint { .. } | Subject::Host => false,
            }),
            // A group: the findings about its members (alert-only parties
            // have no socket whose findings would show them).
            Target::Group(_) => match f.subject {
                Subject::Endpoint { endpoint } => members.contains(&endpoint),
                Subject::Socket { .. } | Subject::Process { .. } | Subject::Host => false,
            },
            Target::Nothing => false,
        })
        .collect()
}

fn process_lines(app: &App, pid: Pid, out: &mut Vec<Line<'static>>) {
    let Some(p) = app.snapshot.process(pid) else {
        out.push(kv("process", format!("{pid} (no facts: not visible or exited)")));
        return;
    };
    let f = &p.facts;
    out.push(kv("process", format!("{} ({pid}) · user {} ({})", escape_control(&f.name), f.user.as_deref().map_or("?".into(), escape_control), f.uid)));
    traffic_lines(app, pid, out);
    let exe = f.exe.as_deref().map_or("unreadable".to_string(), escape_control);
    let flag = match (f.exe_deleted, f.exe_memfd) {
        (true, true) => " [deleted, in memory]",
        (true, false) => " [deleted]",
        (false, true) => " [in memory]",
        _ => "",
    };
    out.push(kv("exe", format!("{exe}{flag}")));
    out.push(kv("cmdline", bounded(&escape_control(&f.cmdline), 240)));
    super::mcp_detail::mcp_lines(app, pid, out, kv);
    let mut place = Vec::new();
    if let Some(label) = f.workload.label() {
        place.push(escape_control(&label));
    }
    // The namespace when it is not the host's and not just named after
    // the container.
    let ns = app.snapshot.namespace_name(f.netns);
    if f.netns.is_some() && f.workload.label().as_deref() != Some(ns.as_str()) {
        place.push(format!("ns {}", escape_control(&ns)));
    }
    if !place.is_empty() {
        out.push(kv("runs in", place.join(" · ")));
    }
    if !f.shell_links.is_empty() {
        out.push(kv("shells", f.shell_links.iter().map(shell_summary).collect::<Vec<_>>().join(", ")));
    }
    // Parent chain, as far as the snapshot knows processes.
    let mut chain = Vec::new();
    let mut cur = f.ppid;
    for _ in 0..6 {
        if cur == 0 {
            break;
        }
        if let Some(pp) = app.snapshot.process(Pid(cur)) {
            chain.push(format!("{} ({cur})", escape_control(&pp.facts.name)));
            cur = pp.facts.ppid;
        } else {
            chain.push(cur.to_string());
            break;
        }
    }
    out.push(kv("parents", if chain.is_empty() { "-".into() } else { chain.join(" ← ") }));
    if !f.parent_cmdline.is_empty() {
        out.push(kv("ppid cmd", bounded(&escape_control(&f.parent_cmdline), 240)));
    }
    if !f.sensitive_files.is_empty() {
        out.push(kv("secrets", f.sensitive_files.iter().map(|p| bounded(&escape_control(p), 120)).collect::<Vec<_>>().join(", ")));
    }
    out.push(kv("started", utc(f.start_time_ms)));
    let stdio = if f.stdio_sockets.is_empty() { "no".to_string() } else { format!("fd {:?} are sockets", f.stdio_sockets) };
    out.push(kv("stdio", format!("{stdio} · tty {}", if f.has_tty { "yes" } else { "no" })));
    out.push(kv(
        "sockets",
        format!("{} ({} listening) · sent {} · received {}", p.socket_count, p.listener_count, bytes(p.bytes_sent), bytes(p.bytes_received)),
    ));
}

/// A process's rates now (all its sockets) and a sparkline of the last
/// refreshes (up + down), newest on the right.
fn traffic_lines(app: &App, pid: Pid, out: &mut Vec<Line<'static>>) {
    let now = app.derived.rates_of(pid);
    out.push(kv("rate", now.map_or_else(|| "no socket with known rates yet".to_string(), |r| format!("↑ {}/s · ↓ {}/s", bytes(r.up), bytes(r.down)))));
    if let Some(samples) = app.traffic.history_of(pid) {
        let values: Vec<u64> = samples.iter().map(|r| r.up + r.down).collect();
        let peak = values.iter().copied().max().unwrap_or(0);
        let line = super::super::traffic::sparkline(&values, app.theme.plain);
        out.push(Line::from(vec![
            Span::styled(format!("{:<9}", "history"), Style::default().add_modifier(Modifier::DIM)),
            Span::styled(line, app.theme.severity(crate::model::Severity::Low)),
            Span::raw(format!(" peak {}/s", bytes(peak))),
        ]));
    }
}

/// A group of processes drawn as one node: its members, busiest first.
fn process_group_lines(app: &App, label: &str, out: &mut Vec<Line<'static>>) {
    let s = &app.snapshot;
    let Some(members) = app.derived.process_group(label) else {
        out.push(kv("processes", "(this group is no longer on the map)"));
        return;
    };
    let rates = |p: &Pid| app.derived.rates_of(*p).unwrap_or_default();
    let (up, down) = members.iter().fold((0, 0), |(u, d), p| (u + rates(p).up, d + rates(p).down));
    let sockets: u64 = members.iter().filter_map(|p| s.process(*p)).map(|p| p.socket_count).sum();
    out.push(kv("group", format!("{} processes · {sockets} sockets · ↑ {}/s · ↓ {}/s", members.len(), bytes(up), bytes(down))));
    let mut sorted: Vec<Pid> = members.to_vec();
    sorted.sort_by_key(|p| (std::cmp::Reverse(rates(p).up + rates(p).down), *p));
    for p in sorted.iter().take(40) {
        let (name, n) = s.process(*p).map_or(("?".to_string(), 0), |x| (escape_control(&x.facts.name), x.socket_count));
        let r = rates(p);
        out.push(kv("member", format!("{name} ({p}) · {n} sockets · ↑ {}/s ↓ {}/s", bytes(r.up), bytes(r.down))));
    }
    if sorted.len() > 40 {
        out.push(kv("", format!("+{} more (t: tree by process lists them all)", sorted.len() - 40)));
    }
}

/// `sh (40) in+out via pipe, fifo`: a shell whose stdio leads here.
fn shell_summary(l: &crate::model::ShellLink) -> String {
    let way = match (l.input.is_empty(), l.output.is_empty()) {
        (false, false) => "in+out",
        (false, true) => "in",
        _ => "out",
    };
    let mut kinds: Vec<&str> = Vec::new();
    for h in l.input.iter().chain(&l.output) {
        let kind = match h.conduit {
            crate::model::Conduit::Pipe { .. } => "pipe",
            crate::model::Conduit::Fifo { .. } => "fifo",
            crate::model::Conduit::Pty { .. } => "pty",
            crate::model::Conduit::SocketPair { .. } => "socketpair",
        };
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    format!("{} ({}) {way} via {}", escape_control(&l.name), l.pid, kinds.join(", "))
}

fn socket_lines(app: &App, key: SocketKey, out: &mut Vec<Line<'static>>) -> String {
    match app.snapshot.socket(key) {
        Some(sock) => {
            // The namespace only when it is not the host's: most sockets are.
            let ns = sock.raw.netns.map_or(String::new(), |_| format!(" · ns {}", escape_control(&app.snapshot.namespace_name(sock.raw.netns))));
            out.push(kv("state", format!("{} · {} · {}{ns}", sock.state(), sock.direction, sock.zone)));
            // The service beside the port it names: the remote one of an
            // outbound socket, the local one otherwise.
            let service = naming::service(&app.snapshot, sock);
            let remote_service = naming::service_is_remote(sock);
            out.push(kv("local", naming::addr_with_service(sock.raw.local, service.as_deref().filter(|_| !remote_service))));
            out.push(kv("remote", naming::addr_with_service(sock.raw.remote, service.as_deref().filter(|_| remote_service))));
            if let Some(names) = app.snapshot.endpoints.get(&sock.endpoint()).and_then(naming::names_line) {
                out.push(kv("names", names));
            }
            let seen = utc(sock.first_seen_ms);
            // `≥`: already open when first seen; `≤`: no older than its process.
            let how = match sock.age().map(|a| a.bound) {
                Some(AgeBound::Exact | AgeBound::AtLeast) => format!("first seen {seen}"),
                Some(AgeBound::AtMost) => format!("its process's age; first seen {seen}"),
                None => format!("already open when first seen {seen}"),
            };
            out.push(kv("age", format!("{} ({how})", age_spaced(sock.age()))));
            match sock.raw.tcp {
                Some(c) => out.push(kv(
                    "traffic",
                    format!(
                        "sent {} · received {} · rtt {} · {}/s up {}/s down",
                        bytes(c.bytes_acked),
                        bytes(c.bytes_received),
                        sock.rtt_us().map_or_else(|| "—".to_string(), |us| format!("{:.1} ms", f64::from(us) / 1000.0)),
                        rate(sock.send_rate()),
                        rate(sock.recv_rate())
                    ),
                )),
                None => out.push(kv("traffic", "no byte counters for this socket")),
            }
            out.push(kv("inode", format!("{} · uid {} · queues {}/{}", sock.raw.inode, sock.raw.uid, sock.raw.recv_queue, sock.raw.send_queue)));
            match sock.owner() {
                Some(p) => process_lines(app, p, out),
                None => out.push(kv("process", if sock.raw.inode == 0 { "none: held by the kernel" } else { "not visible (another user's, or exited)" })),
            }
            format!(" socket {key} ")
        }
        None => " socket (gone) ".to_string(),
    }
}

fn target_lines(app: &App, t: &Target) -> (String, Vec<Line<'static>>) {
    let s = &app.snapshot;
    let mut out = Vec::new();
    let title = match t {
        Target::Nothing => " detail ".to_string(),
        Target::Host => {
            out.push(kv("host", escape_control(&s.source.host)));
            out.push(kv("source", escape_control(&s.source.detail)));
            out.push(kv("taken", utc(s.taken_at_ms)));
            out.push(kv(
                "sockets",
                format!("{} · {} processes · {} endpoints · {} listeners", s.sockets.len(), s.processes.len(), s.endpoints.len(), s.listeners.len()),
            ));
            out.push(kv(
                "refresh",
                format!("{:.1} ms (dump {:.1}, owners {:.1}, graph {:.1})", s.timings.total_ms, s.timings.dump_ms, s.timings.owners_ms, s.timings.graph_ms),
            ));
            super::mcp_detail::host_lines(app, &mut out, kv);
            " host ".to_string()
        }
        Target::Socket(k) => socket_lines(app, *k, &mut out),
        Target::Process(p) => {
            process_lines(app, *p, &mut out);
            format!(" process {p} ")
        }
        Target::Endpoint(e) => {
            match s.endpoints.get(e) {
                Some(n) => {
                    out.push(kv("address", format!("{} · {}{}", n.ip, n.zone, n.country.as_deref().map_or(String::new(), |c| format!(" · {c}")))));
                    if let Some(names) = naming::names_line(n) {
                        out.push(kv("names", names));
                    }
                    let ports: Vec<String> = n.ports.iter().take(12).map(ToString::to_string).collect();
                    out.push(kv("ports", ports.join(", ")));
                    out.push(kv(
                        "traffic",
                        format!(
                            "{} connections · {:.0} new/min · sent {} · received {}",
                            n.connection_count,
                            n.new_per_minute,
                            bytes(n.bytes_sent),
                            bytes(n.bytes_received)
                        ),
                    ));
                    if !n.tags.is_empty() {
                        out.push(kv("tags", n.tags.join(", ")));
                    }
                }
                None => out.push(kv("address", e.to_string())),
            }
            out.push(kv("processes", talkers(app, &s.graph.talkers(*e, &s.sockets))));
            out.extend(super::logins::endpoint_facts(s, e.ip).into_iter().map(|(k, v)| kv(k, v)));
            format!(" endpoint {e} ")
        }
        Target::Listener(l) => {
            if let Some(n) = s.listeners.get(l) {
                out.push(kv("listener", format!("{} {} · {} accepted open", n.protocol, std::net::SocketAddr::new(n.address, n.port), n.inbound_count)));
                out.push(kv("bound", if n.wildcard { "every address (reachable from every network)" } else { "one address" }));
                match n.pid {
                    Some(p) => process_lines(app, Pid(p), &mut out),
                    None => out.push(kv("process", "not visible")),
                }
            }
            format!(" listener {l} ")
        }
        Target::Processes(label) => {
            process_group_lines(app, label, &mut out);
            // `+9 processes` names itself; a name group reads `processes nginx`.
            if label.starts_with('+') { format!(" {} ", escape_control(label)) } else { format!(" processes {} ", escape_control(label)) }
        }
        Target::Group(label) => {
            // The group as the map drew it (its graph may be the view's own).
            let graph = app.derived.map_graph(s);
            if let Some((i, g)) = graph.group_by_label(label) {
                if g.strategy == crate::model::GroupStrategy::AlertOnly {
                    out.push(kv("group", format!("{} alert-only parties: named by alerts or login events, holding no socket", g.member_count)));
                } else {
                    out.push(kv("group", format!("{:?} · {} endpoints · {} connections", g.strategy, g.member_count, g.connection_count)));
                }
                let members = graph.members(i);
                let shown: Vec<String> = members.iter().take(10).map(|m| naming::endpoint_name(s, m).unwrap_or_else(|| m.to_string())).collect();
                let more = members.len().saturating_sub(shown.len());
                let more = if more > 0 { format!(" +{more} more") } else { String::new() };
                out.push(kv("members", format!("{}{more}", shown.join(", "))));
                let mut who: BTreeMap<Option<Pid>, u64> = BTreeMap::new();
                for m in members {
                    for (p, c) in s.graph.talkers(*m, &s.sockets) {
                        *who.entry(p).or_insert(0) += c;
                    }
                }
                out.push(kv("processes", talkers(app, &who.into_iter().collect::<Vec<_>>())));
            } else {
                out.push(kv("group", escape_control(label)));
            }
            format!(" group {} ", escape_control(label))
        }
    };
    (title, out)
}

/// The findings about the target, worst first: severity, rule and trace
/// lead; the explanation, tags and next steps follow.
fn finding_lines(app: &App, t: &Target) -> Vec<Line<'static>> {
    let mut findings = findings_for(app, t);
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    let mut lines = Vec::new();
    for f in findings.iter().take(8) {
        let style = app.theme.glow_style(f.severity, f.highlight, false);
        lines.push(Line::from(vec![Span::styled(format!("▲ {} ", f.severity.name().to_uppercase()), style), Span::raw(escape_control(&f.rule_name))]));
        for step in &f.trace {
            lines.push(Line::from(format!("  • {} → {}", escape_control(&step.condition), escape_control(&step.value))));
        }
        let tags = if f.tags.is_empty() { String::new() } else { format!(" · tags {}", f.tags.join(", ")) };
        lines.push(kv("  rule", format!("{}{tags}", f.rule_id)));
        if !f.explanation.is_empty() {
            lines.push(Line::from(format!("  {}", escape_control(&f.explanation))));
        }
        for step in &f.steps {
            lines.push(Line::from(format!("  $ {}", escape_control(step))));
        }
    }
    lines
}

/// Everything the inspector shows for the current target, wrapped to
/// `width` cells: its title and its lines, evidence first.
pub fn content(app: &App, width: u16) -> (String, Vec<Line<'static>>) {
    let t = target(app);
    let (title, facts) = target_lines(app, &t);
    let mut lines = finding_lines(app, &t);
    if !lines.is_empty() {
        lines.push(Line::from(""));
    }
    lines.extend(facts);
    (title, lines.iter().flat_map(|l| wrap(l, usize::from(width.max(1)))).collect())
}

/// The inner width of the detail pane in `area`.
fn inner_width(area: Rect) -> u16 {
    area.width.saturating_sub(2)
}

/// How far the detail in `area` can scroll (lines hidden below when at
/// the top).
pub fn max_scroll(app: &App, area: Rect) -> usize {
    let (_, lines) = content(app, inner_width(area));
    lines.len().saturating_sub(usize::from(area.height.saturating_sub(2)))
}

/// Cut a styled line into lines of at most `width` cells, at a space when
/// there is one in the line's second half.
fn wrap(line: &Line<'static>, width: usize) -> Vec<Line<'static>> {
    let cells: Vec<(char, Style)> = line.spans.iter().flat_map(|sp| sp.content.chars().map(move |c| (c, line.style.patch(sp.style)))).collect();
    let mut out = Vec::new();
    let mut rest: &[(char, Style)] = &cells;
    loop {
        let mut w = 0;
        let mut end = rest.len();
        for (i, (c, _)) in rest.iter().enumerate() {
            let cw = unicode_width::UnicodeWidthChar::width(*c).unwrap_or(0);
            if w + cw > width {
                end = i.max(1);
                break;
            }
            w += cw;
        }
        if end < rest.len()
            && let Some(sp) = rest[..end].iter().rposition(|(c, _)| *c == ' ')
            && sp >= end / 2
        {
            end = sp + 1;
        }
        out.push(styled(&rest[..end]));
        rest = &rest[end..];
        if rest.is_empty() {
            return out;
        }
    }
}

/// Consecutive cells of one style become one span.
fn styled(cells: &[(char, Style)]) -> Line<'static> {
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut text = String::new();
    let mut cur: Option<Style> = None;
    for (c, st) in cells {
        if cur.is_some_and(|x| x != *st) {
            spans.push(Span::styled(std::mem::take(&mut text), cur.unwrap_or_default()));
        }
        cur = Some(*st);
        text.push(*c);
    }
    if !text.is_empty() {
        spans.push(Span::styled(text, cur.unwrap_or_default()));
    }
    Line::from(spans)
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let (title, lines) = content(app, inner_width(area));
    let height = usize::from(area.height.saturating_sub(2));
    let top = app.ui.detail_scroll.min(lines.len().saturating_sub(height));
    let style = if app.ui.detail_focus { app.theme.title() } else { app.theme.dim() };
    let mut block = Block::bordered().title(title).border_style(style);
    if lines.len() > height {
        // Where the view is, and which ways it can scroll.
        let up = if top > 0 { if app.theme.plain { "^" } else { "↑" } } else { " " };
        let down = if top + height < lines.len() { if app.theme.plain { "v" } else { "↓" } } else { " " };
        let last = (top + height).min(lines.len());
        block = block.title_bottom(Line::from(format!(" {up}{down} {}-{last}/{} ", top + 1, lines.len())).right_aligned());
    }
    let shown: Vec<Line<'static>> = lines.into_iter().skip(top).take(height).collect();
    Paragraph::new(shown).block(block).render(area, buf);
}

/// The processes that talk with an endpoint (from the graph), with their
/// socket counts; `None` stands for sockets no visible process owns.
fn talkers(app: &App, who: &[(Option<Pid>, u64)]) -> String {
    let s = &app.snapshot;
    let parts: Vec<String> = who
        .iter()
        .map(|(p, c)| match p {
            Some(p) => format!("{} ({p}) ×{c}", escape_control(s.process(*p).map_or("?", |x| x.facts.name.as_str()))),
            None => format!("no visible owner ×{c}"),
        })
        .collect();
    if parts.is_empty() { "-".into() } else { parts.join(", ") }
}
