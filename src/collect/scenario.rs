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
use crate::model::{Pid, ProcessFacts, Protocol, RawSocket, SocketKey, SocketState, TcpCounters, normalize_addr};

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
}

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

impl Scenario {
    pub fn parse(text: &str, file: &str) -> Result<Self, ScenarioError> {
        let s: Self =
            serde_yaml::from_str(text).map_err(|e| ScenarioError { file: file.into(), line: e.location().map_or(1, |l| l.line()), message: e.to_string() })?;
        let err = |key: &str, message: String| ScenarioError { file: file.into(), line: crate::spec::line_of_key(text, key), message };
        if s.interval_ms == 0 || s.frames == 0 {
            return Err(err("interval_ms", "interval_ms and frames must be positive".into()));
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
        Ok(s)
    }

    /// Every frame, in order.
    pub fn frames(&self) -> Vec<Observation> {
        (0..self.frames).map(|f| self.frame(f)).collect()
    }

    fn frame(&self, f: u32) -> Observation {
        let t_ms = u64::from(f) * self.interval_ms;
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
        let processes = self.processes.iter().filter(|p| owners.binary_search(&p.pid).is_ok()).map(|p| self.facts(p)).collect();
        Observation { taken_at_ms: self.start_ms + t_ms as i64, sockets, processes, privileged: true, ..Observation::default() }
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
            Some(change) if alive_ms >= change.at_s * 1000 => change.state,
            _ => spec.state,
        };
        let id = ((entry as u64) << 40) | (instance << 20) | u64::from(copy);
        let inode = if state == SocketState::TimeWait { 0 } else { 20_000 + (entry as u32) * 1_000_000 + (instance as u32 % 1_000) * 1_000 + copy };
        let uid = spec.pid.and_then(|pid| self.processes.iter().find(|p| p.pid == pid)).map_or(0, |p| p.uid);
        let tcp = (spec.proto == Protocol::Tcp && !state.is_listening() && state != SocketState::TimeWait).then(|| {
            let [sent, received] = spec.bytes_per_s.unwrap_or([0, 0]);
            let secs = alive_ms / 1000;
            TcpCounters { bytes_acked: sent * secs, bytes_received: received * secs, rtt_us: spec.rtt_us.unwrap_or(800), min_rtt_us: None }
        });
        RawSocket {
            key: SocketKey { protocol: spec.proto, cookie: 0x5ce0_0000_0000_0000 | id },
            state,
            local: normalize_addr(local),
            remote: normalize_addr(remote),
            inode,
            uid,
            owners: if inode == 0 { Vec::new() } else { spec.pid.map(|p| vec![Pid(p)]).unwrap_or_default() },
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
            start_time_ms: self.start_ms + p.started_s * 1000,
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
    let from = spec.from_s * 1000;
    let until = spec.until_s.map_or(u64::MAX, |u| u * 1000);
    if t_ms < from || t_ms >= until {
        return Vec::new();
    }
    match spec.every_s {
        None => vec![(0, from)],
        Some(every) => {
            let every = every * 1000;
            let lasts = spec.lasts_s.map_or(1000, |l| l * 1000);
            let last = (t_ms - from) / every;
            (0..=last).map(|k| (k, from + k * every)).filter(|&(_, start)| t_ms < start + lasts).collect()
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
}
