//! Scenarios: a readable YAML description of a host over time, expanded into
//! frames deterministically (fixed clock, no randomness). The demo recording
//! and many tests start from one. `necromap record --replay S.yaml --out F`
//! turns a scenario into a recording.
//!
//! ```yaml
//! host: crypt-01
//! start_ms: 1793534400000      # the fixed clock of frame 0 (this is the default)
//! interval_ms: 2000            # default 1000
//! frames: 45
//! processes:
//!   - { pid: 812, ppid: 1, name: nginx, exe: /usr/sbin/nginx, uid: 33, started_s: -86400 }
//!   # reported with no socket too (default: only while it owns one)
//!   - { pid: 900, name: python3, exe: /usr/bin/python3, cmdline: "[kworker/9:9]", listed_without_socket: true }
//! sockets:
//!   - { pid: 812, proto: tcp, local: "0.0.0.0:443", state: LISTEN }
//!   - pid: 813                 # absent: no visible owner
//!     local: "10.0.0.5:443"
//!     remote: "198.51.100.23:51514"
//!     state: ESTABLISHED
//!     from_s: 0                # alive from this second (default 0) ...
//!     until_s: 60              # ... until this one (default: forever)
//!     count: 3                 # copies; remote port (or local, see vary) + i
//!     every_s: 30              # a new connection every 30 s ...
//!     lasts_s: 2               # ... living 2 s each
//!     bytes_per_s: [12000, 800]  # sent, received (TCP)
//!     then: { at_s: 40, state: CLOSE_WAIT }  # seconds after each start
//! ```

use std::net::SocketAddr;

use serde::Deserialize;

use super::Observation;
use crate::model::{Owners, Pid, ProcessFacts, Protocol, RawSocket, SocketKey, SocketState, TcpCounters, normalize_addr};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

fn default_start_ms() -> i64 {
    1_793_534_400_000
}

fn default_interval_ms() -> u64 {
    1000
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub host: String,
    /// The fixed clock of frame 0 (default 2026-11-01 12:00 UTC).
    #[serde(default = "default_start_ms")]
    pub start_ms: i64,
    #[serde(default = "default_interval_ms")]
    pub interval_ms: u64,
    pub frames: u32,
    #[serde(default)]
    pub processes: Vec<ScenarioProcess>,
    #[serde(default)]
    pub sockets: Vec<ScenarioSocket>,
    /// What passive DNS and reverse lookups would have seen.
    #[serde(default)]
    pub dns: Option<ScenarioDns>,
}

/// Names in a scenario:
///
/// ```yaml
/// dns:
///   passive_from_s: 0            # DNS answers read from this second (absent: passive DNS off)
///   names:
///     - { ip: 198.51.100.7, names: [c2.example.test], source: dns-answer, asked_by: 10 }
///   queries:                     # answered queries, in the frame holding at_s
///     - { pid: 10, at_s: 0, name: a.example.test, addrs: [198.51.100.7] }
///     - { pid: 10, at_s: 0, parent: t.example.test, count: 40 }   # 40 distinct generated names under it
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioDns {
    pub passive_from_s: Option<u32>,
    #[serde(default)]
    pub names: Vec<crate::model::ObservedName>,
    #[serde(default)]
    pub queries: Vec<ScenarioQuery>,
}

/// One answered query, or `count` generated ones under `parent`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioQuery {
    pub pid: Option<u32>,
    #[serde(default)]
    pub at_s: u32,
    pub name: Option<String>,
    pub parent: Option<String>,
    #[serde(default = "one")]
    pub count: u32,
    #[serde(default)]
    pub addrs: Vec<std::net::IpAddr>,
}

/// A label that looks generated (base-32 of a mixed counter), 16
/// characters, deterministic.
fn generated_label(i: u32) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut x = u64::from(i).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    (0..16)
        .map(|_| {
            let c = ALPHABET[(x & 31) as usize];
            x = x.rotate_right(5).wrapping_mul(0x2545_F491_4F6C_DD1D);
            char::from(c)
        })
        .collect()
}

