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

use super::super::app::App;
use super::super::naming;
use super::super::state::{Column, Pane};
use super::super::theme::{age, rate};
use crate::model::Severity;
use crate::text::escape_control;

/// Width each column needs.
fn width_of(c: Column) -> u16 {
    match c {
        Column::Process => 13,
        Column::Proto => 5,
        Column::Local | Column::Remote => 21,
        Column::State => 11,
        Column::Age | Column::Severity => 4,
        Column::Up | Column::Down => 6,
    }
}

/// The columns that fit in `width`, most useful first, shown in order.
pub fn visible_columns(width: u16) -> Vec<Column> {
    const PRIORITY: [Column; 9] =
        [Column::Process, Column::State, Column::Remote, Column::Severity, Column::Age, Column::Local, Column::Proto, Column::Up, Column::Down];
    let mut left = width.saturating_sub(2);
    let mut shown = Vec::new();
    for c in PRIORITY {
        let need = width_of(c) + 1;
        if need <= left {
            left -= need;
            shown.push(c);
        }
    }
    Column::ALL.into_iter().filter(|c| shown.contains(c)).collect()
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
    let focused = app.ui.pane == Pane::List;
    let block = Block::bordered().title(title(app)).border_style(if focused { app.theme.title() } else { app.theme.dim() });
    let height = usize::from(area.height.saturating_sub(3));
    let selected = app.selected_row();
    let columns = visible_columns(area.width);
    let widths: Vec<Constraint> = columns
        .iter()
        .map(|&c| if matches!(c, Column::Process | Column::Remote | Column::Local) { Constraint::Min(width_of(c)) } else { Constraint::Length(width_of(c)) })
        .collect();
    // The widths the table will give its columns (its own layout: start
    // flex, one space between), so a service name is added only where it fits.
    let inner = block.inner(area);
    let cols = Layout::horizontal(widths.clone()).flex(Flex::Start).spacing(1).split(inner);
    let width = |c: Column| columns.iter().position(|&x| x == c).map_or(0, |i| usize::from(cols[i].width));
    let (local_width, remote_width) = (width(Column::Local), width(Column::Remote));
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
            let proc_name = sock.owner().map_or_else(|| "-".to_string(), |p| format!("{} ({p})", s.process(p).map_or("?", |n| n.facts.name.as_str())));
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
            let (up, down) = (rate(sock.send_rate), rate(sock.recv_rate));
            let service = naming::service(s, sock);
            let remote_service = naming::service_is_remote(sock);
            let cells: Vec<Cell<'_>> = columns
                .iter()
                .map(|c| match c {
                    Column::Process => Cell::from(escape_control(&proc_name)),
                    Column::Proto => Cell::from(sock.key().protocol.to_string()),
                    Column::Local => Cell::from(naming::with_service(sock.raw.local.to_string(), service.as_deref().filter(|_| !remote_service), local_width)),
                    Column::Remote => Cell::from(naming::remote_cell(s, sock, service.as_deref().filter(|_| remote_service), remote_width)),
                    Column::State => Cell::from(sock.state().name()).style(state_style),
                    Column::Age => Cell::from(age(sock.age)),
                    Column::Up => Cell::from(up.clone()),
                    Column::Down => Cell::from(down.clone()),
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
