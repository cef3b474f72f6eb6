//! Who a thread id belongs to, read from /proc when its connect line is
//! read: the thread group (process) id, the name, and the network
//! namespace. A thread that has already exited can no longer tell; then
//! the trace line's own name and the thread id stand in.

use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;

use crate::collect::procfs::{RealProcFs, parse_stat};

/// Answers are reused this long: a busy client connecting in a loop costs
/// one /proc read per second, not one per connect. A thread id is only
/// reused after its thread exited, and a differing name on the trace line
/// forces a fresh read. The kernel hands ids out cyclically, so an id
/// comes round again within the TTL only when a whole `pid_max` of them
/// is used in a second (32,768 on a small host; a `/bin/true` loop here
/// uses about 2,700 a second): a cached answer about a reused id with the
/// same name is that rare.
const TTL: Duration = Duration::from_secs(1);

/// What /proc says about a thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskInfo {
    pub tgid: u32,
    /// `Name:` from status (the kernel escapes newlines and backslashes).
    pub name: String,
    /// Inode of the thread's network namespace (`/proc/<tid>/ns/net`).
    pub net_ns: Option<u64>,
    /// When the thread began, in µs since boot (`CLOCK_BOOTTIME`, to the
    /// kernel's clock tick: /proc/<tid>/stat rounds down).
    pub began_us: Option<u64>,
}

/// /proc lookups with a short memory.
#[derive(Debug)]
pub struct TaskLookup {
    proc: Option<RealProcFs>,
    cache: FxHashMap<u32, (Instant, TaskInfo)>,
}

impl TaskLookup {
    pub fn new() -> Self {
        Self { proc: RealProcFs::open().ok(), cache: FxHashMap::default() }
    }

    /// The thread's facts, or `None` once it is gone. `seen_name` is the
    /// trace line's name (ignored when the cache did not know it).
    pub fn lookup(&mut self, tid: u32, seen_name: &str, now: Instant) -> Option<TaskInfo> {
        if let Some((at, info)) = self.cache.get(&tid) {
            let name_agrees = seen_name == super::parse::UNKNOWN_COMM || seen_name == info.name;
            if now.duration_since(*at) < TTL && name_agrees {
                return Some(info.clone());
            }
        }
        let info = self.read(tid)?;
        self.cache.insert(tid, (now, info.clone()));
        Some(info)
    }

    /// [`Self::lookup`] for the thread that made a trace line: `None` when
    /// the thread now under `tid` is another one given the same id (a host
    /// with `pid_max` 32,768 and a busy build reuses ids within seconds).
    /// It is another when it began after the line's stamp `event_us` (µs
    /// since boot, when the trace clock is `boot`; the start is rounded
    /// down, so the thread that made the line never looks later than it),
    /// or when the line's own thread group `line_tgid` (`record-tgid`)
    /// differs from its.
    pub fn lookup_at(&mut self, tid: u32, seen_name: &str, now: Instant, event_us: Option<u64>, line_tgid: Option<u32>) -> Option<TaskInfo> {
        self.lookup(tid, seen_name, now).filter(|info| !began_after(info.began_us, event_us) && line_tgid.is_none_or(|g| g == info.tgid))
    }

    /// Forget answers older than the TTL (call about once a second).
    pub fn prune(&mut self, now: Instant) {
        self.cache.retain(|_, (at, _)| now.duration_since(*at) < TTL);
    }

    fn read(&self, tid: u32) -> Option<TaskInfo> {
        let proc = self.proc.as_ref()?;
        let text = |file: &str| proc.read_small(&format!("{tid}/{file}")).map(|b| String::from_utf8_lossy(&b).into_owned());
        let (name, group) = parse_status(&text("status")?)?;
        let net_ns = proc.netns_of(tid).ok().map(u64::from);
        let began_us = text("stat").and_then(|stat| parse_stat(&stat).map(|s| s.started_us(rustix::param::clock_ticks_per_second())));
        Some(TaskInfo { tgid: group, name, net_ns, began_us })
    }
}

/// Whether a thread that began at `began_us` began after an event at
/// `event_us` (both µs since boot); unknown either way: no.
fn began_after(began_us: Option<u64>, event_us: Option<u64>) -> bool {
    began_us.zip(event_us).is_some_and(|(began, event)| began > event)
}

/// `Name:` and `Tgid:` from `/proc/<tid>/status`.
pub fn parse_status(text: &str) -> Option<(String, u32)> {
    let mut name = None;
    let mut tgid = None;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("Name:") {
            name = Some(v.strip_prefix('\t').unwrap_or(v).to_string());
        } else if let Some(v) = line.strip_prefix("Tgid:") {
            tgid = v.trim().parse().ok();
        }
        if name.is_some() && tgid.is_some() {
            break;
        }
    }
    Some((name?, tgid?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_name_and_tgid() {
        let text = "Name:\tmy-app 2\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t1562\nNgid:\t0\nPid:\t1646\n";
        assert_eq!(parse_status(text), Some(("my-app 2".to_string(), 1562)));
        assert_eq!(parse_status("Name:\tx\n"), None);
    }

    #[test]
    fn this_thread_is_found_in_this_process() {
        let tid = rustix::thread::gettid().as_raw_nonzero().get() as u32;
        let mut tasks = TaskLookup::new();
        let info = tasks.lookup(tid, "<...>", Instant::now()).expect("own thread readable");
        assert_eq!(info.tgid, std::process::id());
        assert!(info.net_ns.is_some());
        assert!(tasks.lookup(u32::MAX - 1, "x", Instant::now()).is_none());
    }

    /// A line stamped before this thread began is not this thread's (its
    /// id was reused); one stamped now, or unstamped, is.
    #[test]
    fn a_thread_that_began_after_a_line_did_not_make_it() {
        let tid = rustix::thread::gettid().as_raw_nonzero().get() as u32;
        let now_us = {
            let t = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
            u64::try_from(t.tv_sec * 1_000_000 + t.tv_nsec / 1_000).expect("after boot")
        };
        let mut tasks = TaskLookup::new();
        let info = tasks.lookup(tid, "<...>", Instant::now()).expect("own thread readable");
        let began = info.began_us.expect("a start time");
        assert!(began <= now_us, "began {began} µs after boot, now {now_us}");
        assert!(tasks.lookup_at(tid, "<...>", Instant::now(), Some(now_us), None).is_some(), "a line stamped now");
        assert!(tasks.lookup_at(tid, "<...>", Instant::now(), None, None).is_some(), "an unstamped line");
        if let Some(before) = began.checked_sub(20_000) {
            assert!(tasks.lookup_at(tid, "<...>", Instant::now(), Some(before), None).is_none(), "a line from 20 ms before it began");
        }
        assert!(began_after(Some(5), Some(4)) && !began_after(Some(4), Some(4)) && !began_after(None, Some(1)) && !began_after(Some(9), None));
    }
}
