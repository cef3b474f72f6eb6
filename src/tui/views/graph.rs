//! The radial map.
//!
//! ```text
//!            ● 203.0.113.10:443 ×3
//!     ⚰ :22    ◆ sshd (610)    ● 198.51.100.5:443
//!          ·   ⚰ crypt-01   ·            rings: processes, listeners,
//!     ⚰ :443   ◈ nginx (3)    ☠ 203.0.113.200:4444   then zones (loopback,
//!            ● 10.0.0.20:9200 ×38                     private, public)
//! ```
//!
//! The centre is the host, or the focused process. Processes sit on the
//! inner ring (◆; ◈ for several folded into one when crowded), listeners
//! on the next, endpoints on rings by zone. Edges go process → endpoint,
//! process → listener and endpoint → listener (inbound), from the
//! snapshot's graph, drawn on a braille canvas in the colour and line
//! style of their state (from the spec; a path with a high or critical
//! finding in its severity's colour); labels avoid each other. Where each node sits (ring, angle, label
//! cell) comes from the explorer's placement memory, so nodes keep their
//! place across refreshes. [`place`] is pure and shared by rendering,
//! navigation and mouse clicks.

use std::f64::consts::TAU;
use std::fmt::Write;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::widgets::canvas::{Canvas, Painter, Shape};
use ratatui::widgets::{Block, Paragraph, Widget, Wrap};
use unicode_width::UnicodeWidthStr;

use super::super::app::App;
use super::super::derived::{MapEntry, Mark};
use super::super::placement::{Label, entry_ring};
use super::super::state::{MapNode, Pane};
use crate::model::SocketState;
use crate::spec::{IconHint, LineStyle, SizeClass};

/// One node, placed.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    pub node: MapNode,
    /// The node's cell (where its edge ends).
    pub x: u16,
    pub y: u16,
    pub text: String,
    pub label_x: u16,
    pub label_y: u16,
    pub label_width: u16,
    pub state: SocketState,
    pub mark: Option<Mark>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Placement {
    pub cx: u16,
    pub cy: u16,
    pub center: String,
    pub nodes: Vec<Placed>,
}

/// The map's drawing area inside its border.
pub fn inner(map: Rect) -> Rect {
    Block::bordered().inner(map)
}

/// Cut `s` to at most `max` columns, with `…` when cut.
pub fn fit(s: &str, max: usize) -> String {
    if s.width() <= max {
        return s.to_string();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if w + cw + 1 > max {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    out
}

fn icon_hint(app: &App, e: &MapEntry) -> IconHint {
    e.mark.and_then(|m| m.icon).unwrap_or_else(|| app.spec.states.get(&e.state).map_or(IconHint::None, |s| s.style.icon))
}

/// A node's icon: a finding's, else a process's mark, else its state's.
fn icon(app: &App, e: &MapEntry) -> &'static str {
    match (&e.node, e.mark.and_then(|m| m.icon)) {
        (_, Some(h)) => app.theme.icon(h),
        (MapNode::Process(p), None) if app.derived.map.mcp_servers.contains(p) => app.theme.mcp_icon(false),
        (MapNode::Processes(l), None) if l == crate::tui::derived::MCP_GROUP => app.theme.mcp_icon(true),
        (MapNode::Process(_), None) => app.theme.process_icon(false),
        (MapNode::Processes(_), None) => app.theme.process_icon(true),
        _ => app.theme.icon(icon_hint(app, e)),
    }
}

/// A node to place: age (first-seen order), model index, ring, angle,
/// remembered label cell.
type Item<'a> = (u64, usize, usize, f64, Option<Label>, &'a MapEntry);

