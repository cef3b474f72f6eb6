//! MCP over stdin/stdout, one JSON-RPC message per line.
//!
//! rmcp speaks the protocol; in front of it a small relay reads stdin line
//! by line (at most [`MAX_LINE`] bytes a line), checks each envelope
//! ([`super::envelope`]) and answers a malformed message itself, so a client
//! always learns what was wrong. Answers from rmcp and from the relay reach
//! stdout whole, one line at a time, through a single writer.

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use super::envelope::{self, Verdict};

/// Longest message accepted on stdin (bytes); a longer line is discarded
/// and answered with an error.
pub const MAX_LINE: usize = 4 << 20;

/// One line read from the client.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    Whole(Vec<u8>),
    /// Longer than [`MAX_LINE`]: skipped up to its newline.
    TooLong,
    End,
}

/// Read one line of at most `cap` bytes without ever holding more.
async fn read_line<R: AsyncBufRead + Unpin>(reader: &mut R, cap: usize) -> std::io::Result<Line> {
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let buf = reader.fill_buf().await?;
        if buf.is_empty() {
            return Ok(if too_long {
                Line::TooLong
            } else if line.is_empty() {
                Line::End
            } else {
                Line::Whole(line)
            });
        }
        let (chunk, done) = match buf.iter().position(|b| *b == b'\n') {
            Some(i) => (&buf[..i], Some(i + 1)),
            None => (buf, None),
        };
        if !too_long && line.len() + chunk.len() <= cap {
            line.extend_from_slice(chunk);
        } else {
            too_long = true;
            line = Vec::new();
        }
        let used = done.unwrap_or(buf.len());
        reader.consume(used);
        if done.is_some() {
            return Ok(if too_long { Line::TooLong } else { Line::Whole(line) });
        }
    }
}

/// Relay the client's lines to `server`, answering malformed ones on
/// `replies`. Ends at the client's end of input.
async fn relay_in<R, W>(client: R, mut server: W, replies: mpsc::Sender<String>) -> std::io::Result<()>
where
    R: tokio::io::AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut reader = BufReader::new(client);
    loop {
        let verdict = match read_line(&mut reader, MAX_LINE).await? {
            Line::End => return Ok(()),
            Line::TooLong => Verdict::Reply(serde_json::json!({
                "jsonrpc": "2.0", "id": null,
                "error": { "code": envelope::INVALID_REQUEST, "message": format!("invalid request: a message is at most {MAX_LINE} bytes") }
            })),
            Line::Whole(line) => match envelope::check(&line) {
                Verdict::Forward => {
                    server.write_all(&line).await?;
                    server.write_all(b"\n").await?;
                    server.flush().await?;
                    continue;
                }
                other => other,
            },
        };
        if let Verdict::Reply(v) = verdict {
            // The writer is gone only when stdout is; then there is no one to tell.
            let _ = replies.send(v.to_string()).await;
        }
    }
}

/// Write rmcp's lines and the relay's replies to `out`, one whole line at a
/// time, until the server has ended, then the replies still queued.
async fn relay_out<R, W>(server: R, mut replies: mpsc::Receiver<String>, mut out: W) -> std::io::Result<()>
where
    R: tokio::io::AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut lines = BufReader::new(server).lines();
    let (mut server_open, mut replies_open) = (true, true);
    while server_open {
        let line = tokio::select! {
            l = lines.next_line(), if server_open => if let Some(l) = l? { l } else { server_open = false; continue; },
            r = replies.recv(), if replies_open => if let Some(r) = r { r } else { replies_open = false; continue; },
        };
        out.write_all(line.as_bytes()).await?;
        out.write_all(b"\n").await?;
        out.flush().await?;
    }
    // Replies queued before the client's end of input: the relay sends
    // them before it lets the server see that end, so they are all here.
    while let Ok(line) = replies.try_recv() {
        out.write_all(line.as_bytes()).await?;
        out.write_all(b"\n").await?;
    }
    out.flush().await?;
    Ok(())
}

/// The transport rmcp serves on, and the relay tasks that feed it from
/// `input` and write its answers to `output`; the handle ends when the
/// last answer is written.
pub fn transport<R, W>(input: R, output: W) -> ((tokio::io::DuplexStream, tokio::io::DuplexStream), tokio::task::JoinHandle<()>)
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (to_server, server_in) = tokio::io::duplex(1 << 16);
    let (server_out, from_server) = tokio::io::duplex(1 << 16);
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        if let Err(e) = relay_in(input, to_server, tx).await {
            super::log_line(&format!("reading stdin: {e}"));
        }
    });
    let writer = tokio::spawn(async move {
        if let Err(e) = relay_out(from_server, rx, output).await {
            super::log_line(&format!("writing stdout: {e}"));
        }
    });
    ((server_in, server_out), writer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_bounded_and_a_long_one_is_skipped_whole() {
        let input = b"short\nthis line is far too long\nnext\nlast".to_vec();
        let mut r = BufReader::with_capacity(4, &input[..]);
        assert_eq!(read_line(&mut r, 10).await.expect("read"), Line::Whole(b"short".to_vec()));
        assert_eq!(read_line(&mut r, 10).await.expect("read"), Line::TooLong);
        assert_eq!(read_line(&mut r, 10).await.expect("read"), Line::Whole(b"next".to_vec()));
        assert_eq!(read_line(&mut r, 10).await.expect("read"), Line::Whole(b"last".to_vec()));
        assert_eq!(read_line(&mut r, 10).await.expect("read"), Line::End);
    }

    #[tokio::test]
    async fn malformed_lines_are_answered_and_good_ones_forwarded() {
        let input: &[u8] =
            b"not json\n{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\",\"params\":[]}\n{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}\n";
        let (server_side, mut forwarded) = tokio::io::duplex(4096);
        let (tx, mut rx) = mpsc::channel(8);
        relay_in(input, server_side, tx).await.expect("relay");
        let mut got = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut forwarded, &mut got).await.expect("read");
        assert_eq!(got, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}\n");
        let first: serde_json::Value = serde_json::from_str(&rx.recv().await.expect("reply")).expect("json");
        assert_eq!(first["error"]["code"], envelope::PARSE_ERROR);
        let second: serde_json::Value = serde_json::from_str(&rx.recv().await.expect("reply")).expect("json");
        assert_eq!((second["id"].as_i64(), second["error"]["code"].as_i64()), (Some(2), Some(envelope::INVALID_PARAMS)));
    }
}
