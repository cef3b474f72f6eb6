//! Server-sent events, read incrementally: the `data:` lines of each event
//! joined into one payload (a JSON-RPC message, in a Streamable HTTP
//! answer or GET stream). Lines end in `\n`, `\r\n` or `\r`; comments
//! (`:` lines) and other fields are skipped. Bounded: an event longer than
//! [`super::jsonrpc::LINE_MAX`] is dropped and counted.

use super::jsonrpc::LINE_MAX;

/// The parser's state across chunks.
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    data: Vec<u8>,
    has_data: bool,
    /// The last chunk ended in `\r`: a `\n` first in the next one ends nothing.
    after_cr: bool,
    /// The current event grew too long: skip to its end.
    skipping: bool,
}

impl SseParser {
    /// Feed a chunk; each complete event's data goes to `event`. Returns how
    /// many overlong events were dropped.
    pub fn push(&mut self, chunk: &[u8], mut event: impl FnMut(&[u8])) -> u64 {
        let mut overlong = 0;
        for &b in chunk {
            let after_cr = std::mem::replace(&mut self.after_cr, b == b'\r');
            match b {
                b'\n' if after_cr => {}
                b'\n' | b'\r' => overlong += self.end_line(&mut event),
                _ if self.skipping => {}
                _ => {
                    self.line.push(b);
                    if self.line.len() + self.data.len() > LINE_MAX {
                        self.line.clear();
                        self.data.clear();
                        self.skipping = true;
                    }
                }
            }
        }
        overlong
    }

    fn end_line(&mut self, event: &mut impl FnMut(&[u8])) -> u64 {
        let line = std::mem::take(&mut self.line);
        if line.is_empty() {
            let dropped = u64::from(self.skipping);
            if self.has_data && !self.skipping {
                event(&self.data);
            }
            self.data.clear();
            self.has_data = false;
            self.skipping = false;
            return dropped;
        }
        if self.skipping {
            return 0;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(at) => {
                let value = &line[at + 1..];
                (&line[..at], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (&line[..], &[][..]),
        };
        if field == b"data" {
            if self.has_data {
                self.data.push(b'\n');
            }
            self.data.extend_from_slice(value);
            self.has_data = true;
        }
        self.line = line;
        self.line.clear();
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(chunks: &[&[u8]]) -> Vec<String> {
        let mut p = SseParser::default();
        let mut out = Vec::new();
        for c in chunks {
            p.push(c, |d| out.push(String::from_utf8_lossy(d).into_owned()));
        }
        out
    }

    #[test]
    fn events_split_anywhere_with_any_line_end() {
        let all: &[u8] = b": keep-alive\n\nid: 1\nevent: message\ndata: {\"a\":1}\n\ndata:x\r\ndata: y\r\n\r\ndata: z\r\rretry: 5\n\n";
        let whole = events(&[all]);
        assert_eq!(whole, ["{\"a\":1}", "x\ny", "z"]);
        for at in 0..all.len() {
            assert_eq!(events(&[&all[..at], &all[at..]]), whole, "split at {at}");
        }
        let bytes: Vec<&[u8]> = all.chunks(1).collect();
        assert_eq!(events(&bytes), whole);
    }

    #[test]
    fn an_overlong_event_is_dropped_and_the_next_one_read() {
        let mut p = SseParser::default();
        let mut out = Vec::new();
        let big = vec![b'x'; LINE_MAX + 10];
        let mut n = p.push(b"data: ", |d| out.push(d.to_vec()));
        n += p.push(&big, |d| out.push(d.to_vec()));
        n += p.push(b"\n\ndata: ok\n\n", |d| out.push(d.to_vec()));
        assert_eq!((n, out), (1, vec![b"ok".to_vec()]));
    }
}
