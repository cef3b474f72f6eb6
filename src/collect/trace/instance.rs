//! Our own tracing instance (`instances/necromap-<pid>-<n>`): its own ring
//! buffer, options, filter and `trace_pipe`, so whoever else traces on this
//! host keeps their settings and their buffer. Dropping it disables the
//! event and removes the directory; instances left by a necromap that was
//! killed are removed at the next start.

use std::io;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use rustix::fs::{AtFlags, Dir, Mode, OFlags, mkdirat, openat, statat, unlinkat};
use rustix::io::Errno;

use super::tracefs::{Tracefs, is_root};
use super::{TraceError, TraceOptions};

/// The event, relative to the tracefs root or an instance.
const EVENT: &str = "events/sock/inet_sock_set_state";

/// Kept in the kernel: TCP only, and only lines entering `SYN_SENT` (the
/// caller of `connect()`) or leaving it (where the source port shows).
pub const FILTER: &str = "protocol == 6 && (newstate == 2 || oldstate == 2)";

/// Ring buffer per CPU. Two short lines per connect, about 80 bytes each in
/// binary form: some 6,000 connects per CPU between two reads.
pub const BUFFER_KB: u32 = 1024;

const PREFIX: &str = "necromap-";

/// Tells apart several tracers in one process (tests run in parallel).
static SEQ: AtomicU32 = AtomicU32::new(0);

/// Options that change the line format, set to what the parser expects
/// when the instance inherited something else from the top level.
/// `record-tgid` is left alone unless asked for (see
/// [`TraceOptions::record_tgid`]): the parser reads its column if present.
const OPTIONS: [(&str, bool); 11] = [
    ("context-info", true),
    ("raw", false),
    ("hex", false),
    ("bin", false),
    ("fields", false),
    ("latency-format", false),
    ("verbose", false),
    ("block", false),
    ("stacktrace", false),
    ("userstacktrace", false),
    ("sym-userobj", false),
];

/// A created instance; removed on drop.
#[derive(Debug)]
pub struct Instance {
    tracefs: Tracefs,
    name: String,
    dir: String,
    /// Whether timestamps are in `CLOCK_BOOTTIME` (else the default
    /// per-CPU clock, which cannot be turned into wall time).
    pub boot_clock: bool,
}

