//! Replaying a recording (or a scenario file) through the same pipeline as
//! the live host.

use std::path::Path;

use crate::input::Kind;

use super::record::{FORMAT, RecordingHeader, VERSION};
use super::scenario::Scenario;
use super::{CollectError, Observation, Source, SourceInfo, SourceKind};

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("{file}: cannot read: {source}")]
    Read { file: String, source: std::io::Error },
    #[error("{file}:{line}: {message}")]
    Invalid { file: String, line: usize, message: String },
    #[error(transparent)]
    Input(#[from] crate::input::InputError),
}

/// Frames held in memory, handed out one per refresh.
#[derive(Debug)]
pub struct ReplaySource {
    header: RecordingHeader,
    frames: Vec<Observation>,
    next: usize,
    file: String,
}

impl ReplaySource {
    /// Open a recording (`.ndjson`, first line a necromap header) or a
    /// scenario (`.yaml`).
    pub fn open(path: &Path) -> Result<Self, ReplayError> {
        let file = path.display().to_string();
        let text = if path.extension().is_some_and(|e| e == "gz") {
            let bytes = crate::input::read_bytes(path, Kind::Recording)?;
            String::from_utf8(gunzip(&bytes, &file)?).map_err(|e| ReplayError::Invalid {
                file: file.clone(),
                line: 1,
                message: format!("not UTF-8 text once unpacked: {e}"),
            })?
        } else {
            crate::input::read_text(path, Kind::Recording)?
        };
        Self::from_text(&text, &file)
    }

    pub fn from_text(text: &str, file: &str) -> Result<Self, ReplayError> {
        if text.trim_start().starts_with('{') {
            let (header, frames) = parse_recording(text, file)?;
            Ok(Self { header, frames, next: 0, file: file.to_string() })
        } else {
            if text.len() as u64 > Kind::Scenario.cap() {
                return Err(crate::input::InputError::TooLarge { file: file.to_string(), kind: Kind::Scenario.name(), cap: Kind::Scenario.cap() }.into());
            }
            let scenario = Scenario::parse(text, file)?;
            let header = RecordingHeader::new(scenario.host.clone(), scenario.interval_ms, SourceKind::Replay, format!("scenario {file}"));
            Ok(Self { header, frames: scenario.frames(), next: 0, file: file.to_string() })
        }
    }

    pub fn header(&self) -> &RecordingHeader {
        &self.header
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Run the remaining frames (at most `limit`) through one builder, so
    /// history is rebuilt as it was recorded; the last snapshot and how many
    /// frames ran.
    pub fn build_through(
        &mut self,
        spec: std::sync::Arc<crate::spec::Spec>,
        limit: Option<usize>,
        mut evaluator: Option<&mut dyn crate::model::Evaluator>,
    ) -> (Option<crate::model::Snapshot>, usize) {
        let info = self.info();
        let mut builder = crate::model::SnapshotBuilder::new(spec);
        let mut last = None;
        let mut n = 0;
        while limit.is_none_or(|l| n < l) {
            let Ok(obs) = self.collect() else { break };
            n += 1;
            let ev: Option<&mut dyn crate::model::Evaluator> = match evaluator {
                Some(ref mut e) => Some(&mut **e),
                None => None,
            };
            last = Some(builder.build(obs, info.clone(), ev));
        }
        (last, n)
    }
}

/// Unpack a gzip file. A recording cut short (necromap stopped while
/// writing) ends without the gzip trailer: everything up to the last frame
/// it flushed is kept.
/// The unpacked text is capped like an uncompressed recording (a gzip bomb
/// is refused, not unpacked).
fn gunzip(bytes: &[u8], file: &str) -> Result<Vec<u8>, ReplayError> {
    use std::io::Read;
    let read = |source| ReplayError::Read { file: file.to_string(), source };
    let cap = Kind::Recording.cap();
    let mut out = Vec::new();
    let mut decoder = flate2::read::GzDecoder::new(bytes);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match decoder.read(&mut chunk) {
            Ok(0) => return Ok(out),
            Ok(n) => {
                if (out.len() + n) as u64 > cap {
                    return Err(crate::input::InputError::TooLarge { file: file.to_string(), kind: "an unpacked recording", cap }.into());
                }
                out.extend_from_slice(&chunk[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !out.is_empty() => {
                // Keep whole lines only.
                let end = out.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                out.truncate(end);
                return Ok(out);
            }
            Err(e) => return Err(read(e)),
        }
    }
}

/// Parse a recording: header line, then one observation per line.
pub fn parse_recording(text: &str, file: &str) -> Result<(RecordingHeader, Vec<Observation>), ReplayError> {
    let invalid = |line: usize, message: String| ReplayError::Invalid { file: file.to_string(), line, message };
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let (_, first) = lines.next().ok_or_else(|| invalid(1, "empty file: expected a necromap recording header".into()))?;
    let header: RecordingHeader = serde_json::from_str(first).map_err(|e| invalid(1, format!("not a necromap recording header: {e}")))?;
    if header.format != FORMAT {
        return Err(invalid(1, format!("format `{}`: expected `{FORMAT}`", header.format)));
    }
    if header.version != VERSION {
        return Err(invalid(1, format!("recording version {}: this necromap reads version {VERSION}", header.version)));
    }
    let mut frames = Vec::new();
    for (i, line) in lines {
        let obs: Observation = serde_json::from_str(line).map_err(|e| invalid(i + 1, format!("frame: {e}")))?;
        frames.push(obs);
    }
    if frames.is_empty() {
        return Err(invalid(1, "the recording has a header but no frames".into()));
    }
    Ok((header, frames))
}

impl Source for ReplaySource {
    fn info(&self) -> SourceInfo {
        SourceInfo { kind: SourceKind::Replay, host: self.header.host.clone(), detail: format!("replay of {} ({} frames)", self.file, self.frames.len()) }
    }

    fn collect(&mut self) -> Result<Observation, CollectError> {
        let frame = self.frames.get(self.next).cloned().ok_or(CollectError::Exhausted)?;
        self.next += 1;
        Ok(frame)
    }

    fn suggested_interval_ms(&self) -> Option<u64> {
        Some(self.header.interval_ms)
    }
}

impl From<super::scenario::ScenarioError> for ReplayError {
    fn from(e: super::scenario::ScenarioError) -> Self {
        Self::Invalid { file: e.file, line: e.line, message: e.message }
    }
}