/// Place the centre and every node in `area`.
// Geometry reads best with its usual short names (w, h, x, y, a, k, n).
#[allow(clippy::many_single_char_names, clippy::similar_names)]
pub fn place(app: &App, area: Rect) -> Placement {
    let (w, h) = (f64::from(area.width), f64::from(area.height));
    let cx = area.x + area.width / 2;
    let cy = area.y + area.height / 2;
    let theme = app.theme;
    let center = match app.ui.focus.and_then(|p| app.snapshot.process(p).map(|n| (p, n))) {
        Some((p, n)) => format!("{} {} ({p})", theme.icon(IconHint::Coffin), n.facts.name),
        None => format!("{} {}", theme.icon(IconHint::Coffin), app.snapshot.source.host),
    };
    let mut out = Placement { cx, cy, center: fit(&crate::text::escape_control(&center), usize::from(area.width)), nodes: Vec::new() };
    if area.width < 3 || area.height < 3 {
        return out;
    }

    // Rings: listeners first, then zones in the spec's order. Each node's
    // ring and angle come from the explorer's placement memory, so a node
    // stays where it is across refreshes; the memory's rings set the radii.
    let rings_spec = &app.spec.layout.radial.rings;
    let model = &app.derived.map;
    let memory = &app.map_memory;
    let start = app.spec.layout.radial.start_angle_deg.to_radians();
    let entries: Vec<&MapEntry> = model.processes.iter().chain(&model.listeners).chain(&model.endpoints).collect();
    let mut ring_set: std::collections::BTreeSet<usize> = memory.rings().into_iter().collect();
    ring_set.extend(entries.iter().map(|e| entry_ring(e, rings_spec)));
    let ring_keys: Vec<usize> = ring_set.into_iter().collect();
    let n = ring_keys.len().max(1) as f64;
    let (rx_max, ry_max) = ((w / 2.0 - 1.0).max(1.0), (h / 2.0 - 1.0).max(1.0));
    let max_label = (usize::from(area.width) / 3).max(8);
    let sticky_ok = memory.label_area == area;

    // Older nodes first: a label keeps its cell unless an older one took it.
    let total = entries.len().max(1) as f64;
    let mut items: Vec<Item<'_>> = entries
        .iter()
        .enumerate()
        .map(|(j, e)| {
            let ring = entry_ring(e, rings_spec);
            match memory.get(&e.node).filter(|s| s.ring == ring) {
                Some(s) => (s.seq, j, ring, s.angle, s.label.filter(|_| sticky_ok), *e),
                // Not remembered (only before the memory took the model in).
                None => (u64::MAX, j, ring, start + 0.37 * ring as f64 + TAU * j as f64 / total, None, *e),
            }
        })
        .collect();
    items.sort_by_key(|i| (i.0, i.1));

    let center_w = out.center.width() as u16;
    let mut taken: Vec<(u16, u16, u16)> = vec![(cy, cx.saturating_sub(center_w / 2), cx.saturating_sub(center_w / 2) + center_w)];
    // The notes line at the bottom is drawn over the map: keep labels off it.
    let notes_w = notes(app).join(" · ").width().min(usize::from(area.width)) as u16;
    if notes_w > 0 && area.height > 2 {
        taken.push((area.bottom() - 1, area.x, area.x + notes_w));
    }
    let mut placed: Vec<(usize, f64, Placed)> = Vec::with_capacity(items.len());
    for (_, _, ring, a, sticky, e) in items {
        let ring_index = ring_keys.iter().position(|r| *r == ring).unwrap_or(0);
        let frac = 0.35 + 0.65 * (ring_index as f64 + 1.0) / n;
        let (rx, ry) = (rx_max * frac, ry_max * frac);
        let x = (f64::from(cx) + rx * a.cos()).round().clamp(f64::from(area.x), f64::from(area.right() - 1)) as u16;
        let y = (f64::from(cy) + ry * a.sin()).round().clamp(f64::from(area.y), f64::from(area.bottom() - 1)) as u16;
        let icon = icon(app, e);
        let text = label_text(icon, e, max_label);
        let sticky = sticky.filter(|l| l.node == (x, y)).map(|l| l.at);
        // A group has a short form to fall back on before its bare icon
        // (`◈ +4`, `● 198.51.…/24`): a lone icon would not say what it is.
        let short = matches!(e.node, MapNode::Processes(_) | MapNode::Group(_)).then(|| label_text(icon, e, 10)).filter(|t| *t != text);
        let (label_x, label_y, text) = fit_label(&text, short.as_deref(), icon, x, y, a.cos() >= -0.1, area, sticky, &mut taken);
        let order = (a - start - 0.37 * ring as f64).rem_euclid(TAU);
        placed.push((
            ring,
            order,
            Placed { node: e.node.clone(), x, y, label_width: text.width() as u16, text, label_x, label_y, state: e.state, mark: e.mark },
        ));
    }
    // Navigation order: ring by ring, clockwise from the start angle.
    placed.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    out.nodes = placed.into_iter().map(|p| p.2).collect();
    out
}

