//! Talking to `necromap --mcp --http` over raw HTTP/1.1: start a server and
//! read where it listens, whole exchanges (chunked and SSE bodies), a full
//! MCP conversation. The server child is killed and reaped when dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_necromap");
pub const TOKEN: &str = "test-token-0123456789abcdef";
pub const INIT: &str =
    r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;

/// Kills and reaps the server when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    /// Everything else the server printed on stderr, line by line.
    pub lines: mpsc::Receiver<String>,
    pub banner: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start a prepared server command and read the address it bound.
pub fn start_command(mut cmd: Command) -> Server {
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    cmd.env("XDG_DATA_HOME", "/nonexistent");
    let mut child = cmd.spawn().expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut server = Server { child, addr: "127.0.0.1:1".parse().expect("addr"), lines, banner: String::new() };
    loop {
        let line = server.lines.recv_timeout(Duration::from_secs(20)).expect("the server prints where it listens");
        if let Some(rest) = line.split("at http://").nth(1) {
            server.addr = rest.split('/').next().expect("host:port").parse().expect("bound address");
            server.banner = line;
            return server;
        }
    }
}

pub fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

/// One whole HTTP exchange (`Connection: close`): the status, the
/// response's session id if any, and the body as read to the end.
pub fn exchange(addr: SocketAddr, session: Option<&str>, body: &str) -> std::io::Result<(u16, Option<String>, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let session = session.map(|id| format!("Mcp-Session-Id: {id}\r\nMcp-Protocol-Version: 2025-03-26\r\n")).unwrap_or_default();
    s.write_all(
        format!(
            "POST /mcp HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n{session}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            bearer(),
            body.len()
        )
        .as_bytes(),
    )?;
    let mut got = Vec::new();
    s.read_to_end(&mut got)?;
    let text = String::from_utf8_lossy(&got).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let chunked = head.lines().any(|l| l.to_ascii_lowercase().starts_with("transfer-encoding:") && l.to_ascii_lowercase().contains("chunked"));
    Ok((status, session_of(head), if chunked { dechunk(body) } else { body.to_string() }))
}

/// The body of a chunked HTTP/1.1 response.
pub fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else { break };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

/// A whole MCP conversation: initialize, then one tool call; the call's
/// answer as text.
pub fn call_tool(addr: SocketAddr, tool: &str, arguments: &str) -> std::io::Result<String> {
    let (status, session, body) = exchange(addr, None, INIT)?;
    let session = session.filter(|_| status == 200).ok_or_else(|| std::io::Error::other(format!("initialize: {status} {body}")))?;
    exchange(addr, Some(&session), r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)?;
    let call = format!(r#"{{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{{"name":"{tool}","arguments":{arguments}}}}}"#);
    let (status, _, body) = exchange(addr, Some(&session), &call)?;
    if status == 200 { Ok(body) } else { Err(std::io::Error::other(format!("tools/call: {status} {body}"))) }
}

/// The session id a response assigned.
pub fn session_of(head: &str) -> Option<String> {
    head.lines().find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("mcp-session-id")).map(|(_, v)| v.trim().to_string()))
}

/// The JSON-RPC result inside an answer body (plain JSON or one SSE event).
pub fn result_of(body: &str) -> serde_json::Value {
    let v = body
        .lines()
        .map(|l| l.strip_prefix("data:").unwrap_or(l).trim())
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v.get("result").is_some())
        .unwrap_or_else(|| panic!("no JSON-RPC result in: {}", &body[..body.len().min(300)]));
    v["result"].clone()
}
