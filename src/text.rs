//! Untrusted text (command lines, host names, paths) made safe to show:
//! bounded in length, and with the characters that can change how a
//! terminal or an editor shows text escaped: C0, DEL, C1 and the Unicode
//! bidirectional controls (U+061C, U+200E, U+200F, U+202A–U+202E,
//! U+2066–U+2069, which can make `txt.exe` read as `exe.txt`). One rule,
//! [`is_unsafe`], for every output: [`escape_control`] for text, CSV, the
//! explorer and MCP answers; [`json_escape_unsafe`] for JSON documents.

use std::fmt::Write;

/// A character no output shows as itself.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Whether `s` holds an unsafe character (see [`is_unsafe`]), read from
/// its UTF-8 bytes without decoding: C0 and DEL are single bytes, C1 is
/// `C2 80..9F`, U+061C is `D8 9C`, the bidi controls are `E2 80 8E..8F`,
/// `E2 80 AA..AE` and `E2 81 A6..A9`. With `whitespace`, newline, carriage
/// return and tab are not counted. Exact: the test below checks it against
/// [`is_unsafe`] for every character.
pub(crate) fn may_hold_unsafe(s: &str, whitespace: bool) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let hit = match c {
            b'\n' | b'\r' | b'\t' => !whitespace,
            0x00..=0x1f | 0x7f => true,
            0xc2 => b.get(i + 1).is_some_and(|n| (0x80..=0x9f).contains(n)),
            0xd8 => b.get(i + 1) == Some(&0x9c),
            0xe2 => matches!((b.get(i + 1), b.get(i + 2)), (Some(0x80), Some(0x8e | 0x8f | 0xaa..=0xae)) | (Some(0x81), Some(0xa6..=0xa9))),
            _ => false,
        };
        if hit {
            return true;
        }
        i += 1;
    }
    false
}

/// Replace unsafe characters (C0, DEL, C1, bidi controls; see
/// [`is_unsafe`]) with `\xNN` / `\u{NNNN}`.
///
/// ```
/// // A command line that tries to retitle the terminal stays inert text.
/// assert_eq!(necromap::text::escape_control("sh\x1b]0;owned\x07"), "sh\\x1b]0;owned\\x07");
/// ```
pub fn escape_control(s: &str) -> String {
    if !may_hold_unsafe(s, false) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            let n = c as u32;
            let _ = if n < 0x100 { write!(out, "\\x{n:02x}") } else { write!(out, "\\u{{{n:04x}}}") };
        } else {
            out.push(c);
        }
    }
    out
}

