//! The tap: reads the relayed copies as MCP, runs the engines and records.
//! Off the relay path; whatever fails here (the store, a bad line) is
//! counted or said once on stderr, and the relay never notices.

use std::collections::HashSet;
use std::sync::mpsc::Receiver;

use super::catalog::AgentFinding;
use super::detect;
use super::jsonrpc::{Direction, Event, LineSplitter, ToolSpec, Tracker};
use super::record::Recorder;
use super::redact::redact;
use super::relay::Tapped;

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
        self.report.malformed = self.tracker.malformed;
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
        for call in self.tracker.unanswered() {
            self.event(Event::Call(call), crate::collect::now_ms());
        }
        let malformed = self.tracker.malformed;
        self.report.malformed = malformed;
        self.store(|r| r.end(crate::collect::now_ms(), exit_code, malformed));
    }
}
