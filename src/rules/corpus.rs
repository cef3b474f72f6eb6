//! Scoring rule packs against labelled recordings (`necromap rules score`):
//! a *benign* corpus must draw nothing above its ceiling, a *malicious* one
//! must draw every expected finding at its severity; per rule, recall
//! (expected findings found) and precision (findings on labelled subjects
//! among all findings of low or above).
//!
//! A manifest names its recording and says what is in it:
//!
//! ```yaml
//! recording: malicious.ndjson.gz      # relative to the manifest
//! kind: malicious                     # or benign
//! expect:                             # malicious: who, and what must fire
//!   - what: socat with a pty, upper-case EXEC
//!     addresses: [127.66.0.4]         # a socket of the process (or the endpoint) is on one of these
//!     name: socat                     # optional: the process name (`*` globs)
//!     findings: { reverse_shell_plumbing: critical }
//! ignore:                             # the attacker's side, present only because the lab is one host
//!   - { name: python3, cmdline: attacker.py }
//! max_severity: low                   # benign: the highest severity allowed (default low)
//! ```
//!
//! Every frame of the recording is replayed through a fresh engine; a
//! finding counts once per id (`rule@subject`) with the severities it had.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde::Deserialize;

use super::engine::Engine;
use super::values::name_matches;
use crate::collect::{ReplaySource, Source};
use crate::model::{Finding, Pid, Severity, Snapshot, SnapshotBuilder, Subject};
use crate::spec::Spec;

#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("{file}: cannot read: {source}")]
    Read { file: String, source: std::io::Error },
    #[error("{file}:{line}: at `{key}`: {expected}")]
    Invalid { file: String, line: usize, key: String, expected: String },
    #[error(transparent)]
    Input(#[from] crate::input::InputError),
    #[error(transparent)]
    Replay(#[from] crate::collect::ReplayError),
}

/// Benign: nothing above the ceiling. Malicious: every expectation met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorpusKind {
    Benign,
    Malicious,
}

/// Processes to match: by name (`*` globs) and a piece of the command line.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessPattern {
    pub name: String,
    #[serde(default)]
    pub cmdline: Option<String>,
}

/// One labelled scenario of a malicious corpus.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// What the scenario is, for the report.
    pub what: String,
    /// The scenario's addresses: a finding is about it when its endpoint is
    /// one of them, or its process has a socket (local or remote) on one.
    pub addresses: Vec<IpAddr>,
    /// Narrows to processes of this name (`*` globs).
    #[serde(default)]
    pub name: Option<String>,
    /// Rule id → the severity it must fire with.
    #[serde(default)]
    pub findings: BTreeMap<String, Severity>,
}

/// A labelled recording.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub recording: PathBuf,
    pub kind: CorpusKind,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub expect: Vec<Expectation>,
    #[serde(default)]
    pub ignore: Vec<ProcessPattern>,
    /// Benign corpora: the highest severity allowed.
    #[serde(default = "low")]
    pub max_severity: Severity,
    /// Where the manifest was read from.
    #[serde(skip)]
    pub file: PathBuf,
}

fn low() -> Severity {
    Severity::Low
}

impl Manifest {
    pub fn load(path: &Path) -> Result<Self, CorpusError> {
        let file = path.display().to_string();
        let text = crate::input::read_structured(path, crate::input::Kind::CorpusManifest)?;
        let mut m: Self = serde_yaml::from_str(&text).map_err(|e| match crate::spec::yaml_error(&e, &text, &file) {
            crate::spec::SpecError::Invalid { file, line, key, expected } => CorpusError::Invalid { file, line, key, expected },
            crate::spec::SpecError::Read { file, source } => CorpusError::Read { file, source },
            crate::spec::SpecError::Input(e) => CorpusError::Input(e),
        })?;
        let invalid =
            |key: &str, expected: String| CorpusError::Invalid { file: file.clone(), line: crate::spec::line_of_key(&text, key), key: key.into(), expected };
        if m.kind == CorpusKind::Benign && !m.expect.is_empty() {
            return Err(invalid("expect", "no expectations in a benign corpus (everything in it is benign)".into()));
        }
        if let Some((i, _)) = m.expect.iter().enumerate().find(|(_, e)| e.addresses.is_empty()) {
            return Err(invalid("expect", format!("expect[{i}]: at least one address")));
        }
        m.file = path.to_path_buf();
        m.recording = path.parent().unwrap_or(Path::new(".")).join(&m.recording);
        Ok(m)
    }
}

/// How one rule did over every corpus.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleScore {
    /// Expected findings (scenario × rule).
    pub expected: u32,
    /// Of those, found at the expected severity.
    pub found: u32,
    /// Findings (by id, low or above) about labelled malicious subjects.
    pub true_positives: u32,
    /// Findings (low or above) anywhere else.
    pub false_positives: u32,
    /// Of those, medium or above.
    pub serious_false_positives: u32,
}

