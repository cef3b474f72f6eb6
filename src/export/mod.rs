//! Exporters: JSON, CSV and Graphviz DOT snapshots, and a plain-text summary.

pub mod csv;
mod dot;
mod finding_rows;
mod json;
mod node_rows;
mod rows;
mod safe_json;
mod socket_json;
mod summary;

pub use dot::{dot_text, write_dot};
// The web map names and judges nodes as the dot export does.
pub(crate) use dot::{node_facts, node_id};
pub use finding_rows::FindingRow;
pub use json::{JSON_FORMAT, JSON_VERSION, SnapshotDocument, write_json};
pub use node_rows::{EndpointRow, FindingDoc, ListenerRow};
pub use rows::{ProcessRow, SocketRow};
pub use safe_json::write_safe;
pub use summary::summary_text;

#[cfg(test)]
mod namespace_tests;
#[cfg(test)]
mod tests;
