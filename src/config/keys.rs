//! The `[keys]` table: the explorer's actions rebound by name, each to a
//! key or a list of keys, written as people write them (`"x"`, `"Ctrl-d"`,
//! `"PgDn"`, `["j", "Down"]`). Checked here, knowing no front end: the
//! action names are the explorer's (a test there keeps the two lists
//! equal), keys are a neutral [`KeyChord`].
//!
//! ```toml
//! [keys]
//! quit = "x"
//! down = ["j", "Down", "Ctrl-n"]
//! filter = "f"
//! ```

/// The actions `[keys]` may rebind.
pub const ACTIONS: [&str; 31] = [
    "quit",
    "back",
    "up",
    "down",
    "left",
    "right",
    "page_up",
    "page_down",
    "half_page_up",
    "half_page_down",
    "top",
    "bottom",
    "next_pane",
    "focus_detail",
    "inspect",
    "focus_process",
    "next_finding",
    "copy",
    "filter",
    "next_view",
    "next_sort",
    "reverse_sort",
    "tree",
    "freeze",
    "faster",
    "slower",
    "animations",
    "glow",
    "events",
    "help",
    "legend",
];

/// A key without its modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyName {
    Char(char),
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Delete,
    Insert,
    F(u8),
}

/// A key with Ctrl and Alt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyChord {
    pub name: KeyName,
    pub ctrl: bool,
    pub alt: bool,
}

/// What a key may look like, for the refusal of one that does not.
pub const KEY_SYNTAX: &str = "one character (x, G, /), or Up, Down, Left, Right, PgUp, PgDn, Home, End, Enter, Esc, Tab, BackTab, Backspace, Delete, Insert, Space, F1-F12, with Ctrl- or Alt- before it";

/// `x`, `Ctrl-d`, `C-d`, `Alt-b`, `M-b`, `PgDn`, `Space`, `F5`.
pub fn parse_key(text: &str) -> Result<KeyChord, String> {
    let mut rest = text.trim();
    let (mut ctrl, mut alt) = (false, false);
    loop {
        let lower = rest.to_ascii_lowercase();
        if rest.chars().count() > 2 && (lower.starts_with("ctrl-") || lower.starts_with("ctrl+")) {
            ctrl = true;
            rest = &rest[5..];
        } else if rest.chars().count() > 2 && (lower.starts_with("c-") || lower.starts_with("c+")) {
            ctrl = true;
            rest = &rest[2..];
        } else if rest.chars().count() > 2 && (lower.starts_with("alt-") || lower.starts_with("alt+")) {
            alt = true;
            rest = &rest[4..];
        } else if rest.chars().count() > 2 && (lower.starts_with("m-") || lower.starts_with("m+")) {
            alt = true;
            rest = &rest[2..];
        } else {
            break;
        }
    }
    let mut chars = rest.chars();
    let name = match (chars.next(), chars.next()) {
        (Some(c), None) if !c.is_control() => KeyName::Char(if ctrl { c.to_ascii_lowercase() } else { c }),
        _ => match rest.to_ascii_lowercase().as_str() {
            "up" => KeyName::Up,
            "down" => KeyName::Down,
            "left" => KeyName::Left,
            "right" => KeyName::Right,
            "pgup" | "pageup" => KeyName::PageUp,
            "pgdn" | "pagedown" => KeyName::PageDown,
            "home" => KeyName::Home,
            "end" => KeyName::End,
            "enter" | "return" => KeyName::Enter,
            "esc" | "escape" => KeyName::Esc,
            "tab" => KeyName::Tab,
            "backtab" | "shift-tab" => KeyName::BackTab,
            "backspace" | "bksp" => KeyName::Backspace,
            "delete" | "del" => KeyName::Delete,
            "insert" | "ins" => KeyName::Insert,
            "space" => KeyName::Char(' '),
            f if f.starts_with('f') && f[1..].parse::<u8>().is_ok_and(|n| (1..=12).contains(&n)) => KeyName::F(f[1..].parse().unwrap_or(1)),
            _ => return Err(format!("`{text}` is not a key: expected {KEY_SYNTAX}")),
        },
    };
    Ok(KeyChord { name, ctrl, alt })
}

/// A key as the config writes it (`Ctrl-d`, `PgDn`).
pub fn chord_text(k: KeyChord) -> String {
    let base = match k.name {
        KeyName::Char(' ') => "Space".to_string(),
        KeyName::Char(c) => c.to_string(),
        KeyName::PageUp => "PgUp".into(),
        KeyName::PageDown => "PgDn".into(),
        KeyName::F(n) => format!("F{n}"),
        other => format!("{other:?}"),
    };
    match (k.ctrl, k.alt) {
        (true, true) => format!("Ctrl-Alt-{base}"),
        (true, false) => format!("Ctrl-{base}"),
        (false, true) => format!("Alt-{base}"),
        _ => base,
    }
}

/// The action name checked: one of [`ACTIONS`].
pub fn check_action(name: &str) -> Result<(), String> {
    if ACTIONS.contains(&name) { Ok(()) } else { Err(format!("unknown action; expected one of {}", ACTIONS.join(", "))) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_as_people_write_them() {
        assert_eq!(parse_key("x"), Ok(KeyChord { name: KeyName::Char('x'), ctrl: false, alt: false }));
        assert_eq!(parse_key("Ctrl-D"), Ok(KeyChord { name: KeyName::Char('d'), ctrl: true, alt: false }));
        assert_eq!(parse_key("C-d"), parse_key("ctrl+d"));
        assert_eq!(parse_key("M-b"), Ok(KeyChord { name: KeyName::Char('b'), ctrl: false, alt: true }));
        assert_eq!(parse_key("PgDn").map(|k| k.name), Ok(KeyName::PageDown));
        assert_eq!(parse_key("F5").map(|k| k.name), Ok(KeyName::F(5)));
        assert_eq!(parse_key("-").map(|k| k.name), Ok(KeyName::Char('-')));
        assert_eq!(parse_key("Space").map(|k| k.name), Ok(KeyName::Char(' ')));
        let e = parse_key("Ctrl-Banana").expect_err("not a key");
        assert!(e.starts_with("`Ctrl-Banana` is not a key: expected one character"), "{e}");
        assert!(parse_key("F13").is_err());
        assert!(parse_key("").is_err());
    }
}