impl RuleScore {
    pub fn recall(&self) -> Option<f64> {
        (self.expected > 0).then(|| f64::from(self.found) / f64::from(self.expected))
    }
    pub fn precision(&self) -> Option<f64> {
        let all = self.true_positives + self.false_positives;
        (all > 0).then(|| f64::from(self.true_positives) / f64::from(all))
    }
}

/// A finding a benign corpus should not have drawn, or an expectation a
/// malicious corpus did not meet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub corpus: String,
    pub text: String,
}

/// What one corpus gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusSummary {
    pub file: String,
    pub kind: CorpusKind,
    pub frames: usize,
    /// Distinct findings by severity (ignored subjects left out).
    pub by_severity: BTreeMap<Severity, u32>,
    pub expectations: usize,
    pub met: usize,
}

/// Every corpus's result and the per-rule table.
#[derive(Debug, Clone, Default)]
pub struct Scorecard {
    pub corpora: Vec<CorpusSummary>,
    pub rules: BTreeMap<String, RuleScore>,
    pub failures: Vec<Failure>,
}

/// One finding id over the frames of one corpus.
#[derive(Debug, Default)]
struct Seen {
    rule: String,
    severities: BTreeSet<Severity>,
    /// Expectations it was about, in any frame.
    labels: BTreeSet<usize>,
    /// About an ignored process in every frame it was seen.
    ignored: bool,
}

/// Score `manifests` with engines from `engine` (a fresh one per corpus).
pub fn score(manifests: &[Manifest], spec: &Arc<Spec>, engine: &dyn Fn() -> Engine) -> Result<Scorecard, CorpusError> {
    let mut card = Scorecard::default();
    let mut engine_rules: BTreeSet<String> = BTreeSet::new();
    for m in manifests {
        let mut eng = engine();
        engine_rules.extend(eng.rules.rules.iter().map(|r| r.rule.id.clone()));
        let mut source = ReplaySource::open(&m.recording)?;
        let info = source.info();
        let mut builder = SnapshotBuilder::new(spec.clone());
        let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
        let mut frames = 0;
        while let Ok(obs) = source.collect() {
            frames += 1;
            let snap = builder.build(obs, info.clone(), Some(&mut eng));
            let addresses = if snap.findings.is_empty() { FxHashMap::default() } else { addresses_by_pid(&snap) };
            for f in &snap.findings {
                let labels = labels_of(m, &snap, &addresses, f);
                let ignored = labels.is_empty() && about_ignored(m, &snap, f);
                let s = seen.entry(f.id.clone()).or_insert_with(|| Seen { rule: f.rule_id.clone(), ignored: true, ..Seen::default() });
                s.severities.insert(f.severity);
                s.labels.extend(labels);
                s.ignored &= ignored;
            }
        }
        tally(m, frames, &seen, &mut card);
    }
    for id in engine_rules {
        card.rules.entry(id).or_default();
    }
    Ok(card)
}

