//! The radial map.
//!
//! ```text
//!            ● 203.0.113.10:443 ×3
//!     ● :22        ·        ● 198.51.100.5:443
//!          ·   ⚰ crypt-01   ·            rings: listeners, then zones
//!     ● :443       ·        ☠ 203.0.113.200:4444   (loopback, private, public)
//!            ● 10.0.0.20:9200 ×38
//! ```
//!
//! The centre is the host, or the focused process. Listeners sit on the
//! inner ring, endpoints on rings by zone, at even angles. Edges are drawn
//! on a braille canvas in the colour and line style of their state (from the
//! spec); labels avoid each other. [`place`] is pure and shared by
//! rendering, navigation and mouse clicks.

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
use super::super::state::{MapNode, Pane};
use crate::model::{GroupZone, SocketState, Zone};
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

fn ring_of(zone: Option<GroupZone>, rings: &[Zone]) -> usize {
    let z = match zone {
        None => return 0,
        Some(GroupZone::Loopback) => Zone::Loopback,
        Some(GroupZone::Private) => Zone::Private,
        Some(GroupZone::LinkLocal) => Zone::LinkLocal,
        Some(GroupZone::Public) => Zone::Public,
        Some(GroupZone::Mixed) => return rings.len() + 1,
    };
    rings.iter().position(|r| *r == z).map_or(rings.len() + 1, |i| i + 1)
}

fn icon_hint(app: &App, e: &MapEntry) -> IconHint {
    e.mark.and_then(|m| m.icon).unwrap_or_else(|| app.spec.states.get(&e.state).map_or(IconHint::None, |s| s.style.icon))
}

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

    // Rings: listeners first, then zones in the spec's order.
    let rings_spec = &app.spec.layout.radial.rings;
    let model = &app.derived.map;
    let mut rings: std::collections::BTreeMap<usize, Vec<&MapEntry>> = std::collections::BTreeMap::new();
    for e in model.listeners.iter().chain(&model.endpoints) {
        rings.entry(ring_of(e.zone, rings_spec)).or_default().push(e);
    }
    let n = rings.len().max(1) as f64;
    let (rx_max, ry_max) = ((w / 2.0 - 1.0).max(1.0), (h / 2.0 - 1.0).max(1.0));
    let start = app.spec.layout.radial.start_angle_deg.to_radians();
    let max_label = (usize::from(area.width) / 3).max(8);

    let center_w = out.center.width() as u16;
    let mut taken: Vec<(u16, u16, u16)> = vec![(cy, cx.saturating_sub(center_w / 2), cx.saturating_sub(center_w / 2) + center_w)];
    for (ring_index, (_, entries)) in rings.iter().enumerate() {
        let frac = 0.35 + 0.65 * (ring_index as f64 + 1.0) / n;
        let (rx, ry) = (rx_max * frac, ry_max * frac);
        let k = entries.len() as f64;
        for (j, e) in entries.iter().enumerate() {
            let a = start + TAU * j as f64 / k + 0.37 * ring_index as f64;
            let x = (f64::from(cx) + rx * a.cos()).round().clamp(f64::from(area.x), f64::from(area.right() - 1)) as u16;
            let y = (f64::from(cy) + ry * a.sin()).round().clamp(f64::from(area.y), f64::from(area.bottom() - 1)) as u16;
            let icon = theme.icon(icon_hint(app, e));
            let count = if e.sockets > 1 { format!(" ×{}", e.sockets) } else { String::new() };
            let text = fit(&format!("{icon} {}{count}", crate::text::escape_control(&e.label)), max_label);
            let (label_x, label_y, text) = fit_label(&text, icon, x, y, a.cos() >= -0.1, area, &mut taken);
            out.nodes.push(Placed { node: e.node.clone(), x, y, label_width: text.width() as u16, text, label_x, label_y, state: e.state, mark: e.mark });
        }
    }
    out
}

/// Find a free row for a label near (x, y); fall back to the icon alone.
fn fit_label(text: &str, icon: &str, x: u16, y: u16, rightward: bool, area: Rect, taken: &mut Vec<(u16, u16, u16)>) -> (u16, u16, String) {
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
            let free = taken.iter().all(|&(ty, a, b)| ty != row || x0 + width < a || b < x0);
            if free {
                return Some((x0, row));
            }
        }
        None
    };
    for candidate in [text, icon] {
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
    let block = Block::bordered().title(title(app)).border_style(if focused { app.theme.title() } else { app.theme.dim() });
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
    let edges: Vec<Edge> = p
        .nodes
        .iter()
        .map(|n| {
            let style = app.spec.states.get(&n.state).map(|s| s.style);
            Edge {
                from: center,
                to: to_canvas(n.x, n.y),
                color: style.map_or(Color::Reset, |s| app.theme.ratatui_color(s.color)),
                style: style.map_or(LineStyle::Solid, |s| s.line),
            }
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

    let mut notes: Vec<String> = app.derived.map.notes.clone();
    if app.derived.map.more_listeners > 0 {
        notes.push(format!("+{} more listeners", app.derived.map.more_listeners));
    }
    if p.nodes.is_empty() {
        notes.push("no sockets in this view".into());
    }
    if !notes.is_empty() && inner.height > 2 {
        buf.set_stringn(inner.x, inner.bottom() - 1, notes.join(" · "), usize::from(inner.width), app.theme.dim());
    }
}
