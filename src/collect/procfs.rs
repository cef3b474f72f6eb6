//! Reading /proc: the fd tables for the owner cache, and process facts for
//! socket owners only, cached per (pid, start time).

use std::collections::HashMap;
use std::ffi::CStr;
use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{AtFlags, Dir, Mode, OFlags, openat, readlinkat_raw, statat};
use rustix::io::Errno;

use super::cgroup::parse_cgroup;
use super::container_names::ContainerNames;
use super::owners::{FdError, FdTarget, OwnerCache, ProcFs};
use crate::model::{ProcessFacts, Workload};

/// Longest command line kept, in bytes.
pub const CMDLINE_MAX: usize = 4096;

/// From how many fds of one process the table is listed and read on two
/// threads.
const PARALLEL_FROM_FDS: usize = 2_048;

/// How far past a long table's count its fd numbers are read one by one
/// before the rest is listed (a few closed fds leave holes below it).
const PROBE_SLACK: u32 = 64;

/// /proc opened once; every lookup is relative to it.
#[derive(Debug)]
pub struct RealProcFs {
    proc_dir: OwnedFd,
}

impl RealProcFs {
    pub fn open() -> std::io::Result<Self> {
        let proc_dir = openat(rustix::fs::CWD, "/proc", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
        Ok(Self { proc_dir })
    }

    fn fd_dir(&self, pid: u32) -> Result<OwnedFd, FdError> {
        openat(&self.proc_dir, format!("{pid}/fd"), OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).map_err(fd_error)
    }

    /// A file under /proc (`path` relative to it), up to 64 KiB.
    pub(crate) fn read_small(&self, path: &str) -> Option<Vec<u8>> {
        let fd = openat(&self.proc_dir, path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ok()?;
        let mut out = Vec::with_capacity(512);
        let mut chunk = [0u8; 4096];
        loop {
            let n = rustix::io::read(&fd, &mut chunk[..]).ok()?;
            if n == 0 || out.len() > 64 * 1024 {
                return Some(out);
            }
            out.extend_from_slice(&chunk[..n]);
        }
    }

    /// `tty-index` of a pty master fd, from fdinfo (Linux ≥ 4.?; absent
    /// on older kernels, where pty hops are not resolved).
    /// What the fd link at `path` (relative to `dir`) points at.
    fn target(&self, dir: impl AsFd, path: impl rustix::path::Arg, pid: u32, fd: u32) -> Option<FdTarget> {
        let mut buf = [0u8; 512];
        let n = readlinkat_raw(dir, path, &mut buf[..]).ok()?;
        let link = &buf[..n];
        if let Some(inode) = socket_inode(link) {
            return Some(FdTarget::Socket(inode));
        }
        // A link that filled the buffer may be cut: not judged.
        if n == buf.len() {
            return Some(FdTarget::Other);
        }
        Some(match classify_link(link, fd) {
            LinkKind::Master => self.tty_index(pid, fd).map_or(FdTarget::Other, FdTarget::PtyMaster),
            LinkKind::Target(t) => t,
        })
    }

    fn tty_index(&self, pid: u32, fd: u32) -> Option<u32> {
        let info = self.read_small(&format!("{pid}/fdinfo/{fd}"))?;
        fdinfo_field(&info, "tty-index:")?.parse().ok()
    }

    /// The access mode of an fd (`flags:` in fdinfo, octal).
    pub fn access(&self, pid: u32, fd: u32) -> Option<Access> {
        let info = self.read_small(&format!("{pid}/fdinfo/{fd}"))?;
        let flags = u32::from_str_radix(fdinfo_field(&info, "flags:")?, 8).ok()?;
        Some(match flags & 0o3 {
            0 => Access::Read,
            1 => Access::Write,
            _ => Access::ReadWrite,
        })
    }

    /// (device, inode) of what an fd points at when it is a FIFO.
    pub fn fifo_identity(&self, pid: u32, fd: u32) -> Option<(u64, u64)> {
        let st = statat(&self.proc_dir, format!("{pid}/fd/{fd}"), AtFlags::empty()).ok()?;
        (rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Fifo).then_some((st.st_dev, st.st_ino))
    }

    /// The command line of a process, joined and bounded.
    pub fn cmdline(&self, pid: u32) -> Option<String> {
        self.read_small(&format!("{pid}/cmdline")).map(|b| join_cmdline(&b))
    }

    /// Where an fd points, as text.
    pub fn fd_link(&self, pid: u32, fd: u32) -> Option<String> {
        self.read_link(&format!("{pid}/fd/{fd}"))
    }

    /// The network namespace inode of a process (`net:[N]`), or why it
    /// could not be read (`EACCES` for other users' processes unprivileged).
    pub fn netns_of(&self, pid: u32) -> Result<u32, Errno> {
        let mut buf = [0u8; 64];
        let n = readlinkat_raw(&self.proc_dir, format!("{pid}/ns/net"), &mut buf[..])?;
        buf[..n].strip_prefix(b"net:[").and_then(|r| r.strip_suffix(b"]")).and_then(|r| std::str::from_utf8(r).ok()?.parse().ok()).ok_or(Errno::INVAL)
    }

    /// Open a process's network namespace file (to enter it).
    pub fn open_netns(&self, pid: u32) -> Result<OwnedFd, Errno> {
        openat(&self.proc_dir, format!("{pid}/ns/net"), OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
    }

    fn read_link(&self, path: &str) -> Option<String> {
        let mut buf = [0u8; 4096];
        let n = readlinkat_raw(&self.proc_dir, path, &mut buf[..]).ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    }
}

/// How an fd was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    ReadWrite,
}

impl Access {
    pub fn reads(self) -> bool {
        matches!(self, Self::Read | Self::ReadWrite)
    }
    pub fn writes(self) -> bool {
        matches!(self, Self::Write | Self::ReadWrite)
    }
}

/// The value after `key` on its line of an fdinfo file.
fn fdinfo_field<'a>(info: &'a [u8], key: &str) -> Option<&'a str> {
    std::str::from_utf8(info).ok()?.lines().find_map(|l| l.strip_prefix(key)).map(str::trim)
}

