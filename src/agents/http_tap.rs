//! The tap of the Streamable HTTP relay: the relay hands over copies of
//! body chunks ([`HttpTapped`]), each tagged with its stream (one request
//! or response body), and this reassembles them off the relay path into
//! whole JSON-RPC messages for [`Tap`]: a JSON body at its end, an event
//! stream event by event. A stream that lost a copy (the queue was full)
//! is skipped from there on; what cannot be read is counted by the tap.

use std::collections::HashMap;
use std::sync::mpsc::Receiver;
use std::time::Instant;

use hyper::body::Bytes;

use super::jsonrpc::{Direction, LINE_MAX};
use super::sse::SseParser;
use super::tap::Tap;

/// How a body carries JSON-RPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// One message or batch (a POST, an `application/json` answer).
    Json,
    /// Server-sent events, one message per event.
    Sse,
}

/// A copy of one chunk of a body.
#[derive(Debug)]
pub struct HttpChunk {
    /// The body it belongs to (unique within a relay).
    pub stream: u64,
    /// The exchange's session (a keyed hash of `Mcp-Session-Id`; 0: none).
    pub session: u64,
    pub dir: Direction,
    pub kind: BodyKind,
    /// This chunk's place in its body: a jump means copies were lost.
    pub seq: u32,
    pub at: Instant,
    pub at_ms: i64,
    pub bytes: Bytes,
    /// The body is over (complete or cut: a cut JSON body is malformed).
    pub end: bool,
}

/// What the HTTP relay hands its tap.
#[derive(Debug)]
pub enum HttpTapped {
    Chunk(HttpChunk),
    /// The client deleted the session (its open calls are recorded as unanswered).
    SessionEnded(u64),
    /// The relay is over.
    End,
}

#[derive(Debug, Default)]
struct Stream {
    next_seq: u32,
    buf: Vec<u8>,
    sse: SseParser,
    /// A copy was lost or the body grew too long: skip the rest.
    broken: bool,
}

/// Most bodies being reassembled at once (each body's end removes it).
const STREAMS_MAX: usize = 4096;

/// Reassembles bodies into messages for the tap.
#[derive(Debug)]
pub struct HttpTap {
    pub tap: Tap,
    streams: HashMap<u64, Stream>,
}

impl HttpTap {
    pub fn new(tap: Tap) -> Self {
        Self { tap, streams: HashMap::new() }
    }

    /// Run until the relay says it is over.
    #[must_use]
    pub fn run(mut self, rx: &Receiver<HttpTapped>) -> Self {
        while let Ok(t) = rx.recv() {
            match t {
                HttpTapped::Chunk(c) => self.chunk(&c),
                HttpTapped::SessionEnded(s) => self.tap.session_ended(s),
                HttpTapped::End => break,
            }
        }
        self
    }

    pub fn chunk(&mut self, c: &HttpChunk) {
        if !self.streams.contains_key(&c.stream) && self.streams.len() >= STREAMS_MAX {
            self.streams.clear();
        }
        let s = self.streams.entry(c.stream).or_default();
        if c.seq != s.next_seq {
            s.broken = true;
        }
        s.next_seq = c.seq.wrapping_add(1);
        let mut messages: Vec<Vec<u8>> = Vec::new();
        let mut overlong = 0;
        if !s.broken {
            match c.kind {
                BodyKind::Json => {
                    s.buf.extend_from_slice(&c.bytes);
                    if s.buf.len() > LINE_MAX {
                        s.buf = Vec::new();
                        s.broken = true;
                        overlong += 1;
                    } else if c.end {
                        messages.push(std::mem::take(&mut s.buf));
                    }
                }
                BodyKind::Sse => overlong += s.sse.push(&c.bytes, |d| messages.push(d.to_vec())),
            }
        }
        if c.end {
            self.streams.remove(&c.stream);
        }
        self.tap.count_malformed(overlong);
        for m in messages {
            self.tap.message(c.session, c.dir, c.at, c.at_ms, &m);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(stream: u64, dir: Direction, kind: BodyKind, seq: u32, bytes: &'static [u8], end: bool) -> HttpChunk {
        HttpChunk { stream, session: 7, dir, kind, seq, at: Instant::now(), at_ms: 1, bytes: Bytes::from_static(bytes), end }
    }

    #[test]
    fn bodies_and_events_become_calls_and_a_lost_copy_skips_the_body() {
        let mut h = HttpTap::new(Tap::new(None, None));
        let req: &[u8] = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"x":1}}}"#;
        h.chunk(&chunk(1, Direction::ToServer, BodyKind::Json, 0, &req[..20], false));
        h.chunk(&chunk(1, Direction::ToServer, BodyKind::Json, 1, &req[20..], true));
        h.chunk(&chunk(2, Direction::ToClient, BodyKind::Sse, 0, b"event: message\ndata: {\"jsonrpc\":\"2.0\",", false));
        h.chunk(&chunk(2, Direction::ToClient, BodyKind::Sse, 1, b"\"id\":1,\"result\":{\"content\":[]}}\n\n", true));
        assert_eq!((h.tap.report.calls, h.tap.report.malformed), (1, 0));
        h.chunk(&chunk(3, Direction::ToServer, BodyKind::Json, 0, b"{not json", true));
        assert_eq!(h.tap.report.malformed, 1, "a malformed body is counted");
        // Chunk 1 of stream 4 was lost: the body is not read (no call).
        h.chunk(&chunk(4, Direction::ToServer, BodyKind::Json, 0, br#"{"jsonrpc":"2.0","id":2,"#, false));
        h.chunk(&chunk(4, Direction::ToServer, BodyKind::Json, 2, br#""method":"tools/call","params":{"name":"e"}}"#, true));
        h.chunk(&chunk(5, Direction::ToClient, BodyKind::Json, 0, br#"{"jsonrpc":"2.0","id":2,"result":{}}"#, true));
        assert_eq!(h.tap.report.calls, 1);
        assert!(h.streams.is_empty(), "ended bodies are forgotten");
    }
}
