//! Keys as data: one table maps key presses to actions. The status bar's
//! hints and the help overlay are generated from the same table.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Everything a key can ask the explorer to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Top,
    Bottom,
    NextPane,
    FocusDetail,
    Inspect,
    FocusProcess,
    Filter,
    NextView,
    NextSort,
    ReverseSort,
    Tree,
    Freeze,
    Faster,
    Slower,
    Animations,
    Glow,
    Events,
    Help,
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub codes: &'static [KeyCode],
    pub action: Action,
    /// How the key is written in hints and help.
    pub keys: &'static str,
    /// Short word for the status bar; empty: help only.
    pub hint: &'static str,
    pub help: &'static str,
}

pub const BINDINGS: &[Binding] = &[
    Binding {
        codes: &[KeyCode::Char('q'), KeyCode::Esc],
        action: Action::Quit,
        keys: "q/Esc",
        hint: "quit",
        help: "quit (Esc first closes help or the filter)",
    },
    Binding { codes: &[KeyCode::Up, KeyCode::Char('k')], action: Action::Up, keys: "↑/k", hint: "", help: "previous row or node" },
    Binding { codes: &[KeyCode::Down, KeyCode::Char('j')], action: Action::Down, keys: "↓/j", hint: "move", help: "next row or node" },
    Binding { codes: &[KeyCode::Left, KeyCode::Char('h')], action: Action::Left, keys: "←/h", hint: "", help: "previous node; collapse in the tree" },
    Binding { codes: &[KeyCode::Right, KeyCode::Char('l')], action: Action::Right, keys: "→/l", hint: "", help: "next node; expand in the tree" },
    Binding { codes: &[KeyCode::PageUp], action: Action::PageUp, keys: "PgUp", hint: "", help: "a page up" },
    Binding { codes: &[KeyCode::PageDown], action: Action::PageDown, keys: "PgDn", hint: "", help: "a page down" },
    Binding { codes: &[KeyCode::Home], action: Action::Top, keys: "Home", hint: "", help: "first row" },
    Binding { codes: &[KeyCode::End], action: Action::Bottom, keys: "End", hint: "", help: "last row" },
    Binding {
        codes: &[KeyCode::Tab, KeyCode::BackTab],
        action: Action::NextPane,
        keys: "Tab",
        hint: "pane",
        help: "next pane: map → list → detail (the detail of the list's selection)",
    },
    Binding {
        codes: &[KeyCode::Char('d')],
        action: Action::FocusDetail,
        keys: "d",
        hint: "",
        help: "focus the detail of the selection (keys and the wheel scroll it); again to leave",
    },
    Binding { codes: &[KeyCode::Enter], action: Action::Inspect, keys: "Enter", hint: "inspect", help: "inspect the selection; open or close a tree node" },
    Binding {
        codes: &[KeyCode::Char('p')],
        action: Action::FocusProcess,
        keys: "p",
        hint: "focus",
        help: "centre the map on the selected process; again to return to the host",
    },
    Binding {
        codes: &[KeyCode::Char('/')],
        action: Action::Filter,
        keys: "/",
        hint: "filter",
        help: "filter: proc:NAME pid:N state:S port:N zone:Z proto:P dir:in|out sev>=L tag:T !term text",
    },
    Binding {
        codes: &[KeyCode::Char('v')],
        action: Action::NextView,
        keys: "v",
        hint: "view",
        help: "next view from the spec (default, suspicious only, listeners only, …)",
    },
    Binding { codes: &[KeyCode::Char('s')], action: Action::NextSort, keys: "s", hint: "sort", help: "sort the list by the next column" },
    Binding { codes: &[KeyCode::Char('S')], action: Action::ReverseSort, keys: "S", hint: "", help: "reverse the sort" },
    Binding {
        codes: &[KeyCode::Char('t')],
        action: Action::Tree,
        keys: "t",
        hint: "tree",
        help: "map: graph → tree by process → tree by endpoint → tree by container",
    },
    Binding { codes: &[KeyCode::Char(' ')], action: Action::Freeze, keys: "space", hint: "freeze", help: "freeze or resume refreshes" },
    Binding { codes: &[KeyCode::Char('+'), KeyCode::Char('=')], action: Action::Faster, keys: "+", hint: "", help: "refresh more often" },
    Binding { codes: &[KeyCode::Char('-')], action: Action::Slower, keys: "-", hint: "", help: "refresh less often" },
    Binding { codes: &[KeyCode::Char('a')], action: Action::Animations, keys: "a", hint: "", help: "animations on or off (glow pulse)" },
    Binding { codes: &[KeyCode::Char('g')], action: Action::Glow, keys: "g", hint: "", help: "glows on or off" },
    Binding {
        codes: &[KeyCode::Char('e')],
        action: Action::Events,
        keys: "e",
        hint: "",
        help: "events: recent findings and alerts, newest first; Enter jumps to the subject",
    },
    Binding { codes: &[KeyCode::Char('?')], action: Action::Help, keys: "?", hint: "help", help: "this help" },
];

/// The action for a key press, if any.
pub fn action_for(key: &KeyEvent) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return matches!(key.code, KeyCode::Char('c')).then_some(Action::Quit);
    }
    BINDINGS.iter().find(|b| b.codes.contains(&key.code)).map(|b| b.action)
}

/// Status bar hints: `key word` pairs from the table.
pub fn hints() -> Vec<(&'static str, &'static str)> {
    BINDINGS
        .iter()
        .filter(|b| !b.hint.is_empty())
        .map(|b| {
            let key = match b.action {
                Action::Down => "↑↓",
                _ => b.keys,
            };
            (key, b.hint)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_maps_to_one_action_and_no_key_is_bound_twice() {
        let mut seen = std::collections::HashSet::new();
        for b in BINDINGS {
            for c in b.codes {
                assert!(seen.insert(format!("{c:?}")), "{c:?} bound twice");
                assert_eq!(action_for(&KeyEvent::new(*c, KeyModifiers::NONE)), Some(b.action));
            }
        }
        assert_eq!(action_for(&KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)), Some(Action::Quit));
        assert_eq!(action_for(&KeyEvent::new(KeyCode::Char('z'), KeyModifiers::NONE)), None);
    }

    #[test]
    fn hints_come_from_the_table() {
        let h = hints();
        assert!(h.contains(&("q/Esc", "quit")));
        assert!(h.contains(&("?", "help")));
        assert!(h.contains(&("↑↓", "move")));
        assert_eq!(h.len(), BINDINGS.iter().filter(|b| !b.hint.is_empty()).count());
    }
}
