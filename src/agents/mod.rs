//! AI agents on the map: MCP servers observed, judged and audited.
//!
//! ```text
//!  client ⇄ relay (bytes unchanged) ⇄ MCP server (child)      observe.rs, relay.rs
//!  client ⇄ HTTP relay (loopback) ⇄ Streamable HTTP server    http_relay.rs, relay_body.rs
//!             │ copies, never waited for
//!  (HTTP: bodies and events → messages, http_tap.rs, sse.rs)
//!  tap: lines → JSON-RPC pairs (jsonrpc.rs) → engines (detect/) → store (record.rs)
//!  client configs (config.rs, jsonc.rs) → audit (audit.rs), with specs from the store (query.rs)
//! ```
//!
//! Rules, severities and their en/ko explanations are one table
//! (`catalog.rs`). Secrets are redacted before anything is stored
//! (`redact.rs`). Nothing here imports a front end.

pub mod catalog;
pub mod detect;
pub mod http_relay;
pub mod http_tap;
pub mod jsonrpc;
pub mod observe;
pub mod record;
pub mod redact;
pub mod relay;
pub mod relay_body;
pub mod snapshot_checks;
pub mod sse;
pub mod tap;

pub use catalog::{AgentFinding, AgentRule};
pub mod audit;
pub mod config;
pub mod evaluator;
pub mod jsonc;
pub mod query;
