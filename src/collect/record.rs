//! Recordings: newline-delimited JSON. Line 1 is a [`RecordingHeader`];
//! every further line is one [`Observation`] (one refresh's raw rows), so a
//! replay runs the same history, graph and rules as the live host did.

use std::io::Write;

use serde::{Deserialize, Serialize};

use super::{Observation, SourceKind};

pub const FORMAT: &str = "necromap-recording";
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingHeader {
    pub format: String,
    pub version: u32,
    pub host: String,
    /// The refresh interval the frames were taken at.
    pub interval_ms: u64,
    /// What recorded it (netlink, portable, or a replayed scenario).
    pub source: SourceKind,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

impl RecordingHeader {
    pub fn new(host: String, interval_ms: u64, source: SourceKind, note: String) -> Self {
        Self { format: FORMAT.into(), version: VERSION, host, interval_ms, source, note }
    }
}

/// Where a recording goes: a plain `.ndjson` file, or gzip when the name
/// ends in `.gz` (each frame is flushed into the gzip stream, so a
/// recording cut short still replays up to its last whole frame).
#[derive(Debug)]
pub enum RecordingSink {
    Plain(std::io::BufWriter<std::fs::File>),
    Gzip(flate2::write::GzEncoder<std::io::BufWriter<std::fs::File>>),
}

impl RecordingSink {
    pub fn create(path: &std::path::Path) -> std::io::Result<Self> {
        let file = std::io::BufWriter::new(std::fs::File::create(path)?);
        Ok(if path.extension().is_some_and(|e| e == "gz") {
            Self::Gzip(flate2::write::GzEncoder::new(file, flate2::Compression::best()))
        } else {
            Self::Plain(file)
        })
    }

    /// Flush, and write the gzip trailer.
    pub fn finish(self) -> std::io::Result<()> {
        match self {
            Self::Plain(mut f) => f.flush(),
            Self::Gzip(z) => z.finish()?.flush(),
        }
    }
}

impl Write for RecordingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::Plain(f) => f.write(buf),
            Self::Gzip(z) => z.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::Plain(f) => f.flush(),
            Self::Gzip(z) => z.flush(),
        }
    }
}

/// Writes a recording frame by frame (each line flushed, so an interrupted
/// recording keeps every whole frame).
#[derive(Debug)]
pub struct RecordingWriter<W: Write> {
    out: W,
}

impl<W: Write> RecordingWriter<W> {
    pub fn new(mut out: W, header: &RecordingHeader) -> std::io::Result<Self> {
        serde_json::to_writer(&mut out, header)?;
        out.write_all(b"\n")?;
        out.flush()?;
        Ok(Self { out })
    }

    pub fn frame(&mut self, obs: &Observation) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.out, obs)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}
