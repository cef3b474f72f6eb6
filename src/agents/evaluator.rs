//! MCP servers on the map: an [`Evaluator`] around the rule engine that,
//! each refresh, marks every process known as an MCP server (observed
//! running by `mcp-observe`, or whose command line is one a client config
//! runs) with an info finding `mcp_server` (tag `mcp_server`: the fact
//! index marks the process once per snapshot; its trace lists the tools,
//! recent calls and the client), and adds the observer's recent findings
//! about it as findings on the process, in the same stream as the rules'.
//! The store is read at most every few seconds, never written.

use std::path::PathBuf;
use std::sync::Arc;

use crate::model::{Evaluator, Finding, History, Pid, Snapshot, Subject, TraceStep};
use crate::terms::Severity;

use super::config::ConfiguredServer;
use super::query::{self, CallFilter, StoredFinding};

/// How often the store is read again.
const READ_EVERY_MS: i64 = 5_000;
/// How far back observed findings are shown.
const SHOW_MS: i64 = 3_600_000;

/// A running observed server, as last read.
#[derive(Debug, Clone, Default)]
struct Live {
    pid: u32,
    server_key: String,
    name: Option<String>,
    tools: Vec<String>,
    calls: Vec<String>,
    findings: Vec<StoredFinding>,
}

#[derive(Debug)]
pub struct AgentEvaluator<E> {
    pub inner: E,
    store: Option<PathBuf>,
    configured: Vec<ConfiguredServer>,
    read_at_ms: i64,
    live: Arc<Vec<Live>>,
}

impl<E> AgentEvaluator<E> {
    /// `store`: the event store to read (none: configs only); `configured`:
    /// the servers client configs run.
    pub fn new(inner: E, store: Option<PathBuf>, configured: Vec<ConfiguredServer>) -> Self {
        Self { inner, store, configured, read_at_ms: i64::MIN, live: Arc::default() }
    }

    fn refresh(&mut self, now: i64) {
        if now.saturating_sub(self.read_at_ms) < READ_EVERY_MS {
            return;
        }
        self.read_at_ms = now;
        let Some(path) = self.store.as_deref().filter(|p| p.is_file()) else { return };
        let Ok(conn) = crate::store::open_reader(path) else { return };
        let Ok(servers) = query::servers(&conn) else { return };
        let mut live = Vec::new();
        for s in servers.into_iter().filter(|s| s.last_ended_ms.is_none()).take(256) {
            let Some(pid) = s.pid else { continue };
            let tools =
                query::specs(&conn, &s.server_key).ok().flatten().map(|(_, latest, _)| latest.into_iter().map(|t| t.name).collect()).unwrap_or_default();
            let filter = CallFilter { server: s.server_key.clone(), since_ms: now - SHOW_MS, limit: 5, ..CallFilter::default() };
            let calls = query::calls(&conn, &filter)
                .unwrap_or_default()
                .into_iter()
                .filter(|c| c.server_key == s.server_key)
                .map(|c| if c.flags.is_empty() { c.tool } else { format!("{} [{}]", c.tool, c.flags.join(", ")) })
                .collect();
            let findings = query::findings(&conn, &s.server_key, now - SHOW_MS, 50)
                .unwrap_or_default()
                .into_iter()
                .filter(|f| f.server_key == s.server_key && f.pid == Some(pid))
                .collect();
            live.push(Live { pid, server_key: s.server_key, name: s.name, tools, calls, findings });
        }
        self.live = Arc::new(live);
    }
}

fn step(condition: &str, value: &str) -> TraceStep {
    TraceStep { condition: condition.into(), value: crate::text::bounded(value, 300) }
}

fn marker(pid: Pid, trace: Vec<TraceStep>, now: i64) -> Finding {
    Finding {
        id: format!("mcp_server@{}", pid.0),
        rule_id: "mcp_server".into(),
        rule_name: "MCP server".into(),
        severity: Severity::Info,
        tags: vec!["mcp_server".into()],
        subject: Subject::Process { pid },
        netns: None,
        highlight: None,
        icon: None,
        trace,
        explanation: "This process is an MCP server an AI assistant runs: it reads files, runs commands or opens connections when the assistant asks. The trace lists its tools and recent calls (necromap mcp-observe) or the client config that runs it.".into(),
        explanation_ko: "이 프로세스는 AI 어시스턴트가 실행하는 MCP 서버입니다. 어시스턴트가 요청하면 파일을 읽고 명령을 실행하거나 연결을 엽니다. 추적에 도구와 최근 호출(necromap mcp-observe), 또는 이 서버를 실행하는 클라이언트 설정이 있습니다.".into(),
        steps: vec!["necromap mcp-audit".into(), format!("ls -l /proc/{}/fd", pid.0)],
        first_seen_ms: now,
        last_seen_ms: now,
    }
}

