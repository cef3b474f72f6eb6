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
        assert_eq!(bounded("abcdef", 4), "abc…");
        assert_eq!(bounded("abc", 4), "abc");
        let line = format!("{} /dev/tcp/x {}", "a".repeat(200), "b".repeat(200));
        let hit = line.find("/dev/tcp").expect("in line");
        let e = excerpt(&line, hit..hit + 8, 60);
        assert!(e.starts_with('…') && e.ends_with('…') && e.contains("/dev/tcp/x"), "{e}");
        assert_eq!(e.chars().count(), 60);
        assert_eq!(excerpt("short /dev/tcp", 6..14, 60), "short /dev/tcp");
    }
}
