//! Exporters: JSON and CSV snapshots, and a plain-text summary.

pub mod csv;
mod json;
mod rows;
mod summary;

pub use json::{JSON_FORMAT, JSON_VERSION, SnapshotDocument, write_json};
pub use rows::SocketRow;
pub use summary::summary_text;
