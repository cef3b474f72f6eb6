//! Where each pane goes. Wide terminals (≥ [`WIDE`] columns):
//!
//! ```text
//! ┌ banner ────────────────────────────────────────────────────────┐
//! ├ map (graph or tree) 58% ───────────┬ detail ───────────────────┤
//! │                                     ├ activity (sparkline) ─────┤
//! │                                     ├ sockets (list) ───────────┤
//! ├ status: key hints · health ─────────────────────────────────────┤
//! ```
//!
//! Narrower ones give the list the whole width under the map and the
//! detail, so process, remote, state and severity fit from 80 columns:
//!
//! ```text
//! ┌ banner ────────────────────────────────────────────────────────┐
//! ├ map 58% ──────────────────────────┬ detail ────────────────────┤
//! │                                    ├ activity (when tall) ──────┤
//! ├ sockets (list), the whole width ────────────────────────────────┤
//! ├ status ─────────────────────────────────────────────────────────┤
//! ```

use ratatui::layout::{Constraint, Layout, Rect};

/// From this width on the list sits beside the map.
pub const WIDE: u16 = 160;

/// Rows the side column needs before it also shows the activity sparkline.
const ACTIVITY_FROM: u16 = 16;

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
    if area.width >= WIDE {
        let [map, side] = Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(main);
        let [detail, activity, list] = Layout::vertical([Constraint::Percentage(42), Constraint::Length(4), Constraint::Min(3)]).areas(side);
        return Areas { banner, map, detail, activity, list, status };
    }
    let [top, list] = Layout::vertical([Constraint::Percentage(55), Constraint::Min(3)]).areas(main);
    let [map, side] = Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(top);
    let activity_rows = if side.height >= ACTIVITY_FROM { 4 } else { 0 };
    let [detail, activity] = Layout::vertical([Constraint::Min(0), Constraint::Length(activity_rows)]).areas(side);
    Areas { banner, map, detail, activity, list, status }
}
