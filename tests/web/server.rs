//! Starting `necromap --web` and talking to it over raw HTTP/1.1, for the
//! web tests. The server is killed and reaped when dropped (`common::mcp`).
//! Each test binary uses a part of it.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::mcp::{BIN, Server, TOKEN, dechunk, start_command};

/// A web server and its one-time login link.
pub struct Web {
    pub server: Server,
    pub login: String,
}

impl Web {
    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }
}

/// `necromap --web 127.0.0.1:0 --no-store` with `args` (a source, an
/// interval) and the test token.
pub fn start(args: &[&str]) -> Web {
    let mut cmd = Command::new(BIN);
    cmd.args(["--web", "127.0.0.1:0", "--no-store"]).args(args).env("NECROMAP_MCP_TOKEN", TOKEN);
    let server = start_command(cmd);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = server.lines.recv_timeout(left).expect("necromap prints the web view's login link");
        if let Some(link) = line.split("open this link once to log in: ").nth(1) {
            let login = link.trim().to_string();
            return Web { server, login };
        }
    }
}

/// A response: status, head (lower-cased names kept as sent) and body.
pub struct Answer {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| l.split_once(':').filter(|(k, _)| k.trim().eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_string()))
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", &self.body[..self.body.len().min(300)]))
    }
}

/// One `GET path` with `headers` (a `Host` of the address unless given).
pub fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(15))).expect("timeout");
    let mut head = format!("GET {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        let _ = write!(head, "Host: {addr}\r\n");
    }
    for (k, v) in headers {
        let _ = write!(head, "{k}: {v}\r\n");
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).expect("write");
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    let text = String::from_utf8_lossy(&got).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
    Answer { status, head: head.to_string(), body: if chunked { dechunk(body) } else { body.to_string() } }
}

/// `Authorization: Bearer` with the test token.
pub fn bearer() -> (&'static str, String) {
    ("Authorization", format!("Bearer {TOKEN}"))
}

/// An open `/events` stream.
pub struct Stream {
    socket: TcpStream,
    buffer: String,
}

/// One SSE event: id, name and data.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub id: u64,
    pub kind: String,
    pub data: String,
}

impl Stream {
    /// Open `/events` with the token and an optional `Last-Event-ID`; the
    /// status line's code.
    pub fn open(addr: SocketAddr, last: Option<u64>) -> (u16, Self) {
        let mut socket = TcpStream::connect(addr).expect("connect");
        socket.set_read_timeout(Some(Duration::from_millis(200))).expect("timeout");
        let last = last.map(|n| format!("Last-Event-ID: {n}\r\n")).unwrap_or_default();
        let (k, v) = bearer();
        socket.write_all(format!("GET /events HTTP/1.1\r\nHost: {addr}\r\n{k}: {v}\r\nAccept: text/event-stream\r\n{last}\r\n").as_bytes()).expect("write");
        let mut stream = Self { socket, buffer: String::new() };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !stream.buffer.contains("\r\n\r\n") && Instant::now() < deadline {
            stream.fill();
        }
        let status = stream.buffer.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        if let Some((_, rest)) = stream.buffer.split_once("\r\n\r\n") {
            stream.buffer = rest.to_string();
        }
        (status, stream)
    }

    fn fill(&mut self) {
        let mut buf = [0u8; 8192];
        if let Ok(n) = self.socket.read(&mut buf) {
            self.buffer.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    }

    /// The next `n` events, within `limit`.
    pub fn events(&mut self, n: usize, limit: Duration) -> Vec<SseEvent> {
        let deadline = Instant::now() + limit;
        let mut out = Vec::new();
        while out.len() < n && Instant::now() < deadline {
            // Events end with a blank line; chunk sizes sit between them.
            while out.len() < n
                && let Some(end) = self.buffer.find("\n\n")
            {
                let block: String = self.buffer[..end].to_string();
                self.buffer = self.buffer[end + 2..].to_string();
                let field = |name: &str| block.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_string());
                if let (Some(id), Some(kind), Some(data)) = (field("id:"), field("event:"), field("data:")) {
                    out.push(SseEvent { id: id.parse().expect("numeric id"), kind, data });
                }
            }
            if out.len() < n {
                self.fill();
            }
        }
        out
    }
}