fn fd_error(e: Errno) -> FdError {
    if e == Errno::ACCESS || e == Errno::PERM { FdError::Denied } else { FdError::Gone }
}

fn numeric(name: &CStr) -> Option<u32> {
    let b = name.to_bytes();
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// `socket:[12345]` → inode.
pub fn socket_inode(link: &[u8]) -> Option<u32> {
    let rest = link.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
    std::str::from_utf8(rest).ok()?.parse().ok()
}

impl ProcFs for RealProcFs {
    fn pids(&mut self) -> Vec<u32> {
        let Ok(dir) = Dir::read_from(&self.proc_dir) else { return Vec::new() };
        dir.filter_map(Result::ok).filter_map(|e| numeric(e.file_name())).collect()
    }

    fn identity(&mut self, pid: u32) -> Result<u64, FdError> {
        statat(&self.proc_dir, pid.to_string(), AtFlags::empty()).map(|s| s.st_ino).map_err(fd_error)
    }

    fn fd_count(&mut self, pid: u32) -> Result<Option<u64>, FdError> {
        let st = statat(&self.proc_dir, format!("{pid}/fd"), AtFlags::empty()).map_err(fd_error)?;
        // Linux ≥ 6.2 reports the number of open fds as the size; older
        // kernels report 0, which cannot be told from "no fds".
        Ok((st.st_size > 0).then_some(st.st_size as u64))
    }

    fn list_fds(&mut self, pid: u32) -> Result<Vec<u32>, FdError> {
        let dir = self.fd_dir(pid)?;
        let entries = Dir::new(dir).map_err(fd_error)?;
        Ok(entries.filter_map(Result::ok).filter_map(|e| numeric(e.file_name())).collect())
    }

    fn read_fd(&mut self, pid: u32, fd: u32) -> Option<FdTarget> {
        self.target(&self.proc_dir, format!("{pid}/fd/{fd}"), pid, fd)
    }

    /// Each link is read relative to the pid's fd directory (opened once,
    /// not looked up again per fd), a long list on two threads: the reads
    /// are system calls that do not share anything.
    fn read_fds(&mut self, pid: u32, fds: &[u32]) -> Vec<Option<FdTarget>> {
        let Ok(dir) = self.fd_dir(pid) else { return fds.iter().map(|&fd| self.read_fd(pid, fd)).collect() };
        let this: &Self = self;
        let read = |part: &[u32]| -> Vec<Option<FdTarget>> { part.iter().map(|&fd| this.target(&dir, fd.to_string(), pid, fd)).collect() };
        if fds.len() < PARALLEL_FROM_FDS || !crate::both::second_core() {
            return read(fds);
        }
        let (first, second) = fds.split_at(fds.len() / 2);
        let (second, mut out) = crate::both::both(|| read(second), || read(first));
        out.extend(second);
        out
    }

    /// A long table (by the kernel's count) is read in two parts on two
    /// threads, without listing most of it: fd numbers are nearly dense,
    /// so each part reads the links of every number in its half of
    /// `0..count + slack` (a number not open fails, and is skipped), and
    /// the second part then lists the directory from the end of that range
    /// for any fd above it (procfs keeps a directory's position as the fd
    /// number plus two). Listing a fd directory cost as much as a sixth
    /// of reading its links. Sparse tables are read completely too, mostly
    /// by the listing.
    fn scan_fds(&mut self, pid: u32, count: Option<u64>) -> Result<Vec<(u32, Option<FdTarget>)>, FdError> {
        let dir = self.fd_dir(pid)?;
        let Some(count) = count.filter(|&n| n >= PARALLEL_FROM_FDS as u64 && crate::both::second_core()).and_then(|n| u32::try_from(n).ok()) else {
            return Ok(self.scan_part(dir, pid, 0..u32::MAX));
        };
        let (middle, end) = (count / 2, count.saturating_add(PROBE_SLACK));
        let this: &Self = self;
        let (tail, mut out) = crate::both::both(
            || {
                let mut tail = this.probe(&dir, pid, middle..end);
                if let Ok(listing) = this.fd_dir(pid) {
                    tail.extend(this.scan_part(listing, pid, end..u32::MAX));
                }
                tail
            },
            || this.probe(&dir, pid, 0..middle),
        );
        out.extend(tail);
        Ok(out)
    }

    fn comm(&mut self, pid: u32) -> Option<String> {
        let raw = self.read_small(&format!("{pid}/comm"))?;
        Some(String::from_utf8_lossy(raw.strip_suffix(b"\n").unwrap_or(&raw)).into_owned())
    }

    fn argv0_bracketed(&mut self, pid: u32) -> bool {
        // One byte is enough; kernel threads' command lines are empty.
        let Ok(fd) = openat(&self.proc_dir, format!("{pid}/cmdline"), OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) else { return false };
        let mut first = [0u8; 1];
        matches!(rustix::io::read(&fd, &mut first[..]), Ok(1)) && first[0] == b'['
    }

    fn has_exe(&mut self, pid: u32) -> bool {
        let mut buf = [0u8; 1];
        readlinkat_raw(&self.proc_dir, format!("{pid}/exe"), &mut buf[..]).is_ok()
    }
}

impl RealProcFs {
    /// The open fds among the numbers `range` of a fd directory and what
    /// each points at, in fd order: every number's link is read, and a
    /// number that is not open fails and is skipped.
    fn probe(&self, dir: &OwnedFd, pid: u32, range: std::ops::Range<u32>) -> Vec<(u32, Option<FdTarget>)> {
        let mut name = itoa::Buffer::new();
        range.filter_map(|fd| self.target(dir, name.format(fd), pid, fd).map(|t| (fd, Some(t)))).collect()
    }

    /// The fds in `range` of a fd directory and what each points at, in
    /// fd order (procfs lists a table in fd order, so the part ends at the
    /// first fd past it).
    fn scan_part(&self, dir: OwnedFd, pid: u32, range: std::ops::Range<u32>) -> Vec<(u32, Option<FdTarget>)> {
        let Ok(mut entries) = Dir::new(dir) else { return Vec::new() };
        // Where the seek fails, the part reads from the start and skips.
        if range.start > 0 {
            let _ = entries.seek(i64::from(range.start) + 2);
        }
        let mut out = Vec::new();
        while let Some(Ok(entry)) = entries.read() {
            let Some(fd) = numeric(entry.file_name()) else { continue };
            if fd < range.start {
                continue;
            }
            if fd >= range.end {
                break;
            }
            let Ok(links) = entries.fd() else { break };
            out.push((fd, self.target(links, entry.file_name(), pid, fd)));
        }
        out
    }
}

/// What a link says before any further lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkKind {
    /// `/dev/ptmx`: the pty index is in fdinfo.
    Master,
    Target(FdTarget),
}

