//! The help overlay: every key of every mode, from the keymap in use (the
//! table with the config's rebindings). As many columns as the width
//! holds; when even those are too short, it scrolls (↑↓, `PgUp`, `PgDn`, g, G).
//!
//! ```text
//! ┌ keys · Esc or ? closes ─────────────────────────────────────────┐
//! │ explorer                        │ filter prompt                 │
//! │ q      quit (also Ctrl-C)       │ Enter  apply the filter       │
//! │ ?      this help                │ Esc    cancel (also Ctrl-C)   │
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

use super::super::app::App;
use super::super::keymap::{Mode, Row};
use super::graph::fit;

/// Narrowest column.
const COLUMN: u16 = 58;

fn line(app: &App, r: &Row, width: usize) -> Line<'static> {
    let key = format!(" {:<7}", r.keys);
    let rest = width.saturating_sub(key.chars().count() + 1);
    Line::from(vec![Span::styled(key, app.theme.title()), Span::raw(format!(" {}", fit(r.help, rest)))])
}

/// Every line of the help, at column width `width`: each mode's title,
/// then its keys.
fn lines(app: &App, width: usize) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for mode in Mode::ALL {
        if !out.is_empty() {
            out.push(Line::from(""));
        }
        out.push(Line::from(Span::styled(format!("{}:", mode.title()), app.theme.title())));
        out.extend(app.keymap.rows_of(mode).map(|r| line(app, r, width)));
        if mode == Mode::Prompt {
            out.push(Line::from("  other keys type; the filter language is under / above"));
        }
    }
    out.push(Line::from(""));
    out.push(Line::from(" mouse: click a row or a node; the wheel scrolls"));
    out
}

/// The overlay's box in `area`, its columns and rows per column.
fn frame(app: &App, area: Rect) -> (Rect, u16, usize, usize) {
    let columns = (area.width.saturating_sub(2) / COLUMN).clamp(1, 3);
    let w = area.width.min(COLUMN * columns + 2);
    let col_width = usize::from(w.saturating_sub(2) / columns);
    let total = lines(app, col_width.saturating_sub(1)).len();
    let per_column = total.div_ceil(usize::from(columns));
    let h = area.height.min(u16::try_from(per_column).unwrap_or(u16::MAX).saturating_add(2));
    let r = Rect::new(area.x + (area.width - w) / 2, area.y + (area.height - h) / 2, w, h);
    (r, columns, col_width, total)
}

/// How far the help can scroll in `area` (0 when it fits).
pub fn max_scroll(app: &App, area: Rect) -> usize {
    let (r, columns, _, total) = frame(app, area);
    let rows = usize::from(r.height.saturating_sub(2));
    total.div_ceil(usize::from(columns)).saturating_sub(rows)
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let (r, columns, col_width, _) = frame(app, area);
    // One cell between columns.
    let all = lines(app, col_width.saturating_sub(1));
    let per_column = all.len().div_ceil(usize::from(columns));
    let rows = usize::from(r.height.saturating_sub(2));
    let top = app.ui.help_scroll.min(per_column.saturating_sub(rows));
    Clear.render(r, buf);
    let mut block = Block::bordered().title(" keys · Esc or ? closes ").border_style(app.theme.title());
    if per_column > rows {
        block = block.title_bottom(Line::from(format!(" ↑↓ scroll · {}-{}/{} ", top + 1, (top + rows).min(per_column), per_column)).right_aligned());
    }
    let inner = block.inner(r);
    block.render(r, buf);
    for (c, chunk) in all.chunks(per_column.max(1)).enumerate() {
        let shown: Vec<Line<'static>> = chunk.iter().skip(top).take(rows).cloned().collect();
        let col = Rect::new(inner.x + col_width as u16 * c as u16, inner.y, col_width as u16, inner.height);
        Paragraph::new(shown).render(col, buf);
    }
}
