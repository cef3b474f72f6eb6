//! The help overlay: every key, from the keymap table. Two columns when the
//! terminal is too short for one.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

use super::super::app::App;
use super::super::keymap::{BINDINGS, Binding};
use super::graph::fit;

fn line(app: &App, b: &Binding, width: usize) -> Line<'static> {
    let key = format!(" {:<6}", b.keys);
    let rest = width.saturating_sub(key.chars().count() + 1);
    Line::from(vec![Span::styled(key, app.theme.title()), Span::raw(format!(" {}", fit(b.help, rest)))])
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let rows_needed = BINDINGS.len() as u16 + 1;
    let columns: u16 = if area.height >= rows_needed + 2 || area.width < 60 { 1 } else { 2 };
    let per_column = BINDINGS.len().div_ceil(usize::from(columns));
    let w = area.width.min(if columns == 1 { 84 } else { 160 });
    let h = area.height.min(per_column as u16 + 3);
    let r = Rect::new(area.x + (area.width - w) / 2, area.y + (area.height - h) / 2, w, h);
    Clear.render(r, buf);
    let block = Block::bordered().title(" keys · Esc or ? closes ").border_style(app.theme.title());
    let inner = block.inner(r);
    block.render(r, buf);
    let col_width = inner.width / columns;
    for (c, chunk) in BINDINGS.chunks(per_column).enumerate() {
        let mut lines: Vec<Line<'static>> = chunk.iter().map(|b| line(app, b, usize::from(col_width))).collect();
        if c + 1 == usize::from(columns) {
            lines.push(Line::from(" mouse: click a row or a node; the wheel scrolls"));
        }
        let col = Rect::new(inner.x + col_width * c as u16, inner.y, col_width, inner.height);
        Paragraph::new(lines).render(col, buf);
    }
}