/// Classify an fd link that is not a socket: pipes, ptys, secret files,
/// and paths on stdio (FIFO candidates).
fn classify_link(link: &[u8], fd: u32) -> LinkKind {
    if let Some(inode) = link.strip_prefix(b"pipe:[").and_then(|r| r.strip_suffix(b"]")).and_then(|r| std::str::from_utf8(r).ok()?.parse().ok()) {
        return LinkKind::Target(FdTarget::Pipe(inode));
    }
    if link == b"/dev/ptmx" || link == b"/dev/pts/ptmx" {
        return LinkKind::Master;
    }
    if let Some(index) = link.strip_prefix(b"/dev/pts/").and_then(|r| std::str::from_utf8(r).ok()?.parse().ok()) {
        return LinkKind::Target(FdTarget::PtySlave(index));
    }
    let Ok(path) = std::str::from_utf8(link) else { return LinkKind::Target(FdTarget::Other) };
    if super::sensitive::is_sensitive_path(path) {
        return LinkKind::Target(FdTarget::SensitiveFile);
    }
    // A named pipe used for a shell's plumbing sits on a redirected stdio
    // fd (`< /tmp/f`) or the first fds a program opens (`cat /tmp/f`);
    // devices other than /dev/shm are not FIFOs.
    if fd < super::owners::LOW_FDS && path.starts_with('/') && (!path.starts_with("/dev/") || path.starts_with("/dev/shm/")) {
        return LinkKind::Target(FdTarget::LowFdPath(path_hash(link)));
    }
    LinkKind::Target(FdTarget::Other)
}