/// A node's label within `max` columns: icon, label, socket count. A group
/// reads `203.0.113.0/24 (5) ×9` (members, then sockets); cut, it drops the
/// counts first and then shortens the network but keeps its prefix length
/// (`203.0.11…/24`), so a cut group never reads like one address.
pub fn label_text(icon: &str, e: &MapEntry, max: usize) -> String {
    let label = crate::text::escape_control(&e.label);
    let count = if e.sockets > 1 { format!(" ×{}", e.sockets) } else { String::new() };
    // `+6 more` already counts its members.
    let members = if e.label.starts_with('+') { 0 } else { e.members };
    let full = if members > 0 { format!("{icon} {label} ({members}){count}") } else { format!("{icon} {label}{count}") };
    if full.width() <= max {
        return full;
    }
    if let MapNode::Endpoint(_) = e.node {
        return endpoint_label(icon, &label, &count, max);
    }
    if let MapNode::Process(_) = e.node {
        // The name is cut, never the pid.
        let bare = format!("{icon} {label}");
        return if bare.width() <= max { bare } else { super::list::fit_process(&bare, max) };
    }
    if let MapNode::Processes(_) = e.node {
        // `◈ +12 processes ×40` → `◈ +12 processes` → `◈ +12`; a name group
        // keeps its member count as long as it can.
        let overflow = e.label.split(' ').next().filter(|_| e.label.starts_with('+')).map(|n| format!("{icon} {n}"));
        let named = (members > 0).then(|| format!("{icon} {label} ({members})"));
        for t in [named, Some(format!("{icon} {label}")), overflow].into_iter().flatten() {
            if t.width() <= max {
                return t;
            }
        }
        return fit(&full, max);
    }
    if !matches!(e.node, MapNode::Group(_)) {
        return fit(&full, max);
    }
    let shorter = [(members > 0).then(|| format!("{icon} {label} ({members})")), Some(format!("{icon} {label}"))];
    for t in shorter.into_iter().flatten() {
        if t.width() <= max {
            return t;
        }
    }
    match label.rfind('/') {
        Some(slash) => {
            let (net, prefix) = label.split_at(slash);
            let head = fit(&format!("{icon} {net}"), max.saturating_sub(prefix.width()));
            format!("{head}{prefix}")
        }
        None => fit(&format!("{icon} {label}"), max),
    }
}

/// An endpoint's label cut to `max` columns: the count goes first, then
/// the name (or address) is shortened so its port or port count stays
/// whole: `search-1.offi…:9200`, never `search-1.office.la…`. An address
/// keeps its digits and loses the suffix instead.
fn endpoint_label(icon: &str, label: &str, count: &str, max: usize) -> String {
    let without_count = format!("{icon} {label}");
    if !count.is_empty() && without_count.width() <= max {
        return without_count;
    }
    // An alert-only party, `203.0.113.45 (login)`: the address stays whole
    // and the note goes first.
    if let Some(at) = label.rfind(" (").filter(|_| label.ends_with(')') && !label.ends_with(" ports)")) {
        return fit(&format!("{icon} {}", &label[..at]), max);
    }
    let split = if label.ends_with(" ports)") { label.rfind(" (") } else { label.rfind(':').filter(|&i| label[i + 1..].bytes().all(|b| b.is_ascii_digit())) };
    // An address is never shortened (a cut address reads as another one).
    let is_address = |host: &str| host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>().is_ok();
    match split {
        Some(at) if at > 0 && !is_address(&label[..at]) => {
            let (host, suffix) = label.split_at(at);
            let head = fit(&format!("{icon} {host}"), max.saturating_sub(suffix.width()));
            format!("{head}{suffix}")
        }
        _ => fit(&without_count, max),
    }
}

