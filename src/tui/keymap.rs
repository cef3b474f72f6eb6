//! Keys as data: one table maps key presses to actions. The status bar's
//! hints and the help overlay are generated from the same table.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Everything a key can ask the explorer to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    /// Close what is open, step back one level; at the top, ask before
    /// quitting.
    Back,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    HalfPageUp,
    HalfPageDown,
    Top,
    Bottom,
    NextPane,
    FocusDetail,
    Inspect,
    FocusProcess,
    NextFinding,
    Copy,
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
    Legend,
}

/// One key: a code, with or without Ctrl.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

/// A key without modifiers (Shift is in the character).
const fn k(code: KeyCode) -> Key {
    Key { code, ctrl: false }
}

/// A character key.
const fn c(ch: char) -> Key {
    k(KeyCode::Char(ch))
}

/// Ctrl and a character.
const fn ctrl(ch: char) -> Key {
    Key { code: KeyCode::Char(ch), ctrl: true }
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub codes: &'static [Key],
    pub action: Action,
    /// How the key is written in hints and help.
    pub keys: &'static str,
    /// Short word for the status bar; empty: help only.
    pub hint: &'static str,
    pub help: &'static str,
}

/// In the order of the help overlay; the status bar shows the hints in
/// this order too, so the most useful come first.
pub const BINDINGS: &[Binding] = &[
    Binding { codes: &[c('q'), ctrl('c')], action: Action::Quit, keys: "q", hint: "quit", help: "quit (also Ctrl-C)" },
    Binding { codes: &[c('?')], action: Action::Help, keys: "?", hint: "help", help: "this help" },
    Binding { codes: &[c('L')], action: Action::Legend, keys: "L", hint: "", help: "the map's legend: icons, lines and their states" },
    Binding { codes: &[k(KeyCode::Up), c('k')], action: Action::Up, keys: "↑/k", hint: "", help: "previous row or node; scrolls a focused detail" },
    Binding { codes: &[k(KeyCode::Down), c('j')], action: Action::Down, keys: "↓/j", hint: "move", help: "next row or node; scrolls a focused detail" },
    Binding {
        codes: &[k(KeyCode::Tab), k(KeyCode::BackTab)],
        action: Action::NextPane,
        keys: "Tab",
        hint: "pane",
        help: "next pane: map → list → detail (the detail of the list's selection)",
    },
    Binding {
        codes: &[c('/')],
        action: Action::Filter,
        keys: "/",
        hint: "filter",
        help: "filter: proc:NAME ip:ADDR[/N] host:NAME port:N sev:L sev>=L state:S ns:N container:C pid:N zone:Z proto:P dir:in|out tag:T !term text",
    },
    Binding {
        codes: &[c('e')],
        action: Action::Events,
        keys: "e",
        hint: "events",
        help: "events: recent findings and alerts, newest first; Enter jumps to the subject",
    },
    Binding { codes: &[c('n')], action: Action::NextFinding, keys: "n", hint: "next finding", help: "select the next socket with a finding, worst first" },
    Binding {
        codes: &[k(KeyCode::Esc)],
        action: Action::Back,
        keys: "Esc",
        hint: "",
        help: "back: close help or the detail focus, leave a focused process, clear the filter; at the top, twice quits",
    },
    Binding { codes: &[k(KeyCode::Left), c('h')], action: Action::Left, keys: "←/h", hint: "", help: "previous node; collapse in the tree" },
    Binding { codes: &[k(KeyCode::Right), c('l')], action: Action::Right, keys: "→/l", hint: "", help: "next node; expand in the tree" },
    Binding { codes: &[k(KeyCode::PageUp)], action: Action::PageUp, keys: "PgUp", hint: "", help: "a page up" },
    Binding { codes: &[k(KeyCode::PageDown)], action: Action::PageDown, keys: "PgDn", hint: "", help: "a page down" },
    Binding { codes: &[ctrl('u')], action: Action::HalfPageUp, keys: "Ctrl-U", hint: "", help: "half a page up" },
    Binding { codes: &[ctrl('d')], action: Action::HalfPageDown, keys: "Ctrl-D", hint: "", help: "half a page down" },
    Binding { codes: &[k(KeyCode::Home), c('g')], action: Action::Top, keys: "g/Home", hint: "", help: "first row; top of a focused detail" },
    Binding { codes: &[k(KeyCode::End), c('G')], action: Action::Bottom, keys: "G/End", hint: "", help: "last row; bottom of a focused detail" },
    Binding {
        codes: &[c('d')],
        action: Action::FocusDetail,
        keys: "d",
        hint: "",
        help: "focus the detail of the selection (keys and the wheel scroll it); again to leave",
    },
    Binding { codes: &[k(KeyCode::Enter)], action: Action::Inspect, keys: "Enter", hint: "", help: "inspect the selection; open or close a tree node" },
    Binding {
        codes: &[c('p')],
        action: Action::FocusProcess,
        keys: "p",
        hint: "focus",
        help: "centre the map on the selected process; again (or Esc) to return to the host",
    },
    Binding {
        codes: &[c('y')],
        action: Action::Copy,
        keys: "y",
        hint: "",
        help: "copy the selected address or pid (OSC 52 to the terminal's clipboard; also shown)",
    },
    Binding {
        codes: &[c('v')],
        action: Action::NextView,
        keys: "v",
        hint: "view",
        help: "next view from the spec (default, suspicious only, listeners only, …)",
    },
    Binding { codes: &[c('s')], action: Action::NextSort, keys: "s", hint: "sort", help: "sort the list by the next column" },
    Binding { codes: &[c('S')], action: Action::ReverseSort, keys: "S", hint: "", help: "reverse the sort" },
    Binding {
        codes: &[c('t')], action: Action::Tree, keys: "t", hint: "tree", help: "map: graph → tree by process → tree by endpoint → tree by container"
    },
    Binding { codes: &[c(' ')], action: Action::Freeze, keys: "space", hint: "freeze", help: "freeze or resume refreshes" },
    Binding { codes: &[c('+'), c('=')], action: Action::Faster, keys: "+", hint: "", help: "refresh more often" },
    Binding { codes: &[c('-')], action: Action::Slower, keys: "-", hint: "", help: "refresh less often" },
    Binding { codes: &[c('a')], action: Action::Animations, keys: "a", hint: "", help: "animations on or off (glow pulse)" },
    Binding { codes: &[c('w')], action: Action::Glow, keys: "w", hint: "", help: "glows on or off" },
];

