//! The map's legend (`L`): what the icons and lines mean, in a box in the
//! map's lower right corner. Icons come from the theme, line styles and
//! colours from the spec's states, so the legend always reads like the map.
//!
//! ```text
//! ┌ legend · L closes ───────────────┐
//! │◆ process  ◈ processes (n)        │
//! │⚰ listener ● endpoint             │
//! │☠ finding  👻 SYN_SENT TIME_WAIT   │
//! │── ESTABLISHED LISTEN              │
//! │- - SYN_SENT FIN_WAIT1 UDP         │
//! │×n sockets · (n) members           │
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};
use unicode_width::UnicodeWidthStr;

use super::super::app::App;
use crate::spec::{IconHint, LineStyle};

/// The legend's lines, at most `max` cells wide (a line style's states
/// go on as many lines as they need).
pub fn lines(app: &App, max: usize) -> Vec<Line<'static>> {
    let t = app.theme;
    let mut out = vec![
        Line::from(format!("{} process  {} processes (n members)", t.process_icon(false), t.process_icon(true))),
        Line::from(format!("{} listener  {} endpoint or group", t.icon(IconHint::Coffin), t.icon(IconHint::None))),
        Line::from(format!("{} finding (its colour: severity)", t.icon(IconHint::Skull))),
    ];
    // Icons the states carry, then line styles, each with its states.
    for hint in [IconHint::Ghost, IconHint::Pumpkin] {
        let states: Vec<&str> = app.spec.states.iter().filter(|(_, s)| s.style.icon == hint).map(|(k, _)| k.name()).collect();
        if !states.is_empty() {
            out.push(Line::from(format!("{} {}", t.icon(hint), states.join(" "))));
        }
    }
    for (line, mark) in [(LineStyle::Solid, "──"), (LineStyle::Dashed, "- -"), (LineStyle::Dotted, "···")] {
        let lead = format!("{mark:<4}");
        let mut spans = vec![Span::raw(lead.clone())];
        let mut width = lead.width();
        for (k, s) in app.spec.states.iter().filter(|(_, s)| s.style.line == line) {
            let word = format!("{} ", k.name());
            if width + word.width() > max && spans.len() > 1 {
                out.push(Line::from(std::mem::take(&mut spans)));
                spans.push(Span::raw(" ".repeat(lead.width())));
                width = lead.width();
            }
            width += word.width();
            spans.push(Span::styled(word, t.color(s.style.color)));
        }
        out.push(Line::from(spans));
    }
    out.push(Line::from("×n sockets · L or Esc closes"));
    out
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let text = lines(app, usize::from(area.width.saturating_sub(2)));
    let widest = text.iter().map(|l| l.spans.iter().map(|s| s.content.width()).sum::<usize>()).max().unwrap_or(0);
    let w = (u16::try_from(widest).unwrap_or(u16::MAX) + 2).min(area.width);
    let h = (text.len() as u16 + 2).min(area.height);
    let r = Rect::new(area.right().saturating_sub(w), area.bottom().saturating_sub(h), w, h);
    Clear.render(r, buf);
    Paragraph::new(text).block(Block::bordered().title(" legend ").border_style(app.theme.title())).render(r, buf);
}