/// Find a free row for a label near (x, y), trying the cell it had before
/// (`sticky`) first; fall back to the short form, then the icon alone.
#[allow(clippy::too_many_arguments)]
fn fit_label(
    text: &str,
    short: Option<&str>,
    icon: &str,
    x: u16,
    y: u16,
    rightward: bool,
    area: Rect,
    sticky: Option<(u16, u16)>,
    taken: &mut Vec<(u16, u16, u16)>,
) -> (u16, u16, String) {
    let free = |x0: u16, row: u16, width: u16, taken: &[(u16, u16, u16)]| taken.iter().all(|&(ty, a, b)| ty != row || x0 + width < a || b < x0);
    if let Some((sx, sy)) = sticky {
        let width = text.width() as u16;
        let inside = sx >= area.x && sy >= area.y && sy < area.bottom() && sx + width <= area.right();
        if inside && free(sx, sy, width, taken) {
            taken.push((sy, sx, sx + width));
            return (sx, sy, text.to_string());
        }
    }
    let try_place = |t: &str, taken: &[(u16, u16, u16)]| -> Option<(u16, u16)> {
        let width = t.width() as u16;
        let x0 = if rightward { x } else { x.saturating_sub(width.saturating_sub(1)) };
        let x0 = x0.clamp(area.x, area.right().saturating_sub(width).max(area.x));
        for dy in [0i32, 1, -1, 2, -2] {
            let row = i32::from(y) + dy;
            if row < i32::from(area.y) || row >= i32::from(area.bottom()) {
                continue;
            }
            let row = row as u16;
            if free(x0, row, width, taken) {
                return Some((x0, row));
            }
        }
        None
    };
    for candidate in [Some(text), short, Some(icon)].into_iter().flatten() {
        if let Some((x0, row)) = try_place(candidate, taken) {
            taken.push((row, x0, x0 + candidate.width() as u16));
            return (x0, row, candidate.to_string());
        }
    }
    (x, y, icon.to_string())
}

/// A straight edge in a state's line style.
struct Edge {
    from: (f64, f64),
    to: (f64, f64),
    color: Color,
    style: LineStyle,
}

impl Shape for Edge {
    fn draw(&self, painter: &mut Painter<'_, '_>) {
        let (Some((x1, y1)), Some((x2, y2))) = (painter.get_point(self.from.0, self.from.1), painter.get_point(self.to.0, self.to.1)) else {
            return;
        };
        let (dx, dy) = (x2 as f64 - x1 as f64, y2 as f64 - y1 as f64);
        let steps = dx.abs().max(dy.abs()).max(1.0) as usize;
        for i in 0..=steps {
            let on = match self.style {
                LineStyle::Solid => true,
                LineStyle::Dashed => (i / 4) % 2 == 0,
                LineStyle::Dotted => i % 3 == 0,
                LineStyle::None => false,
            };
            // Keep the centre and the node ends clear of ink.
            if on && i > 2 && i + 2 < steps {
                let t = i as f64 / steps as f64;
                painter.paint((x1 as f64 + dx * t).round() as usize, (y1 as f64 + dy * t).round() as usize, self.color);
            }
        }
    }
}

/// The map's notes (grouping, listeners left out), drawn on its last row.
fn notes(app: &App) -> Vec<String> {
    let mut notes: Vec<String> = app.derived.map.notes.clone();
    if app.derived.map.more_listeners > 0 {
        notes.push(format!("+{} more listeners", app.derived.map.more_listeners));
    }
    notes
}