/// The key of a key press (Shift is already in the character).
pub fn key_of(key: &KeyEvent) -> Key {
    Key { code: key.code, ctrl: key.modifiers.contains(KeyModifiers::CONTROL) }
}

/// The action for a key press, if any.
pub fn action_for(key: &KeyEvent) -> Option<Action> {
    let key = key_of(key);
    BINDINGS.iter().find(|b| b.codes.contains(&key)).map(|b| b.action)
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

    fn press(k: Key) -> KeyEvent {
        KeyEvent::new(k.code, if k.ctrl { KeyModifiers::CONTROL } else { KeyModifiers::NONE })
    }

    #[test]
    fn every_key_maps_to_one_action_and_no_key_is_bound_twice() {
        let mut seen = std::collections::HashSet::new();
        for b in BINDINGS {
            for k in b.codes {
                assert!(seen.insert(*k), "{k:?} bound twice");
                assert_eq!(action_for(&press(*k)), Some(b.action));
            }
        }
        assert_eq!(action_for(&KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)), Some(Action::Quit));
        assert_eq!(action_for(&KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL)), Some(Action::HalfPageDown));
        assert_eq!(action_for(&KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT)), Some(Action::Bottom));
        assert_eq!(action_for(&KeyEvent::new(KeyCode::Char('z'), KeyModifiers::NONE)), None);
    }

    #[test]
    fn hints_come_from_the_table() {
        let h = hints();
        assert!(h.contains(&("q", "quit")));
        assert!(h.contains(&("?", "help")));
        assert!(h.contains(&("↑↓", "move")));
        assert!(h.contains(&("e", "events")));
        assert_eq!(h.len(), BINDINGS.iter().filter(|b| !b.hint.is_empty()).count());
    }
}
