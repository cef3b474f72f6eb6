//! Keys as data: one table maps key presses to actions, in every mode:
//! the explorer's own keys, and the modal ones (the filter prompt's line
//! editor, the events pane, the help, the question before quitting, a
//! focused detail). The status bar's hints and the help overlay are
//! generated from the same table; the config file's `[keys]` rebinds the
//! explorer's keys by action name ([`Keymap::with_overrides`]).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where keys are read. A mode's own rows are looked up first; the detail,
/// the help and the question before quitting then fall back to the
/// explorer's keys (the help scrolls with them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// The explorer: map, list.
    Normal,
    /// The detail pane has the keys (`d`, Tab): they scroll it.
    Detail,
    /// The filter prompt (`/`): a line editor; other printable keys type.
    Prompt,
    /// The events pane (`e`).
    Events,
    /// The help overlay (`?`).
    Help,
    /// Esc at the top asked whether to quit.
    Confirm,
}

impl Mode {
    /// How the mode is titled in the help.
    pub fn title(self) -> &'static str {
        match self {
            Self::Normal => "explorer",
            Self::Detail => "focused detail",
            Self::Prompt => "filter prompt",
            Self::Events => "events pane",
            Self::Help => "help",
            Self::Confirm => "asked to quit",
        }
    }

    pub const ALL: [Self; 6] = [Self::Normal, Self::Detail, Self::Prompt, Self::Events, Self::Help, Self::Confirm];
}

/// What a key does to the filter prompt's line (typing a character is
/// not in the table: every printable key without Ctrl or Alt types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    Left,
    Right,
    WordLeft,
    WordRight,
    Start,
    End,
    DeleteBack,
    DeleteForward,
    DeleteWord,
    DeleteToStart,
    DeleteToEnd,
    Older,
    Newer,
    Accept,
    Cancel,
}

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
    /// A key of the filter prompt.
    Edit(Edit),
}

