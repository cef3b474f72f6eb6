//! The help overlay: every key, from the keymap table.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget, Wrap};

use super::super::app::App;
use super::super::keymap::BINDINGS;

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let w = area.width.min(84);
    let h = area.height.min(BINDINGS.len() as u16 + 6);
    let r = Rect::new(area.x + (area.width - w) / 2, area.y + (area.height - h) / 2, w, h);
    Clear.render(r, buf);
    let mut lines: Vec<Line<'_>> =
        BINDINGS.iter().map(|b| Line::from(vec![Span::styled(format!(" {:<7}", b.keys), app.theme.title()), Span::raw(b.help)])).collect();
    lines.push(Line::from(""));
    lines.push(Line::from(" mouse: click a row or a node to select it; wheel scrolls"));
    Paragraph::new(lines).wrap(Wrap { trim: false }).block(Block::bordered().title(" keys · Esc or ? closes ").border_style(app.theme.title())).render(r, buf);
}
