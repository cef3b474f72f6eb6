//! The body the HTTP relay passes on: the other side's body frame by frame,
//! unchanged (its size hint too, so a `Content-Length` still holds), with
//! a copy of each data frame handed to the tap without waiting (a full
//! queue drops the copy, and the tap sees the gap by the sequence number);
//! or a short fixed text the relay answers itself (a 502).

use std::pin::Pin;
use std::sync::mpsc::SyncSender;
use std::task::{Context, Poll};
use std::time::Instant;

use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};

use super::http_tap::{BodyKind, HttpChunk, HttpTapped};
use super::jsonrpc::Direction;

/// Where copies of a body's frames go.
#[derive(Debug)]
pub struct Copies {
    pub tx: SyncSender<HttpTapped>,
    pub stream: u64,
    pub session: u64,
    pub dir: Direction,
    pub kind: BodyKind,
    seq: u32,
    ended: bool,
}

impl Copies {
    pub fn new(tx: SyncSender<HttpTapped>, stream: u64, session: u64, dir: Direction, kind: BodyKind) -> Self {
        Self { tx, stream, session, dir, kind, seq: 0, ended: false }
    }

    fn send(&mut self, bytes: Bytes, end: bool) {
        if self.ended {
            return;
        }
        self.ended = end;
        let chunk = HttpChunk {
            stream: self.stream,
            session: self.session,
            dir: self.dir,
            kind: self.kind,
            seq: self.seq,
            at: Instant::now(),
            at_ms: crate::collect::now_ms(),
            bytes,
            end,
        };
        // Full or gone: the copy is dropped, never waited for.
        let _ = self.tx.try_send(HttpTapped::Chunk(chunk));
        self.seq = self.seq.wrapping_add(1);
    }
}

impl Drop for Copies {
    /// A body dropped before its end (the client went away) still ends its stream at the tap.
    fn drop(&mut self) {
        self.send(Bytes::new(), true);
    }
}

/// A relayed body, or the relay's own short answer.
#[derive(Debug)]
pub enum RelayBody {
    Relayed { inner: Incoming, copies: Option<Copies> },
    Fixed(Option<Bytes>),
}

impl RelayBody {
    pub fn relayed(inner: Incoming, copies: Option<Copies>) -> Self {
        Self::Relayed { inner, copies }
    }

    pub fn text(text: &'static str) -> Self {
        Self::Fixed(Some(Bytes::from_static(text.as_bytes())))
    }
}

impl Body for RelayBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.get_mut() {
            Self::Fixed(text) => Poll::Ready(text.take().map(|t| Ok(Frame::data(t)))),
            Self::Relayed { inner, copies } => {
                let polled = Pin::new(inner).poll_frame(cx);
                if let Some(c) = copies.as_mut() {
                    match &polled {
                        Poll::Ready(Some(Ok(frame))) => {
                            if let Some(data) = frame.data_ref() {
                                c.send(data.clone(), false);
                            }
                        }
                        Poll::Ready(None | Some(Err(_))) => c.send(Bytes::new(), true),
                        Poll::Pending => {}
                    }
                }
                polled
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Fixed(text) => text.is_none(),
            Self::Relayed { inner, .. } => inner.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Fixed(Some(t)) => SizeHint::with_exact(t.len() as u64),
            Self::Fixed(None) => SizeHint::with_exact(0),
            Self::Relayed { inner, .. } => inner.size_hint(),
        }
    }
}