impl Instance {
    /// Create and configure the instance with the event enabled.
    pub fn create(tracefs: Tracefs, options: TraceOptions) -> Result<Self, TraceError> {
        if statat(&tracefs.root, EVENT, AtFlags::empty()).is_err() {
            return Err(TraceError::NoEvent);
        }
        let name = format!("{PREFIX}{}-{}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed));
        let dir = format!("instances/{name}");
        mkdirat(&tracefs.root, dir.as_str(), Mode::from_raw_mode(0o755)).map_err(|e| setup("create a tracing instance", e.into()))?;
        let mut instance = Self { tracefs, name, dir, boot_clock: false };
        instance.configure(options)?;
        Ok(instance)
    }

    fn configure(&mut self, options: TraceOptions) -> Result<(), TraceError> {
        for (option, on) in OPTIONS {
            let path = format!("options/{option}");
            let want = if on { "1" } else { "0" };
            if self.read(&path).is_ok_and(|now| now.trim() != want) {
                self.write(&path, want).map_err(|e| setup("set the line format options", e))?;
            }
        }
        self.write("buffer_size_kb", &BUFFER_KB.to_string()).map_err(|e| setup("size the trace buffer", e))?;
        // Absent before Linux 5.x; with the default 50, poll() would wait
        // until the buffer is half full.
        let _ = self.write("buffer_percent", "0");
        self.boot_clock = self.write("trace_clock", "boot").is_ok();
        if options.record_tgid {
            self.write("options/record-tgid", "1").map_err(|e| setup("turn on record-tgid", e))?;
        }
        self.write(&format!("{EVENT}/filter"), FILTER).map_err(|e| setup("set the event filter", e))?;
        self.write(&format!("{EVENT}/enable"), "1").map_err(|e| setup("enable the event", e))?;
        Ok(())
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn tracefs(&self) -> &Tracefs {
        &self.tracefs
    }

    /// `trace_pipe`, non-blocking (reads are driven by poll).
    pub fn open_pipe(&self) -> Result<OwnedFd, TraceError> {
        self.open(&format!("{}/trace_pipe", self.dir), OFlags::RDONLY | OFlags::NONBLOCK).map_err(|e| setup("open trace_pipe", e))
    }

    /// `per_cpu/cpuN/stats` for every CPU, for the lost-event counts.
    pub fn open_stats(&self) -> Vec<OwnedFd> {
        let Ok(per_cpu) = self.open(&format!("{}/per_cpu", self.dir), OFlags::RDONLY | OFlags::DIRECTORY) else { return Vec::new() };
        let Ok(dir) = Dir::read_from(&per_cpu) else { return Vec::new() };
        dir.filter_map(Result::ok)
            .filter(|e| e.file_name().to_bytes().starts_with(b"cpu"))
            .filter_map(|e| openat(&per_cpu, format!("{}/stats", e.file_name().to_string_lossy()), OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ok())
            .collect()
    }

    fn open(&self, path: &str, flags: OFlags) -> io::Result<OwnedFd> {
        Ok(openat(&self.tracefs.root, path, flags | OFlags::CLOEXEC, Mode::empty())?)
    }

    fn read(&self, rel: &str) -> io::Result<String> {
        let fd = self.open(&format!("{}/{rel}", self.dir), OFlags::RDONLY)?;
        let mut buf = [0u8; 256];
        let n = rustix::io::read(&fd, &mut buf[..])?;
        Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
    }

    /// One write, as tracefs control files expect.
    fn write(&self, rel: &str, value: &str) -> io::Result<()> {
        let fd = self.open(&format!("{}/{rel}", self.dir), OFlags::WRONLY | OFlags::TRUNC)?;
        let n = rustix::io::write(&fd, value.as_bytes())?;
        if n == value.len() { Ok(()) } else { Err(io::Error::new(io::ErrorKind::WriteZero, "short write to a tracefs file")) }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.write(&format!("{EVENT}/enable"), "0");
        // EBUSY while a file of the instance is still open somewhere; the
        // caller closes trace_pipe first, so a short retry is enough.
        for _ in 0..20 {
            match unlinkat(&self.tracefs.root, self.dir.as_str(), AtFlags::REMOVEDIR) {
                Err(Errno::BUSY | Errno::INTR) => std::thread::sleep(Duration::from_millis(10)),
                _ => return,
            }
        }
    }
}

fn setup(step: &'static str, source: io::Error) -> TraceError {
    let denied = matches!(source.raw_os_error(), Some(e) if e == Errno::PERM.raw_os_error() || e == Errno::ACCESS.raw_os_error());
    if denied && !is_root() { TraceError::NotRoot } else { TraceError::Setup { step, source } }
}

/// Remove `necromap-<pid>…` instances whose process no longer runs. A live
/// necromap in another pid namespace is safe too: its open `trace_pipe`
/// makes the kernel refuse the removal (EBUSY).
pub fn remove_stale(tracefs: &Tracefs) -> usize {
    let Ok(instances) = openat(&tracefs.root, "instances", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()) else { return 0 };
    let Ok(dir) = Dir::read_from(&instances) else { return 0 };
    let me = std::process::id();
    let stale: Vec<String> = dir
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| stale_owner(name).is_some_and(|pid| pid != me && !std::path::Path::new(&format!("/proc/{pid}")).exists()))
        .collect();
    stale.iter().filter(|name| unlinkat(&instances, name.as_str(), AtFlags::REMOVEDIR).is_ok()).count()
}

/// The pid in `necromap-<pid>` or `necromap-<pid>-<n>`.
pub fn stale_owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(PREFIX)?;
    let pid = rest.split_once('-').map_or(rest, |(pid, _)| pid);
    pid.parse().ok()
}

/// Events the kernel could not keep, summed over CPUs: `overrun` (the
/// buffer wrapped over unread events) and `dropped events` (the buffer was
/// full in no-overwrite mode).
pub fn lost_events(stats: &[OwnedFd]) -> Option<u64> {
    let mut total = None;
    let mut buf = [0u8; 1024];
    for fd in stats {
        let Ok(n) = rustix::io::pread(fd, &mut buf[..], 0) else { continue };
        *total.get_or_insert(0) += parse_stats(&String::from_utf8_lossy(&buf[..n]));
    }
    total
}

pub fn parse_stats(text: &str) -> u64 {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| matches!(k.trim(), "overrun" | "dropped events"))
        .filter_map(|(_, v)| v.trim().parse::<u64>().ok())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_names() {
        assert_eq!(stale_owner("necromap-1234"), Some(1234));
        assert_eq!(stale_owner("necromap-1234-2"), Some(1234));
        assert_eq!(stale_owner("necromap-x"), None);
        assert_eq!(stale_owner("other-1234"), None);
    }

    #[test]
    fn stats_counts() {
        let text =
            "entries: 0\noverrun: 12\ncommit overrun: 0\nbytes: 0\noldest event ts:     0.000000\nnow ts:  5966.293760\ndropped events: 3\nread events: 0\n";
        assert_eq!(parse_stats(text), 15);
    }
}