/// Most generated queries in a scenario.
const MAX_QUERIES: u64 = 100_000;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioProcess {
    pub pid: u32,
    #[serde(default)]
    pub ppid: u32,
    pub name: String,
    #[serde(default)]
    pub exe: Option<String>,
    #[serde(default)]
    pub exe_deleted: bool,
    #[serde(default)]
    pub cmdline: Option<String>,
    #[serde(default)]
    pub cwd: Option<String>,
    #[serde(default)]
    pub uid: u32,
    #[serde(default)]
    pub user: Option<String>,
    /// Start time relative to frame 0, in seconds (negative: before).
    #[serde(default)]
    pub started_s: i64,
    #[serde(default)]
    pub tty: bool,
    /// Which of fd 0/1/2 are inet sockets (a reverse shell has all three).
    #[serde(default)]
    pub stdio_sockets: Vec<u8>,
    /// Open files that hold secrets (see `ProcessFacts::sensitive_files`).
    #[serde(default)]
    pub sensitive_files: Vec<String>,
    /// Shells whose stdio leads to this process's sockets (see
    /// `ProcessFacts::shell_links`).
    #[serde(default)]
    pub shell_links: Vec<crate::model::ShellLink>,
    /// Reported in every frame even when it holds no socket, as the live
    /// collector reports a process named like a kernel thread that runs an
    /// executable. Otherwise a process is reported while it owns a socket.
    #[serde(default)]
    pub listed_without_socket: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Vary {
    /// Copies differ by remote port (client connections to many ports).
    Remote,
    /// Copies differ by local port (many connections to one service).
    #[default]
    Local,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateChange {
    pub at_s: u64,
    pub state: SocketState,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSocket {
    #[serde(default)]
    pub pid: Option<u32>,
    #[serde(default = "tcp")]
    pub proto: Protocol,
    pub local: SocketAddr,
    #[serde(default = "unspecified")]
    pub remote: SocketAddr,
    pub state: SocketState,
    #[serde(default)]
    pub from_s: u64,
    #[serde(default)]
    pub until_s: Option<u64>,
    #[serde(default = "one")]
    pub count: u32,
    #[serde(default)]
    pub vary: Vary,
    #[serde(default)]
    pub every_s: Option<u64>,
    #[serde(default)]
    pub lasts_s: Option<u64>,
    #[serde(default)]
    pub bytes_per_s: Option<[u64; 2]>,
    #[serde(default)]
    pub rtt_us: Option<u32>,
    #[serde(default)]
    pub then: Option<StateChange>,
}

fn tcp() -> Protocol {
    Protocol::Tcp
}
fn unspecified() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 0))
}
fn one() -> u32 {
    1
}

/// Most frames in a scenario (100,000 frames of a small scenario take
/// about 200 MB once expanded).
pub const MAX_FRAMES: u32 = 100_000;
/// Longest `interval_ms`: one day.
pub const MAX_INTERVAL_MS: u64 = 86_400_000;
/// Longest `every_s`: one day.
pub const MAX_EVERY_S: u64 = 86_400;
/// Largest `count` of one socket entry.
pub const MAX_COUNT: u32 = 10_000;
/// Largest time offset (`from_s`, `until_s`, `lasts_s`, `then.at_s`,
/// `started_s`): ten years.
pub const MAX_SECONDS: u64 = 10 * 366 * 86_400;
/// Latest `start_ms` (year 9999) and earliest (1970).
pub const MAX_START_MS: i64 = 253_402_300_799_000;
/// Most sockets over all frames (frames × sockets alive in each, estimated
/// from `count`, `every_s` and `lasts_s`): bounds the memory of the
/// expansion to a few hundred MB.
pub const MAX_SOCKET_FRAMES: u64 = 2_000_000;