impl Action {
    /// The explorer's actions by the names the config's `[keys]` uses.
    pub const NAMED: [(&'static str, Self); 31] = [
        ("quit", Self::Quit),
        ("back", Self::Back),
        ("up", Self::Up),
        ("down", Self::Down),
        ("left", Self::Left),
        ("right", Self::Right),
        ("page_up", Self::PageUp),
        ("page_down", Self::PageDown),
        ("half_page_up", Self::HalfPageUp),
        ("half_page_down", Self::HalfPageDown),
        ("top", Self::Top),
        ("bottom", Self::Bottom),
        ("next_pane", Self::NextPane),
        ("focus_detail", Self::FocusDetail),
        ("inspect", Self::Inspect),
        ("focus_process", Self::FocusProcess),
        ("next_finding", Self::NextFinding),
        ("copy", Self::Copy),
        ("filter", Self::Filter),
        ("next_view", Self::NextView),
        ("next_sort", Self::NextSort),
        ("reverse_sort", Self::ReverseSort),
        ("tree", Self::Tree),
        ("freeze", Self::Freeze),
        ("faster", Self::Faster),
        ("slower", Self::Slower),
        ("animations", Self::Animations),
        ("glow", Self::Glow),
        ("events", Self::Events),
        ("help", Self::Help),
        ("legend", Self::Legend),
    ];

    /// The action called `name` in the config.
    pub fn named(name: &str) -> Option<Self> {
        Self::NAMED.iter().find(|(n, _)| *n == name).map(|(_, a)| *a)
    }
}

/// One key: a code, with or without Ctrl or Alt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

/// A key without modifiers (Shift is in the character).
const fn k(code: KeyCode) -> Key {
    Key { code, ctrl: false, alt: false }
}

/// Ctrl and a key.
const fn ck(code: KeyCode) -> Key {
    Key { code, ctrl: true, alt: false }
}

/// Alt and a key.
const fn ak(code: KeyCode) -> Key {
    Key { code, ctrl: false, alt: true }
}

/// A character key.
const fn c(ch: char) -> Key {
    k(KeyCode::Char(ch))
}

/// Ctrl and a character.
const fn ctrl(ch: char) -> Key {
    ck(KeyCode::Char(ch))
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub mode: Mode,
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
    Binding { mode: Mode::Normal, codes: &[c('q'), ctrl('c')], action: Action::Quit, keys: "q", hint: "quit", help: "quit (also Ctrl-C)" },
    Binding { mode: Mode::Normal, codes: &[c('?')], action: Action::Help, keys: "?", hint: "help", help: "this help" },
    Binding { mode: Mode::Normal, codes: &[c('L')], action: Action::Legend, keys: "L", hint: "", help: "the map's legend: icons, lines and their states" },
    Binding {
        mode: Mode::Normal,
        codes: &[k(KeyCode::Up), c('k')],
        action: Action::Up,
        keys: "↑/k",
        hint: "",
        help: "previous row or node; scrolls a focused detail",
    },
    Binding {
        mode: Mode::Normal,
        codes: &[k(KeyCode::Down), c('j')],
        action: Action::Down,
        keys: "↓/j",
        hint: "move",
        help: "next row or node; scrolls a focused detail",
    },
    Binding {
        mode: Mode::Normal,
        codes: &[k(KeyCode::Tab), k(KeyCode::BackTab)],
        action: Action::NextPane,
        keys: "Tab",
        hint: "pane",
        help: "next pane: map → list → detail (the detail of the list's selection)",
    },
    Binding {
        mode: Mode::Normal,
        codes: &[c('/')],
        action: Action::Filter,
        keys: "/",
        hint: "filter",
        help: "filter: proc:NAME ip:ADDR[/N] host:NAME port:N sev:L sev>=L state:S ns:N container:C pid:N zone:Z proto:P dir:in|out tag:T !term text",
    },
    Binding {
        mode: Mode::Normal,
        codes: &[c('e')],
        action: Action::Events,
        keys: "e",
        hint: "events",
        help: "events: recent findings and alerts, newest first; Enter jumps to the subject",
    },
    Binding {
        mode: Mode::Normal,
        codes: &[c('n')],
        action: Action::NextFinding,
        keys: "n",
        hint: "next finding",
        help: "select the next socket with a finding, worst first",
    },
    Binding {
        mode: Mode::Normal,
        codes: &[k(KeyCode::Esc)],
        action: Action::Back,
        keys: "Esc",
        hint: "",
        help: "back: close help or the detail focus, leave a focused process, clear the filter; at the top, twice quits",
    },
    Binding {
        mode: Mode::Normal,
        codes: &[k(KeyCode::Left), c('h')],
        action: Action::Left,
        keys: "←/h",
        hint: "",
        help: "previous node; collapse in the tree",
    },
    Binding { mode: Mode::Normal, codes: &[k(KeyCode::Right), c('l')], action: Action::Right, keys: "→/l", hint: "", help: "next node; expand in the tree" },
    Binding { mode: Mode::Normal, codes: &[k(KeyCode::PageUp)], action: Action::PageUp, keys: "PgUp", hint: "", help: "a page up" },
    Binding { mode: Mode::Normal, codes: &[k(KeyCode::PageDown)], action: Action::PageDown, keys: "PgDn", hint: "", help: "a page down" },
    Binding { mode: Mode::Normal, codes: &[ctrl('u')], action: Action::HalfPageUp, keys: "Ctrl-U", hint: "", help: "half a page up" },
    Binding { mode: Mode::Normal, codes: &[ctrl('d')], action: Action::HalfPageDown, keys: "Ctrl-D", hint: "", help: "half a page down" },
    Binding {
        mode: Mode::Normal,
        codes: &[k(KeyCode::Home), c('g')],
        action: Action::Top,
        keys: "g/Home",
        hint: "",
        help: "first row; top of a focused detail",
    },
    Binding {
        mode: Mode::Normal,
        codes: &[k(KeyCode::End), c('G')],
        action: Action::Bottom,
        keys: "G/End",
        hint: "",
        help: "last row; bottom of a focused detail",
    },
    Binding {
        mode: Mode::Normal,
        codes: &[c('d')],
        action: Action::FocusDetail,
        keys: "d",
        hint: "",
        help: "focus the detail of the selection (keys and the wheel scroll it); again to leave",
    },
    Binding {
        mode: Mode::Normal,
        codes: &[k(KeyCode::Enter)],
        action: Action::Inspect,
        keys: "Enter",
        hint: "",
        help: "inspect the selection; open or close a tree node",
    },
    Binding {
        mode: Mode::Normal,
        codes: &[c('p')],
        action: Action::FocusProcess,
        keys: "p",
        hint: "focus",
        help: "centre the map on the selected process; again (or Esc) to return to the host",
    },
    Binding {
        mode: Mode::Normal,
        codes: &[c('y')],
        action: Action::Copy,
        keys: "y",
        hint: "",
        help: "copy the selected address or pid (OSC 52 to the terminal's clipboard; also shown)",
    },
    Binding {
        mode: Mode::Normal,
        codes: &[c('v')],
        action: Action::NextView,
        keys: "v",
        hint: "view",
        help: "next view from the spec (default, suspicious only, listeners only, …)",
    },
    Binding { mode: Mode::Normal, codes: &[c('s')], action: Action::NextSort, keys: "s", hint: "sort", help: "sort the list by the next column" },
    Binding { mode: Mode::Normal, codes: &[c('S')], action: Action::ReverseSort, keys: "S", hint: "", help: "reverse the sort" },
    Binding {
        mode: Mode::Normal,
        codes: &[c('t')],
        action: Action::Tree,
        keys: "t",
        hint: "tree",
        help: "map: graph → tree by process → tree by endpoint → tree by container",
    },
    Binding { mode: Mode::Normal, codes: &[c(' ')], action: Action::Freeze, keys: "space", hint: "freeze", help: "freeze or resume refreshes" },
    Binding { mode: Mode::Normal, codes: &[c('+'), c('=')], action: Action::Faster, keys: "+", hint: "", help: "refresh more often" },
    Binding { mode: Mode::Normal, codes: &[c('-')], action: Action::Slower, keys: "-", hint: "", help: "refresh less often" },
    Binding { mode: Mode::Normal, codes: &[c('a')], action: Action::Animations, keys: "a", hint: "", help: "animations on or off (glow pulse)" },
    Binding { mode: Mode::Normal, codes: &[c('w')], action: Action::Glow, keys: "w", hint: "", help: "glows on or off" },
    // A focused detail: these first, then the explorer's keys.
    Binding { mode: Mode::Detail, codes: &[k(KeyCode::Up), c('k')], action: Action::Up, keys: "↑/k", hint: "", help: "scroll up a line" },
    Binding { mode: Mode::Detail, codes: &[k(KeyCode::Down), c('j')], action: Action::Down, keys: "↓/j", hint: "", help: "scroll down a line" },
    Binding { mode: Mode::Detail, codes: &[k(KeyCode::Esc), c('d')], action: Action::FocusDetail, keys: "Esc/d", hint: "", help: "leave the detail" },
    // The filter prompt (readline keys).
    Binding { mode: Mode::Prompt, codes: &[k(KeyCode::Enter)], action: Action::Edit(Edit::Accept), keys: "Enter", hint: "", help: "apply the filter" },
    Binding {
        mode: Mode::Prompt,
        codes: &[k(KeyCode::Esc), ctrl('c')],
        action: Action::Edit(Edit::Cancel),
        keys: "Esc",
        hint: "",
        help: "cancel (also Ctrl-C)",
    },
    Binding {
        mode: Mode::Prompt, codes: &[k(KeyCode::Left), ctrl('b')], action: Action::Edit(Edit::Left), keys: "←/C-b", hint: "", help: "a character back"
    },
    Binding {
        mode: Mode::Prompt,
        codes: &[k(KeyCode::Right), ctrl('f')],
        action: Action::Edit(Edit::Right),
        keys: "→/C-f",
        hint: "",
        help: "a character forward",
    },
    Binding {
        mode: Mode::Prompt,
        codes: &[ck(KeyCode::Left), ak(KeyCode::Left), ak(KeyCode::Char('b'))],
        action: Action::Edit(Edit::WordLeft),
        keys: "M-b",
        hint: "",
        help: "a word back (also Ctrl-←)",
    },
    Binding {
        mode: Mode::Prompt,
        codes: &[ck(KeyCode::Right), ak(KeyCode::Right), ak(KeyCode::Char('f'))],
        action: Action::Edit(Edit::WordRight),
        keys: "M-f",
        hint: "",
        help: "a word forward (also Ctrl-→)",
    },
    Binding {
        mode: Mode::Prompt,
        codes: &[k(KeyCode::Home), ctrl('a')],
        action: Action::Edit(Edit::Start),
        keys: "C-a",
        hint: "",
        help: "start of the line (also Home)",
    },
    Binding {
        mode: Mode::Prompt,
        codes: &[k(KeyCode::End), ctrl('e')],
        action: Action::Edit(Edit::End),
        keys: "C-e",
        hint: "",
        help: "end of the line (also End)",
    },
    Binding {
        mode: Mode::Prompt,
        codes: &[k(KeyCode::Backspace), ctrl('h')],
        action: Action::Edit(Edit::DeleteBack),
        keys: "Bksp",
        hint: "",
        help: "delete before the cursor (also Ctrl-H)",
    },
    Binding {
        mode: Mode::Prompt,
        codes: &[k(KeyCode::Delete), ctrl('d')],
        action: Action::Edit(Edit::DeleteForward),
        keys: "Del",
        hint: "",
        help: "delete at the cursor (also Ctrl-D)",
    },
    Binding {
        mode: Mode::Prompt,
        codes: &[ctrl('w'), ak(KeyCode::Backspace), ck(KeyCode::Backspace)],
        action: Action::Edit(Edit::DeleteWord),
        keys: "C-w",
        hint: "",
        help: "delete the word (filter term) before the cursor",
    },
    Binding { mode: Mode::Prompt, codes: &[ctrl('u')], action: Action::Edit(Edit::DeleteToStart), keys: "C-u", hint: "", help: "delete to the start" },
    Binding { mode: Mode::Prompt, codes: &[ctrl('k')], action: Action::Edit(Edit::DeleteToEnd), keys: "C-k", hint: "", help: "delete to the end" },
    Binding {
        mode: Mode::Prompt,
        codes: &[k(KeyCode::Up), ctrl('p')],
        action: Action::Edit(Edit::Older),
        keys: "↑/C-p",
        hint: "",
        help: "older filter from the history",
    },
    Binding {
        mode: Mode::Prompt,
        codes: &[k(KeyCode::Down), ctrl('n')],
        action: Action::Edit(Edit::Newer),
        keys: "↓/C-n",
        hint: "",
        help: "newer filter from the history",
    },
    // The events pane.
    Binding { mode: Mode::Events, codes: &[k(KeyCode::Up), c('k')], action: Action::Up, keys: "↑/k", hint: "", help: "previous event" },
    Binding { mode: Mode::Events, codes: &[k(KeyCode::Down), c('j')], action: Action::Down, keys: "↓/j", hint: "", help: "next event" },
    Binding { mode: Mode::Events, codes: &[k(KeyCode::Enter)], action: Action::Inspect, keys: "Enter", hint: "", help: "jump to the event's subject" },
    Binding { mode: Mode::Events, codes: &[k(KeyCode::Esc), c('e'), c('q')], action: Action::Back, keys: "Esc/e", hint: "", help: "close the events" },
    // The help.
    Binding { mode: Mode::Help, codes: &[k(KeyCode::Esc), c('?'), c('q')], action: Action::Back, keys: "Esc/?", hint: "", help: "close the help" },
    // Asked to quit: the answer, then the explorer's keys.
    Binding { mode: Mode::Confirm, codes: &[k(KeyCode::Esc), c('q')], action: Action::Quit, keys: "Esc/q", hint: "", help: "quit; any other key stays" },
];

/// The key of a key press (Shift is already in the character).
pub fn key_of(key: &KeyEvent) -> Key {
    Key { code: key.code, ctrl: key.modifiers.contains(KeyModifiers::CONTROL), alt: key.modifiers.contains(KeyModifiers::ALT) }
}

/// One row of the keymap in use: a [`Binding`] with its keys, perhaps
/// rebound by the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub mode: Mode,
    pub action: Action,
    pub codes: Vec<Key>,
    /// How the keys are written in hints and help.
    pub keys: String,
    pub hint: &'static str,
    pub help: &'static str,
}

