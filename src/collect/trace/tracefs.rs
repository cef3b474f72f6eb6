//! Finding tracefs without changing the host's mounts.
//!
//! In order: a tracefs the host already mounted (/sys/kernel/tracing or
//! /sys/kernel/debug/tracing, found in mountinfo so the debugfs automount
//! is not triggered); else a *detached* mount made with `fsopen` and
//! `fsmount` (Linux ≥ 5.2), which belongs to no mount namespace and exists
//! only as our file descriptor; else, on older kernels, a mount made by a
//! short-lived thread in a mount namespace of its own, with `/` made
//! private first so nothing propagates to the host. Either way, every later
//! access is relative to the root directory descriptor, so any thread can
//! use it and nothing is left mounted when the process ends.

use std::fmt;
use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::{Mode, OFlags, fstatfs, openat};
use rustix::io::Errno;
use rustix::mount::{FsMountFlags, FsOpenFlags, MountAttrFlags, MountFlags, MountPropagationFlags};

use super::TraceError;

/// `TRACEFS_MAGIC` from linux/magic.h.
const TRACEFS_MAGIC: u64 = 0x7472_6163;

/// The mount points an administrator or distribution uses for tracefs.
const KNOWN_MOUNTS: [&str; 2] = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

/// Where our view of tracefs comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// The host's own mount, used as is.
    Host(String),
    /// `fsmount` without attaching: visible to no one.
    Detached,
    /// Mounted in a private mount namespace that is already gone.
    PrivateNamespace,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Host(path) => write!(f, "the host's tracefs at {path}"),
            Self::Detached => f.write_str("a private detached tracefs mount (fsmount, attached nowhere)"),
            Self::PrivateNamespace => f.write_str("a tracefs mount from a private mount namespace (no longer attached)"),
        }
    }
}

/// The root directory of tracefs.
#[derive(Debug)]
pub struct Tracefs {
    pub root: OwnedFd,
    pub location: Location,
}

impl Tracefs {
    pub fn open() -> Result<Self, TraceError> {
        if let Some(found) = host_mount() {
            return Ok(found);
        }
        match mount_detached() {
            Ok(root) => Ok(Self { root, location: Location::Detached }),
            Err(Errno::NODEV) => Err(TraceError::NoTracefs),
            Err(e) if !is_root() && matches!(e, Errno::PERM | Errno::ACCESS) => Err(TraceError::NotRoot),
            // No new mount API (before 5.2), or a policy that filters it
            // while still allowing mount(2).
            Err(first) => match mount_in_private_namespace() {
                Ok(root) => Ok(Self { root, location: Location::PrivateNamespace }),
                Err(second) => Err(TraceError::MountRefused(format!("fsmount: {first}; mount in a private namespace: {second}"))),
            },
        }
    }
}

pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// A tracefs the host has mounted, preferring the usual places.
fn host_mount() -> Option<Tracefs> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mounted: Vec<&str> = info.lines().filter_map(tracefs_mount_point).collect();
    KNOWN_MOUNTS.iter().copied().chain(mounted.iter().copied()).filter(|p| mounted.contains(p)).find_map(|path| {
        let root = openat(rustix::fs::CWD, path, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).ok()?;
        is_tracefs(&root).then(|| Tracefs { root, location: Location::Host(path.to_string()) })
    })
}

/// The mount point of a mountinfo line whose filesystem is tracefs
/// (points with escaped characters are skipped).
pub fn tracefs_mount_point(line: &str) -> Option<&str> {
    let (left, right) = line.split_once(" - ")?;
    let fstype = right.split(' ').next()?;
    let point = left.split(' ').nth(4)?;
    (fstype == "tracefs" && !point.contains('\\')).then_some(point)
}

fn is_tracefs(fd: &OwnedFd) -> bool {
    fstatfs(fd).is_ok_and(|st| st.f_type as u64 == TRACEFS_MAGIC)
}

fn mount_detached() -> Result<OwnedFd, Errno> {
    let fs = rustix::mount::fsopen("tracefs", FsOpenFlags::FSOPEN_CLOEXEC)?;
    rustix::mount::fsconfig_create(&fs)?;
    let attrs = MountAttrFlags::MOUNT_ATTR_NOSUID | MountAttrFlags::MOUNT_ATTR_NODEV | MountAttrFlags::MOUNT_ATTR_NOEXEC;
    rustix::mount::fsmount(&fs, FsMountFlags::FSMOUNT_CLOEXEC, attrs)
}

/// Mount tracefs in a thread that first leaves the shared mount namespace.
/// The directory descriptor outlives the thread and its namespace: the
/// mount then stays reachable through it alone.
pub fn mount_in_private_namespace() -> io::Result<OwnedFd> {
    let helper = std::thread::Builder::new().name("necromap-tracefs".into()).spawn(|| -> io::Result<OwnedFd> {
        // Only NEWNS: the deprecation concerns unsharing the fd table
        // (FILES), which would make other threads' descriptors invalid
        // here; a mount namespace has no such effect.
        #[allow(deprecated)]
        rustix::thread::unshare(rustix::thread::UnshareFlags::NEWNS)?;
        rustix::mount::mount_change("/", MountPropagationFlags::PRIVATE | MountPropagationFlags::REC)?;
        let target = if Path::new(KNOWN_MOUNTS[0]).is_dir() { KNOWN_MOUNTS[0] } else { "/tmp" };
        rustix::mount::mount("nodev", target, "tracefs", MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC, None)?;
        let root = openat(rustix::fs::CWD, target, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
        if is_tracefs(&root) { Ok(root) } else { Err(io::Error::other("the mounted directory is not tracefs")) }
    })?;
    helper.join().map_err(|_| io::Error::other("the mount helper thread panicked"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_lines() {
        let line = "41 24 0:12 / /sys/kernel/tracing rw,nosuid,nodev,noexec,relatime shared:20 - tracefs tracefs rw";
        assert_eq!(tracefs_mount_point(line), Some("/sys/kernel/tracing"));
        let other = "22 1 0:21 / /sys rw,nosuid - sysfs sysfs rw";
        assert_eq!(tracefs_mount_point(other), None);
        let escaped = "41 24 0:12 / /mnt/my\\040trace rw - tracefs tracefs rw";
        assert_eq!(tracefs_mount_point(escaped), None);
    }

    /// The fallback for kernels without fsmount, run here on purpose: the
    /// mount is usable through the descriptor and visible in no namespace
    /// we share.
    #[test]
    fn private_namespace_mount_leaves_nothing_visible() {
        assert!(is_root(), "this test mounts tracefs: run it as root (CI does)");
        let tracefs_mounts = || {
            let info = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
            info.lines().filter(|l| tracefs_mount_point(l).is_some()).count()
        };
        let before = tracefs_mounts();
        let root = mount_in_private_namespace().expect("mount in a private namespace");
        assert!(is_tracefs(&root));
        let format = openat(&root, "events/sock/inet_sock_set_state/format", OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty());
        assert!(format.is_ok(), "usable after the namespace is gone: {format:?}");
        assert_eq!(tracefs_mounts(), before, "nothing new in our mount namespace");
    }
}
