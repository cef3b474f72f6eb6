//! The filter prompt's line editor: readline keys over one line of text,
//! and the history of filters entered with Enter.
//!
//! | key | does |
//! |---|---|
//! | ←/→, Ctrl-B/Ctrl-F | one character back/forward |
//! | Ctrl-←/→, Alt-B/Alt-F | one word back/forward |
//! | Home, Ctrl-A / End, Ctrl-E | start / end of the line |
//! | Backspace, Ctrl-H / Delete, Ctrl-D | delete before / at the cursor |
//! | Ctrl-U / Ctrl-K | delete to the start / to the end |
//! | Ctrl-W, Alt-Backspace | delete the word before the cursor (a filter term) |
//! | ↑/↓, Ctrl-P/Ctrl-N | older / newer filter from the history |
//! | Enter / Esc, Ctrl-C | apply / cancel |
//!
//! The keys are the keymap's prompt rows (`keymap::BINDINGS`, shown by `?`).
//! Other control keys are ignored, never typed. The cursor moves by
//! character and is drawn by display width (wide characters take two
//! columns). Rendering is pure: [`Prompt::spans`].

use std::collections::VecDeque;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Modifier, Style};
use ratatui::text::Span;
use unicode_width::UnicodeWidthStr;

use super::keymap::{Edit as Command, edit_for};
use crate::text::escape_control;

/// Filters kept in the history.
pub const HISTORY_LEN: usize = 50;

/// Filters entered with Enter, oldest first: at most [`HISTORY_LEN`], each
/// once (entering one again moves it to the newest). A refused filter is
/// kept too, so ↑ brings it back to fix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    entries: VecDeque<String>,
}

impl History {
    pub fn push(&mut self, text: &str) {
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        self.entries.retain(|e| e != text);
        self.entries.push_back(text.to_string());
        while self.entries.len() > HISTORY_LEN {
            self.entries.pop_front();
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entry `back` steps from the newest (0: the newest).
    pub fn back(&self, back: usize) -> Option<&str> {
        let i = self.entries.len().checked_sub(back + 1)?;
        self.entries.get(i).map(String::as_str)
    }
}

/// What a key did to the prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Enter: the text to apply.
    Accept(String),
    Cancel,
    /// The text or cursor may have changed.
    Edited,
    /// Not a key of the prompt.
    Ignored,
}

/// The line being typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prompt {
    text: String,
    /// Byte offset, always on a character boundary.
    cursor: usize,
    /// While browsing the history: how far back, and the line typed before.
    browsing: Option<(usize, String)>,
}

impl Prompt {
    /// A prompt holding `text`, the cursor at its end.
    pub fn new(text: &str) -> Self {
        Self { text: text.to_string(), cursor: text.len(), browsing: None }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The cursor as a byte offset into [`Self::text`].
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Display columns before the cursor (as drawn, control characters escaped).
    pub fn cursor_column(&self) -> usize {
        escape_control(&self.text[..self.cursor]).width()
    }

    /// A key: an edit from the keymap's prompt rows, else a printable
    /// character without Ctrl or Alt is typed; other keys are ignored.
    pub fn on_key(&mut self, key: &KeyEvent, history: &History) -> Outcome {
        let Some(command) = edit_for(key) else {
            let plain = !key.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
            return match key.code {
                KeyCode::Char(c) if plain && !c.is_control() => {
                    self.text.insert(self.cursor, c);
                    self.cursor += c.len_utf8();
                    Outcome::Edited
                }
                _ => Outcome::Ignored,
            };
        };
        match command {
            Command::Accept => return Outcome::Accept(self.text.clone()),
            Command::Cancel => return Outcome::Cancel,
            Command::Left => self.cursor = self.prev(),
            Command::Right => self.cursor = self.next(),
            Command::WordLeft => self.cursor = self.word_start(),
            Command::WordRight => self.cursor = self.word_end(),
            Command::Start => self.cursor = 0,
            Command::End => self.cursor = self.text.len(),
            Command::DeleteBack => self.delete(self.prev(), self.cursor),
            Command::DeleteForward => self.delete(self.cursor, self.next()),
            Command::DeleteWord => self.delete(self.word_start(), self.cursor),
            Command::DeleteToStart => self.delete(0, self.cursor),
            Command::DeleteToEnd => self.delete(self.cursor, self.text.len()),
            Command::Older => self.browse(history, true),
            Command::Newer => self.browse(history, false),
        }
        Outcome::Edited
    }

    /// The line as drawn in `width` columns: the text (control characters
    /// escaped), the character under the cursor reversed (a reversed space
    /// at the end). When the text is wider, its start scrolls out of view
    /// so the cursor stays on screen.
    pub fn spans(&self, width: usize) -> Vec<Span<'static>> {
        let reversed = Style::default().add_modifier(Modifier::REVERSED);
        let next = self.next();
        let before = escape_control(&self.text[..self.cursor]);
        let under = if next > self.cursor { escape_control(&self.text[self.cursor..next]) } else { " ".to_string() };
        let after = escape_control(&self.text[next..]);
        // Drop characters from the start until the cursor fits.
        let room = width.saturating_sub(under.width());
        let mut shown = before.as_str();
        while shown.width() > room {
            let mut chars = shown.chars();
            chars.next();
            shown = chars.as_str();
        }
        let mut spans = Vec::with_capacity(3);
        if !shown.is_empty() {
            spans.push(Span::raw(shown.to_string()));
        }
        spans.push(Span::styled(under, reversed));
        if !after.is_empty() {
            spans.push(Span::raw(after));
        }
        spans
    }

