//! The byte relay: one thread per direction copies what it reads to the
//! other side unchanged, flushing each chunk, and hands a copy to the tap
//! (the parser) without ever waiting for it: when the tap's queue is
//! full, the copy is dropped and the tap told of a gap. The copy is handed
//! over before the bytes are written, so the tap sees a request before the
//! answer it caused.

use std::io::{Read, Write};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::time::Instant;

use super::jsonrpc::Direction;

/// What the relay hands the tap.
#[derive(Debug)]
pub enum Tapped {
    Bytes {
        dir: Direction,
        at: Instant,
        at_ms: i64,
        bytes: Vec<u8>,
    },
    /// Copies in this direction were dropped before this point.
    Gap(Direction),
    /// The relay is over.
    End,
}

/// Chunk size of one read.
const CHUNK: usize = 64 * 1024;

/// Copy `from` to `to` until either ends; returns the bytes copied.
pub fn pump(mut from: impl Read, mut to: impl Write, dir: Direction, tap: Option<&SyncSender<Tapped>>) -> u64 {
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    let mut gap = false;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        if let Some(tap) = tap {
            if gap && tap.try_send(Tapped::Gap(dir)).is_ok() {
                gap = false;
            }
            if !gap {
                let at_ms = crate::collect::now_ms();
                match tap.try_send(Tapped::Bytes { dir, at: Instant::now(), at_ms, bytes: buf[..n].to_vec() }) {
                    Ok(()) | Err(TrySendError::Disconnected(_)) => {}
                    Err(TrySendError::Full(_)) => gap = true,
                }
            }
        }
        if to.write_all(&buf[..n]).and_then(|()| to.flush()).is_err() {
            break;
        }
        total += n as u64;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_passes_and_the_tap_sees_it() {
        let input: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let (tx, rx) = std::sync::mpsc::sync_channel(1024);
        let mut out = Vec::new();
        let n = pump(&input[..], &mut out, Direction::ToServer, Some(&tx));
        drop(tx);
        assert_eq!(n, input.len() as u64);
        assert_eq!(out, input);
        let tapped: Vec<u8> = rx.iter().filter_map(|t| if let Tapped::Bytes { bytes, .. } = t { Some(bytes) } else { None }).flatten().collect();
        assert_eq!(tapped, input);
    }

    #[test]
    fn a_full_tap_drops_copies_never_bytes() {
        let input = vec![b'x'; 1 << 20];
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let mut out = Vec::new();
        pump(&input[..], &mut out, Direction::ToClient, Some(&tx));
        assert_eq!(out, input, "the relay never waits on the tap");
        assert!(rx.try_iter().count() <= 1);
    }
}