/// The keys in use: the table, with the config's rebindings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    pub rows: Vec<Row>,
}

impl Default for Keymap {
    fn default() -> Self {
        let rows = BINDINGS
            .iter()
            .map(|b| Row { mode: b.mode, action: b.action, codes: b.codes.to_vec(), keys: b.keys.to_string(), hint: b.hint, help: b.help })
            .collect();
        Self { rows }
    }
}

/// `Ctrl-d`, `Alt-b`, `PgDn`, `x`: how a key is written.
pub fn key_name(k: Key) -> String {
    let base = match k.code {
        KeyCode::Char(' ') => "space".to_string(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Up => "↑".into(),
        KeyCode::Down => "↓".into(),
        KeyCode::Left => "←".into(),
        KeyCode::Right => "→".into(),
        KeyCode::PageUp => "PgUp".into(),
        KeyCode::PageDown => "PgDn".into(),
        KeyCode::F(n) => format!("F{n}"),
        other => format!("{other:?}"),
    };
    match (k.ctrl, k.alt) {
        (true, _) => format!("Ctrl-{base}"),
        (false, true) => format!("Alt-{base}"),
        _ => base,
    }
}

/// A key from the config's neutral form.
fn key_from(chord: crate::config::keys::KeyChord) -> Key {
    use crate::config::keys::KeyName;
    let code = match chord.name {
        KeyName::Char(c) => KeyCode::Char(c),
        KeyName::Up => KeyCode::Up,
        KeyName::Down => KeyCode::Down,
        KeyName::Left => KeyCode::Left,
        KeyName::Right => KeyCode::Right,
        KeyName::PageUp => KeyCode::PageUp,
        KeyName::PageDown => KeyCode::PageDown,
        KeyName::Home => KeyCode::Home,
        KeyName::End => KeyCode::End,
        KeyName::Enter => KeyCode::Enter,
        KeyName::Esc => KeyCode::Esc,
        KeyName::Tab => KeyCode::Tab,
        KeyName::BackTab => KeyCode::BackTab,
        KeyName::Backspace => KeyCode::Backspace,
        KeyName::Delete => KeyCode::Delete,
        KeyName::Insert => KeyCode::Insert,
        KeyName::F(n) => KeyCode::F(n),
    };
    Key { code, ctrl: chord.ctrl, alt: chord.alt }
}

impl Keymap {
    /// The table with the explorer's keys of some actions replaced
    /// (`(action name, keys)`, from the config's `[keys]`, which checked
    /// the names). A key given to an action is taken from any other
    /// explorer action that had it; the modal keys stay.
    pub fn with_overrides(overrides: &[(String, Vec<crate::config::keys::KeyChord>)]) -> Self {
        let mut map = Self::default();
        for (name, chords) in overrides {
            let Some(action) = Action::named(name) else { continue };
            let keys: Vec<Key> = chords.iter().copied().map(key_from).collect();
            for row in map.rows.iter_mut().filter(|r| r.mode == Mode::Normal) {
                if row.action == action {
                    row.codes.clone_from(&keys);
                    row.keys = keys.iter().map(|k| key_name(*k)).collect::<Vec<_>>().join("/");
                } else if row.codes.iter().any(|c| keys.contains(c)) {
                    row.codes.retain(|c| !keys.contains(c));
                    row.keys = if row.codes.is_empty() { "(none)".into() } else { row.codes.iter().map(|k| key_name(*k)).collect::<Vec<_>>().join("/") };
                }
            }
        }
        map
    }

    /// The action for a key press in `mode`: the mode's own keys first;
    /// a focused detail and the question to quit fall back to the
    /// explorer's.
    pub fn action(&self, mode: Mode, key: &KeyEvent) -> Option<Action> {
        let key = key_of(key);
        let find = |m: Mode| self.rows.iter().find(|r| r.mode == m && r.codes.contains(&key)).map(|r| r.action);
        match mode {
            Mode::Detail | Mode::Confirm | Mode::Help => find(mode).or_else(|| find(Mode::Normal)),
            _ => find(mode),
        }
    }

    /// The rows of `mode`, in the help's order.
    pub fn rows_of(&self, mode: Mode) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(move |r| r.mode == mode)
    }

    /// Status bar hints: `key word` pairs from the explorer's rows.
    pub fn hints(&self) -> Vec<(String, &'static str)> {
        self.rows_of(Mode::Normal)
            .filter(|r| !r.hint.is_empty())
            .map(|r| {
                let key = if r.action == Action::Down && r.codes.contains(&k(KeyCode::Down)) { "↑↓".to_string() } else { r.keys.clone() };
                (key, r.hint)
            })
            .collect()
    }
}