/// Line of `key` inside the `index`-th (0-based) item of the top-level
/// `list` (`sockets`, `processes`), or the item's own line, or 1.
fn item_line(text: &str, list: &str, index: usize, key: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let Some(start) = lines.iter().position(|l| l.trim_end().starts_with(&format!("{list}:"))) else { return 1 };
    let mut item_indent = None;
    let mut seen = 0usize;
    let mut at = None;
    for (i, line) in lines.iter().enumerate().skip(start + 1) {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        if indent == 0 && !trimmed.starts_with('-') {
            break;
        }
        if trimmed.starts_with('-') && item_indent.is_none_or(|d| d == indent) {
            item_indent = Some(indent);
            if let Some(first) = at {
                // The next item: the key was not found in this one.
                return first;
            }
            if seen == index {
                at = Some(i + 1);
            }
            seen += 1;
        }
        if at.is_some() && (trimmed.contains(&format!("{key}:")) || trimmed.contains(&format!("{{ {key}:"))) {
            return i + 1;
        }
    }
    at.unwrap_or(1)
}

impl Scenario {
    pub fn parse(text: &str, file: &str) -> Result<Self, ScenarioError> {
        crate::input::check_depth(text, file, crate::input::Kind::Scenario).map_err(|e| match e {
            crate::input::InputError::TooDeep { line, max, .. } => {
                ScenarioError { file: file.into(), line, message: format!("nested deeper than {max} levels; expected a scenario of at most {max} levels") }
            }
            other => ScenarioError { file: file.into(), line: 1, message: other.to_string() },
        })?;
        let s: Self =
            serde_yaml::from_str(text).map_err(|e| ScenarioError { file: file.into(), line: e.location().map_or(1, |l| l.line()), message: e.to_string() })?;
        let err = |key: &str, message: String| ScenarioError { file: file.into(), line: crate::spec::line_of_key(text, key), message };
        if s.interval_ms == 0 || s.frames == 0 {
            return Err(err("interval_ms", "interval_ms and frames must be positive".into()));
        }
        if s.frames > MAX_FRAMES {
            return Err(err("frames", format!("frames {}: expected 1 to {MAX_FRAMES}", s.frames)));
        }
        if s.interval_ms > MAX_INTERVAL_MS {
            return Err(err("interval_ms", format!("interval_ms {}: expected 1 to {MAX_INTERVAL_MS} (one day)", s.interval_ms)));
        }
        if !(0..=MAX_START_MS).contains(&s.start_ms) {
            return Err(err("start_ms", format!("start_ms {}: expected 0 to {MAX_START_MS} (1970 to 9999)", s.start_ms)));
        }
        for (i, p) in s.processes.iter().enumerate() {
            if p.started_s.unsigned_abs() > MAX_SECONDS {
                let line = item_line(text, "processes", i, "started_s");
                return Err(ScenarioError {
                    file: file.into(),
                    line,
                    message: format!("process #{}: started_s {}: expected -{MAX_SECONDS} to {MAX_SECONDS} (ten years)", i + 1, p.started_s),
                });
            }
        }
        let mut budget: u64 = 0;
        for (i, sock) in s.sockets.iter().enumerate() {
            let bad = |key: &str, message: String| ScenarioError {
                file: file.into(),
                line: item_line(text, "sockets", i, key),
                message: format!("socket #{}: {message}", i + 1),
            };
            if let Some(every) = sock.every_s
                && !(1..=MAX_EVERY_S).contains(&every)
            {
                return Err(bad("every_s", format!("every_s {every}: expected 1 to {MAX_EVERY_S} (one day)")));
            }
            if !(1..=MAX_COUNT).contains(&sock.count) {
                return Err(bad("count", format!("count {}: expected 1 to {MAX_COUNT}", sock.count)));
            }
            let times = [("from_s", Some(sock.from_s)), ("until_s", sock.until_s), ("lasts_s", sock.lasts_s), ("at_s", sock.then.as_ref().map(|t| t.at_s))];
            for (key, value) in times {
                if let Some(v) = value
                    && v > MAX_SECONDS
                {
                    return Err(bad(key, format!("{key} {v}: expected 0 to {MAX_SECONDS} (ten years)")));
                }
            }
            // Sockets of this entry alive in one frame, at most.
            let alive = match sock.every_s {
                Some(every) => sock.lasts_s.unwrap_or(1) / every + 1,
                None => 1,
            };
            budget = budget.saturating_add(u64::from(sock.count).saturating_mul(alive).saturating_mul(u64::from(s.frames)));
            if budget > MAX_SOCKET_FRAMES {
                return Err(bad(
                    "count",
                    format!(
                        "the scenario expands to more than {MAX_SOCKET_FRAMES} sockets over its {} frames (count × instances alive × frames, summed); use fewer frames, a smaller count or shorter lasts_s",
                        s.frames
                    ),
                ));
            }
        }
        for (i, sock) in s.sockets.iter().enumerate() {
            if sock.state.protocol() != sock.proto {
                return Err(err("sockets", format!("socket #{}: state {} is not a {} state", i + 1, sock.state, sock.proto)));
            }
            if let Some(pid) = sock.pid
                && !s.processes.iter().any(|p| p.pid == pid)
            {
                return Err(err("sockets", format!("socket #{}: pid {pid} is not in processes", i + 1)));
            }
            if sock.every_s == Some(0) {
                return Err(err("sockets", format!("socket #{}: every_s must be positive", i + 1)));
            }
        }
        if let Some(dns) = &s.dns {
            let total: u64 = dns.queries.iter().map(|q| u64::from(q.count)).sum();
            if total > MAX_QUERIES {
                return Err(err("dns", format!("the queries expand to {total} names; at most {MAX_QUERIES}")));
            }
            for (i, q) in dns.queries.iter().enumerate() {
                if q.name.is_some() == q.parent.is_some() {
                    return Err(err("dns", format!("query #{}: give either name or parent (with count)", i + 1)));
                }
            }
            for (i, n) in dns.names.iter().enumerate() {
                if n.names.is_empty() || n.names.iter().any(|x| x.is_empty() || x.len() > 253) {
                    return Err(err("dns", format!("names #{}: give 1 or more names of 1 to 253 characters", i + 1)));
                }
            }
        }
        Ok(s)
    }

