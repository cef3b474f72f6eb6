//! Listeners and what they expose, read under the root: sockets from
//! `proc/net/{tcp,tcp6,udp,udp6}` (this network namespace), owners from
//! `proc/<pid>/fd` links, and each owner's executable, working directory
//! and user. Checks: listening on all addresses against the policy, root
//! services listening publicly, executables writable by non-root users,
//! world-writable directories on the executable's or working directory's
//! path.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::policy::{Facts, Verdict};
use super::{Area, Check, Options, Status, read_small};
use crate::model::Severity;

/// Most bytes read of one `proc/net` table, and most fd links looked at.
const TABLE_MAX: u64 = 64 << 20;
const FD_LINKS_MAX: usize = 500_000;

/// One listening socket and its owner, as far as it could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub proto: &'static str,
    pub address: IpAddr,
    pub port: u16,
    pub uid: u32,
    pub inode: u64,
    pub pid: Option<u32>,
    pub comm: Option<String>,
    /// The executable's path as the process sees it (absolute).
    pub exe: Option<String>,
    pub cwd: Option<String>,
}

impl Listener {
    fn label(&self) -> String {
        let addr = if self.address.is_ipv6() { format!("[{}]", self.address) } else { self.address.to_string() };
        format!("{}:{addr}:{}", self.proto, self.port)
    }

    fn who(&self) -> String {
        match (&self.comm, self.pid) {
            (Some(c), Some(p)) => format!("{} (pid {p}, uid {})", crate::text::escape_control(c), self.uid),
            _ => format!("owner unknown (uid {})", self.uid),
        }
    }
}

/// `0100007F:0016` (IPv4, little-endian words) or 32 hex digits (IPv6).
fn parse_addr(text: &str) -> Option<(IpAddr, u16)> {
    let (a, p) = text.split_once(':')?;
    let port = u16::from_str_radix(p, 16).ok()?;
    let ip = match a.len() {
        8 => IpAddr::V4(Ipv4Addr::from(u32::from_str_radix(a, 16).ok()?.swap_bytes())),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                let word = u32::from_str_radix(a.get(i * 8..i * 8 + 8)?, 16).ok()?.swap_bytes();
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word.to_be_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some((crate::model::normalize_ip(ip), port))
}

/// Listening rows of one table: TCP in LISTEN (0A); UDP bound and
/// unconnected (07) below the ephemeral range.
pub fn parse_table(text: &str, proto: &'static str) -> Vec<Listener> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (address, port) = parse_addr(f.get(1)?)?;
            let state = *f.get(3)?;
            let listening = if proto.starts_with("tcp") { state == "0A" } else { state == "07" && port < 32_768 && f.get(2)?.ends_with(":0000") };
            listening.then_some(Listener {
                proto: if proto.starts_with("tcp") { "tcp" } else { "udp" },
                address,
                port,
                uid: f.get(7)?.parse().ok()?,
                inode: f.get(9)?.parse().ok()?,
                pid: None,
                comm: None,
                exe: None,
                cwd: None,
            })
        })
        .filter(|l| l.inode != 0)
        .collect()
}

fn read_table(path: &Path) -> String {
    use std::io::Read;
    let mut s = String::new();
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.take(TABLE_MAX).read_to_string(&mut s);
    }
    s
}

/// Socket inode → pid, from the fd links of every process under the root.
fn owners(opts: &Options) -> HashMap<u64, u32> {
    let mut map = HashMap::new();
    let mut seen = 0usize;
    let Ok(procs) = std::fs::read_dir(opts.path("proc")) else { return map };
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else { continue };
        for fd in fds.flatten() {
            seen += 1;
            if seen > FD_LINKS_MAX {
                return map;
            }
            if let Ok(target) = std::fs::read_link(fd.path())
                && let Some(inode) = target.to_str().and_then(|t| t.strip_prefix("socket:[")).and_then(|t| t.strip_suffix(']')).and_then(|t| t.parse().ok())
            {
                map.entry(inode).or_insert(pid);
            }
        }
    }
    map
}

