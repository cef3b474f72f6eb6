//! Network posture: read-only checks of how exposed this host's network
//! configuration is, each `pass`, `warn` or `fail` with its evidence and a
//! fix. Everything is read under a root directory (`/` on the live host,
//! a crafted tree in tests): `proc/sys` for sysctls, `proc/net` and
//! `proc/<pid>` for listeners and their owners, `etc/ssh/sshd_config`.
//! Only on the live root are `nft list ruleset` and `iptables-save` run
//! (both only read). Nothing is ever changed.
//!
//! ```text
//! sysctl ─┐
//! sshd   ─┼─► Vec<Check> ─► Report ─► text | json, MCP check_posture
//! listen ─┤                   └─► findings (scope host) for failures
//! fw     ─┘
//! ```

pub mod firewall;
pub mod listeners;
pub mod policy;
pub mod sshd;
pub mod sysctl;
pub mod watch;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::model::{Finding, Severity, Subject, TraceStep};

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Warn => "warn",
            Self::Fail => "fail",
        }
    }
}

/// What a check is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    Sysctl,
    Listener,
    Sshd,
    Firewall,
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable: `sysctl:net.ipv4.ip_forward`, `listener_exposed:tcp:0.0.0.0:22`, …
    pub id: String,
    pub area: Area,
    pub status: Status,
    /// What was checked, in a few words.
    pub title: String,
    /// What was read, with where it was read (escaped, bounded).
    pub evidence: String,
    /// What to do about it (empty on a pass).
    pub fix: String,
    /// How much a failure matters (its finding's severity).
    pub severity: Severity,
}

impl Check {
    pub fn new(id: impl Into<String>, area: Area, status: Status, title: impl Into<String>, evidence: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            area,
            status,
            title: title.into(),
            evidence: crate::text::bounded(&crate::text::escape_control(&evidence.into()), 600),
            fix: fix.into(),
            severity: Severity::Medium,
        }
    }

    #[must_use]
    pub fn severity(mut self, s: Severity) -> Self {
        self.severity = s;
        self
    }
}

/// Where to look and what to allow.
#[derive(Debug, Clone)]
pub struct Options {
    /// The root everything is read under (`/` on the live host).
    pub root: PathBuf,
    /// The allowed and denied services, if given.
    pub policy: Option<policy::Policy>,
    /// Run `nft list ruleset` / `iptables-save` (only sensible on `/`).
    pub run_commands: bool,
}

impl Options {
    pub fn live(policy: Option<policy::Policy>) -> Self {
        Self { root: PathBuf::from("/"), policy, run_commands: true }
    }

    /// `rel` (absolute or not) under the root.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel.trim_start_matches('/'))
    }
}

/// Every check, in the order shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub root: String,
    pub checks: Vec<Check>,
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
}

impl Report {
    /// The worst status (pass when there are no checks).
    pub fn worst(&self) -> Status {
        self.checks.iter().map(|c| c.status).max().unwrap_or(Status::Pass)
    }
}

/// Run every check.
pub fn run(opts: &Options) -> Report {
    let mut checks = sysctl::checks(opts);
    checks.extend(listeners::checks(opts));
    checks.extend(sshd::checks(opts));
    checks.push(firewall::check(opts));
    let count = |s: Status| checks.iter().filter(|c| c.status == s).count();
    Report { root: opts.root.display().to_string(), pass: count(Status::Pass), warn: count(Status::Warn), fail: count(Status::Fail), checks }
}

/// The report as text: one line per check, then evidence and fix.
pub fn text(r: &Report) -> String {
    use std::fmt::Write;
    let mut out = format!("posture of {} — {} pass, {} warn, {} fail\n", crate::text::escape_control(&r.root), r.pass, r.warn, r.fail);
    let mut sorted: Vec<&Check> = r.checks.iter().collect();
    sorted.sort_by(|a, b| b.status.cmp(&a.status).then(a.area.cmp(&b.area)).then_with(|| a.id.cmp(&b.id)));
    for c in sorted {
        let _ = writeln!(out, "{:<4}  {}: {}", c.status.name(), c.title, c.evidence);
        if c.status != Status::Pass && !c.fix.is_empty() {
            let _ = writeln!(out, "      fix: {}", c.fix);
        }
    }
    out
}

/// Failed checks as findings about the host.
pub fn findings(r: &Report, now_ms: i64) -> Vec<Finding> {
    r.checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| Finding {
            id: format!("posture@{}", c.id),
            rule_id: format!("posture_{}", c.id.split(':').next().unwrap_or("check")),
            rule_name: format!("Posture: {}", c.title),
            severity: c.severity,
            tags: vec!["posture".into(), c.area_tag().into()],
            subject: Subject::Host,
            netns: None,
            highlight: None,
            icon: None,
            trace: vec![TraceStep { condition: c.id.clone(), value: c.evidence.clone() }],
            explanation: format!("A read-only posture check failed: {}. Fix: {}", c.title, c.fix),
            explanation_ko: format!("읽기 전용 보안 상태 점검이 실패했습니다: {}. 조치: {}", c.title, c.fix),
            steps: vec!["necromap posture".into()],
            first_seen_ms: now_ms,
            last_seen_ms: now_ms,
        })
        .collect()
}

impl Check {
    fn area_tag(&self) -> &'static str {
        match self.area {
            Area::Sysctl => "sysctl",
            Area::Listener => "listener",
            Area::Sshd => "ssh",
            Area::Firewall => "firewall",
        }
    }
}

/// A small file under the root, trimmed (None when it cannot be read).
pub(crate) fn read_small(path: &Path) -> Option<String> {
    crate::input::read_text(path, crate::input::Kind::Config).ok().map(|s| s.trim().to_string())
}
