//! Drawing: pure functions of `&App`. One argument order everywhere:
//! `(app, area, buf)`.

pub mod detail;
pub mod events;
pub mod graph;
pub mod help;
mod legend;
pub mod list;
pub mod logins;
mod mcp_detail;
pub mod tree;

use std::fmt::Write;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Sparkline, Widget};
use unicode_width::UnicodeWidthStr;

use super::app::App;
use super::layout::areas;
use super::state::{MapMode, NoticeKind};
use super::theme::bytes;
use crate::model::{HealthLevel, Severity};
use crate::text::escape_control;

/// Draw the whole screen.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let a = areas(area);
    banner(app, a.banner, buf);
    match (app.ui.events, app.ui.map_mode) {
        (Some(_), _) => events::render(app, a.map, buf),
        (None, MapMode::Graph) => graph::render(app, a.map, buf),
        (None, _) => tree::render(app, a.map, buf),
    }
    detail::render(app, a.detail, buf);
    activity(app, a.activity, buf);
    list::render(app, a.list, buf);
    status(app, a.status, buf);
    if app.ui.help {
        help::render(app, area, buf);
    }
}

fn severity_counts(app: &App) -> [usize; 4] {
    let mut c = [0; 4];
    for f in &app.snapshot.findings {
        match f.severity {
            Severity::Critical => c[0] += 1,
            Severity::High => c[1] += 1,
            Severity::Medium => c[2] += 1,
            Severity::Low => c[3] += 1,
            Severity::Info => {}
        }
    }
    c
}

fn banner(app: &App, area: Rect, buf: &mut Buffer) {
    let s = &app.snapshot;
    let [crit, high, med, low] = severity_counts(app);
    let icon = app.theme.icon(crate::spec::IconHint::Coffin);
    let mut parts = vec![format!("{icon} necromap"), escape_control(&s.source.host)];
    // Flags first: they must not be cut off on a narrow terminal.
    if app.status.frozen {
        parts.push("FROZEN".into());
    }
    if app.status.finished {
        parts.push("replay ended".into());
    }
    if app.updating() {
        parts.push("updating…".into());
    }
    if let Some(e) = &app.status.last_error {
        parts.push(format!("refresh failed: {}", escape_control(e)));
    }
    if let Some(m) = s.health.messages.iter().find(|m| m.topic == Some(crate::model::HealthTopic::Store)) {
        parts.push(if m.level == HealthLevel::Error { "⚠ STORE FAILING".into() } else { "⚠ no store".into() });
    }
    let flags = parts.len();
    parts.extend([
        format!("{} sockets", s.sockets.len()),
        format!("{} processes", s.processes.len()),
        format!("findings {crit} crit {high} high {med} med {low} low"),
        format!("⟳ {:.1}s", app.status.interval_ms as f64 / 1000.0),
        format!("{} unowned", s.health.unowned.total),
    ]);
    if s.source.kind == crate::collect::SourceKind::Replay {
        parts.push(format!("replay #{}", s.generation));
    }
    if let Some(note) = &app.mcp_note {
        parts.push(note.clone());
    }
    let width = usize::from(area.width);
    let mut text = parts.join(" · ");
    if text.width() > width {
        // Narrow: the host and the counts a person reads first stay whole
        // (the findings before the processes, no `necromap` word), the
        // rest is cut.
        let mut short = vec![format!("{icon} {}", escape_control(&s.source.host))];
        short.extend(parts[2..flags].iter().cloned());
        short.push(format!("{} sockets", s.sockets.len()));
        short.push(format!("{crit} crit {high} high {med} med {low} low"));
        short.push(format!("{} procs", s.processes.len()));
        short.extend(parts[flags + 3..].iter().cloned());
        text = short.join(" · ");
    }
    buf.set_stringn(area.x, area.y, graph::fit(&text, width), width, app.theme.title());
}

fn activity(app: &App, area: Rect, buf: &mut Buffer) {
    if area.is_empty() {
        return;
    }
    let data: Vec<u64> = app.activity.iter().rev().take(usize::from(area.width.saturating_sub(2))).rev().copied().collect();
    let now = data.last().copied().unwrap_or(0);
    let secs = (app.activity.len() as u64 * app.status.interval_ms) / 1000;
    Sparkline::default()
        .data(&data)
        .style(app.theme.severity(Severity::Low))
        .block(Block::bordered().title(format!(" activity · {}/s · last {secs}s ", bytes(now))).border_style(app.theme.dim()))
        .render(area, buf);
}

fn status(app: &App, area: Rect, buf: &mut Buffer) {
    let width = usize::from(area.width);
    if let Some(input) = &app.ui.input {
        let hint = " Enter applies · Esc cancels";
        let mut spans = vec![Span::styled("/ ", app.theme.title())];
        spans.extend(input.spans(width.saturating_sub(2 + hint.chars().count()).max(12)));
        spans.push(Span::raw(hint));
        if let Some(e) = &app.ui.filter_error {
            spans.push(Span::styled(format!("  {}", escape_control(e)), app.theme.error()));
        }
        Paragraph::new(Line::from(spans)).render(area, buf);
        return;
    }
    if let Some(e) = &app.ui.filter_error {
        Paragraph::new(Line::from(Span::styled(format!("filter: {} (press / to fix)", escape_control(e)), app.theme.error()))).render(area, buf);
        return;
    }
    let keys: Vec<String> = app.keymap.hints().iter().map(|(k, w)| format!("{k} {w}")).collect();
    let mut text = keys.join(" · ");
    // A notice first, then the hints after it.
    let mut x = area.x;
    if let Some(n) = &app.ui.notice {
        let style = match n.kind {
            NoticeKind::Alert => app.theme.glow_style(Severity::Critical, None, false).add_modifier(ratatui::style::Modifier::BOLD),
            NoticeKind::Info | NoticeKind::ConfirmQuit => app.theme.title(),
        };
        let shown = graph::fit(&format!("{} │ ", escape_control(&n.text)), width);
        let (end, _) = buf.set_stringn(x, area.y, &shown, width, style);
        x = end;
    }
    let width = width.saturating_sub(usize::from(x - area.x));
    let health = app
        .status
        .last_error
        .iter()
        .map(|e| (HealthLevel::Error, e.clone()))
        .chain(app.snapshot.health.messages.iter().map(|m| (m.level, m.text.clone())))
        .max_by_key(|(l, _)| *l);
    if let Some((level, msg)) = health {
        let _ = write!(text, " │ {level:?}: {}", escape_control(&msg));
    }
    let style = if app.status.last_error.is_some() { app.theme.error() } else { app.theme.dim() };
    buf.set_stringn(x, area.y, graph::fit(&text, width), width, style);
}

/// The text that replaces the map below the spec's small size.
pub fn summary_lines(app: &App) -> Vec<Line<'static>> {
    let s = &app.snapshot;
    let mut lines = vec![Line::from(format!("{} sockets, {} endpoints, {} listeners", s.sockets.len(), s.endpoints.len(), s.listeners.len()))];
    let mut eps: Vec<_> = app.derived.map.endpoints.iter().collect();
    eps.sort_by_key(|e| std::cmp::Reverse(e.sockets));
    for e in eps.iter().take(5) {
        lines.push(Line::from(format!("{} ×{} {}", escape_control(&e.label), e.sockets, e.state)));
    }
    lines.push(Line::from("(enlarge the terminal for the map)"));
    lines
}