/// 32-bit FNV-1a of a path: holders of the same path share it (and an fd
/// target stays eight bytes).
pub fn path_hash(path: &[u8]) -> u32 {
    path.iter().fold(0x811c_9dc5, |h, b| (h ^ u32::from(*b)).wrapping_mul(0x0100_0193))
}

/// The parts of /proc/<pid>/stat we use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatLine<'a> {
    pub comm: &'a str,
    pub ppid: u32,
    pub tty_nr: i64,
    pub start_ticks: u64,
}

impl StatLine<'_> {
    /// When the task began, in µs since boot (the kernel counts in clock
    /// ticks of `ticks_per_sec`, so this is rounded down to one).
    pub fn started_us(&self, ticks_per_sec: u64) -> u64 {
        self.start_ticks.saturating_mul(1_000_000) / ticks_per_sec.max(1)
    }
}

/// Parse /proc/<pid>/stat. The comm field may contain spaces and
/// parentheses, so split at the last `)`.
pub fn parse_stat(text: &str) -> Option<StatLine<'_>> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?;
    let fields: Vec<&str> = text.get(close + 2..)?.split_ascii_whitespace().collect();
    // fields[0] is field 3 (state); ppid is field 4, tty_nr 7, starttime 22.
    Some(StatLine { comm, ppid: fields.get(1)?.parse().ok()?, tty_nr: fields.get(4)?.parse().ok()?, start_ticks: fields.get(19)?.parse().ok()? })
}