    /// Every frame, in order.
    pub fn frames(&self) -> Vec<Observation> {
        (0..self.frames).map(|f| self.frame(f)).collect()
    }

    fn frame(&self, f: u32) -> Observation {
        let t_ms = u64::from(f).saturating_mul(self.interval_ms);
        let mut sockets = Vec::new();
        for (entry, spec) in self.sockets.iter().enumerate() {
            for (instance, start_ms) in instances(spec, t_ms) {
                for copy in 0..spec.count {
                    sockets.push(self.socket(entry, instance, copy, spec, t_ms - start_ms));
                }
            }
        }
        let mut owners: Vec<u32> = sockets.iter().flat_map(|s: &RawSocket| s.owners.iter().map(|p| p.0)).collect();
        owners.sort_unstable();
        owners.dedup();
        let processes = self.processes.iter().filter(|p| p.listed_without_socket || owners.binary_search(&p.pid).is_ok()).map(|p| self.facts(p)).collect();
        let taken_at_ms = self.start_ms.saturating_add(t_ms as i64);
        Observation { taken_at_ms, sockets, processes, privileged: true, names: self.names(f), ..Observation::default() }
    }

    /// The names and the queries answered in frame `f` (those whose `at_s`
    /// falls after the previous frame and up to this one).
    fn names(&self, f: u32) -> crate::model::NameFacts {
        let Some(dns) = &self.dns else { return crate::model::NameFacts::default() };
        let now_ms = u64::from(f).saturating_mul(self.interval_ms);
        let after_ms = if f == 0 { None } else { Some(u64::from(f - 1).saturating_mul(self.interval_ms)) };
        let in_frame = |at_s: u32| {
            let at = u64::from(at_s).saturating_mul(1000);
            at <= now_ms && after_ms.is_none_or(|a| at > a)
        };
        let mut queries = Vec::new();
        for q in dns.queries.iter().filter(|q| in_frame(q.at_s)) {
            let at_ms = self.start_ms.saturating_add(i64::from(q.at_s).saturating_mul(1000));
            let query = |name: String| crate::model::DnsQuery { at_ms, name, addrs: q.addrs.clone(), pid: q.pid, uid: None };
            match (&q.name, &q.parent) {
                (Some(name), _) => queries.push(query(name.clone())),
                (None, Some(parent)) => queries.extend((0..q.count).map(|i| query(format!("{}.{parent}", generated_label(i))))),
                (None, None) => {}
            }
        }
        let passive_since_ms = dns
            .passive_from_s
            .filter(|&s| u64::from(s).saturating_mul(1000) <= now_ms)
            .map(|s| self.start_ms.saturating_add(i64::from(s).saturating_mul(1000)));
        crate::model::NameFacts { passive_since_ms, names: dns.names.clone(), queries, numeric: false }
    }

