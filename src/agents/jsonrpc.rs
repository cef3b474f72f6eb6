//! Reading the relayed bytes as MCP: newline-delimited JSON-RPC, split
//! into lines ([`LineSplitter`]) and paired request with response
//! ([`Tracker`]) into what the observer records: the server's name, its
//! tools, each call and the client's roots. Runs beside the relay, never
//! in its path: what cannot be read is counted and skipped.

use std::collections::HashMap;
use std::time::Instant;

use serde_json::Value;

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the client (the assistant) to the server.
    ToServer,
    /// From the server to the client.
    ToClient,
}

/// Longest line read as a message (longer ones are relayed, counted as
/// malformed and skipped here).
pub const LINE_MAX: usize = 8 << 20;

/// Bytes into lines, bounded.
#[derive(Debug, Default)]
pub struct LineSplitter {
    buf: Vec<u8>,
    /// Skipping to the next newline (after a gap or an overlong line).
    skipping: bool,
}

impl LineSplitter {
    /// Feed a chunk; each complete line (without its newline) goes to `line`.
    /// Returns how many overlong lines were skipped.
    pub fn push(&mut self, mut chunk: &[u8], mut line: impl FnMut(&[u8])) -> u64 {
        let mut overlong = 0;
        while let Some(at) = chunk.iter().position(|&b| b == b'\n') {
            let (head, rest) = chunk.split_at(at);
            if self.skipping {
                self.skipping = false;
            } else if self.buf.is_empty() {
                line(head);
            } else {
                self.buf.extend_from_slice(head);
                line(&self.buf);
                self.buf.clear();
            }
            chunk = &rest[1..];
        }
        if !self.skipping {
            self.buf.extend_from_slice(chunk);
            if self.buf.len() > LINE_MAX {
                self.buf = Vec::new();
                self.skipping = true;
                overlong += 1;
            }
        }
        overlong
    }

    /// Bytes were lost: drop the partial line and resume at the next newline.
    pub fn gap(&mut self) {
        self.buf.clear();
        self.skipping = true;
    }
}

/// One tool as a server lists it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ToolSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub input_schema: Value,
}

/// One `tools/call`, answered (or not).
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    pub at_ms: i64,
    pub tool: String,
    /// As sent: redact before storing ([`super::redact`]).
    pub arguments: Value,
    pub result_bytes: Option<usize>,
    pub duration_ms: Option<i64>,
    /// The protocol error's message, or the text of an `isError` result.
    pub error: Option<String>,
    /// The result's text content (bounded), for the engines only: never stored.
    pub result_text: String,
}

/// What the tracker learnt from one message.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The server answered `initialize` with this name.
    Initialized {
        name: Option<String>,
    },
    /// A complete tools/list (every page).
    ToolsListed(Vec<ToolSpec>),
    Call(CallRecord),
    /// The client answered the server's `roots/list`.
    Roots(Vec<String>),
}

/// Most requests waiting for an answer (a client that never reads answers
/// cannot grow the map without bound).
const PENDING_MAX: usize = 4096;
/// Most characters of result text kept for the engines.
const RESULT_TEXT_MAX: usize = 64 * 1024;

#[derive(Debug)]
enum Pending {
    Initialize,
    ToolsList { continued: bool },
    Call { tool: String, arguments: Value, at_ms: i64, sent: Instant },
}

/// Pairs requests with responses, both ways.
#[derive(Debug, Default)]
pub struct Tracker {
    /// Client requests by id (JSON text of the id).
    pending: HashMap<String, Pending>,
    /// Server requests for roots, by id.
    roots_asked: std::collections::HashSet<String>,
    /// Tools of a paged listing so far.
    listing: Vec<ToolSpec>,
    /// Lines that were not JSON-RPC.
    pub malformed: u64,
}

