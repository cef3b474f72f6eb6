//! A progress line on stderr, rewritten in place, only when stderr is a
//! terminal: piped or logged stderr gets nothing (only the final line the
//! command prints itself).

use std::io::{IsTerminal, Write};

#[derive(Debug)]
pub struct Progress {
    on: bool,
    shown: bool,
}

impl Progress {
    pub fn new() -> Self {
        Self { on: std::io::stderr().is_terminal(), shown: false }
    }

    /// Replace the line with `text`.
    pub fn show(&mut self, text: &str) {
        if self.on {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K{text}");
            let _ = err.flush();
            self.shown = true;
        }
    }

    /// Erase the line, so the next message starts clean.
    pub fn clear(&mut self) {
        if self.shown {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
            self.shown = false;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}
