//! Untrusted text (command lines, host names, paths) made safe to show:
//! bounded in length and with control characters escaped.

use std::fmt::Write;

/// Replace control characters (C0, DEL, C1) with `\xNN` / `\u{NNNN}`.
///
/// ```
/// // A command line that tries to retitle the terminal stays inert text.
/// assert_eq!(necromap::text::escape_control("sh\x1b]0;owned\x07"), "sh\\x1b]0;owned\\x07");
/// ```
pub fn escape_control(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            let n = c as u32;
            let _ = if n < 0x100 { write!(out, "\\x{n:02x}") } else { write!(out, "\\u{{{n:04x}}}") };
        } else {
            out.push(c);
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_bounds() {
        assert_eq!(escape_control("ok"), "ok");
        assert_eq!(escape_control("a\x1b]0;pwn\x07b"), "a\\x1b]0;pwn\\x07b");
        assert_eq!(escape_control("\u{9b}x"), "\\x9bx");
        assert_eq!(bounded("abcdef", 4), "abc…");
        assert_eq!(bounded("abc", 4), "abc");
    }
}