    fn socket(&self, entry: usize, instance: u64, copy: u32, spec: &ScenarioSocket, alive_ms: u64) -> RawSocket {
        let mut local = spec.local;
        let mut remote = spec.remote;
        let offset = u16::try_from(copy).unwrap_or(u16::MAX).wrapping_add(u16::try_from(instance % 20_000).unwrap_or(0));
        match spec.vary {
            Vary::Local if local.port() != 0 && !spec.state.is_listening() => local.set_port(local.port().wrapping_add(offset)),
            Vary::Remote if remote.port() != 0 => remote.set_port(remote.port().wrapping_add(offset)),
            _ => {}
        }
        let state = match &spec.then {
            Some(change) if alive_ms >= change.at_s.saturating_mul(1000) => change.state,
            _ => spec.state,
        };
        let id = ((entry as u64) << 40) | (instance << 20) | u64::from(copy);
        let inode = if state == SocketState::TimeWait {
            0
        } else {
            (entry as u32).wrapping_mul(1_000_000).wrapping_add(20_000 + (instance as u32 % 1_000) * 1_000).wrapping_add(copy)
        };
        let uid = spec.pid.and_then(|pid| self.processes.iter().find(|p| p.pid == pid)).map_or(0, |p| p.uid);
        let tcp = (spec.proto == Protocol::Tcp && !state.is_listening() && state != SocketState::TimeWait).then(|| {
            let [sent, received] = spec.bytes_per_s.unwrap_or([0, 0]);
            let secs = alive_ms / 1000;
            TcpCounters {
                bytes_acked: sent.saturating_mul(secs),
                bytes_received: received.saturating_mul(secs),
                rtt_us: spec.rtt_us.unwrap_or(800),
                min_rtt_us: None,
            }
        });
        RawSocket {
            key: SocketKey { protocol: spec.proto, cookie: 0x5ce0_0000_0000_0000 | id },
            state,
            local: normalize_addr(local),
            remote: normalize_addr(remote),
            inode,
            uid,
            owners: if inode == 0 { Owners::default() } else { spec.pid.map(|p| Owners::one(Pid(p))).unwrap_or_default() },
            tcp,
            recv_queue: 0,
            send_queue: 0,
            netns: None,
        }
    }