/// Every listener under the root, with its owner where readable.
pub fn listeners(opts: &Options) -> Vec<Listener> {
    let mut all = Vec::new();
    for t in ["tcp", "tcp6", "udp", "udp6"] {
        all.extend(parse_table(&read_table(&opts.path(&format!("proc/net/{t}"))), t));
    }
    if all.is_empty() {
        return all;
    }
    let owners = owners(opts);
    for l in &mut all {
        l.pid = owners.get(&l.inode).copied();
        if let Some(pid) = l.pid {
            let dir = opts.path(&format!("proc/{pid}"));
            l.comm = read_small(&dir.join("comm")).map(|c| crate::text::bounded(&c, 64));
            l.exe = std::fs::read_link(dir.join("exe")).ok().map(|p| p.display().to_string());
            l.cwd = std::fs::read_link(dir.join("cwd")).ok().map(|p| p.display().to_string());
        }
    }
    // One row per (proto, address, port): SO_REUSEPORT groups show once.
    let mut by: BTreeMap<(&'static str, IpAddr, u16), Listener> = BTreeMap::new();
    for l in all {
        let slot = by.entry((l.proto, l.address, l.port)).or_insert_with(|| l.clone());
        if slot.pid.is_none() && l.pid.is_some() {
            *slot = l;
        }
    }
    by.into_values().collect()
}

/// User names by uid from `<root>/etc/passwd`.
fn users(opts: &Options) -> HashMap<u32, String> {
    read_small(&opts.path("etc/passwd"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some((f.get(2)?.parse().ok()?, (*f.first()?).to_string()))
        })
        .collect()
}

/// Directories from `/` down to `path`'s parent (or `path` itself when
/// `include_self`), as paths under the root.
fn ancestors(opts: &Options, path: &str, include_self: bool) -> Vec<(String, PathBuf)> {
    let p = Path::new(path);
    let mut out: Vec<(String, PathBuf)> =
        p.ancestors().skip(usize::from(!include_self)).map(|a| (a.display().to_string(), opts.path(&a.display().to_string()))).collect();
    out.reverse();
    out
}

fn world_writable(opts: &Options, l: &Listener, path: &str, what: &str, include_self: bool) -> Check {
    let mut bad = Vec::new();
    let mut sticky_only = true;
    for (shown, real) in ancestors(opts, path, include_self) {
        let Ok(meta) = std::fs::metadata(&real) else { continue };
        let mode = meta.permissions().mode();
        if meta.is_dir() && mode & 0o002 != 0 {
            sticky_only &= mode & 0o1000 != 0;
            bad.push(format!("{shown} ({:o})", mode & 0o7777));
        }
    }
    let id = format!("listener_world_writable_dir:{}:{what}", l.label());
    let title = format!("world-writable directories on the {what} path of {}", l.label());
    if bad.is_empty() {
        return Check::new(id, Area::Listener, Status::Pass, title, format!("{what} {path}: no world-writable directory on its path"), "");
    }
    // The executable's own directory writable by anyone is a way to replace it;
    // a sticky bit (like /tmp) stops others renaming it, not adding beside it.
    let status = if what == "executable" && !sticky_only { Status::Fail } else { Status::Warn };
    Check::new(
        id,
        Area::Listener,
        status,
        title,
        format!("{what} {path} of {}: world-writable {}", l.who(), bad.join(", ")),
        "install the service under a root-owned directory (/usr/local/bin, /opt/NAME) and run it from one; chmod o-w the directories",
    )
    .severity(Severity::High)
}

fn exe_writable(opts: &Options, l: &Listener, exe: &str) -> Check {
    let id = format!("listener_exe_writable:{}", l.label());
    let title = format!("executable of {} writable by non-root users", l.label());
    let Ok(meta) = std::fs::metadata(opts.path(exe.trim_end_matches(" (deleted)"))) else {
        return Check::new(
            id,
            Area::Listener,
            Status::Warn,
            title,
            format!("{exe} of {} could not be examined", l.who()),
            "look at the executable by hand: ls -l",
        );
    };
    let mode = meta.permissions().mode();
    let mut why = Vec::new();
    if meta.uid() != 0 {
        why.push(format!("owned by uid {}", meta.uid()));
    }
    if mode & 0o020 != 0 && meta.gid() != 0 {
        why.push(format!("group-writable (gid {})", meta.gid()));
    }
    if mode & 0o002 != 0 {
        why.push("writable by everyone".into());
    }
    if why.is_empty() {
        return Check::new(id, Area::Listener, Status::Pass, title, format!("{exe} is root-owned, mode {:o}", mode & 0o7777), "");
    }
    Check::new(
        id,
        Area::Listener,
        Status::Fail,
        title,
        format!("{exe} of {}: {} (mode {:o})", l.who(), why.join(", "), mode & 0o7777),
        format!("chown root:root {exe} && chmod 0755 {exe}"),
    )
    .severity(Severity::High)
}

pub fn checks(opts: &Options) -> Vec<Check> {
    let list = listeners(opts);
    let names = users(opts);
    let mut out = Vec::new();
    let unknown = list.iter().filter(|l| l.pid.is_none()).count();
    if unknown > 0 {
        out.push(Check::new(
            "listener_owners",
            Area::Listener,
            Status::Warn,
            "listeners whose owner could not be read",
            format!(
                "{unknown} of {} listeners: {}",
                list.len(),
                list.iter().filter(|l| l.pid.is_none()).take(10).map(Listener::label).collect::<Vec<_>>().join(", ")
            ),
            "run as root to see every owner; as root, an owner in another PID namespace stays unknown (their executables are not checked)",
        ));
    }
    for l in &list {
        let public = !l.address.is_loopback();
        let user = names.get(&l.uid).map(String::as_str);
        let facts = Facts { port: l.port, process: l.comm.as_deref(), user, uid: Some(l.uid) };
        let verdict = opts.policy.as_ref().map(|p| p.verdict(&facts));
        if l.address.is_unspecified() {
            let id = format!("listener_exposed:{}", l.label());
            let title = format!("{} listens on all addresses", l.label());
            let ev = format!("{} by {}", l.label(), l.who());
            out.push(match verdict {
                Some(Verdict::Denied) => Check::new(
                    id,
                    Area::Listener,
                    Status::Fail,
                    title,
                    format!("{ev}: denied by the policy"),
                    format!("stop the service, or bind it to 127.0.0.1; the policy denies port {}", l.port),
                )
                .severity(Severity::High),
                Some(Verdict::Allowed) => Check::new(id, Area::Listener, Status::Pass, title, format!("{ev}: allowed by the policy"), ""),
                Some(Verdict::Unlisted) => Check::new(
                    id,
                    Area::Listener,
                    Status::Warn,
                    title,
                    format!("{ev}: not in the policy"),
                    "add it to the policy's allow list if it is meant to be public, else bind it to 127.0.0.1 or stop it",
                ),
                None => Check::new(
                    id,
                    Area::Listener,
                    Status::Warn,
                    title,
                    format!("{ev}; no --policy given"),
                    "give --policy FILE with the services meant to be public, or bind the others to 127.0.0.1",
                ),
            });
        }
        if public && l.uid == 0 {
            let id = format!("listener_root_public:{}", l.label());
            let title = format!("{} runs as root and listens publicly", l.label());
            let allowed = verdict == Some(Verdict::Allowed);
            out.push(if allowed {
                Check::new(id, Area::Listener, Status::Pass, title, format!("{} by {}: allowed by the policy", l.label(), l.who()), "")
            } else {
                Check::new(
                    id,
                    Area::Listener,
                    Status::Warn,
                    title,
                    format!("{} by {}", l.label(), l.who()),
                    "run it as an unprivileged user (systemd User=, or the daemon's own privilege drop), or bind it to 127.0.0.1",
                )
                .severity(Severity::Medium)
            });
        }
        if let Some(exe) = &l.exe {
            out.push(exe_writable(opts, l, exe));
            out.push(world_writable(opts, l, exe.trim_end_matches(" (deleted)"), "executable", false));
        }
        if let Some(cwd) = &l.cwd {
            out.push(world_writable(opts, l, cwd, "working directory", true));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_read_listeners_in_both_families() {
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1 0 100 0 0 10 0\n   1: 0100007F:0019 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2222 1\n   2: 0100007F:9C40 0200007F:0016 01 00000000:00000000 00:00000000 00000000  1000        0 3333 1\n";
        let v = parse_table(tcp, "tcp");
        assert_eq!(v.len(), 2, "an established socket is no listener");
        assert_eq!((v[0].address.to_string(), v[0].port, v[0].inode), ("0.0.0.0".into(), 22, 1111));
        assert_eq!(v[1].address.to_string(), "127.0.0.1");
        let tcp6 = "header\n   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000   33        0 4444 1\n   1: B80D0120000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5555 1\n";
        let v = parse_table(tcp6, "tcp6");
        assert_eq!((v[0].address.to_string(), v[0].port, v[0].uid), ("::1".into(), 8080, 33));
        assert_eq!(v[1].address.to_string(), "2001:db8::1");
        assert!(parse_table("h\n   0: zz:0016 00000000:0000 0A 0 0 0 0 0 1\n", "tcp").is_empty(), "garbage is skipped");
    }
}
