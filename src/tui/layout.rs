//! Where each pane goes.
//!
//! ```text
//! ┌ banner ────────────────────────────────────────────────────────┐
//! ├ map (graph or tree) ≈65% ──────────┬ detail ───────────────────┤
//! │                                     ├ activity (sparkline) ─────┤
//! │                                     ├ sockets (list) ───────────┤
//! ├ status: key hints · health ─────────────────────────────────────┤
//! ```

use ratatui::layout::{Constraint, Layout, Rect};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub banner: Rect,
    pub map: Rect,
    pub detail: Rect,
    pub activity: Rect,
    pub list: Rect,
    pub status: Rect,
}

pub fn areas(area: Rect) -> Areas {
    let [banner, main, status] = Layout::vertical([Constraint::Length(1), Constraint::Min(0), Constraint::Length(1)]).areas(area);
    let [map, side] = Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(main);
    let [detail, activity, list] = Layout::vertical([Constraint::Percentage(42), Constraint::Length(4), Constraint::Min(3)]).areas(side);
    Areas { banner, map, detail, activity, list, status }
}