    fn facts(&self, p: &ScenarioProcess) -> ProcessFacts {
        let exe = p.exe.clone();
        let exe_memfd = exe.as_deref().is_some_and(|e| e.starts_with("/memfd:") || e.starts_with("/dev/shm/"));
        let mut ancestors = Vec::new();
        let mut parent = p.ppid;
        while let Some(pp) = self.processes.iter().find(|x| x.pid == parent && parent != 0) {
            if ancestors.len() == 3 {
                break;
            }
            ancestors.push(pp.name.clone());
            parent = pp.ppid;
        }
        let cmdline_of = |p: &ScenarioProcess| p.cmdline.clone().unwrap_or_else(|| p.exe.clone().unwrap_or_else(|| p.name.clone()));
        ProcessFacts {
            pid: p.pid,
            ppid: p.ppid,
            ancestors,
            name: p.name.clone(),
            cmdline: cmdline_of(p),
            parent_cmdline: self.processes.iter().find(|x| x.pid == p.ppid && p.ppid != 0).map(cmdline_of).unwrap_or_default(),
            exe,
            exe_deleted: p.exe_deleted,
            exe_memfd,
            cwd: p.cwd.clone(),
            uid: p.uid,
            user: p.user.clone(),
            start_time_ms: self.start_ms.saturating_add(p.started_s.saturating_mul(1000)),
            stdio_sockets: p.stdio_sockets.clone(),
            has_tty: p.tty,
            sensitive_files: p.sensitive_files.clone(),
            shell_links: p.shell_links.clone(),
            netns: None,
            workload: crate::model::Workload::default(),
        }
    }
}

