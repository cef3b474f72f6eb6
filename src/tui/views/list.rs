//! The socket list: only the visible rows are built, whatever the total.
//!
//! ```text
//! ┌ sockets 127/127 · sort sev ▼ ─────────────────────────────────┐
//! │process     proto local         remote        state  age ↑/s ↓/s sev│
//! │nginx (813) tcp   10.0.0.5:443/https  api.github.com:443  ESTAB… 3m  24K│
//! ```

use std::fmt::Write;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{Block, Cell, Row, Table, Widget};
use unicode_width::UnicodeWidthStr;

use super::super::app::App;
use super::super::derived::container_of;
use super::super::naming;
use super::super::state::{Column, Pane};
use super::super::theme::{age, rate};
use crate::model::Severity;
use crate::text::escape_control;

/// Width each column needs; the process column's is measured (see
/// [`process_width`]).
fn width_of(c: Column, process: u16) -> u16 {
    match c {
        Column::Process => process,
        Column::Local | Column::Remote => 21,
        Column::State => 11,
        Column::Age | Column::Severity => 4,
        Column::Proto | Column::Up | Column::Down | Column::ProcUp | Column::ProcDown => 6,
        Column::Container => 16,
    }
}

/// Most useful first: the first four fit from 80 columns.
const PRIORITY: [Column; 12] = [
    Column::Process,
    Column::Remote,
    Column::State,
    Column::Severity,
    Column::Local,
    Column::Age,
    Column::Up,
    Column::Down,
    Column::Container,
    Column::ProcUp,
    Column::ProcDown,
    Column::Proto,
];

/// The columns that fit in `width` (the list's outer width), most useful
/// first, shown in display order; the sort column is always among them
/// (it takes the place of the least useful ones when it has to). The
/// container column only when some row runs in a container or unit.
pub fn visible_columns(width: u16, sort: Column, process: u16, containers: bool) -> Vec<Column> {
    let inner = width.saturating_sub(2);
    let need = |c: Column| width_of(c, process) + 1;
    let mut left = inner.saturating_sub(need(sort));
    let mut shown = vec![sort];
    for c in PRIORITY {
        if c == Column::Container && !containers {
            continue;
        }
        // A process's rates come after the addresses have room to breathe.
        // (both or neither: the pair reads as one).
        let slack = match c {
            Column::ProcUp if sort != Column::ProcDown => 12 + need(Column::ProcDown),
            Column::ProcDown if sort != Column::ProcUp => 12 + need(Column::ProcUp) * u16::from(!shown.contains(&Column::ProcUp)),
            _ => 0,
        };
        if c != sort && need(c) + slack <= left {
            left -= need(c);
            shown.push(c);
        }
    }
    Column::ALL.into_iter().filter(|c| shown.contains(c)).collect()
}

/// `name (pid)` for a row.
fn process_label(app: &App, sock: &crate::model::Socket) -> String {
    let s = &app.snapshot;
    sock.owner().map_or_else(|| "-".to_string(), |p| format!("{} ({p})", escape_control(s.process(p).map_or("?", |n| n.facts.name.as_str()))))
}

/// The process column's width: the widest `name (pid)` of the rows on
/// screen, between 13 and 24 cells.
fn process_width(app: &App, rows: &[u32]) -> u16 {
    let widest = rows.iter().map(|&r| process_label(app, &app.snapshot.sockets[r as usize]).width()).max().unwrap_or(0);
    u16::try_from(widest).unwrap_or(u16::MAX).clamp(13, 24)
}

/// `name (pid)` in `width` cells: the name is cut, never the pid.
pub fn fit_process(label: &str, width: usize) -> String {
    if label.width() <= width {
        return label.to_string();
    }
    match label.rfind(" (") {
        Some(i) => {
            let pid = &label[i..];
            let room = width.saturating_sub(pid.width());
            format!("{}{pid}", super::graph::fit(&label[..i], room))
        }
        None => super::graph::fit(label, width),
    }
}

