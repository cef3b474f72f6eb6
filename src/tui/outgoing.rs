//! What the explorer writes to the terminal beside its frames: the bell
//! (a new critical or high finding) and OSC 52 (copy to the terminal's
//! clipboard). The app queues them as data; the loop writes them.

use std::io::{self, Write};

/// One thing for the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    Bell,
    /// Put this text on the clipboard (OSC 52; terminals that do not
    /// allow it ignore the sequence, and the status line shows the text).
    Copy(String),
}

impl Outgoing {
    /// The bytes to write.
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Self::Bell => b"\x07".to_vec(),
            Self::Copy(text) => format!("\x1b]52;c;{}\x07", base64(text.as_bytes())).into_bytes(),
        }
    }
}

/// Write `items` to `out` and flush.
pub fn write_all(out: &mut dyn Write, items: impl IntoIterator<Item = Outgoing>) -> io::Result<()> {
    for item in items {
        out.write_all(&item.bytes())?;
    }
    out.flush()
}

/// Standard base64 with padding (RFC 4648), as OSC 52 wants.
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648() {
        for (plain, coded) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")] {
            assert_eq!(base64(plain.as_bytes()), coded);
        }
    }

    #[test]
    fn copy_is_an_osc_52_sequence() {
        let mut out = Vec::new();
        write_all(&mut out, [Outgoing::Copy("203.0.113.200:4444".into()), Outgoing::Bell]).expect("write");
        assert_eq!(out, b"\x1b]52;c;MjAzLjAuMTEzLjIwMDo0NDQ0\x07\x07");
    }
}