/// The server process listens beyond loopback (a wildcard address included).
fn listener_finding(snapshot: &Snapshot, pid: Pid, now: i64) -> Option<Finding> {
    let s =
        snapshot.sockets.iter().find(|s| s.direction == crate::model::Direction::Listen && s.raw.owners.contains(&pid) && !s.raw.local.ip().is_loopback())?;
    let rule = super::AgentRule::NonLoopbackListener;
    Some(Finding {
        id: format!("{}@{}", rule.id(), pid.0),
        rule_id: rule.id().into(),
        rule_name: rule.name().into(),
        severity: rule.severity(),
        tags: vec!["mcp".into(), "exposure".into()],
        subject: Subject::Socket { socket: s.raw.key, pid: Some(pid) },
        netns: None,
        highlight: None,
        icon: None,
        trace: vec![step("listens on", &s.raw.local.to_string())],
        explanation: rule.explanation().into(),
        explanation_ko: rule.explanation_ko().into(),
        steps: vec![format!("ss -tlnp | grep 'pid={},'", pid.0)],
        first_seen_ms: now,
        last_seen_ms: now,
    })
}

impl<E: Evaluator> Evaluator for AgentEvaluator<E> {
    fn evaluate(&mut self, snapshot: &Snapshot, history: &History) -> Vec<Finding> {
        let mut findings = self.inner.evaluate(snapshot, history);
        // A recording's pids are not this host's.
        if snapshot.source.kind == crate::model::SourceKind::Replay {
            return findings;
        }
        let now = snapshot.taken_at_ms;
        self.refresh(now);
        let mut marked = std::collections::BTreeSet::new();
        let live = self.live.clone();
        for l in live.iter() {
            let pid = Pid(l.pid);
            if !snapshot.processes.contains_key(&pid) || !marked.insert(pid) {
                continue;
            }
            let mut trace = vec![step("observed by", &format!("necromap mcp-observe: {}", l.server_key))];
            if let Some(n) = &l.name {
                trace.push(step("server name", n));
            }
            trace.push(step("tools", &l.tools.join(", ")));
            if !l.calls.is_empty() {
                trace.push(step("recent calls", &l.calls.join("; ")));
            }
            findings.push(marker(pid, trace, now));
            if let Some(f) = listener_finding(snapshot, pid, now) {
                findings.push(f);
            }
            for f in &l.findings {
                let tool = f.tool.clone().unwrap_or_default();
                findings.push(Finding {
                    id: format!("{}@{}:{}", f.rule.id(), pid.0, crate::text::bounded(&tool, 64)),
                    rule_id: f.rule.id().into(),
                    rule_name: f.rule.name().into(),
                    severity: f.severity,
                    tags: vec!["mcp".into()],
                    subject: Subject::Process { pid },
                    netns: None,
                    highlight: None,
                    icon: None,
                    trace: vec![step("tool", &tool), step("evidence", &f.evidence)],
                    explanation: f.rule.explanation().into(),
                    explanation_ko: f.rule.explanation_ko().into(),
                    steps: vec!["necromap mcp-audit".into(), "get_mcp_calls (MCP) with flagged: true".into()],
                    first_seen_ms: f.at_ms,
                    last_seen_ms: f.at_ms,
                });
            }
        }
        if !self.configured.is_empty() {
            for (pid, p) in &snapshot.processes {
                if marked.contains(pid) {
                    continue;
                }
                if let Some(c) = self.configured.iter().find(|c| !c.command.is_empty() && c.effective().join(" ") == p.facts.cmdline) {
                    marked.insert(*pid);
                    let trace = vec![step("configured in", &format!("{} {} ({})", c.client.name(), c.file.display(), c.at))];
                    findings.push(marker(*pid, trace, now));
                }
            }
        }
        findings
    }

    fn health(&self) -> Vec<crate::model::HealthMessage> {
        self.inner.health()
    }

    fn alert_digest(&self) -> Option<Arc<crate::model::AlertDigest>> {
        self.inner.alert_digest()
    }
}

/// The servers the client configs under `$HOME` run (none without a HOME).
pub fn configured_servers() -> Vec<ConfiguredServer> {
    std::env::var_os("HOME").map(|h| super::config::discover(std::path::Path::new(&h), None).servers).unwrap_or_default()
}
