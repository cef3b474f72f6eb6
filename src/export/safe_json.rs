//! JSON written straight to its output, with the characters serde leaves
//! as themselves (DEL, C1, bidi controls; it escapes C0 already) written
//! as `\uNNNN` on the way: the same document [`crate::text::json_escape_unsafe`]
//! makes of a finished string, without building the string first (a 100k
//! socket snapshot is tens of MB of JSON).

use std::io::{self, Write};

use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};

/// Writes a string's run of plain characters, escaping the unsafe ones.
fn fragment<W: ?Sized + Write>(w: &mut W, text: &str) -> io::Result<()> {
    if !crate::text::may_hold_unsafe(text, false) {
        return w.write_all(text.as_bytes());
    }
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if crate::text::is_unsafe(c) {
            w.write_all(&text.as_bytes()[start..i])?;
            write!(w, "\\u{:04x}", c as u32)?;
            start = i + c.len_utf8();
        }
    }
    w.write_all(&text.as_bytes()[start..])
}

/// Compact JSON with unsafe characters escaped.
#[derive(Debug, Default)]
pub struct SafeCompact(CompactFormatter);

impl Formatter for SafeCompact {
    fn write_string_fragment<W: ?Sized + Write>(&mut self, w: &mut W, text: &str) -> io::Result<()> {
        fragment(w, text)
    }
}

/// Pretty JSON (two-space indents) with unsafe characters escaped.
#[derive(Debug, Default)]
pub struct SafePretty(PrettyFormatter<'static>);

impl Formatter for SafePretty {
    fn write_string_fragment<W: ?Sized + Write>(&mut self, w: &mut W, text: &str) -> io::Result<()> {
        fragment(w, text)
    }
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// Append `value` to `w` as compact JSON, unsafe characters escaped (no
/// buffering of its own: for pieces of a larger document).
pub fn append_compact<T: serde::Serialize + ?Sized, W: Write>(value: &T, w: &mut W) -> io::Result<()> {
    value.serialize(&mut serde_json::Serializer::with_formatter(w, SafeCompact::default())).map_err(io::Error::from)
}

/// Write `value` as JSON to `out` (buffered), unsafe characters escaped.
pub fn write_safe<T: serde::Serialize + ?Sized>(value: &T, out: &mut dyn Write, pretty: bool) -> io::Result<()> {
    let mut w = io::BufWriter::with_capacity(64 * 1024, out);
    if pretty {
        value.serialize(&mut serde_json::Serializer::with_formatter(&mut w, SafePretty::default()))?;
    } else {
        value.serialize(&mut serde_json::Serializer::with_formatter(&mut w, SafeCompact::default()))?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::write_safe;

    /// The streamed document is byte for byte what escaping the finished
    /// string gives, compact and pretty, for every unsafe character class.
    #[test]
    fn streams_what_escaping_the_string_gives() {
        let names = ["plain", "tab\tnew\nline", "del\u{7f}", "c1\u{85}\u{9b}", "bidi\u{202e}txt.exe", "\u{61c}\u{200f}\u{2066}x\u{2069}", "한국어 ✓"];
        let value = serde_json::json!({ "names": names, "nested": { "k\u{202e}ey": [1, 2.5, null, true] } });
        for pretty in [false, true] {
            let text = if pretty { serde_json::to_string_pretty(&value) } else { serde_json::to_string(&value) }.expect("serialize");
            let want = crate::text::json_escape_unsafe(&text).into_owned();
            let mut got = Vec::new();
            write_safe(&value, &mut got, pretty).expect("write");
            assert_eq!(String::from_utf8(got).expect("utf-8"), want, "pretty: {pretty}");
        }
        let mut got = Vec::new();
        write_safe(&value, &mut got, false).expect("write");
        let text = String::from_utf8(got).expect("utf-8");
        assert!(text.contains("\\u202e") && text.contains("\\u007f") && text.contains("\\u0085") && !text.contains('\u{202e}'), "{text}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).expect("valid JSON"), value);
    }
}
