//! Following an eve.json file as Suricata appends to it.
//!
//! - Start: where the store says this file (same inode) was read to; else
//!   at the end, or at the start with `--eve-from-start`.
//! - Rotation (the path now names another inode): the old file is read to
//!   its end through the handle still open, then the new one from 0.
//! - Truncation (the file is shorter than where we were): from 0 again.
//! - A line is taken only once it ends in `\n`; a partial last line waits.
//!
//! `poll` returns complete lines; the caller parses them and reports the
//! position (`position()`) to the store with the alerts of those lines,
//! so a restart neither loses nor repeats alerts.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::store::EveOffset;

/// Most bytes read per poll, so one huge burst cannot stall the thread.
const READ_MAX: usize = 8 << 20;
/// A line longer than this is cut off and counted as malformed.
const LINE_MAX: usize = 1 << 20;

/// Where to begin when the store knows nothing of this file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    End,
    Beginning,
}

#[derive(Debug)]
pub struct EveTail {
    path: PathBuf,
    file: Option<File>,
    inode: u64,
    offset: u64,
    partial: Vec<u8>,
    /// Lines that were too long (the caller adds the ones that do not parse).
    pub oversized: u64,
}

impl EveTail {
    /// Follow `path`, resuming from `saved` when it is about the same file.
    pub fn new(path: &Path, start: StartAt, saved: Option<EveOffset>) -> Self {
        let mut t = Self { path: path.to_path_buf(), file: None, inode: 0, offset: 0, partial: Vec::new(), oversized: 0 };
        if let Ok(f) = crate::input::open(path, crate::input::Kind::Followed)
            && let Ok(meta) = f.metadata()
        {
            t.inode = meta.ino();
            t.offset = match saved {
                Some(s) if s.inode == meta.ino() && s.offset <= meta.len() => s.offset,
                _ if start == StartAt::Beginning => 0,
                _ => meta.len(),
            };
            t.file = Some(f);
        }
        t
    }

    /// Where the next line starts: (inode, byte offset). Lines still
    /// partial are not counted as read.
    pub fn position(&self) -> (u64, u64) {
        (self.inode, self.offset - self.partial.len() as u64)
    }

    /// New complete lines since the last poll.
    pub fn poll(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        // Finish the file we have open (after a rotation it is the old one).
        self.read_open(&mut lines);
        match std::fs::metadata(&self.path) {
            Ok(meta) if meta.ino() != self.inode || self.file.is_none() => {
                // Rotated (or appeared): the new file from its start.
                if let Ok(f) = crate::input::open(&self.path, crate::input::Kind::Followed) {
                    self.file = Some(f);
                    self.inode = meta.ino();
                    self.offset = 0;
                    self.partial.clear();
                    self.read_open(&mut lines);
                }
            }
            Ok(meta) if meta.len() < self.offset => {
                // Truncated in place.
                self.offset = 0;
                self.partial.clear();
                self.read_open(&mut lines);
            }
            _ => {}
        }
        lines
    }

    fn read_open(&mut self, lines: &mut Vec<String>) {
        let Some(f) = self.file.as_mut() else { return };
        if f.seek(SeekFrom::Start(self.offset)).is_err() {
            return;
        }
        let mut buf = Vec::new();
        let Ok(n) = f.take(READ_MAX as u64).read_to_end(&mut buf) else { return };
        if n == 0 {
            return;
        }
        self.offset += n as u64;
        let mut data = std::mem::take(&mut self.partial);
        data.extend_from_slice(&buf);
        let mut start = 0;
        while let Some(pos) = data[start..].iter().position(|b| *b == b'\n') {
            let line = &data[start..start + pos];
            if line.len() > LINE_MAX {
                self.oversized += 1;
            } else {
                lines.push(String::from_utf8_lossy(line).into_owned());
            }
            start += pos + 1;
        }
        let rest = &data[start..];
        if rest.len() > LINE_MAX {
            // A line without end that is already too long: drop what we have.
            self.oversized += 1;
        } else {
            self.partial = rest.to_vec();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn append(path: &Path, text: &str) {
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).expect("open");
        f.write_all(text.as_bytes()).expect("write");
    }

    #[test]
    fn follows_appends_partial_lines_rotation_and_truncation() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("eve.json");
        append(&path, "old\n");
        let mut t = EveTail::new(&path, StartAt::End, None);
        assert!(t.poll().is_empty(), "starts at the end");
        append(&path, "a\nb");
        assert_eq!(t.poll(), ["a"]);
        append(&path, "c\n");
        assert_eq!(t.poll(), ["bc"]);
        // Rotation: the old file gets one more line, then a new file appears.
        append(&path, "last-of-old\n");
        std::fs::rename(&path, dir.path().join("eve.json.1")).expect("rotate");
        append(&path, "first-of-new\n");
        assert_eq!(t.poll(), ["last-of-old", "first-of-new"]);
        // Truncation in place.
        std::fs::write(&path, "").expect("truncate");
        append(&path, "x\n");
        assert_eq!(t.poll(), ["x"]);
    }

    #[test]
    fn resumes_from_a_saved_position_of_the_same_file_only() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("eve.json");
        append(&path, "1\n2\n");
        let mut t = EveTail::new(&path, StartAt::Beginning, None);
        assert_eq!(t.poll(), ["1", "2"]);
        let (inode, offset) = t.position();
        append(&path, "3\n");
        let mut again = EveTail::new(&path, StartAt::End, Some(EveOffset { inode, offset, malformed: 0 }));
        assert_eq!(again.poll(), ["3"], "neither lost nor repeated");
        let mut other = EveTail::new(&path, StartAt::Beginning, Some(EveOffset { inode: inode + 1, offset, malformed: 0 }));
        assert_eq!(other.poll(), ["1", "2", "3"], "another file's position is ignored");
    }
}