/// (instance number, start ms) of each instance of `spec` alive at `t_ms`.
fn instances(spec: &ScenarioSocket, t_ms: u64) -> Vec<(u64, u64)> {
    let from = spec.from_s.saturating_mul(1000);
    let until = spec.until_s.map_or(u64::MAX, |u| u.saturating_mul(1000));
    if t_ms < from || t_ms >= until {
        return Vec::new();
    }
    match spec.every_s {
        None => vec![(0, from)],
        Some(every) => {
            let every = every.saturating_mul(1000).max(1);
            let lasts = spec.lasts_s.map_or(1000, |l| l.saturating_mul(1000));
            let since = t_ms - from;
            let last = since / every;
            // Instances started before this one have ended: start past them
            // (linear in the instances alive, not in those started).
            let first = if since >= lasts { (since - lasts) / every + 1 } else { 0 };
            (first..=last).map(|k| (k, from.saturating_add(k.saturating_mul(every)))).filter(|&(_, start)| t_ms < start.saturating_add(lasts)).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: &str = r#"
host: test
start_ms: 1000000
interval_ms: 1000
frames: 10
processes:
  - { pid: 7, name: beacon, exe: /tmp/b, uid: 1000 }
sockets:
  - { pid: 7, local: "10.0.0.5:40000", remote: "203.0.113.9:443", state: ESTABLISHED, every_s: 3, lasts_s: 1, bytes_per_s: [10, 20] }
  - { local: "10.0.0.5:50000", remote: "203.0.113.10:80", state: TIME_WAIT, count: 4 }
  - { pid: 7, local: "10.0.0.5:8080", remote: "198.51.100.1:1234", state: ESTABLISHED, then: { at_s: 5, state: CLOSE_WAIT } }
"#;

    #[test]
    fn expands_periodic_copies_and_state_changes() {
        let s = Scenario::parse(S, "t.yaml").expect("valid");
        let frames = s.frames();
        assert_eq!(frames.len(), 10);
        let beacons = |f: &Observation| f.sockets.iter().filter(|x| x.remote.port() == 443).count();
        let alive: Vec<usize> = frames.iter().map(beacons).collect();
        assert_eq!(alive, vec![1, 0, 0, 1, 0, 0, 1, 0, 0, 1]);
        assert_eq!(frames[0].sockets.iter().filter(|x| x.state == SocketState::TimeWait).count(), 4);
        assert!(frames[0].sockets.iter().filter(|x| x.state == SocketState::TimeWait).all(|x| x.inode == 0 && x.owners.is_empty()));
        let leak = |f: &Observation| f.sockets.iter().find(|x| x.local.port() == 8080).map(|x| x.state);
        assert_eq!(leak(&frames[4]), Some(SocketState::Established));
        assert_eq!(leak(&frames[5]), Some(SocketState::CloseWait));
        assert_eq!(frames[3].taken_at_ms, 1_003_000);
        assert_eq!(frames[0].processes.len(), 1);
        // Distinct instances have distinct keys.
        let k0 = frames[0].sockets.iter().find(|x| x.remote.port() == 443).map(|x| x.key);
        let k3 = frames[3].sockets.iter().find(|x| x.remote.port() == 443).map(|x| x.key);
        assert_ne!(k0, k3);
    }

    #[test]
    fn bad_scenarios_are_refused_with_a_line() {
        let e = Scenario::parse("host: x\nstart_ms: 0\ninterval_ms: 1000\nframes: 1\nsockets:\n  - { local: \"1.2.3.4:1\", state: BOGUS }\n", "bad.yaml")
            .expect_err("bad");
        assert_eq!(e.line, 6);
        assert!(e.message.contains("BOGUS"), "{}", e.message);
        let e =
            Scenario::parse("host: x\nstart_ms: 0\ninterval_ms: 1000\nframes: 1\nsockets:\n  - { pid: 9, local: \"1.2.3.4:1\", state: LISTEN }\n", "bad.yaml")
                .expect_err("bad");
        assert!(e.message.contains("pid 9"), "{}", e.message);
        let e = Scenario::parse(
            "host: x\nstart_ms: 0\ninterval_ms: 1000\nframes: 1\nsockets:\n  - { proto: udp, local: \"1.2.3.4:1\", state: LISTEN }\n",
            "bad.yaml",
        )
        .expect_err("bad");
        assert!(e.message.contains("not a udp state"), "{}", e.message);
    }

    const HEAD: &str = "host: x\nstart_ms: 0\ninterval_ms: 1000\n";

    #[test]
    fn huge_every_s_is_refused_naming_the_key_and_line() {
        let text = format!(
            "{HEAD}frames: 3\nsockets:\n  - {{ local: \"1.2.3.4:1\", state: LISTEN }}\n  - local: \"1.2.3.4:2\"\n    state: ESTABLISHED\n    every_s: 2305843009213693952\n"
        );
        let e = Scenario::parse(&text, "bad.yaml").expect_err("refused");
        assert_eq!(e.line, 9, "{e:?}");
        assert!(e.message.contains("socket #2: every_s 2305843009213693952: expected 1 to 86400"), "{}", e.message);
        // Through the replay path the message names file and line.
        let r = crate::collect::ReplaySource::from_text(&text, "bad.yaml").expect_err("refused");
        assert!(r.to_string().starts_with("bad.yaml:9: socket #2: every_s"), "{r}");
    }

    #[test]
    fn huge_frames_and_counts_are_refused_without_allocating() {
        let e = Scenario::parse(&format!("{HEAD}frames: 4294967295\n"), "bad.yaml").expect_err("frames");
        assert_eq!(e.line, 4);
        assert!(e.message.contains("frames 4294967295: expected 1 to 100000"), "{}", e.message);
        assert!(Scenario::parse(&format!("{HEAD}frames: 1000000\n"), "bad.yaml").is_err());
        let e = Scenario::parse(&format!("{HEAD}frames: 2\nsockets:\n  - {{ local: \"1.2.3.4:1\", state: LISTEN, count: 4294967295 }}\n"), "bad.yaml")
            .expect_err("count");
        assert_eq!(e.line, 6);
        assert!(e.message.contains("count 4294967295"), "{}", e.message);
        // Within each limit, but over the total budget.
        let e = Scenario::parse(&format!("{HEAD}frames: 100000\nsockets:\n  - {{ local: \"1.2.3.4:1\", state: LISTEN, count: 10000 }}\n"), "bad.yaml")
            .expect_err("budget");
        assert!(e.message.contains("more than 2000000 sockets"), "{}", e.message);
        let e = Scenario::parse(
            &format!("{HEAD}frames: 2\nsockets:\n  - {{ local: \"1.2.3.4:1\", state: ESTABLISHED, every_s: 1, lasts_s: 9999999999999 }}\n"),
            "bad.yaml",
        )
        .expect_err("lasts");
        assert!(e.message.contains("lasts_s 9999999999999"), "{}", e.message);
        assert!(Scenario::parse("host: x\nstart_ms: 9223372036854775807\nframes: 2\n", "bad.yaml").is_err());
        assert!(Scenario::parse("host: x\ninterval_ms: 18446744073709551615\nframes: 2\n", "bad.yaml").is_err());
    }

    #[test]
    fn the_largest_accepted_scenario_expands_quickly() {
        // Every limit at its maximum that still fits the budget: no overflow,
        // and the per-frame instance walk does not start from instance 0.
        let text = format!(
            "host: x\nstart_ms: {MAX_START_MS}\ninterval_ms: {MAX_INTERVAL_MS}\nframes: 20\nprocesses:\n  - {{ pid: 1, name: a, started_s: -{MAX_SECONDS} }}\nsockets:\n  - {{ pid: 1, local: \"1.2.3.4:1\", remote: \"5.6.7.8:9\", state: ESTABLISHED, every_s: 1, lasts_s: 2, from_s: 0, bytes_per_s: [18446744073709551615, 1], then: {{ at_s: {MAX_SECONDS}, state: CLOSE_WAIT }} }}\n"
        );
        let s = Scenario::parse(&text, "max.yaml").expect("valid");
        let frames = s.frames();
        assert_eq!(frames.len(), 20);
        assert!(frames.iter().all(|f| f.sockets.len() <= 3));
    }

    #[test]
    fn deep_nesting_is_refused_quickly() {
        let text = format!("{HEAD}frames: 1\nsockets: {}", "[".repeat(100_000));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(Scenario::parse(&text, "deep.yaml"));
        });
        let result = rx.recv_timeout(std::time::Duration::from_secs(10)).expect("parse returns within the deadline");
        let e = result.expect_err("too deep");
        assert_eq!(e.line, 5);
        assert!(e.message.contains("nested deeper than 64"), "{}", e.message);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn arbitrary_text_never_panics_the_loader(text in "(?s).{0,400}") {
            if let Ok(s) = Scenario::parse(&text, "p.yaml") {
                let _ = s.frames();
            }
        }

        #[test]
        fn arbitrary_numbers_never_panic_the_expansion(
            frames in proptest::prelude::any::<u32>(),
            interval in proptest::prelude::any::<u64>(),
            start in proptest::prelude::any::<i64>(),
            every in proptest::option::of(proptest::prelude::any::<u64>()),
            lasts in proptest::option::of(proptest::prelude::any::<u64>()),
            count in proptest::prelude::any::<u32>(),
            from in proptest::prelude::any::<u64>(),
            started in proptest::prelude::any::<i64>(),
        ) {
            let every = every.map(|e| format!(", every_s: {e}")).unwrap_or_default();
            let lasts = lasts.map(|l| format!(", lasts_s: {l}")).unwrap_or_default();
            let text = format!(
                "host: x\nstart_ms: {start}\ninterval_ms: {interval}\nframes: {frames}\nprocesses:\n  - {{ pid: 1, name: a, started_s: {started} }}\nsockets:\n  - {{ pid: 1, local: \"1.2.3.4:1\", remote: \"5.6.7.8:9\", state: ESTABLISHED, count: {count}, from_s: {from}{every}{lasts} }}\n"
            );
            if let Ok(s) = Scenario::parse(&text, "p.yaml") {
                let n = s.frames.min(50);
                for f in 0..n {
                    let _ = s.frame(f);
                }
            }
        }
    }
}
