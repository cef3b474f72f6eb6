//! The login intake thread: every half second, new lines of the auth log
//! (followed like eve.json, across rotation and truncation: `intel::tail`)
//! or of the journal (`journal`) are parsed; events go to the login book
//! (for the map) and, with the position reached, to the store in one
//! batch, so a restart resumes exactly after the last stored event.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::book::LoginBook;
use super::journal::JournalFollower;
use super::parse::{parse_journal_line, parse_syslog_line};
use crate::intel::tail::{EveTail, StartAt};
use crate::store::writer::BatchSender;
use crate::store::{Batch, EveOffset, LoginPosition};

const POLL: Duration = Duration::from_millis(500);
/// The store's key for the journal's position.
pub const JOURNAL_SOURCE: &str = "journal";

/// Where logins come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginSource {
    /// An auth log (`/var/log/auth.log`, `/var/log/secure`).
    File(PathBuf),
    /// The systemd journal, through this journalctl.
    Journal { program: String },
}

impl LoginSource {
    /// The store's key for its position, and the name health shows.
    pub fn key(&self) -> String {
        match self {
            Self::File(p) => p.display().to_string(),
            Self::Journal { .. } => JOURNAL_SOURCE.into(),
        }
    }
}

/// An auth log followed: the tail and its running count of bad lines.
#[derive(Debug)]
pub struct FileReader {
    tail: EveTail,
    key: String,
    malformed: u64,
}

impl FileReader {
    pub fn new(path: &Path, start: StartAt, saved: Option<&LoginPosition>) -> Self {
        let offset = saved.map(|s| EveOffset { inode: s.inode, offset: s.offset, malformed: s.malformed });
        Self { tail: EveTail::new(path, start, offset), key: path.display().to_string(), malformed: saved.map_or(0, |s| s.malformed) }
    }

    /// Read what the file has now: events into the book, and the batch
    /// for the store (events and the position).
    pub fn take(&mut self, book: &Mutex<LoginBook>, now_ms: i64) -> Batch {
        let lines = self.tail.poll();
        let mut batch = Batch::default();
        for line in &lines {
            match parse_syslog_line(line, now_ms) {
                Ok(events) => batch.logins.extend(events),
                Err(_) => self.malformed += 1,
            }
        }
        let malformed = self.malformed + self.tail.oversized;
        fill(book, lines.len(), &batch, malformed);
        if !lines.is_empty() {
            let (inode, offset) = self.tail.position();
            batch.login_positions.push((self.key.clone(), LoginPosition { inode, offset, cursor: None, malformed }));
        }
        batch
    }
}

fn fill(book: &Mutex<LoginBook>, lines: usize, batch: &Batch, malformed: u64) {
    if let Ok(mut b) = book.lock() {
        b.lines += lines as u64;
        b.malformed = malformed;
        for e in &batch.logins {
            b.add(e.clone());
        }
    }
}

/// The journal followed: the child and the last cursor read.
#[derive(Debug)]
pub struct JournalReader {
    follower: Option<JournalFollower>,
    program: String,
    cursor: Option<String>,
    malformed: u64,
}

impl JournalReader {
    pub fn new(program: &str, saved: Option<&LoginPosition>) -> Self {
        let cursor = saved.and_then(|s| s.cursor.clone());
        Self { follower: None, program: program.to_string(), cursor, malformed: saved.map_or(0, |s| s.malformed) }
    }

    pub fn take(&mut self, book: &Mutex<LoginBook>) -> Batch {
        let mut batch = Batch::default();
        if self.follower.is_none() {
            match JournalFollower::spawn(&self.program, self.cursor.as_deref()) {
                Ok(f) => self.follower = Some(f),
                Err(e) => {
                    trouble(book, Some(format!("cannot run {}: {e}", crate::text::escape_control(&self.program))));
                    return batch;
                }
            }
        }
        let Some(f) = self.follower.as_mut() else { return batch };
        let (lines, running) = f.poll();
        for line in &lines {
            match parse_journal_line(line) {
                Ok((events, cursor)) => {
                    batch.logins.extend(events);
                    if cursor.is_some() {
                        self.cursor = cursor;
                    }
                }
                Err(_) => self.malformed += 1,
            }
        }
        let malformed = self.malformed + f.dropped;
        fill(book, lines.len(), &batch, malformed);
        if !lines.is_empty() {
            batch.login_positions.push((JOURNAL_SOURCE.into(), LoginPosition { inode: 0, offset: 0, cursor: self.cursor.clone(), malformed }));
        }
        if running {
            trouble(book, None);
        } else {
            // Started again on the next poll, after the last cursor read.
            self.follower = None;
            trouble(
                book,
                Some("journalctl exited (no journal here, or no permission to read it: run as root or in group adm/systemd-journal); retrying".into()),
            );
        }
        batch
    }
}

fn trouble(book: &Mutex<LoginBook>, why: Option<String>) {
    if let Ok(mut b) = book.lock() {
        b.trouble = why;
    }
}

/// A running intake; dropping it stops the thread (and any journalctl).
#[derive(Debug)]
pub struct LoginIntake {
    _worker: crate::worker::Worker,
}

impl LoginIntake {
    pub fn spawn(
        source: LoginSource,
        start: StartAt,
        saved: Option<LoginPosition>,
        book: Arc<Mutex<LoginBook>>,
        store: Option<BatchSender>,
    ) -> std::io::Result<Self> {
        let worker = crate::worker::Worker::spawn("necromap-logins", move |stop| {
            let mut file = match &source {
                LoginSource::File(p) => Some(FileReader::new(p, start, saved.as_ref())),
                LoginSource::Journal { .. } => None,
            };
            let mut journal = match &source {
                LoginSource::Journal { program } => Some(JournalReader::new(program, saved.as_ref())),
                LoginSource::File(_) => None,
            };
            while !stop.is_set() {
                let batch = match (&mut file, &mut journal) {
                    (Some(f), _) => f.take(&book, crate::collect::now_ms()),
                    (None, Some(j)) => j.take(&book),
                    (None, None) => Batch::default(),
                };
                if let Some(s) = &store
                    && !batch.is_empty()
                {
                    s.send(batch);
                }
                std::thread::sleep(POLL);
            }
        })?;
        Ok(Self { _worker: worker })
    }
}