    fn prev(&self) -> usize {
        self.text[..self.cursor].char_indices().next_back().map_or(0, |(i, _)| i)
    }

    fn next(&self) -> usize {
        self.text[self.cursor..].chars().next().map_or(self.cursor, |c| self.cursor + c.len_utf8())
    }

    /// Start of the word before the cursor: back over spaces, then over
    /// the word (words are split by whitespace, like filter terms).
    fn word_start(&self) -> usize {
        let before = &self.text[..self.cursor];
        let trimmed = before.trim_end();
        trimmed.rfind(char::is_whitespace).map_or(0, |i| i + trimmed[i..].chars().next().map_or(1, char::len_utf8))
    }

    /// End of the word after the cursor.
    fn word_end(&self) -> usize {
        let after = &self.text[self.cursor..];
        let skipped = after.len() - after.trim_start().len();
        let rest = &after[skipped..];
        self.cursor + skipped + rest.find(char::is_whitespace).unwrap_or(rest.len())
    }

    fn delete(&mut self, from: usize, to: usize) {
        if from < to {
            self.text.replace_range(from..to, "");
            self.cursor = from;
        }
    }

    /// One step older (`older`) or newer through the history; past the
    /// newest, the line typed before browsing comes back.
    fn browse(&mut self, history: &History, older: bool) {
        let at = self.browsing.as_ref().map(|(i, _)| *i);
        let want = match (at, older) {
            (None, true) => 0,
            (None, false) => return,
            (Some(i), true) => (i + 1).min(history.len().saturating_sub(1)),
            (Some(0), false) => {
                let draft = self.browsing.take().map(|(_, d)| d).unwrap_or_default();
                self.set(draft);
                return;
            }
            (Some(i), false) => i - 1,
        };
        let Some(entry) = history.back(want) else { return };
        let entry = entry.to_string();
        let draft = self.browsing.take().map_or_else(|| self.text.clone(), |(_, d)| d);
        self.browsing = Some((want, draft));
        self.set(entry);
    }