impl Tracker {
    /// Read one line that went `dir`, sent at `sent` (`at_ms` wall clock).
    pub fn line(&mut self, dir: Direction, line: &[u8], sent: Instant, at_ms: i64) -> Vec<Event> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return Vec::new();
        }
        let Ok(value) = serde_json::from_slice::<Value>(line) else {
            self.malformed += 1;
            return Vec::new();
        };
        let mut events = Vec::new();
        match value {
            Value::Array(batch) => {
                for m in batch {
                    self.message(dir, m, sent, at_ms, &mut events);
                }
            }
            m @ Value::Object(_) => self.message(dir, m, sent, at_ms, &mut events),
            _ => self.malformed += 1,
        }
        events
    }

    fn message(&mut self, dir: Direction, m: Value, sent: Instant, at_ms: i64, events: &mut Vec<Event>) {
        let Value::Object(mut m) = m else {
            self.malformed += 1;
            return;
        };
        let id = m.get("id").filter(|v| !v.is_null()).map(Value::to_string);
        let method = m.get("method").and_then(Value::as_str).map(str::to_owned);
        match (dir, method, id) {
            (Direction::ToServer, Some(method), Some(id)) => {
                if self.pending.len() >= PENDING_MAX {
                    return;
                }
                let params = m.remove("params").unwrap_or(Value::Null);
                let pending = match method.as_str() {
                    "initialize" => Pending::Initialize,
                    "tools/list" => Pending::ToolsList { continued: params.get("cursor").is_some_and(|c| !c.is_null()) },
                    "tools/call" => Pending::Call {
                        tool: params.get("name").and_then(Value::as_str).unwrap_or("").to_owned(),
                        arguments: params.get("arguments").cloned().unwrap_or(Value::Null),
                        at_ms,
                        sent,
                    },
                    _ => return,
                };
                self.pending.insert(id, pending);
            }
            (Direction::ToClient, Some(method), Some(id)) => {
                if method == "roots/list" && self.roots_asked.len() < PENDING_MAX {
                    self.roots_asked.insert(id);
                }
            }
            (Direction::ToClient, None, Some(id)) => {
                if let Some(p) = self.pending.remove(&id) {
                    self.answered(p, &m, sent, events);
                }
            }
            (Direction::ToServer, None, Some(id)) => {
                if self.roots_asked.remove(&id) {
                    let roots = m.get("result").and_then(|r| r.get("roots")).and_then(Value::as_array);
                    let uris =
                        roots.into_iter().flatten().filter_map(|r| r.get("uri").and_then(Value::as_str)).map(|u| crate::text::bounded(u, 1024)).collect();
                    events.push(Event::Roots(uris));
                }
            }
            (_, Some(_), None) => {} // notifications
            (_, None, None) => self.malformed += 1,
        }
    }

    fn answered(&mut self, pending: Pending, m: &serde_json::Map<String, Value>, sent: Instant, events: &mut Vec<Event>) {
        let result = m.get("result");
        match pending {
            Pending::Initialize => {
                let name = result.and_then(|r| r.get("serverInfo")).and_then(|s| s.get("name")).and_then(Value::as_str).map(|s| crate::text::bounded(s, 256));
                events.push(Event::Initialized { name });
            }
            Pending::ToolsList { continued } => {
                let Some(result) = result else { return };
                if !continued {
                    self.listing.clear();
                }
                let tools = result.get("tools").and_then(Value::as_array).into_iter().flatten();
                for t in tools.take(4096) {
                    let Some(name) = t.get("name").and_then(Value::as_str) else { continue };
                    self.listing.push(ToolSpec {
                        name: name.to_owned(),
                        description: t.get("description").and_then(Value::as_str).unwrap_or("").to_owned(),
                        input_schema: t.get("inputSchema").cloned().unwrap_or(Value::Null),
                    });
                }
                if result.get("nextCursor").is_none_or(Value::is_null) {
                    events.push(Event::ToolsListed(std::mem::take(&mut self.listing)));
                }
            }
            Pending::Call { tool, arguments, at_ms, sent: asked } => {
                let size = serde_json::to_vec(&Value::Object(m.clone())).map_or(0, |v| v.len());
                let text = result.map(result_text).unwrap_or_default();
                let error = match (m.get("error"), result) {
                    (Some(e), _) => Some(e.get("message").and_then(Value::as_str).unwrap_or("error").to_owned()),
                    (None, Some(r)) if r.get("isError").and_then(Value::as_bool) == Some(true) => Some(crate::text::bounded(&text, 512)),
                    _ => None,
                };
                let duration = sent.saturating_duration_since(asked);
                events.push(Event::Call(CallRecord {
                    at_ms,
                    tool,
                    arguments,
                    result_bytes: Some(size),
                    duration_ms: Some(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)),
                    error,
                    result_text: text,
                }));
            }
        }
    }

    /// Calls still waiting for an answer (the server went away).
    pub fn unanswered(&mut self) -> Vec<CallRecord> {
        let mut out = Vec::new();
        for (_, p) in self.pending.drain() {
            if let Pending::Call { tool, arguments, at_ms, .. } = p {
                out.push(CallRecord {
                    at_ms,
                    tool,
                    arguments,
                    result_bytes: None,
                    duration_ms: None,
                    error: Some("no answer".into()),
                    result_text: String::new(),
                });
            }
        }
        out.sort_by_key(|c| c.at_ms);
        out
    }
}

