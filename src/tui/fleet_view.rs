//! The fleet explorer's screen: hosts with their worst severity on the
//! left, host-to-host edges (both processes) on the right; Enter on a
//! host drills down into it (its processes → peers and its recent events,
//! [`super::fleet_drill`]), Esc comes back. Grouped
//! (`--group-by role`), hosts sit under a line per group and each edge's
//! ends carry their group.
//!
//! ```text
//!  ┌ hosts ───────────────┐┌ edges (last hour) ──────────────────────────┐
//!  │> db-1     high       ││ web-1 nginx → db-1:5432 postgres  tcp ×12   │
//!  │  web-1    -          ││                                             │
//!  └──────────────────────┘└─────────────────────────────────────────────┘
//!   j/k select  Enter drill down  Esc back  r refresh  q quit
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

use super::theme::Theme;
use crate::fleet::drill::HostMap;
use crate::fleet::view::FleetMap;

/// What the fleet screen shows besides the map.
#[derive(Debug, Clone, Default)]
pub struct FleetScreen {
    pub map: FleetMap,
    pub selected: usize,
    /// The selected host's map and events, when drilled down.
    pub drill: Option<HostMap>,
    /// The last error reading the database, shown in the status line.
    pub error: Option<String>,
}

fn clean(s: &str) -> String {
    crate::text::escape_control(&crate::text::bounded(s, 48))
}

impl FleetScreen {
    /// One edge: `[web] web-1 nginx ──5432/tcp──▶ [db] db-1 postgres  ×12`
    /// (the group tags when grouped), on two lines when `narrow`.
    fn edge_lines(&self, e: &crate::fleet::edges::Edge, theme: Theme, narrow: bool) -> Vec<Line<'static>> {
        let tag = |id: &str| self.map.group_of_id(id).map_or_else(String::new, |g| format!("[{}] ", clean(&g)));
        let from = format!("{}{} {}", tag(&e.from.host_id), clean(&e.from.host), clean(e.from.process.as_deref().unwrap_or("?")));
        let to = format!("{}{} {}  ×{}", tag(&e.to.host_id), clean(&e.to.host), clean(e.to.process.as_deref().unwrap_or("?")), e.connections);
        if narrow {
            vec![Line::from(from), Line::from(vec![Span::styled(format!("  └─{}/{}─▶ ", e.port, e.protocol), theme.title()), Span::raw(to)])]
        } else {
            vec![Line::from(vec![Span::raw(from), Span::styled(format!(" ──{}/{}──▶ ", e.port, e.protocol), theme.title()), Span::raw(to)])]
        }
    }

    /// Draw into `buf` (pure: reads `self` only).
    pub fn render(&self, theme: Theme, area: Rect, buf: &mut Buffer) {
        let [main, status] = Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
        let hint = |drilled: bool| match &self.error {
            Some(e) => format!(" {}", clean(e)),
            None if drilled => " Esc back to the fleet  j/k another host  r refresh  q quit".to_string(),
            None => " j/k select  Enter drill down  Esc back  r refresh  q quit".to_string(),
        };
        if let Some(drill) = &self.drill {
            super::fleet_drill::render(drill, theme, main, buf);
            Paragraph::new(hint(true)).render(status, buf);
            return;
        }
        let [left, right] = Layout::horizontal([Constraint::Length(34), Constraint::Min(20)]).areas(main);
        let mut hosts: Vec<Line> = Vec::new();
        let mut group = None;
        for (i, h) in self.map.hosts.iter().enumerate() {
            let g = self.map.group_label(h);
            if g.is_some() && g != group {
                let count = self.map.hosts.iter().filter(|o| self.map.group_label(o) == g).count();
                hosts.push(Line::from(Span::styled(format!("{} ({count})", clean(g.as_deref().unwrap_or_default())), theme.title())));
                group = g;
            }
            hosts.push({
                let marker = if i == self.selected { "> " } else { "  " };
                let worst = FleetMap::worst(h);
                let sev =
                    Span::styled(format!("{:<8}", worst.map_or("-", crate::terms::Severity::name)), worst.map_or(Style::default(), |s| theme.severity(s)));
                let name = Span::styled(
                    format!("{marker}{:<18} ", clean(&h.name)),
                    if i == self.selected { Style::default().add_modifier(Modifier::REVERSED) } else { Style::default() },
                );
                Line::from(vec![name, sev, Span::raw(format!(" {}", h.sockets))])
            });
        }
        Paragraph::new(hosts)
            .block(Block::default().borders(Borders::ALL).title(Span::styled(
                match &self.map.group_by {
                    Some(by) => format!(" hosts by {} ({}) ", by.name(), self.map.hosts.len()),
                    None => format!(" hosts ({}) ", self.map.hosts.len()),
                },
                theme.title(),
            )))
            .render(left, buf);
        // Too narrow for an edge on one line: the client on one, the arrow and the server under it.
        let narrow = right.width.saturating_sub(2) < 60;
        let title = format!(" host-to-host edges, last hour ({}) ", self.map.edges.len());
        let lines: Vec<Line> = self.map.edges.iter().flat_map(|e| self.edge_lines(e, theme, narrow)).collect();
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(Span::styled(title, theme.title()))).render(right, buf);
        Paragraph::new(hint(false)).render(status, buf);
    }
}
