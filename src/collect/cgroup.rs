//! Which container, pod or systemd unit a process runs in, from the text of
//! /proc/<pid>/cgroup. Pure: names from the runtimes' files are added by
//! `container_names`.
//!
//! Cgroup paths are chosen by whoever creates the cgroups — container
//! runtimes, systemd, and anyone with a delegated subtree (rootless
//! runtimes, a user's `user@<uid>.service`, a container with its own cgroup
//! namespace). So every segment is treated as hostile: bounded, escaped,
//! and only ids that are exactly 64 hex digits are ever used to build file
//! paths.
//!
//! The container is the *outermost* one on the path: a container can
//! create cgroups below its own (systemd inside it, Docker in Docker, a
//! kind node running pods), so an inner `docker-<id>.scope` could claim any
//! id, while the outer one was made by the host's runtime. The unit and
//! slice are the *innermost* ones: they say what runs, and are descriptive
//! only.

use crate::model::{Container, Runtime, Workload};
use crate::text::{bounded, escape_control};

/// Lines looked at: cgroup v1 has about a dozen hierarchies.
const MAX_LINES: usize = 64;
/// Segments looked at per path; real paths are a handful deep.
const MAX_DEPTH: usize = 64;
/// The kernel refuses cgroup names longer than `NAME_MAX`.
const MAX_SEGMENT: usize = 255;
/// Longest unit, slice or container name kept, in characters.
pub const NAME_MAX_CHARS: usize = 253;

/// Parse the contents of /proc/<pid>/cgroup, cgroup v2 (`0::/path`) or v1
/// (`N:controllers:/path`, one line per hierarchy). Of all lines, the one
/// naming a container wins; among equals the v2 line, then v1
/// `name=systemd`, then the first controller line.
///
/// ```
/// use necromap::collect::cgroup::parse_cgroup;
/// let w = parse_cgroup("0::/system.slice/nginx.service\n");
/// assert_eq!(w.unit.as_deref(), Some("nginx.service"));
/// assert_eq!(w.slice.as_deref(), Some("system.slice"));
/// ```
pub fn parse_cgroup(text: &str) -> Workload {
    let mut best: Option<(u8, Workload)> = None;
    for line in text.lines().take(MAX_LINES) {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next()) else { continue };
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) || !path.starts_with('/') {
            continue;
        }
        let w = parse_path(path);
        if w.is_empty() {
            continue;
        }
        let hierarchy = match (id, controllers) {
            ("0", "") => 3,
            (_, c) if c.split(',').any(|c| c == "name=systemd") => 2,
            _ => 1,
        };
        let rank = hierarchy + if w.container.is_some() { 10 } else { 0 };
        if best.as_ref().is_none_or(|(r, _)| rank > *r) {
            best = Some((rank, w));
        }
    }
    best.map(|(_, w)| w).unwrap_or_default()
}

/// One cgroup path: the outermost container, the pod above it, and the
/// innermost unit and slice.
fn parse_path(path: &str) -> Workload {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty() && *s != "." && *s != ".." && s.len() <= MAX_SEGMENT).take(MAX_DEPTH).collect();
    let mut out = Workload::default();
    let mut pod_uid: Option<String> = None;
    let mut in_kubepods = false;
    let mut in_user_manager = false;
    for (i, seg) in segments.iter().enumerate() {
        let parent = i.checked_sub(1).and_then(|p| segments.get(p)).copied();
        let next = segments.get(i + 1).copied();
        if out.container.is_none() {
            if let Some((runtime, full_id, name)) = container_segment(seg, parent, next, in_kubepods) {
                let id = if name.is_some() { full_id.clone() } else { full_id.chars().take(12).collect() };
                out.container = Some(Container { runtime, id, full_id, name, pod_uid: pod_uid.take(), rootless: in_user_manager, ..Container::default() });
                continue;
            }
            if in_kubepods && let Some(uid) = pod_segment(seg) {
                pod_uid = Some(uid);
            }
        }
        in_kubepods |= seg.starts_with("kubepods");
        in_user_manager |= seg.starts_with("user@") && unit_kind(seg) == Some("service");
        match unit_kind(seg) {
            Some("service" | "scope" | "socket" | "mount" | "swap") => out.unit = Some(clean(seg)),
            Some("slice") => out.slice = Some(clean(seg)),
            _ => {}
        }
    }
    if out.container.is_none()
        && let Some(uid) = pod_uid
    {
        // A process in the pod's own cgroup, outside any container of it.
        out.container = Some(Container { runtime: Runtime::Kubernetes, pod_uid: Some(uid), rootless: in_user_manager, ..Container::default() });
    }
    out
}