/// The text blocks of a tool result, and its structured content, bounded.
fn result_text(result: &Value) -> String {
    let mut out = String::new();
    for block in result.get("content").and_then(Value::as_array).into_iter().flatten() {
        if let Some(t) = block.get("text").and_then(Value::as_str) {
            push_bounded(&mut out, t);
        }
        if let Some(t) = block.get("resource").and_then(|r| r.get("text")).and_then(Value::as_str) {
            push_bounded(&mut out, t);
        }
    }
    if let Some(s) = result.get("structuredContent") {
        push_bounded(&mut out, &s.to_string());
    }
    out
}

fn push_bounded(out: &mut String, text: &str) {
    let room = RESULT_TEXT_MAX.saturating_sub(out.len());
    if room == 0 {
        return;
    }
    let mut end = text.len().min(room);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    out.push_str(&text[..end]);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn feed(t: &mut Tracker, dir: Direction, v: &Value) -> Vec<Event> {
        t.line(dir, v.to_string().as_bytes(), Instant::now(), 1)
    }

    #[test]
    fn lines_split_across_chunks_and_overlong_ones_skipped() {
        let mut s = LineSplitter::default();
        let mut got = Vec::new();
        s.push(b"ab", |l| got.push(l.to_vec()));
        s.push(b"c\nde\nf", |l| got.push(l.to_vec()));
        assert_eq!(got, vec![b"abc".to_vec(), b"de".to_vec()]);
        s.gap();
        got.clear();
        s.push(b"lost\nok\n", |l| got.push(l.to_vec()));
        assert_eq!(got, vec![b"ok".to_vec()]);
    }

    #[test]
    fn calls_pair_with_answers_and_garbage_is_counted() {
        let mut t = Tracker::default();
        assert!(t.line(Direction::ToServer, b"{not json", Instant::now(), 0).is_empty());
        assert_eq!(t.malformed, 1);
        feed(&mut t, Direction::ToServer, &json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read","arguments":{"path":"/x"}}}));
        let ev = feed(&mut t, Direction::ToClient, &json!({"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hello"}],"isError":true}}));
        let [Event::Call(c)] = ev.as_slice() else { panic!("{ev:?}") };
        assert_eq!(c.tool, "read");
        assert_eq!(c.arguments, json!({"path":"/x"}));
        assert!(c.error.as_deref().is_some_and(|e| e.contains("hello")), "{c:?}");
        assert!(c.result_bytes.is_some_and(|b| b > 10));
    }

    #[test]
    fn a_paged_listing_is_one_event() {
        let mut t = Tracker::default();
        feed(&mut t, Direction::ToServer, &json!({"jsonrpc":"2.0","id":"a","method":"tools/list"}));
        assert!(feed(&mut t, Direction::ToClient, &json!({"jsonrpc":"2.0","id":"a","result":{"tools":[{"name":"one"}],"nextCursor":"2"}})).is_empty());
        feed(&mut t, Direction::ToServer, &json!({"jsonrpc":"2.0","id":"b","method":"tools/list","params":{"cursor":"2"}}));
        let ev = feed(&mut t, Direction::ToClient, &json!({"jsonrpc":"2.0","id":"b","result":{"tools":[{"name":"two","description":"d"}]}}));
        let [Event::ToolsListed(tools)] = ev.as_slice() else { panic!("{ev:?}") };
        assert_eq!(tools.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["one", "two"]);
    }

    #[test]
    fn roots_come_from_the_clients_answer() {
        let mut t = Tracker::default();
        feed(&mut t, Direction::ToClient, &json!({"jsonrpc":"2.0","id":7,"method":"roots/list"}));
        let ev = feed(&mut t, Direction::ToServer, &json!({"jsonrpc":"2.0","id":7,"result":{"roots":[{"uri":"file:///"}]}}));
        assert_eq!(ev, vec![Event::Roots(vec!["file:///".into()])]);
    }
}