/// The prompt's edit for a key press (the table's prompt rows).
pub fn edit_for(key: &KeyEvent) -> Option<Edit> {
    let key = key_of(key);
    BINDINGS
        .iter()
        .filter(|b| b.mode == Mode::Prompt)
        .find(|b| b.codes.contains(&key))
        .and_then(|b| if let Action::Edit(e) = b.action { Some(e) } else { None })
}

/// The action for a key press in the explorer with the default keys.
pub fn action_for(key: &KeyEvent) -> Option<Action> {
    Keymap::default().action(Mode::Normal, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(k: Key) -> KeyEvent {
        let mut m = KeyModifiers::NONE;
        if k.ctrl {
            m |= KeyModifiers::CONTROL;
        }
        if k.alt {
            m |= KeyModifiers::ALT;
        }
        KeyEvent::new(k.code, m)
    }

    #[test]
    fn every_key_maps_to_one_action_per_mode() {
        let map = Keymap::default();
        for mode in Mode::ALL {
            let mut seen = std::collections::HashSet::new();
            for b in BINDINGS.iter().filter(|b| b.mode == mode) {
                for k in b.codes {
                    assert!(seen.insert(*k), "{k:?} bound twice in {mode:?}");
                    assert_eq!(map.action(mode, &press(*k)), Some(b.action), "{k:?} in {mode:?}");
                }
            }
        }
        assert_eq!(action_for(&KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)), Some(Action::Quit));
        assert_eq!(action_for(&KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL)), Some(Action::HalfPageDown));
        assert_eq!(action_for(&KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT)), Some(Action::Bottom));
        assert_eq!(action_for(&KeyEvent::new(KeyCode::Char('z'), KeyModifiers::NONE)), None);
        // Modal: the prompt's Ctrl-D deletes, the detail falls back to the explorer's keys.
        assert_eq!(map.action(Mode::Prompt, &KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL)), Some(Action::Edit(Edit::DeleteForward)));
        assert_eq!(map.action(Mode::Prompt, &KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE)), None, "q types in the prompt");
        assert_eq!(map.action(Mode::Detail, &KeyEvent::new(KeyCode::Char('G'), KeyModifiers::NONE)), Some(Action::Bottom));
        assert_eq!(map.action(Mode::Confirm, &KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)), Some(Action::Quit));
    }

    #[test]
    fn every_named_action_has_a_row_and_the_config_knows_every_name() {
        for (name, a) in Action::NAMED {
            assert!(BINDINGS.iter().any(|b| b.mode == Mode::Normal && b.action == a), "{name} has no row");
            assert!(crate::config::keys::ACTIONS.contains(&name), "the config does not know {name}");
        }
        assert_eq!(crate::config::keys::ACTIONS.len(), Action::NAMED.len());
    }

    #[test]
    fn a_rebound_key_leaves_its_old_action_and_shows_in_the_hints() {
        use crate::config::keys::parse_key;
        let map = Keymap::with_overrides(&[("quit".into(), vec![parse_key("x").expect("x")]), ("filter".into(), vec![parse_key("q").expect("q")])]);
        assert_eq!(map.action(Mode::Normal, &KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE)), Some(Action::Quit));
        assert_eq!(map.action(Mode::Normal, &KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE)), Some(Action::Filter));
        assert_eq!(map.action(Mode::Normal, &KeyEvent::new(KeyCode::Char('/'), KeyModifiers::NONE)), None);
        let hints = map.hints();
        assert!(hints.contains(&("x".to_string(), "quit")), "{hints:?}");
        assert!(hints.contains(&("q".to_string(), "filter")), "{hints:?}");
    }

    #[test]
    fn hints_come_from_the_table() {
        let h = Keymap::default().hints();
        let has = |k: &str, w: &str| h.iter().any(|(a, b)| a == k && *b == w);
        assert!(has("q", "quit"));
        assert!(has("?", "help"));
        assert!(has("↑↓", "move"));
        assert!(has("e", "events"));
        assert_eq!(h.len(), BINDINGS.iter().filter(|b| b.mode == Mode::Normal && !b.hint.is_empty()).count());
    }
}