/// Scopes (systemd driver) or plain cgroups (cgroupfs driver) named
/// `<prefix><64 hex>`. `libpod-conmon-<id>` and `crio-conmon-<id>` are the
/// monitors, not the containers: "conmon-…" is not 64 hex digits, so they
/// fall through to units.
const PREFIXED: [(&str, Runtime); 5] = [
    ("docker-", Runtime::Docker),
    ("cri-containerd-", Runtime::Containerd),
    ("crio-", Runtime::CriO),
    ("libpod-", Runtime::Podman),
    ("nerdctl-", Runtime::Containerd),
];

/// A segment that is a container: (runtime, full id or name, name).
fn container_segment(seg: &str, parent: Option<&str>, next: Option<&str>, in_kubepods: bool) -> Option<(Runtime, String, Option<String>)> {
    let base = seg.strip_suffix(".scope").unwrap_or(seg);
    for (prefix, runtime) in PREFIXED {
        if let Some(id) = base.strip_prefix(prefix).and_then(hex_id) {
            return Some((runtime, id, None));
        }
    }
    if let Some(id) = hex_id(seg) {
        let runtime = match parent {
            _ if in_kubepods => Runtime::Kubernetes,
            Some("docker") => Runtime::Docker,
            Some("libpod_parent") => Runtime::Podman,
            _ => Runtime::Other,
        };
        return Some((runtime, id, None));
    }
    if let Some(name) = seg.strip_prefix("lxc.payload.").or_else(|| matches!(parent, Some("lxc" | "lxc.payload")).then_some(seg)) {
        return named(Runtime::Lxc, name);
    }
    if let Some(machine) = seg.strip_prefix("machine-").and_then(|s| s.strip_suffix(".scope")) {
        let machine = unescape_unit(machine);
        // machined names libvirt guests `qemu-<n>-<name>` and `lxc-<pid>-<name>`.
        let guest = |kind: &str| {
            let rest = machine.strip_prefix(kind)?;
            let (n, name) = rest.split_once('-')?;
            (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then(|| name.to_string())
        };
        return match (guest("qemu-"), guest("lxc-")) {
            (Some(name), _) => named(Runtime::Libvirt, &name),
            (None, Some(name)) => named(Runtime::Lxc, &name),
            (None, None) => named(Runtime::Nspawn, &machine),
        };
    }
    // `machinectl start` runs systemd-nspawn as a service: the payload sits
    // in it (or its `payload` child), nspawn itself in `supervisor`.
    if let Some(name) = seg.strip_prefix("systemd-nspawn@").and_then(|s| s.strip_suffix(".service"))
        && next != Some("supervisor")
    {
        return named(Runtime::Nspawn, &unescape_unit(name));
    }
    None
}

fn named(runtime: Runtime, name: &str) -> Option<(Runtime, String, Option<String>)> {
    if name.is_empty() {
        return None;
    }
    let name = clean(name);
    Some((runtime, name.clone(), Some(name)))
}

/// A 64-hex-digit container id, lowercased: the only text from a cgroup
/// path that is ever used in a file path.
fn hex_id(s: &str) -> Option<String> {
    (s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())).then(|| s.to_ascii_lowercase())
}

/// The pod uid of `kubepods-burstable-pod<uid>.slice` (systemd driver, the
/// uid's dashes written as `_`) or `pod<uid>` (cgroupfs driver), with
/// dashes. Static pods' uids are 32 hex digits without dashes.
fn pod_segment(seg: &str) -> Option<String> {
    let tail = match seg.strip_suffix(".slice") {
        Some(base) => base.rsplit('-').next()?,
        None => seg,
    };
    let uid = tail.strip_prefix("pod")?;
    let ok = (1..=64).contains(&uid.len()) && uid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-' || b == b'_');
    ok.then(|| uid.replace('_', "-").to_ascii_lowercase())
}

/// The unit type of a systemd unit name (`service` for `nginx.service`).
/// Unit types are lower case, so the comparison is too.
fn unit_kind(seg: &str) -> Option<&str> {
    seg.rsplit_once('.').filter(|(stem, _)| !stem.is_empty()).map(|(_, kind)| kind)
}

/// Undo systemd's unit-name escaping (`\x2d` is `-`) for display; only
/// printable ASCII is unescaped, so nothing new can turn up that
/// `escape_control` would have to catch.
fn unescape_unit(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find("\\x") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let byte = after.get(..2).and_then(|h| u8::from_str_radix(h, 16).ok()).filter(|b| b.is_ascii_graphic() || *b == b' ');
        if let Some(b) = byte {
            out.push(char::from(b));
            rest = &after[2..];
        } else {
            out.push_str("\\x");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Host text made safe to keep: control characters escaped, bounded.
pub(crate) fn clean(s: &str) -> String {
    bounded(&escape_control(s), NAME_MAX_CHARS)
}

#[cfg(test)]
#[path = "cgroup_tests.rs"]
mod tests;
