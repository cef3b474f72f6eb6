//! The systemd journal as a login source: `journalctl -o json -f` as a
//! child, limited to the auth and authpriv facilities (sshd and PAM log
//! there), resuming after the cursor the store remembers, else from now.
//! A reader thread hands complete lines over a bounded channel; the
//! child is killed and reaped when this is dropped. Read-only: journalctl
//! only reads the journal.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

/// Lines waiting for the intake; past this, lines are dropped and counted.
const QUEUE: usize = 20_000;
/// A line longer than this is not a journal record we read.
const LINE_MAX: usize = 1 << 20;

/// The arguments given to journalctl (also shown in health).
pub fn journal_args(cursor: Option<&str>) -> Vec<String> {
    let mut args: Vec<String> =
        ["-o", "json", "-f", "--no-pager", "--no-tail", "SYSLOG_FACILITY=4", "SYSLOG_FACILITY=10"].iter().map(|s| (*s).to_string()).collect();
    if let Some(c) = cursor {
        args.push(format!("--after-cursor={c}"));
    } else {
        // Only what comes from now on.
        args.retain(|a| a != "--no-tail");
        args.extend(["-n".to_string(), "0".to_string()]);
    }
    args
}

#[derive(Debug)]
pub struct JournalFollower {
    child: Child,
    lines: Receiver<String>,
    reader: Option<JoinHandle<()>>,
    /// Lines dropped because the queue was full, or too long.
    pub dropped: u64,
}

impl JournalFollower {
    /// Start `program` (journalctl) with [`journal_args`].
    pub fn spawn(program: &str, cursor: Option<&str>) -> std::io::Result<Self> {
        let mut child = Command::new(program).args(journal_args(cursor)).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn()?;
        let stdout = child.stdout.take().ok_or_else(|| std::io::Error::other("journalctl gave no stdout"))?;
        let (tx, rx) = sync_channel(QUEUE);
        let reader = std::thread::Builder::new().name("necromap-journal".into()).spawn(move || read_lines(stdout, &tx))?;
        Ok(Self { child, lines: rx, reader: Some(reader), dropped: 0 })
    }

    /// Lines received since the last call, and whether the child still runs.
    pub fn poll(&mut self) -> (Vec<String>, bool) {
        let mut out = Vec::new();
        while let Ok(line) = self.lines.try_recv() {
            if line.is_empty() {
                self.dropped += 1;
            } else {
                out.push(line);
            }
        }
        let running = matches!(self.child.try_wait(), Ok(None));
        (out, running)
    }
}

fn read_lines(stdout: std::process::ChildStdout, tx: &SyncSender<String>) {
    let mut reader = BufReader::new(stdout);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.by_ref().take(LINE_MAX as u64 + 1).read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        // An over-long line is sent as an empty one: counted as dropped.
        let line = if buf.len() > LINE_MAX { String::new() } else { String::from_utf8_lossy(&buf).trim_end().to_string() };
        match tx.try_send(line) {
            Ok(()) | Err(TrySendError::Full(_)) => {}
            Err(TrySendError::Disconnected(_)) => return,
        }
    }
}

impl Drop for JournalFollower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_resume_after_a_cursor_or_start_at_now() {
        let a = journal_args(Some("s=1;i=2"));
        assert!(a.contains(&"--after-cursor=s=1;i=2".to_string()) && a.contains(&"-f".to_string()));
        let b = journal_args(None);
        assert!(b.windows(2).any(|w| w[0] == "-n" && w[1] == "0"), "{b:?}");
        assert!(b.contains(&"SYSLOG_FACILITY=10".to_string()));
    }

    #[test]
    fn a_child_that_prints_lines_is_read_and_reaped() {
        // `sh -c` stands in for journalctl: it prints two records and exits.
        let dir = tempfile::tempdir().expect("tmp");
        let script = dir.path().join("fake-journalctl");
        std::fs::write(&script, "#!/bin/sh\nprintf '{\"a\":1}\\n{\"b\":2}\\n'\n").expect("write");
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
        let mut f = JournalFollower::spawn(&script.display().to_string(), None).expect("spawn");
        let mut got = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let (lines, running) = f.poll();
            got.extend(lines);
            if (!running && got.len() >= 2) || std::time::Instant::now() > deadline {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(got, ["{\"a\":1}", "{\"b\":2}"]);
    }
}