/// Serialized JSON with every unsafe character that serde left as itself
/// (DEL, C1, bidi controls; it escapes C0 already) written as a `\uNNNN`
/// escape: the same JSON value, but no raw control reaches a terminal.
/// Such characters can only stand inside strings, where the escape is valid.
pub fn json_escape_unsafe(json: &str) -> std::borrow::Cow<'_, str> {
    // Pretty JSON has newlines and indents: those stay.
    if !may_hold_unsafe(json, true) {
        return std::borrow::Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if is_unsafe(c) && !matches!(c, '\n' | '\r' | '\t') {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// At most `max` characters, with `…` when cut.
pub fn bounded(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// At most about `max` characters of `s` around the byte range `hit`
/// (what a regex matched), with `…` where text was left out on either side.
pub fn excerpt(s: &str, hit: std::ops::Range<usize>, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let before = s.get(..hit.start).unwrap_or("");
    let lead = max / 3;
    let skip = before.chars().count().saturating_sub(lead);
    let tail: String = s.chars().skip(skip).collect();
    let body = bounded(&tail, if skip > 0 { max.saturating_sub(1) } else { max });
    if skip > 0 { format!("…{body}") } else { body }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_bounds() {
        assert_eq!(escape_control("ok"), "ok");
        assert_eq!(escape_control("a\x1b]0;pwn\x07b"), "a\\x1b]0;pwn\\x07b");
        assert_eq!(escape_control("\u{9b}x"), "\\x9bx");
        assert_eq!(escape_control("a\u{7f}b\u{85}c"), "a\\x7fb\\x85c");
        assert_eq!(escape_control("invoice\u{202e}fdp.exe"), "invoice\\u{202e}fdp.exe", "right-to-left override");
        for c in ['\u{061c}', '\u{200e}', '\u{200f}', '\u{202a}', '\u{2066}', '\u{2069}'] {
            assert!(is_unsafe(c), "{:x}", c as u32);
        }
        let json = serde_json::to_string("a\u{9b}b\u{202e}c\u{7f}\x1b").expect("json");
        let safe = json_escape_unsafe(&json);
        assert!(!safe.chars().any(is_unsafe), "{safe}");
        assert_eq!(serde_json::from_str::<String>(&safe).expect("still JSON"), "a\u{9b}b\u{202e}c\u{7f}\x1b", "the same value");
        assert_eq!(bounded("abcdef", 4), "abc…");
        assert_eq!(bounded("abc", 4), "abc");
        let line = format!("{} /dev/tcp/x {}", "a".repeat(200), "b".repeat(200));
        let hit = line.find("/dev/tcp").expect("in line");
        let e = excerpt(&line, hit..hit + 8, 60);
        assert!(e.starts_with('…') && e.ends_with('…') && e.contains("/dev/tcp/x"), "{e}");
        assert_eq!(e.chars().count(), 60);
        assert_eq!(excerpt("short /dev/tcp", 6..14, 60), "short /dev/tcp");
    }

    #[test]
    fn the_byte_scan_finds_exactly_the_unsafe_characters() {
        // Every character up to U+FFFF plus a sample above: when the char
        // is unsafe, its bytes trip the scan.
        let chars = (0u32..=0xffff).chain((0x1_0000..0x11_0000).step_by(97)).filter_map(char::from_u32);
        for c in chars {
            let text = format!("a{c}b");
            assert_eq!(may_hold_unsafe(&text, false), is_unsafe(c), "U+{:04x}", c as u32);
            let whitespace = matches!(c, '\n' | '\r' | '\t');
            assert_eq!(may_hold_unsafe(&text, true), is_unsafe(c) && !whitespace, "U+{:04x}", c as u32);
        }
        let pretty = serde_json::to_string_pretty(&serde_json::json!({"a": [1, "b"]})).expect("json");
        assert!(!may_hold_unsafe(&pretty, true), "pretty JSON's whitespace is not unsafe");
        assert!(matches!(json_escape_unsafe(&pretty), std::borrow::Cow::Borrowed(_)));
    }
}

/// An error and its causes in one line, each cause said once: a message
/// that already quotes its cause (`"{file}: cannot read: {source}"`) is not
/// followed by the cause again.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        let text = c.to_string();
        // A cause such as SQLite's `Error code 26: file is not a database`
        // restates what was said behind its own prefix.
        let restated = text.split_once(": ").is_some_and(|(_, rest)| !rest.is_empty() && out.contains(rest));
        if !text.is_empty() && !out.contains(&text) && !restated {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

/// Most characters of an error message printed for the user.
pub const ERROR_MAX: usize = 8 * 1024;

/// [`error_chain`] as printed for the user: every unsafe character escaped
/// (a message may quote a hostile file or name) except the newlines between
/// its lines, and bounded to [`ERROR_MAX`] characters.
pub fn error_text(error: &(dyn std::error::Error + 'static)) -> String {
    let chain = error_chain(error);
    let escaped: Vec<String> = chain.split('\n').map(escape_control).collect();
    bounded(&escaped.join("\n"), ERROR_MAX)
}

#[cfg(test)]
mod error_chain_tests {
    #[derive(Debug, thiserror::Error)]
    #[error("{file}: cannot read: {source}")]
    struct Quoting {
        file: String,
        source: std::io::Error,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("loading rules")]
    struct Outer(#[source] Quoting);

    #[test]
    fn each_cause_is_said_once() {
        let e = Outer(Quoting { file: "/x".into(), source: std::io::Error::from(std::io::ErrorKind::NotFound) });
        let text = super::error_chain(&e);
        assert_eq!(text.matches("not found").count(), 1, "{text}");
        assert!(text.starts_with("loading rules: /x: cannot read: "), "{text}");
    }

    #[derive(Debug, thiserror::Error)]
    #[error("{text}")]
    struct Said {
        text: &'static str,
        #[source]
        source: Option<Box<Said>>,
    }

    #[test]
    fn a_cause_restating_behind_a_prefix_is_left_out() {
        let code = Said { text: "Error code 26: file is not a database", source: None };
        let sqlite = Said { text: "file is not a database", source: Some(Box::new(code)) };
        let e = Said { text: "event store x.db: file is not a database", source: Some(Box::new(sqlite)) };
        assert_eq!(super::error_chain(&e), "event store x.db: file is not a database");
        let other = Said { text: "event store x.db", source: Some(Box::new(Said { text: "Error code 14: unable to open", source: None })) };
        assert_eq!(super::error_chain(&other), "event store x.db: Error code 14: unable to open");
    }

    #[test]
    fn printed_errors_are_escaped_and_bounded() {
        let e = Outer(Quoting { file: format!("/x\u{9b}\u{202e}\x1b[2J\n{}", "y".repeat(20_000)), source: std::io::Error::other("z") });
        let text = super::error_text(&e);
        assert!(!text.chars().any(|c| super::is_unsafe(c) && c != '\n'), "{text}");
        assert!(text.contains("/x\\x9b\\u{202e}\\x1b[2J\n"), "{text}");
        assert_eq!(text.chars().count(), super::ERROR_MAX);
    }
}
