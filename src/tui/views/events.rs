//! The events pane (key `e`, in place of the map): recent findings and
//! Suricata alerts, newest first, with time, severity and subject (and,
//! for login findings, the attack phase), and beside them the raw login
//! events followed (time, kind, user, address, service; escaped and
//! bounded). Enter jumps to the subject (see `App::jump_to_event`).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget};

use super::super::app::App;
use super::graph::fit;
use crate::model::{EndpointKey, Finding, LoginEvent, Snapshot, Subject};
use crate::text::escape_control;

/// Most raw login events listed (the newest of the last day).
const LOGIN_ROWS: usize = 200;

/// One row of the pane: a finding or a raw login event.
#[derive(Debug, Clone, Copy)]
pub enum EventRow<'a> {
    Finding(&'a Finding),
    Login(&'a LoginEvent),
}

impl EventRow<'_> {
    /// When it happened (a finding: its last sighting).
    pub fn at_ms(&self) -> i64 {
        match self {
            Self::Finding(f) => f.last_seen_ms,
            Self::Login(e) => e.at_ms,
        }
    }

    /// What Enter jumps to: a login event's remote party.
    pub fn subject(&self) -> Subject {
        match self {
            Self::Finding(f) => f.subject,
            Self::Login(e) => Subject::Endpoint { endpoint: EndpointKey::host(e.remote) },
        }
    }
}

/// The events, newest first: findings by last sighting (then most
/// severe), login events by time, a finding before a login event of the
/// same millisecond.
pub fn rows(snapshot: &Snapshot) -> Vec<EventRow<'_>> {
    let mut v: Vec<&Finding> = snapshot.findings.iter().collect();
    v.sort_by(|a, b| b.last_seen_ms.cmp(&a.last_seen_ms).then(b.severity.cmp(&a.severity)).then_with(|| a.id.cmp(&b.id)));
    let mut out: Vec<EventRow<'_>> = v.into_iter().map(EventRow::Finding).collect();
    out.extend(super::logins::recent(snapshot, LOGIN_ROWS).into_iter().map(EventRow::Login));
    // Stable: each kind keeps its own order.
    out.sort_by_key(|r| std::cmp::Reverse(r.at_ms()));
    out
}

fn subject(s: &Snapshot, f: &Finding) -> String {
    match f.subject {
        Subject::Endpoint { endpoint } => format!("endpoint {}", endpoint.ip),
        Subject::Host => "this host".into(),
        Subject::Process { pid } => format!("process {} ({pid})", s.process(pid).map_or_else(|| "?".to_string(), |p| escape_control(&p.facts.name))),
        Subject::Socket { socket, pid } => {
            let remote = s.socket(socket).filter(|x| !x.raw.remote.ip().is_unspecified()).map_or_else(String::new, |x| format!(" → {}", x.raw.remote));
            format!("socket{remote}{}", pid.map_or_else(String::new, |p| format!(" ({p})")))
        }
    }
}

/// ` · phase` for a login finding (failed logins, brute force, …): the
/// attack phase its tags point to.
fn login_phase(f: &Finding) -> String {
    if crate::logins::rules::LoginRuleId::from_name(&f.rule_id).is_none() {
        return String::new();
    }
    f.tags.iter().find_map(|t| crate::intel::phase_of(t)).map_or_else(String::new, |p| format!(" · {}", p.name()))
}

/// `HH:MM:SS` of a Unix ms time (UTC), for the narrow time column.
fn clock(ms: i64) -> String {
    crate::duration::utc(ms).get(11..19).unwrap_or("--:--:--").to_string()
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let s = &app.snapshot;
    let events = rows(s);
    let selected = app.ui.events.unwrap_or(0).min(events.len().saturating_sub(1));
    let block = Block::bordered().title(format!(" events · {} · ↑↓ select · Enter jumps · e/Esc closes ", events.len())).border_style(app.theme.title());
    let inner = block.inner(area);
    block.render(area, buf);
    let height = usize::from(inner.height);
    let first = selected.saturating_sub(height.saturating_sub(1));
    let width = usize::from(inner.width);
    let mut lines: Vec<Line<'static>> = Vec::new();
    if events.is_empty() {
        lines.push(Line::from(" no findings or alerts yet"));
    }
    for (i, row) in events.iter().enumerate().skip(first).take(height) {
        let mark = if i == selected { "▶" } else { " " };
        let head = format!("{mark}{} ", clock(row.at_ms()));
        let style = if i == selected { app.theme.title() } else { ratatui::style::Style::default() };
        let (sev, sev_style, text) = match row {
            EventRow::Finding(f) => (
                format!("{:<8}", f.severity.name()),
                app.theme.severity(f.severity),
                format!(" {} · {}{}", escape_control(&f.rule_name), subject(s, f), login_phase(f)),
            ),
            EventRow::Login(e) => (format!("{:<8}", "login"), app.theme.dim(), format!(" {}", super::logins::event_text(e))),
        };
        let rest = width.saturating_sub(head.chars().count() + sev.chars().count() + 1);
        lines.push(Line::from(vec![Span::styled(head, style), Span::styled(sev, sev_style), Span::styled(fit(&text, rest), style)]));
    }
    Paragraph::new(lines).render(inner, buf);
}
