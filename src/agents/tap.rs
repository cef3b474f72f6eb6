//! The tap: reads the relayed copies as MCP, runs the engines and records.
//! Off the relay path; whatever fails here (the store, a bad line) is
//! counted or said once on stderr, and the relay never notices.

use std::collections::{HashMap, HashSet};
use std::sync::mpsc::Receiver;

use super::catalog::AgentFinding;
use super::detect;
use super::jsonrpc::{Direction, Event, LineSplitter, ToolSpec, Tracker};
use super::record::Recorder;
use super::redact::redact;
use super::relay::Tapped;

/// HTTP sessions tracked at once.
const SESSIONS_MAX: usize = 1024;

/// What a run saw, for the caller (and tests).
#[derive(Debug, Default)]
pub struct TapReport {
    pub calls: u64,
    pub malformed: u64,
    pub findings: Vec<AgentFinding>,
    /// The store failed at some point (said once on stderr).
    pub store_failed: bool,
}

/// The tap's state across messages.
#[derive(Debug)]
pub struct Tap {
    tracker: Tracker,
    /// Streamable HTTP: one tracker per session (by a keyed hash of its id,
    /// never the id itself), since each session numbers its own requests.
    sessions: HashMap<u64, Tracker>,
    /// Malformed messages of sessions already ended.
    ended_malformed: u64,
    to_server: LineSplitter,
    to_client: LineSplitter,
    recorder: Option<Recorder>,
    home: Option<String>,
    /// The latest tool list of this run, and the first ever seen.
    tools: Vec<ToolSpec>,
    first: Option<Vec<ToolSpec>>,
    /// Tool lists (by digest) already judged in this run.
    judged: HashSet<String>,
    pub report: TapReport,
}

impl Tap {
    pub fn new(recorder: Option<Recorder>, home: Option<String>) -> Self {
        Self {
            tracker: Tracker::default(),
            sessions: HashMap::new(),
            ended_malformed: 0,
            to_server: LineSplitter::default(),
            to_client: LineSplitter::default(),
            recorder,
            home,
            tools: Vec::new(),
            first: None,
            judged: HashSet::new(),
            report: TapReport::default(),
        }
    }

    /// Run until the relay says it is over.
    #[must_use]
    pub fn run(mut self, rx: &Receiver<Tapped>) -> Self {
        while let Ok(t) = rx.recv() {
            match t {
                Tapped::Bytes { dir, at, at_ms, bytes } => self.bytes(dir, at, at_ms, &bytes),
                Tapped::Gap(dir) => self.splitter(dir).gap(),
                Tapped::End => break,
            }
        }
        self
    }

    fn splitter(&mut self, dir: Direction) -> &mut LineSplitter {
        match dir {
            Direction::ToServer => &mut self.to_server,
            Direction::ToClient => &mut self.to_client,
        }
    }

    pub fn bytes(&mut self, dir: Direction, at: std::time::Instant, at_ms: i64, bytes: &[u8]) {
        let mut lines = Vec::new();
        let overlong = self.splitter(dir).push(bytes, |l| lines.push(l.to_vec()));
        self.tracker.malformed += overlong;
        for line in lines {
            for event in self.tracker.line(dir, &line, at, at_ms) {
                self.event(event, at_ms);
            }
        }
        self.report.malformed = self.malformed();
    }

    /// One whole message (a Streamable HTTP body or event) of `session`
    /// (0: none yet, as for `initialize`).
    pub fn message(&mut self, session: u64, dir: Direction, at: std::time::Instant, at_ms: i64, payload: &[u8]) {
        let tracker = if session == 0 {
            &mut self.tracker
        } else {
            if self.sessions.len() >= SESSIONS_MAX && !self.sessions.contains_key(&session) {
                // A client that never ends its sessions: forget them (their open calls go unrecorded).
                self.ended_malformed += self.sessions.drain().map(|(_, t)| t.malformed).sum::<u64>();
            }
            self.sessions.entry(session).or_default()
        };
        let events = tracker.line(dir, payload, at, at_ms);
        for event in events {
            self.event(event, at_ms);
        }
        self.report.malformed = self.malformed();
    }