pub fn title(app: &App) -> String {
    let arrow = match (app.ui.sort.descending, app.theme.plain) {
        (true, false) => "▼",
        (false, false) => "▲",
        (true, true) => "v",
        (false, true) => "^",
    };
    let mut t = format!(" sockets {}/{} · sort {} {arrow} ", app.derived.rows.len(), app.snapshot.sockets.len(), app.ui.sort.column.title());
    if !app.ui.filter_text.is_empty() {
        let _ = write!(t, "· filter {} ", escape_control(&app.ui.filter_text));
    }
    t
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let focused = app.ui.pane == Pane::List && !app.ui.detail_focus;
    let block = Block::bordered().title(title(app)).border_style(if focused { app.theme.title() } else { app.theme.dim() });
    let height = usize::from(area.height.saturating_sub(3));
    let selected = app.selected_row();
    let shown: Vec<u32> = app.derived.rows.iter().skip(app.ui.list_offset).take(height).copied().collect();
    let process = process_width(app, &shown);
    let containers = shown.iter().any(|&r| container_of(&app.snapshot, &app.snapshot.sockets[r as usize]).is_some());
    let columns = visible_columns(area.width, app.ui.sort.column, process, containers);
    let widths: Vec<Constraint> = columns
        .iter()
        .map(|&c| if matches!(c, Column::Remote | Column::Local) { Constraint::Min(width_of(c, process)) } else { Constraint::Length(width_of(c, process)) })
        .collect();
    // The widths the table will give its columns (its own layout: start
    // flex, one space between), so a service name is added only where it fits.
    let inner = block.inner(area);
    let cols = Layout::horizontal(widths.clone()).flex(Flex::Start).spacing(1).split(inner);
    let width = |c: Column| columns.iter().position(|&x| x == c).map_or(0, |i| usize::from(cols[i].width));
    let (local_width, remote_width, process_cells) = (width(Column::Local), width(Column::Remote), width(Column::Process));
    let s = &app.snapshot;
    let rows: Vec<Row<'_>> = app
        .derived
        .rows
        .iter()
        .enumerate()
        .skip(app.ui.list_offset)
        .take(height)
        .map(|(i, &r)| {
            let sock = &s.sockets[r as usize];
            let proc_name = fit_process(&process_label(app, sock), process_cells);
            let mark = super::super::derived::mark_at(&app.snapshot, r);
            let sev = mark.map_or(String::new(), |m| {
                if m.severity == Severity::Info { String::new() } else { m.severity.name()[..4.min(m.severity.name().len())].to_string() }
            });
            let state_style = app.spec.states.get(&sock.state()).map_or(Style::default(), |st| app.theme.color(st.style.color));
            let mut row_style = match mark {
                Some(m) if m.severity >= Severity::Medium => app.theme.glow_style(m.severity, m.highlight, false),
                _ => Style::default(),
            };
            if Some(i) == selected {
                row_style = if focused { row_style.add_modifier(Modifier::REVERSED) } else { row_style.add_modifier(Modifier::UNDERLINED) };
            }
            let (up, down) = (rate(sock.send_rate()), rate(sock.recv_rate()));
            let owner = sock.owner().and_then(|p| app.derived.rates_of(p));
            let service = naming::service(s, sock);
            let remote_service = naming::service_is_remote(sock);
            let cells: Vec<Cell<'_>> = columns
                .iter()
                .map(|c| match c {
                    Column::Process => Cell::from(proc_name.clone()),
                    Column::Proto => Cell::from(sock.key().protocol.to_string()),
                    Column::Local => Cell::from(naming::with_service(sock.raw.local.to_string(), service.as_deref().filter(|_| !remote_service), local_width)),
                    Column::Remote => Cell::from(naming::remote_cell(s, sock, service.as_deref().filter(|_| remote_service), remote_width)),
                    Column::State => Cell::from(sock.state().name()).style(state_style),
                    Column::Age => Cell::from(age(sock.age())),
                    Column::Up => Cell::from(up.clone()),
                    Column::Down => Cell::from(down.clone()),
                    Column::ProcUp => Cell::from(rate(owner.map(|r| r.up))),
                    Column::ProcDown => Cell::from(rate(owner.map(|r| r.down))),
                    Column::Container => {
                        Cell::from(super::graph::fit(&container_of(s, sock).map_or_else(|| "-".to_string(), |c| escape_control(&c)), width(Column::Container)))
                    }
                    Column::Severity => Cell::from(sev.clone()).style(mark.map_or(Style::default(), |m| app.theme.severity(m.severity))),
                })
                .collect();
            Row::new(cells).style(row_style)
        })
        .collect();
    let header = Row::new(columns.iter().map(|&c| {
        let mark = if c == app.ui.sort.column { if app.ui.sort.descending { "▼" } else { "▲" } } else { "" };
        let mark = if app.theme.plain { mark.replace('▼', "v").replace('▲', "^") } else { mark.to_string() };
        Cell::from(format!("{}{mark}", c.title()))
    }))
    .style(app.theme.title());
    Table::new(rows, widths).header(header).block(block).column_spacing(1).render(area, buf);
}