/// Join NUL-separated argv into one line, bounded, with a marker when cut.
pub fn join_cmdline(raw: &[u8]) -> String {
    let trimmed = raw.strip_suffix(&[0]).unwrap_or(raw);
    let mut s: String = String::from_utf8_lossy(trimmed).replace('\0', " ");
    if s.len() > CMDLINE_MAX {
        let mut cut = CMDLINE_MAX;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

/// Split an exe link into (path, deleted, memfd).
pub fn classify_exe(link: &str) -> (String, bool, bool) {
    let (path, deleted) = match link.strip_suffix(" (deleted)") {
        Some(p) => (p.to_string(), true),
        None => (link.to_string(), false),
    };
    let memfd = path.starts_with("/memfd:") || path.starts_with("memfd:") || path.starts_with("/dev/shm/");
    (path, deleted, memfd)
}

/// Process facts for socket owners, re-read only for new processes.
#[derive(Debug)]
pub struct FactsCache {
    cache: HashMap<u32, (u64, ProcessFacts)>,
    boot_time_ms: i64,
    ticks_per_sec: u64,
    users: Users,
    names: ContainerNames,
}

impl FactsCache {
    pub fn new(fs: &RealProcFs) -> Self {
        let boot_time_ms = fs
            .read_small("stat")
            .and_then(|b| String::from_utf8_lossy(&b).lines().find_map(|l| l.strip_prefix("btime ").and_then(|v| v.trim().parse::<i64>().ok())))
            .unwrap_or(0)
            * 1000;
        Self {
            cache: HashMap::new(),
            boot_time_ms,
            ticks_per_sec: rustix::param::clock_ticks_per_second().max(1),
            users: Users::default(),
            names: ContainerNames::new("/"),
        }
    }

    /// Facts for these pids (socket owners). Pids that vanished are skipped.
    pub fn facts(
        &mut self,
        fs: &RealProcFs,
        owners: &OwnerCache,
        pids: &[u32],
        inet_inodes: &rustc_hash::FxHashSet<u32>,
        shell_links: &rustc_hash::FxHashMap<u32, Vec<crate::model::ShellLink>>,
    ) -> Vec<ProcessFacts> {
        let mut out = Vec::with_capacity(pids.len());
        let wanted: std::collections::HashSet<u32> = pids.iter().copied().collect();
        self.cache.retain(|pid, _| wanted.contains(pid));
        self.names.retain(self.cache.values().filter_map(|(_, f)| f.workload.container.as_ref()));
        for &pid in pids {
            let Some(stat_raw) = fs.read_small(&format!("{pid}/stat")) else { continue };
            let stat_text = String::from_utf8_lossy(&stat_raw);
            let Some(stat) = parse_stat(&stat_text) else { continue };
            let fresh = !matches!(self.cache.get(&pid), Some((t, _)) if *t == stat.start_ticks);
            if fresh {
                let facts = self.read_facts(fs, pid, &stat);
                self.cache.insert(pid, (stat.start_ticks, facts));
            }
            let Some((_, facts)) = self.cache.get_mut(&pid) else { continue };
            facts.ppid = stat.ppid;
            facts.has_tty = stat.tty_nr != 0;
            facts.stdio_sockets =
                (0u8..3).filter(|&fd| matches!(owners.fd_target(pid, u32::from(fd)), Some(FdTarget::Socket(i)) if inet_inodes.contains(&i))).collect();
            facts.sensitive_files = owners
                .sensitive_fds(pid)
                .into_iter()
                .filter_map(|fd| fs.read_link(&format!("{pid}/fd/{fd}")))
                .filter(|path| super::sensitive::is_sensitive_path(path))
                .take(super::sensitive::MAX_SENSITIVE_FILES)
                .map(|path| crate::text::bounded(&path, 512))
                .collect();
            facts.shell_links = shell_links.get(&pid).cloned().unwrap_or_default();
            out.push(facts.clone());
        }
        out
    }

    fn read_facts(&mut self, fs: &RealProcFs, pid: u32, stat: &StatLine<'_>) -> ProcessFacts {
        let cmdline = fs.read_small(&format!("{pid}/cmdline")).map(|b| join_cmdline(&b)).unwrap_or_default();
        let parent_cmdline =
            if stat.ppid == 0 { String::new() } else { fs.read_small(&format!("{}/cmdline", stat.ppid)).map(|b| join_cmdline(&b)).unwrap_or_default() };
        let (exe, exe_deleted, exe_memfd) = match fs.read_link(&format!("{pid}/exe")) {
            Some(link) => {
                let (p, d, m) = classify_exe(&link);
                (Some(p), d, m)
            }
            None => (None, false, false),
        };
        let uid = fs
            .read_small(&format!("{pid}/status"))
            .and_then(|b| String::from_utf8_lossy(&b).lines().find_map(|l| l.strip_prefix("Uid:").and_then(|v| v.split_whitespace().next()?.parse().ok())))
            .unwrap_or(u32::MAX);
        let start_time_ms = self.boot_time_ms + (stat.started_us(self.ticks_per_sec) / 1000) as i64;
        ProcessFacts {
            pid,
            ppid: stat.ppid,
            ancestors: ancestors(fs, stat.ppid),
            name: stat.comm.to_string(),
            cmdline,
            parent_cmdline,
            exe,
            exe_deleted,
            exe_memfd,
            cwd: fs.read_link(&format!("{pid}/cwd")),
            uid,
            user: self.users.name(uid),
            start_time_ms,
            stdio_sockets: Vec::new(),
            has_tty: stat.tty_nr != 0,
            sensitive_files: Vec::new(),
            shell_links: Vec::new(),
            netns: None,
            workload: self.workload(fs, pid),
        }
    }

    /// The container, pod or unit a process runs in, with the container's
    /// names from the runtime's files.
    ///
    /// Read with the other facts, once per process lifetime. A process can
    /// be moved to another cgroup after it started (`cgclassify`, a write
    /// to `cgroup.procs`), but runtimes and systemd place processes before
    /// they run their program, so that is rare; re-reading the file for
    /// every socket owner on every refresh would cost more than it finds.
    fn workload(&mut self, fs: &RealProcFs, pid: u32) -> Workload {
        let Some(raw) = fs.read_small(&format!("{pid}/cgroup")) else { return Workload::default() };
        let mut workload = parse_cgroup(&String::from_utf8_lossy(&raw));
        if let Some(c) = workload.container.as_mut() {
            self.names.fill(c);
        }
        workload
    }
}

/// Names of up to three ancestors of a process whose parent is `ppid`.
fn ancestors(fs: &RealProcFs, mut ppid: u32) -> Vec<String> {
    let mut out = Vec::new();
    while ppid > 0 && out.len() < 3 {
        let Some(raw) = fs.read_small(&format!("{ppid}/stat")) else { break };
        let text = String::from_utf8_lossy(&raw);
        let Some(stat) = parse_stat(&text) else { break };
        out.push(stat.comm.to_string());
        ppid = stat.ppid;
    }
    out
}

/// Uid → user name through sysinfo's user list, reloaded at most every 10 s
/// when an unknown uid turns up.
#[derive(Debug, Default)]
struct Users {
    names: HashMap<u32, String>,
    loaded_at: Option<std::time::Instant>,
}

impl Users {
    fn name(&mut self, uid: u32) -> Option<String> {
        if !self.names.contains_key(&uid) && self.loaded_at.is_none_or(|t| t.elapsed().as_secs() >= 10) {
            if let Ok(list) = sysinfo::Users::new_with_refreshed_list() {
                self.names = list.iter().map(|u| (**u.id(), u.name().to_string())).collect();
            }
            self.loaded_at = Some(std::time::Instant::now());
        }
        self.names.get(&uid).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` loopback UDP sockets held open (the soft fd limit raised to fit).
    fn hold_sockets(n: usize) -> Vec<std::net::UdpSocket> {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let mut limit = getrlimit(Resource::Nofile);
        let want = (n + 512) as u64;
        if limit.current.is_some_and(|c| c < want) {
            limit.current = Some(limit.maximum.map_or(want, |m| m.min(want)));
            setrlimit(Resource::Nofile, limit).expect("raise the soft fd limit");
        }
        (0..n).map(|_| std::net::UdpSocket::bind("127.0.0.1:0").expect("bind a loopback UDP socket")).collect()
    }

    #[test]
    fn a_long_fd_list_read_on_two_threads_says_what_one_by_one_says() {
        const SOCKETS: usize = PARALLEL_FROM_FDS + 200;
        let held = hold_sockets(SOCKETS);
        let mut fs = RealProcFs::open().expect("/proc");
        let pid = std::process::id();
        let fds = fs.list_fds(pid).expect("own fds");
        assert!(fds.len() >= PARALLEL_FROM_FDS, "enough fds for the two-thread path: {}", fds.len());
        let together = fs.read_fds(pid, &fds);
        // Other tests open and close fds meanwhile: compare only the fds
        // this test holds, which stay open.
        let ours: rustc_hash::FxHashSet<u32> = held.iter().map(|s| std::os::fd::AsRawFd::as_raw_fd(s) as u32).collect();
        let mut sockets = 0;
        for (fd, target) in fds.iter().zip(&together) {
            if ours.contains(fd) {
                assert_eq!(*target, fs.read_fd(pid, *fd), "fd {fd}");
                sockets += usize::from(matches!(target, Some(FdTarget::Socket(_))));
            }
        }
        assert_eq!(sockets, SOCKETS, "every socket this test holds is read as a socket, in order");
    }

    /// Reading a long table in two parts (numbers read one by one, the
    /// rest listed) finds every fd, each once, in order, saying what
    /// reading it alone says, whatever the count says.
    #[test]
    fn a_long_table_scanned_in_two_parts_misses_and_repeats_nothing() {
        const SOCKETS: usize = PARALLEL_FROM_FDS + 300;
        let held = hold_sockets(SOCKETS);
        let mut fs = RealProcFs::open().expect("/proc");
        let pid = std::process::id();
        let count = fs.fd_count(pid).expect("own fd count").unwrap_or(SOCKETS as u64);
        // A count that says "long" splits even on a kernel without counts.
        let scanned = fs.scan_fds(pid, Some(count.max(PARALLEL_FROM_FDS as u64))).expect("own fds");
        let fds: Vec<u32> = scanned.iter().map(|(fd, _)| *fd).collect();
        assert!(fds.windows(2).all(|w| w[0] < w[1]), "each fd once, in order");
        let ours: rustc_hash::FxHashSet<u32> = held.iter().map(|s| std::os::fd::AsRawFd::as_raw_fd(s) as u32).collect();
        let mut seen = 0;
        for (fd, target) in &scanned {
            if ours.contains(fd) {
                seen += 1;
                assert!(matches!(target, Some(FdTarget::Socket(_))), "fd {fd}: {target:?}");
                assert_eq!(*target, fs.read_fd(pid, *fd), "fd {fd}");
            }
        }
        assert_eq!(seen, SOCKETS, "every socket this test holds is found");
        // A sparse table: the middle of the count falls far below the
        // highest fds, and still nothing is lost.
        let sparse = fs.scan_fds(pid, Some(PARALLEL_FROM_FDS as u64)).expect("own fds");
        assert_eq!(sparse.iter().filter(|(fd, _)| ours.contains(fd)).count(), SOCKETS, "every socket found with a low count");
        // A count far above the table: most numbers read are not open.
        let high = fs.scan_fds(pid, Some(count * 3)).expect("own fds");
        assert_eq!(high.iter().filter(|(fd, _)| ours.contains(fd)).count(), SOCKETS, "every socket found with a high count");
        assert!(high.windows(2).all(|w| w[0].0 < w[1].0), "each fd once, in order");
    }

    #[test]
    fn stat_line_with_odd_comm() {
        let text = "1234 (my (odd) proc) S 1 1234 1234 34816 1234 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100 18446744073709551615";
        let s = parse_stat(text).expect("parses");
        assert_eq!(s.comm, "my (odd) proc");
        assert_eq!(s.ppid, 1);
        assert_eq!(s.tty_nr, 34816);
        assert_eq!(s.start_ticks, 987_654);
        assert!(parse_stat("garbage").is_none());
        assert!(parse_stat("1 (x) S 1").is_none());
    }

    #[test]
    fn socket_links_and_exe_flags() {
        assert_eq!(socket_inode(b"socket:[81234]"), Some(81234));
        assert_eq!(socket_inode(b"pipe:[81234]"), None);
        assert_eq!(socket_inode(b"socket:[x]"), None);
        assert_eq!(classify_exe("/usr/bin/python3"), ("/usr/bin/python3".into(), false, false));
        assert_eq!(classify_exe("/tmp/x (deleted)"), ("/tmp/x".into(), true, false));
        assert_eq!(classify_exe("/memfd:payload (deleted)"), ("/memfd:payload".into(), true, true));
        assert_eq!(classify_exe("/dev/shm/.x"), ("/dev/shm/.x".into(), false, true));
    }

    #[test]
    fn links_are_classified_for_plumbing() {
        let t = |link: &[u8], fd| classify_link(link, fd);
        assert_eq!(t(b"pipe:[4242]", 1), LinkKind::Target(FdTarget::Pipe(4242)));
        assert_eq!(t(b"/dev/ptmx", 5), LinkKind::Master);
        assert_eq!(t(b"/dev/pts/ptmx", 5), LinkKind::Master);
        assert_eq!(t(b"/dev/pts/7", 0), LinkKind::Target(FdTarget::PtySlave(7)));
        assert_eq!(t(b"/tmp/f", 3), LinkKind::Target(FdTarget::LowFdPath(path_hash(b"/tmp/f"))));
        assert_eq!(t(b"/dev/shm/f", 0), LinkKind::Target(FdTarget::LowFdPath(path_hash(b"/dev/shm/f"))));
        // High fds' paths and devices are not FIFO candidates.
        assert_eq!(t(b"/tmp/f", 10), LinkKind::Target(FdTarget::Other));
        assert_eq!(t(b"/dev/null", 0), LinkKind::Target(FdTarget::Other));
        assert_eq!(t(b"anon_inode:[eventpoll]", 3), LinkKind::Target(FdTarget::Other));
        assert_eq!(t(b"/home/u/.ssh/id_rsa", 3), LinkKind::Target(FdTarget::SensitiveFile));
        assert_ne!(path_hash(b"/tmp/f"), path_hash(b"/tmp/g"));
    }

    #[test]
    fn cmdline_is_joined_and_bounded() {
        assert_eq!(join_cmdline(b"nc\0-e\0/bin/sh\0"), "nc -e /bin/sh");
        let long = vec![b'a'; CMDLINE_MAX + 100];
        let joined = join_cmdline(&long);
        assert!(joined.len() <= CMDLINE_MAX + '…'.len_utf8());
        assert!(joined.ends_with('…'));
    }
}