    fn set(&mut self, text: String) {
        self.cursor = text.len();
        self.text = text;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(p: &mut Prompt, code: KeyCode, modifiers: KeyModifiers) -> Outcome {
        p.on_key(&KeyEvent::new(code, modifiers), &History::default())
    }

    fn ctrl(p: &mut Prompt, c: char) -> Outcome {
        press(p, KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    fn key(p: &mut Prompt, code: KeyCode) -> Outcome {
        press(p, code, KeyModifiers::NONE)
    }

    /// The text with `|` at the cursor.
    fn shown(p: &Prompt) -> String {
        format!("{}|{}", &p.text()[..p.cursor()], &p.text()[p.cursor()..])
    }

    fn typed(text: &str) -> Prompt {
        let mut p = Prompt::default();
        for c in text.chars() {
            let shift = if c.is_uppercase() { KeyModifiers::SHIFT } else { KeyModifiers::NONE };
            assert_eq!(press(&mut p, KeyCode::Char(c), shift), Outcome::Edited);
        }
        p
    }

    #[test]
    fn typing_inserts_at_the_cursor_and_enter_accepts() {
        let mut p = typed("proc:sshd");
        assert_eq!(shown(&p), "proc:sshd|");
        key(&mut p, KeyCode::Home);
        for c in "!".chars() {
            key(&mut p, KeyCode::Char(c));
        }
        assert_eq!(shown(&p), "!|proc:sshd");
        assert_eq!(key(&mut p, KeyCode::Enter), Outcome::Accept("!proc:sshd".into()));
        assert_eq!(key(&mut p, KeyCode::Esc), Outcome::Cancel);
        assert_eq!(ctrl(&mut p, 'c'), Outcome::Cancel);
        assert_eq!(typed("Nginx").text(), "Nginx", "shift types capitals");
    }

    #[test]
    fn control_keys_are_never_typed() {
        let mut p = typed("ab");
        for c in ['x', 'z', 'r', 'l', 'o', 'g'] {
            assert_eq!(ctrl(&mut p, c), Outcome::Ignored, "ctrl-{c}");
        }
        assert_eq!(press(&mut p, KeyCode::Char('x'), KeyModifiers::ALT), Outcome::Ignored);
        assert_eq!(key(&mut p, KeyCode::Tab), Outcome::Ignored);
        assert_eq!(shown(&p), "ab|");
    }

    #[test]
    fn arrows_home_end_and_their_control_keys_move_the_cursor() {
        let mut p = typed("abc");
        key(&mut p, KeyCode::Left);
        assert_eq!(shown(&p), "ab|c");
        ctrl(&mut p, 'b');
        assert_eq!(shown(&p), "a|bc");
        key(&mut p, KeyCode::Right);
        assert_eq!(shown(&p), "ab|c");
        ctrl(&mut p, 'f');
        key(&mut p, KeyCode::Right);
        assert_eq!(shown(&p), "abc|", "stops at the end");
        ctrl(&mut p, 'a');
        assert_eq!(shown(&p), "|abc");
        key(&mut p, KeyCode::Left);
        assert_eq!(shown(&p), "|abc", "stops at the start");
        ctrl(&mut p, 'e');
        assert_eq!(shown(&p), "abc|");
        key(&mut p, KeyCode::Home);
        assert_eq!(shown(&p), "|abc");
        key(&mut p, KeyCode::End);
        assert_eq!(shown(&p), "abc|");
    }

    #[test]
    fn word_moves_go_by_filter_terms() {
        let mut p = typed("proc:ssh  sev>=high");
        press(&mut p, KeyCode::Left, KeyModifiers::CONTROL);
        assert_eq!(shown(&p), "proc:ssh  |sev>=high");
        press(&mut p, KeyCode::Char('b'), KeyModifiers::ALT);
        assert_eq!(shown(&p), "|proc:ssh  sev>=high");
        press(&mut p, KeyCode::Right, KeyModifiers::CONTROL);
        assert_eq!(shown(&p), "proc:ssh|  sev>=high");
        press(&mut p, KeyCode::Char('f'), KeyModifiers::ALT);
        assert_eq!(shown(&p), "proc:ssh  sev>=high|");
    }

    #[test]
    fn backspace_and_delete_work_at_the_cursor() {
        let mut p = typed("abcd");
        key(&mut p, KeyCode::Left);
        key(&mut p, KeyCode::Left);
        key(&mut p, KeyCode::Backspace);
        assert_eq!(shown(&p), "a|cd");
        key(&mut p, KeyCode::Delete);
        assert_eq!(shown(&p), "a|d");
        ctrl(&mut p, 'd');
        assert_eq!(shown(&p), "a|");
        ctrl(&mut p, 'd');
        assert_eq!(shown(&p), "a|", "nothing at the end");
        ctrl(&mut p, 'h');
        assert_eq!(shown(&p), "|");
        key(&mut p, KeyCode::Backspace);
        assert_eq!(shown(&p), "|", "nothing at the start");
    }

    #[test]
    fn ctrl_u_k_and_w_delete_to_the_start_the_end_and_a_word() {
        let mut p = typed("proc:ssh sev>=high ");
        assert_eq!(ctrl(&mut p, 'w'), Outcome::Edited);
        assert_eq!(shown(&p), "proc:ssh |", "the term and the space after it");
        ctrl(&mut p, 'w');
        assert_eq!(shown(&p), "|");
        let mut p = typed("proc:ssh sev>=high");
        press(&mut p, KeyCode::Backspace, KeyModifiers::ALT);
        assert_eq!(shown(&p), "proc:ssh |");
        let mut p = typed("proc:ssh sev>=high");
        for _ in 0.."high".len() {
            key(&mut p, KeyCode::Left);
        }
        ctrl(&mut p, 'u');
        assert_eq!(shown(&p), "|high");
        let mut p = typed("proc:ssh sev>=high");
        ctrl(&mut p, 'a');
        ctrl(&mut p, 'f');
        ctrl(&mut p, 'k');
        assert_eq!(shown(&p), "p|");
    }

    #[test]
    fn the_cursor_moves_by_character_and_counts_display_columns() {
        let mut p = typed("proc:日本é");
        assert_eq!(p.cursor_column(), "proc:".len() + 2 + 2 + 1);
        key(&mut p, KeyCode::Left);
        assert_eq!(shown(&p), "proc:日本|é");
        key(&mut p, KeyCode::Backspace);
        assert_eq!(shown(&p), "proc:日|é");
        assert_eq!(p.cursor_column(), 7);
        key(&mut p, KeyCode::Delete);
        assert_eq!(shown(&p), "proc:日|");
    }

    #[test]
    fn spans_reverse_the_cell_under_the_cursor_and_keep_it_in_view() {
        let text = |spans: &[Span<'_>]| spans.iter().map(|s| s.content.to_string()).collect::<Vec<_>>();
        let reversed = |s: &Span<'_>| s.style.add_modifier.contains(Modifier::REVERSED);
        let mut p = typed("ab");
        let spans = p.spans(40);
        assert_eq!(text(&spans), ["ab", " "]);
        assert!(reversed(&spans[1]) && !reversed(&spans[0]));
        key(&mut p, KeyCode::Left);
        let spans = p.spans(40);
        assert_eq!(text(&spans), ["a", "b"]);
        assert!(reversed(&spans[1]));
        let p = typed("proc:sshd sev>=high");
        assert_eq!(text(&p.spans(6)), ["=high", " "], "the start scrolls out, the cursor stays");
        let p = Prompt::new("a\u{1b}b");
        assert_eq!(text(&p.spans(40)), ["a\\x1bb", " "], "control characters are escaped");
    }

    #[test]
    fn history_is_bounded_and_deduplicated() {
        let mut h = History::default();
        for i in 0..HISTORY_LEN + 10 {
            h.push(&format!("pid:{i}"));
        }
        assert_eq!(h.len(), HISTORY_LEN);
        assert_eq!(h.back(0), Some(format!("pid:{}", HISTORY_LEN + 9).as_str()));
        h.push("pid:20");
        h.push("  ");
        assert_eq!(h.len(), HISTORY_LEN, "an entry entered again moves, blank lines are not kept");
        assert_eq!(h.back(0), Some("pid:20"));
        assert_ne!(h.back(1), Some("pid:20"));
    }

    #[test]
    fn up_and_down_walk_the_history_and_come_back_to_the_draft() {
        let mut h = History::default();
        for f in ["state:listen", "sev>=high", "proc:ssh"] {
            h.push(f);
        }
        let mut p = typed("dra");
        let go = |p: &mut Prompt, code| p.on_key(&KeyEvent::new(code, KeyModifiers::NONE), &h);
        go(&mut p, KeyCode::Up);
        assert_eq!(shown(&p), "proc:ssh|");
        go(&mut p, KeyCode::Up);
        go(&mut p, KeyCode::Up);
        go(&mut p, KeyCode::Up);
        assert_eq!(shown(&p), "state:listen|", "stops at the oldest");
        go(&mut p, KeyCode::Down);
        assert_eq!(shown(&p), "sev>=high|");
        go(&mut p, KeyCode::Down);
        go(&mut p, KeyCode::Down);
        assert_eq!(shown(&p), "dra|", "the draft comes back");
        go(&mut p, KeyCode::Down);
        assert_eq!(shown(&p), "dra|");
        assert_eq!(p.on_key(&KeyEvent::new(KeyCode::Char('p'), KeyModifiers::CONTROL), &h), Outcome::Edited);
        assert_eq!(shown(&p), "proc:ssh|", "ctrl-p");
        p.on_key(&KeyEvent::new(KeyCode::Char('n'), KeyModifiers::CONTROL), &h);
        assert_eq!(shown(&p), "dra|", "ctrl-n");
        let mut empty = Prompt::new("x");
        assert_eq!(empty.on_key(&KeyEvent::new(KeyCode::Up, KeyModifiers::NONE), &History::default()), Outcome::Edited);
        assert_eq!(shown(&empty), "x|", "no history: nothing changes");
    }
}
