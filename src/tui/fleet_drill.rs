//! The fleet explorer's drill-down into one host (Enter on it): its map
//! from the current-state tables, processes → peers (a peer that is a
//! fleet host named by it, with its process there), and below it the
//! host's recent findings and alerts with first and last seen.
//!
//! ```text
//!  ┌ web-1: processes → peers (2) ────────────────────────────────┐
//!  │ nginx  pid 812  www-data  listens tcp/80                      │
//!  │   → db-1 postgres  10.77.0.2:5432/tcp  ×3                     │
//!  │   ← lb-1 haproxy  from 10.77.0.9 on :80/tcp  ×2               │
//!  └──────────────────────────────────────────────────────────────┘
//!  ┌ recent events, last day (1) ─────────────────────────────────┐
//!  │ high     finding  odd outbound · process 812                  │
//!  │          first 12-02 04:10  last 12-02 04:40                  │
//!  └──────────────────────────────────────────────────────────────┘
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Padding, Paragraph, Widget};

use super::theme::Theme;
use crate::fleet::drill::{HostEvent, HostMap, Peer, ProcessPeers};

fn clean(s: &str, max: usize) -> String {
    crate::text::escape_control(&crate::text::bounded(s, max))
}

/// `MM-DD HH:MM` (UTC) of a Unix ms time.
fn short_time(ms: i64) -> String {
    let full = crate::duration::utc(ms);
    full.get(5..16).map_or(full.clone(), str::to_string)
}

fn process_line(p: &ProcessPeers, theme: Theme) -> Line<'static> {
    let mut spans = vec![Span::styled(clean(if p.name.is_empty() { "?" } else { &p.name }, 32), theme.title())];
    if let Some(pid) = p.pid {
        spans.push(Span::raw(format!("  pid {pid}")));
    }
    if let Some(user) = &p.user {
        spans.push(Span::styled(format!("  {}", clean(user, 24)), theme.dim()));
    }
    if !p.listens.is_empty() {
        spans.push(Span::raw(format!("  listens {}", p.listens.iter().map(|l| clean(l, 16)).collect::<Vec<_>>().join(" "))));
    }
    Line::from(spans)
}

fn peer_line(x: &Peer, theme: Theme) -> Line<'static> {
    let fleet = x.host.as_ref().map(|h| format!("{} {}  ", clean(h, 32), clean(x.process.as_deref().unwrap_or("?"), 24)));
    let (arrow, place) = if x.direction == "inbound" {
        let on = x.local_port.map_or_else(String::new, |p| format!(" on :{p}"));
        ("←", if fleet.is_some() { format!("from {}{on}", clean(&x.address, 48)) } else { format!("{}{on}", clean(&x.address, 48)) })
    } else {
        ("→", clean(&x.address, 48))
    };
    let mut spans = vec![Span::styled(format!("  {arrow} "), theme.dim())];
    if let Some(f) = fleet {
        spans.push(Span::styled(f, theme.title()));
    }
    spans.push(Span::raw(format!("{place}/{}  ×{}", clean(&x.protocol, 8), x.sockets)));
    Line::from(spans)
}

fn event_lines(e: &HostEvent, theme: Theme) -> [Line<'static>; 2] {
    let severity = crate::store::severity_of_rank(i64::from(e.severity));
    let head = Line::from(vec![
        Span::styled(format!("{:<8} ", crate::terms::Severity::name(severity)), theme.severity(severity)),
        Span::raw(format!("{:<8} {} · {}", e.kind, clean(&e.title, 60), clean(&e.subject, 48))),
    ]);
    let count = if e.kind == "alert" { format!("  ×{}", e.count) } else { String::new() };
    let when = Line::from(Span::styled(format!("{:9}first {}  last {}{count}", "", short_time(e.first_ms), short_time(e.last_ms)), theme.dim()));
    [head, when]
}

/// Draw `map` into `area` of `buf`: the host's processes and peers on
/// top, its recent events below (pure: reads `map` only).
pub fn render(map: &HostMap, theme: Theme, area: Rect, buf: &mut Buffer) {
    let events: Vec<Line> = if map.events.is_empty() {
        vec![Line::from(Span::styled("none in the last day", theme.dim()))]
    } else {
        map.events.iter().flat_map(|e| event_lines(e, theme)).collect()
    };
    let peers: usize = map.processes.iter().map(|p| p.peers.len()).sum();
    let mut lines: Vec<Line> = Vec::new();
    for p in &map.processes {
        lines.push(process_line(p, theme));
        lines.extend(p.peers.iter().map(|x| peer_line(x, theme)));
    }
    if lines.is_empty() {
        lines.push(Line::from(Span::styled("no open sockets in the host's current state", theme.dim())));
    }
    // The events keep up to a third of the height (at least one line of
    // them); the map takes what it needs of the rest, the events sit right
    // under it.
    let rows = |n: usize| u16::try_from(n).unwrap_or(u16::MAX).saturating_add(2);
    let events_min = rows(events.len()).min(area.height / 3).max(3);
    let map_height = rows(lines.len()).max(4).min(area.height.saturating_sub(events_min));
    let [top, bottom, _] = Layout::vertical([
        Constraint::Length(map_height),
        Constraint::Length(rows(events.len()).min(area.height.saturating_sub(map_height))),
        Constraint::Min(0),
    ])
    .areas(area);
    let shown = usize::from(top.height.saturating_sub(2));
    if lines.len() > shown && shown > 0 {
        let more = lines.len() - (shown - 1);
        lines.truncate(shown - 1);
        lines.push(Line::from(Span::styled(format!("… {more} more lines"), theme.dim())));
    }
    let title = format!(" {}: processes → peers ({} processes, {peers} peers) ", clean(&map.name, 48), map.processes.len());
    let block = |title: String| Block::default().borders(Borders::ALL).padding(Padding::horizontal(1)).title(Span::styled(title, theme.title()));
    Paragraph::new(lines).block(block(title)).render(top, buf);
    let title = format!(" recent events, last day ({}) ", map.events.len());
    Paragraph::new(events).block(block(title)).render(bottom, buf);
}
