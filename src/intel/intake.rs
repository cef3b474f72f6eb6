//! The eve.json intake thread: every half second, new lines of the file
//! are parsed; alerts go to the alert book (for the map) and, with the
//! position reached, to the store in one batch, so a restart resumes
//! exactly after the last stored alert.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use super::alerts::AlertBook;
use super::eve::{EveRecord, parse_line};
use super::tail::{EveTail, StartAt};
use crate::model::Snapshot;
use crate::store::writer::BatchSender;
use crate::store::{Batch, EveOffset};

const POLL: Duration = Duration::from_millis(500);

/// A running intake; dropping it stops the thread.
#[derive(Debug)]
pub struct EveIntake {
    _worker: crate::worker::Worker,
}

/// This host's addresses as the latest snapshot knows them (local ends of
/// its sockets), plus loopback.
fn local_addresses(snapshot: &Snapshot) -> std::collections::HashSet<IpAddr> {
    snapshot.sockets.iter().map(|s| crate::model::normalize_ip(s.raw.local.ip())).filter(|ip| !ip.is_unspecified()).collect()
}

/// Read the lines a tail has now: alerts into the book, and a batch for
/// the store (alerts and the position). Returns the batch.
pub fn take_lines(tail: &mut EveTail, path: &str, book: &Mutex<AlertBook>, is_local: &dyn Fn(IpAddr) -> bool, malformed: &mut u64) -> Batch {
    let lines = tail.poll();
    let mut batch = Batch::default();
    let mut parsed = Vec::new();
    let mut flows = Vec::new();
    for line in &lines {
        match parse_line(line, is_local) {
            Ok(Some(EveRecord::Alert(a))) => parsed.push(a),
            Ok(Some(EveRecord::Flow(f))) => flows.push(f),
            Ok(None) => {}
            Err(_) => *malformed += 1,
        }
    }
    let malformed_total = *malformed + tail.oversized;
    if let Ok(mut b) = book.lock() {
        b.lines += lines.len() as u64;
        b.malformed = malformed_total;
        for a in &parsed {
            b.add(a.clone());
        }
        for f in flows {
            b.add_flow(&f);
        }
    }
    if !lines.is_empty() {
        let (inode, offset) = tail.position();
        batch.offsets.push((path.to_string(), EveOffset { inode, offset, malformed: malformed_total }));
    }
    batch.alerts = parsed;
    batch
}

impl EveIntake {
    pub fn spawn(
        path: &Path,
        start: StartAt,
        saved: Option<EveOffset>,
        book: Arc<Mutex<AlertBook>>,
        store: Option<BatchSender>,
        snapshots: watch::Receiver<Arc<Snapshot>>,
    ) -> std::io::Result<Self> {
        let path: PathBuf = path.to_path_buf();
        let key = path.display().to_string();
        let worker = crate::worker::Worker::spawn("necromap-eve", move |stop| {
            let mut tail = EveTail::new(&path, start, saved);
            let mut malformed = saved.map_or(0, |s| s.malformed);
            while !stop.is_set() {
                // This host's addresses, gathered only when a line needs them.
                let locals = std::cell::OnceCell::new();
                let is_local = |ip: IpAddr| ip.is_loopback() || locals.get_or_init(|| local_addresses(&snapshots.borrow())).contains(&ip);
                let batch = take_lines(&mut tail, &key, &book, &is_local, &mut malformed);
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
