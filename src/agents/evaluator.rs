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
use super::detect::outbound::Declared;
use super::query::{self, CallFilter, StoredFinding};
use super::snapshot_checks::{listener_finding, outbound_finding};

/// How often the store is read again.
const READ_EVERY_MS: i64 = 5_000;
/// How far back observed findings are shown.
const SHOW_MS: i64 = 3_600_000;

/// A running observed server, as last read.
#[derive(Debug, Clone, Default)]
struct Live {
    /// The stdio server's pid; none for an HTTP server observed through
    /// the relay, found each refresh by the port it listens on.
    pid: Option<u32>,
    /// The loopback port of an HTTP server observed through the relay.
    http_port: Option<u16>,
    server_key: String,
    name: Option<String>,
    tools: Vec<String>,
    /// What the server declares: its command line, name and tool descriptions.
    declared: Declared,
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
            let http_port = http_port(&s.server_key);
            if s.pid.is_none() && http_port.is_none() {
                continue;
            }
            let latest = query::specs(&conn, &s.server_key).ok().flatten().map(|(_, latest, _)| latest).unwrap_or_default();
            let mut declared = Declared::new([s.server_key.as_str(), s.name.as_deref().unwrap_or("")]);
            for t in &latest {
                declared.add(&t.name);
                declared.add(&t.description);
            }
            let tools = latest.into_iter().map(|t| t.name).collect();
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
                .filter(|f| f.server_key == s.server_key && f.pid == s.pid)
                .collect();
            live.push(Live { pid: s.pid, http_port, server_key: s.server_key, name: s.name, tools, declared, calls, findings });
        }
        self.live = Arc::new(live);
    }
}

fn step(condition: &str, value: &str) -> TraceStep {
    TraceStep { condition: condition.into(), value: crate::text::bounded(value, 300) }
}

/// The loopback port of an HTTP server observed through the relay (its
/// key is the upstream URL, `http://127.0.0.1:PORT/…`), if it is one.
fn http_port(server_key: &str) -> Option<u16> {
    let authority = server_key.strip_prefix("http://")?.split(['/', '?']).next()?;
    let (host, port) = authority.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let local = host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if local { port.parse().ok() } else { None }
}

/// The process listening on `port` (TCP, loopback or every address) in
/// necromap's own namespace, where the relay reaches it.
fn http_server_pid(snapshot: &Snapshot, port: u16) -> Option<u32> {
    snapshot
        .listeners
        .values()
        .filter(|l| l.protocol == crate::model::Protocol::Tcp && l.port == port && l.netns.is_none() && (l.wildcard || l.address.is_loopback()))
        .find_map(|l| l.pid)
}

/// Whether `pid` still runs the observed server: its command line ends
/// with the server's arguments and names its program (a script's
/// interpreter may come first; a reused pid runs something else).
fn runs(pid: u32, server_key: &str) -> bool {
    let (program, args) = server_key.split_once(' ').unwrap_or((server_key, ""));
    let program = std::path::Path::new(program).file_name().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
        let words: Vec<String> = c.split(|&b| b == 0).filter(|w| !w.is_empty()).map(|w| String::from_utf8_lossy(w).into_owned()).collect();
        let line = super::observe::server_key(&words);
        !program.is_empty() && line.contains(&program) && line.ends_with(args)
    })
}

/// The `mcp_server` mark: on the process, or on the host for a server without a socket.
fn marker(pid: Pid, subject: Subject, trace: Vec<TraceStep>, now: i64) -> Finding {
    Finding {
        id: format!("mcp_server@{}", pid.0),
        rule_id: "mcp_server".into(),
        rule_name: "MCP server".into(),
        severity: Severity::Info,
        tags: vec!["mcp_server".into()],
        subject,
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

impl<E: Evaluator> Evaluator for AgentEvaluator<E> {
    fn lend_room(&mut self, room: Vec<crate::model::RawSocket>) {
        self.inner.lend_room(room);
    }

    fn leftovers(&mut self) -> Option<crate::drop_beside::Garbage> {
        self.inner.leftovers()
    }

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
            // An HTTP server is the process listening on its port now.
            let Some(raw_pid) = l.pid.or_else(|| l.http_port.and_then(|port| http_server_pid(snapshot, port))) else { continue };
            let pid = Pid(raw_pid);
            if !marked.insert(pid) {
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
            if !snapshot.processes.contains_key(&pid) {
                // A stdio server holds no socket, so the map has no node for
                // it: the host's detail lists it, while it still runs.
                if l.pid.is_some() && runs(raw_pid, &l.server_key) {
                    let worst = l.findings.iter().map(|f| f.severity).max().map_or_else(|| "none".to_string(), |w| format!("worst {}", w.name()));
                    trace.insert(0, step("process", &format!("pid {raw_pid} · no network socket (stdio)")));
                    trace.push(step("findings", &format!("{} ({worst})", l.findings.len())));
                    findings.push(marker(pid, Subject::Host, trace, now));
                }
                continue;
            }
            findings.push(marker(pid, Subject::Process { pid }, trace, now));
            if let Some(f) = listener_finding(snapshot, pid, now) {
                findings.push(f);
            }
            let mut declared = l.declared.clone();
            if let Some(p) = snapshot.processes.get(&pid) {
                declared.add(&p.facts.cmdline);
            }
            if let Some(f) = outbound_finding(snapshot, pid, &declared, now) {
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
                    findings.push(marker(*pid, Subject::Process { pid: *pid }, trace, now));
                    if let Some(f) = listener_finding(snapshot, *pid, now) {
                        findings.push(f);
                    }
                    if let Some(f) = outbound_finding(snapshot, *pid, &declared_by(c, &p.facts.cmdline), now) {
                        findings.push(f);
                    }
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

/// What a configured server declares: its command line, name, URL and env names (never values).
fn declared_by(c: &ConfiguredServer, cmdline: &str) -> Declared {
    let mut d = Declared::new([cmdline, c.name.as_str(), c.url.as_deref().unwrap_or("")]);
    for w in c.effective() {
        d.add(&w);
    }
    for name in c.env.keys() {
        d.add(name);
    }
    d
}

/// The servers the client configs under `$HOME` run (none without a HOME).
pub fn configured_servers() -> Vec<ConfiguredServer> {
    std::env::var_os("HOME").map(|h| super::config::discover(std::path::Path::new(&h), None).servers).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::http_port;

    #[test]
    fn the_port_of_a_loopback_upstream_only() {
        assert_eq!(http_port("http://127.0.0.1:32919/mcp"), Some(32919));
        assert_eq!(http_port("http://localhost:8080"), Some(8080));
        assert_eq!(http_port("http://[::1]:9000/mcp?x=1"), Some(9000));
        // Not on this host, not HTTP, no port: nothing to look for.
        assert_eq!(http_port("http://203.0.113.5:8080/mcp"), None);
        assert_eq!(http_port("https://127.0.0.1:8443/mcp"), None);
        assert_eq!(http_port("http://127.0.0.1/mcp"), None);
        assert_eq!(http_port("/usr/bin/node server.js"), None);
    }
}