pub fn title(app: &App) -> String {
    let mut t = match app.ui.focus.and_then(|p| app.snapshot.process(p).map(|n| (p, n))) {
        Some((p, n)) => format!(" map · process {} ({p}) ", crate::text::escape_control(&n.facts.name)),
        None => " map · host ".to_string(),
    };
    if let Some((name, _)) = app.spec.views.get_index(app.ui.view) {
        let _ = write!(t, "· view {name} ");
    }
    if !app.ui.filter_text.is_empty() {
        let _ = write!(t, "· filter {} ", crate::text::escape_control(&app.ui.filter_text));
    }
    t
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let focused = app.ui.pane == Pane::Map;
    let mut block = Block::bordered().title(title(app)).border_style(if focused { app.theme.title() } else { app.theme.dim() });
    if !app.ui.legend {
        block = block.title_bottom(ratatui::text::Line::from(" L legend ").right_aligned());
    }
    let inner = block.inner(area);
    block.render(area, buf);
    if app.size_class() == SizeClass::Tiny {
        let text = super::summary_lines(app);
        Paragraph::new(text).wrap(Wrap { trim: true }).render(inner, buf);
        return;
    }
    let p = place(app, inner);
    let (w, h) = (f64::from(inner.width), f64::from(inner.height));
    let to_canvas = |x: u16, y: u16| (f64::from(x - inner.x) + 0.5, h - (f64::from(y - inner.y) + 0.5));
    let center = to_canvas(p.cx, p.cy);
    let at: rustc_hash::FxHashMap<&MapNode, (f64, f64)> = p.nodes.iter().map(|n| (&n.node, to_canvas(n.x, n.y))).collect();
    let edges: Vec<Edge> = app
        .derived
        .map
        .links
        .iter()
        .filter_map(|l| {
            let end = |n: &MapNode| if *n == MapNode::Host { Some(center) } else { at.get(n).copied() };
            let style = app.spec.states.get(&l.state).map(|s| s.style);
            let color = style.map_or(Color::Reset, |s| app.theme.ratatui_color(s.color));
            // A serious finding colours its path.
            let color = match l.mark {
                Some(m) if m.severity >= crate::model::Severity::High && app.theme.glow => app.theme.severity(m.severity).fg.unwrap_or(color),
                _ => color,
            };
            Some(Edge { from: end(&l.from)?, to: end(&l.to)?, color, style: style.map_or(LineStyle::Solid, |s| s.line) })
        })
        .collect();
    Canvas::default()
        .marker(Marker::Braille)
        .x_bounds([0.0, w])
        .y_bounds([0.0, h])
        .paint(|ctx| {
            for e in &edges {
                ctx.draw(e);
            }
        })
        .render(inner, buf);

    let pulse = app.pulse();
    for n in &p.nodes {
        let mut style = match n.mark {
            Some(m) => app.theme.glow_style(m.severity, m.highlight, pulse),
            None => app.spec.states.get(&n.state).map_or(Style::default(), |s| app.theme.color(s.style.color)),
        };
        if focused && n.node == app.ui.map_selected {
            style = style.add_modifier(Modifier::REVERSED);
        }
        buf.set_stringn(n.label_x, n.label_y, &n.text, usize::from(inner.right().saturating_sub(n.label_x)), style);
    }
    let cw = p.center.width() as u16;
    let mut cstyle = app.theme.title();
    if focused && app.ui.map_selected == MapNode::Host {
        cstyle = cstyle.add_modifier(Modifier::REVERSED);
    }
    buf.set_stringn(p.cx.saturating_sub(cw / 2).max(inner.x), p.cy, &p.center, usize::from(inner.width), cstyle);

    let mut notes = notes(app);
    if p.nodes.is_empty() {
        notes.push("no sockets in this view".into());
    }
    if !notes.is_empty() && inner.height > 2 {
        buf.set_stringn(inner.x, inner.bottom() - 1, notes.join(" · "), usize::from(inner.width), app.theme.dim());
    }
    if app.ui.legend {
        super::legend::render(app, inner, buf);
    }
}
