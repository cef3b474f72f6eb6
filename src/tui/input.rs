//! Input: key presses through the keymap of the mode they come in
//! (explorer, focused detail, filter prompt, events pane, help, the
//! question to quit), mouse clicks and the wheel, resizes.

use crossterm::event::{Event, KeyEvent, KeyEventKind, MouseButton, MouseEventKind};

use super::app::{App, Effect};
use super::keymap::{Action, Mode};
use super::layout::Areas;
use super::prompt::Outcome;
use super::state::{MapMode, NoticeKind, Pane};
use super::views::{graph, tree};

impl App {
    pub fn on_event(&mut self, event: &Event) -> Vec<Effect> {
        match event {
            Event::Key(key) if key.kind != KeyEventKind::Release => self.on_key(key),
            Event::Mouse(m) => {
                match m.kind {
                    MouseEventKind::Down(MouseButton::Left) => self.click(m.column, m.row),
                    MouseEventKind::ScrollDown => return self.wheel(m.column, m.row, 1),
                    MouseEventKind::ScrollUp => return self.wheel(m.column, m.row, -1),
                    _ => {}
                }
                Vec::new()
            }
            Event::Resize(w, h) => {
                self.resize(*w, *h);
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    pub fn resize(&mut self, w: u16, h: u16) {
        self.size = (w, h);
        self.class = self.spec.layout.size_classes.classify(w, h);
        self.rederive();
    }

    /// Where keys go now: the prompt, the events pane, the help, the
    /// question to quit, a focused detail, or the explorer.
    pub fn mode(&self) -> Mode {
        if self.ui.input.is_some() {
            Mode::Prompt
        } else if self.ui.events.is_some() {
            Mode::Events
        } else if self.ui.help {
            Mode::Help
        } else if self.ui.notice.as_ref().is_some_and(|n| n.kind == NoticeKind::ConfirmQuit) {
            Mode::Confirm
        } else if self.ui.detail_focus {
            Mode::Detail
        } else {
            Mode::Normal
        }
    }

    /// A key, through the keymap of the mode it comes in.
    fn on_key(&mut self, key: &KeyEvent) -> Vec<Effect> {
        let mode = self.mode();
        let action = self.keymap.action(mode, key);
        // A notice lasts until the next key.
        if self.ui.notice.take().is_some() {
            self.dirty = true;
        }
        match mode {
            Mode::Prompt => {
                self.edit(key);
                return Vec::new();
            }
            Mode::Events => {
                self.events_key(action);
                return Vec::new();
            }
            Mode::Help => match action {
                Some(Action::Back) => {
                    self.ui.help = false;
                    self.dirty = true;
                    return Vec::new();
                }
                Some(Action::Up | Action::Down | Action::PageUp | Action::PageDown | Action::Top | Action::Bottom) => {
                    let step: isize = match action {
                        Some(Action::Up) => -1,
                        Some(Action::Down) => 1,
                        Some(Action::PageUp) => -10,
                        Some(Action::PageDown) => 10,
                        Some(Action::Top) => -10_000,
                        _ => 10_000,
                    };
                    let max = super::views::help::max_scroll(self, ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1));
                    self.ui.help_scroll = self.ui.help_scroll.saturating_add_signed(step).min(max);
                    self.dirty = true;
                    return Vec::new();
                }
                _ => {}
            },
            Mode::Normal | Mode::Detail | Mode::Confirm => {}
        }
        action.map(|a| self.apply(a)).unwrap_or_default()
    }

    /// A key in the filter prompt.
    fn edit(&mut self, key: &KeyEvent) {
        let Some(prompt) = self.ui.input.as_mut() else { return };
        match prompt.on_key(key, &self.ui.filter_history) {
            Outcome::Accept(text) => {
                self.ui.input = None;
                self.ui.filter_history.push(&text);
                self.set_filter(&text);
            }
            Outcome::Cancel => self.ui.input = None,
            Outcome::Edited | Outcome::Ignored => {}
        }
        self.dirty = true;
    }

    /// A key in the events pane.
    fn events_key(&mut self, action: Option<Action>) {
        let Some(sel) = self.ui.events else { return };
        let n = super::views::events::rows(&self.snapshot).len();
        self.dirty = true;
        match action {
            Some(Action::Back) => self.ui.events = None,
            Some(Action::Up) => self.ui.events = Some(sel.saturating_sub(1)),
            Some(Action::Down) => self.ui.events = Some((sel + 1).min(n.saturating_sub(1))),
            Some(Action::Inspect) => self.jump_to_event(sel),
            _ => {}
        }
    }

    /// The mouse wheel: over the detail it scrolls the detail, elsewhere
    /// it moves the selection of the focused pane.
    fn wheel(&mut self, x: u16, y: u16, delta: isize) -> Vec<Effect> {
        if self.areas().detail.contains(ratatui::layout::Position::new(x, y)) {
            self.scroll_detail(delta * 3);
            self.dirty = true;
            return Vec::new();
        }
        self.apply(if delta > 0 { Action::Down } else { Action::Up })
    }

    fn click(&mut self, x: u16, y: u16) {
        let a = self.areas();
        let pos = ratatui::layout::Position::new(x, y);
        self.ui.detail_focus = a.detail.contains(pos);
        let before = super::views::detail::target(self);
        self.click_at(a, pos);
        if super::views::detail::target(self) != before {
            self.ui.detail_scroll = 0;
        }
        self.dirty = true;
    }

    fn click_at(&mut self, a: Areas, pos: ratatui::layout::Position) {
        let (x, y) = (pos.x, pos.y);
        if a.list.contains(pos) {
            self.ui.pane = Pane::List;
            // Border, then the header row.
            let row = usize::from(y.saturating_sub(a.list.y + 2));
            let i = self.ui.list_offset + row;
            if y >= a.list.y + 2
                && let Some(&r) = self.derived.rows.get(i)
            {
                self.ui.list_selected = Some(self.snapshot.sockets[r as usize].key());
            }
        } else if a.map.contains(pos) {
            self.ui.pane = Pane::Map;
            if self.ui.map_mode == MapMode::Graph {
                let placed = graph::place(self, graph::inner(a.map));
                // A label under the pointer wins; else the nearest node
                // within a few cells (rows count double: cells are tall).
                let on_label = placed.nodes.iter().find(|p| y == p.label_y && x >= p.label_x && x < p.label_x + p.label_width);
                let near = placed
                    .nodes
                    .iter()
                    .map(|p| {
                        let (dx, dy) = (i32::from(p.x) - i32::from(x), i32::from(p.y) - i32::from(y));
                        (dx * dx + 4 * dy * dy, p)
                    })
                    .filter(|(d, _)| *d <= 16)
                    .min_by_key(|(d, _)| *d)
                    .map(|(_, p)| p);
                if let Some(p) = on_label.or(near) {
                    self.ui.map_selected = p.node.clone();
                }
            } else {
                let ids = tree::visible_ids(self);
                let row = usize::from(y.saturating_sub(a.map.y + 1));
                if let Some(id) = ids.get(tree::scroll_offset(self, &ids) + row) {
                    self.ui.tree.select(id.clone());
                }
            }
        }
        self.dirty = true;
    }
}