    /// A message that could not be read at all (an overlong event).
    pub fn count_malformed(&mut self, n: u64) {
        self.ended_malformed += n;
        self.report.malformed = self.malformed();
    }

    /// The session was deleted: its unanswered calls are recorded now.
    pub fn session_ended(&mut self, session: u64) {
        if let Some(mut t) = self.sessions.remove(&session) {
            self.ended_malformed += t.malformed;
            for call in t.unanswered() {
                self.event(Event::Call(call), crate::collect::now_ms());
            }
        }
        self.report.malformed = self.malformed();
    }

    fn malformed(&self) -> u64 {
        self.tracker.malformed + self.ended_malformed + self.sessions.values().map(|t| t.malformed).sum::<u64>()
    }

    fn event(&mut self, event: Event, at_ms: i64) {
        match event {
            Event::Initialized { name } => {
                if let Some(name) = name {
                    self.store(|r| r.named(&name));
                }
            }
            Event::ToolsListed(tools) => self.tools_listed(&tools, at_ms),
            Event::Roots(roots) => {
                let found = detect::roots_findings(&roots, self.home.as_deref());
                self.found(None, found, at_ms);
            }
            Event::Call(call) => {
                self.report.calls += 1;
                let spec = self.tools.iter().find(|t| t.name == call.tool).cloned();
                let found = detect::call_findings(&call, spec.as_ref(), self.home.as_deref());
                let arguments = redact(&call.arguments);
                let call_id = self.store(|r| r.call(&call, &arguments));
                self.found(call_id, found, call.at_ms);
            }
        }
    }

    fn tools_listed(&mut self, tools: &[ToolSpec], at_ms: i64) {
        let digest = detect::rugpull::digest(&detect::rugpull::canonical_tools(tools));
        let stored = self.store(|r| r.tools(tools, at_ms));
        let first = match (stored, &self.first) {
            (Some(s), _) => s.first,
            (None, Some(f)) => f.clone(),
            (None, None) => tools.to_vec(),
        };
        self.first = Some(first.clone());
        self.tools = tools.to_vec();
        if !self.judged.insert(digest) {
            return;
        }
        let mut found = detect::spec_findings(tools);
        found.extend(detect::rugpull::changed(&first, tools));
        self.found(None, found, at_ms);
    }

    fn found(&mut self, call_id: Option<i64>, found: Vec<AgentFinding>, at_ms: i64) {
        if found.is_empty() {
            return;
        }
        self.store(|r| r.findings(call_id, &found, at_ms));
        self.report.findings.extend(found);
    }

    /// Run a store write; on the first failure say it once and stop recording.
    fn store<T>(&mut self, write: impl FnOnce(&mut Recorder) -> Result<T, crate::store::StoreError>) -> Option<T> {
        let r = self.recorder.as_mut()?;
        match write(r) {
            Ok(v) => Some(v),
            Err(e) => {
                eprintln!("necromap mcp-observe: recording stopped (traffic still flows): {}", crate::text::error_text(&e));
                self.recorder = None;
                self.report.store_failed = true;
                None
            }
        }
    }

    /// The run is over: unanswered calls recorded, the end written.
    pub fn finish(&mut self, exit_code: Option<i32>) {
        let sessions: Vec<u64> = self.sessions.keys().copied().collect();
        for s in sessions {
            self.session_ended(s);
        }
        for call in self.tracker.unanswered() {
            self.event(Event::Call(call), crate::collect::now_ms());
        }
        let malformed = self.malformed();
        self.report.malformed = malformed;
        self.store(|r| r.end(crate::collect::now_ms(), exit_code, malformed));
    }
}