fn tally(m: &Manifest, frames: usize, seen: &BTreeMap<String, Seen>, card: &mut Scorecard) {
    let corpus = m.file.display().to_string();
    let mut by_severity = BTreeMap::new();
    for (id, s) in seen.iter().filter(|(_, s)| !s.ignored || !s.labels.is_empty()) {
        let worst = s.severities.iter().max().copied().unwrap_or_default();
        *by_severity.entry(worst).or_insert(0) += 1;
        if worst < Severity::Low {
            continue;
        }
        let score = card.rules.entry(s.rule.clone()).or_default();
        if m.kind == CorpusKind::Malicious && !s.labels.is_empty() {
            score.true_positives += 1;
        } else {
            score.false_positives += 1;
            if worst >= Severity::Medium {
                score.serious_false_positives += 1;
            }
        }
        if m.kind == CorpusKind::Benign && worst > m.max_severity {
            card.failures.push(Failure { corpus: corpus.clone(), text: format!("{id}: {worst} (this corpus allows {} at most)", m.max_severity) });
        }
    }
    let mut met = 0;
    for (i, e) in m.expect.iter().enumerate() {
        let mut all = true;
        for (rule, want) in &e.findings {
            let got: BTreeSet<Severity> =
                seen.values().filter(|s| &s.rule == rule && s.labels.contains(&i)).flat_map(|s| s.severities.iter().copied()).collect();
            let score = card.rules.entry(rule.clone()).or_default();
            score.expected += 1;
            if got.contains(want) {
                score.found += 1;
            } else {
                all = false;
                let had = if got.is_empty() { "nothing".to_string() } else { got.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ") };
                card.failures.push(Failure { corpus: corpus.clone(), text: format!("{}: {rule} should be {want}, got {had}", e.what) });
            }
        }
        met += usize::from(all);
    }
    card.corpora.push(CorpusSummary { file: corpus, kind: m.kind, frames, by_severity, expectations: m.expect.len(), met });
}

/// Addresses of each process's sockets, both ends (one pass per frame).
fn addresses_by_pid(snap: &Snapshot) -> FxHashMap<Pid, BTreeSet<IpAddr>> {
    let mut out: FxHashMap<Pid, BTreeSet<IpAddr>> = FxHashMap::default();
    for s in &snap.sockets {
        for &pid in &s.raw.owners {
            out.entry(pid).or_default().extend([s.raw.local.ip(), s.raw.remote.ip()]);
        }
    }
    out
}

fn matches_pattern(snap: &Snapshot, pid: Pid, p: &ProcessPattern) -> bool {
    snap.process(pid).is_some_and(|n| name_matches(&n.facts.name, &p.name) && p.cmdline.as_ref().is_none_or(|c| n.facts.cmdline.contains(c.as_str())))
}

fn about_ignored(m: &Manifest, snap: &Snapshot, f: &Finding) -> bool {
    f.subject.pid().is_some_and(|pid| m.ignore.iter().any(|p| matches_pattern(snap, pid, p)))
}

/// The expectations a finding is about in this frame.
fn labels_of(m: &Manifest, snap: &Snapshot, addresses: &FxHashMap<Pid, BTreeSet<IpAddr>>, f: &Finding) -> Vec<usize> {
    let pids: Vec<Pid> = f.subject.pid().into_iter().filter(|&pid| !m.ignore.iter().any(|p| matches_pattern(snap, pid, p))).collect();
    let endpoint = match f.subject {
        Subject::Endpoint { endpoint } => Some(endpoint.ip),
        _ => None,
    };
    let none = BTreeSet::new();
    let addresses: Vec<(Pid, &BTreeSet<IpAddr>)> = pids.iter().map(|&p| (p, addresses.get(&p).unwrap_or(&none))).collect();
    m.expect
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            endpoint.is_some_and(|ip| e.addresses.contains(&ip))
                || addresses.iter().any(|(pid, addrs)| {
                    e.addresses.iter().any(|a| addrs.contains(a))
                        && e.name.as_ref().is_none_or(|n| snap.process(*pid).is_some_and(|p| name_matches(&p.facts.name, n)))
                })
        })
        .map(|(i, _)| i)
        .collect()
}

impl Scorecard {
    /// Every benign corpus under its ceiling and every expectation met.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// The report: corpora, the per-rule table, failures.
    pub fn render(&self) -> String {
        let mut o = String::new();
        for c in &self.corpora {
            let sev: Vec<String> = c.by_severity.iter().rev().map(|(s, n)| format!("{n} {s}")).collect();
            let kind = match c.kind {
                CorpusKind::Benign => "benign",
                CorpusKind::Malicious => "malicious",
            };
            let _ = write!(o, "{} ({kind}, {} frames): {} findings", c.file, c.frames, c.by_severity.values().sum::<u32>());
            if !sev.is_empty() {
                let _ = write!(o, " ({})", sev.join(" · "));
            }
            if c.kind == CorpusKind::Malicious {
                let _ = write!(o, "; {} of {} scenarios fully detected", c.met, c.expectations);
            }
            o.push('\n');
        }
        let pct = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{:.0}%", v * 100.0));
        let row = |o: &mut String, name: &str, s: &RuleScore| {
            let _ = writeln!(
                o,
                "{:<40} {:>8} {:>6} {:>7} {:>5} {:>5} {:>9} {:>10}",
                name,
                s.expected,
                s.found,
                pct(s.recall()),
                s.true_positives,
                s.false_positives,
                s.serious_false_positives,
                pct(s.precision())
            );
        };
        let _ = writeln!(o, "\n{:<40} {:>8} {:>6} {:>7} {:>5} {:>5} {:>9} {:>10}", "rule", "expected", "found", "recall", "TP", "FP", "FP≥medium", "precision");
        let mut total = RuleScore::default();
        let idle: Vec<&str> = self.rules.iter().filter(|(_, s)| **s == RuleScore::default()).map(|(r, _)| r.as_str()).collect();
        for (rule, s) in self.rules.iter().filter(|(_, s)| **s != RuleScore::default()) {
            row(&mut o, rule, s);
            total.expected += s.expected;
            total.found += s.found;
            total.true_positives += s.true_positives;
            total.false_positives += s.false_positives;
            total.serious_false_positives += s.serious_false_positives;
        }
        row(&mut o, "all rules", &total);
        if !idle.is_empty() {
            let _ = writeln!(o, "\nneither expected nor fired in these corpora ({}): {}", idle.len(), idle.join(", "));
        }
        if self.failures.is_empty() {
            o.push_str("\nok: benign corpora under their ceiling, every expected finding found at its severity\n");
        } else {
            o.push_str("\nfailures:\n");
            for f in &self.failures {
                let _ = writeln!(o, "  {}: {}", f.corpus, crate::text::escape_control(&f.text));
            }
        }
        o
    }
}
