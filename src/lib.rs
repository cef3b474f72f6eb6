//! necromap: a terminal network-map explorer for Linux.
//!
//! Module map and data flow (one direction):
//!
//! ```text
//!  collect   Source: live netlink sock_diag + /proc owners (or netstat2), replay, scenario
//!     │ Observation (raw sockets, owners, process facts)
//!  model     SnapshotBuilder: History, tables, NetGraph (petgraph), health; Evaluator seam for rules
//!     │ Arc<Snapshot>
//!  collector publishes over tokio::sync::watch; takes Commands back
//!     ├─► export  JSON / CSV / text summary
//!     ├─► tui     the interactive explorer (views render &App; keymap as data)
//!     ├─► mcp     the MCP server (stdio, Streamable HTTP) over the same snapshots
//!     ├─► web     the page, JSON API and SSE beside MCP on the same HTTP gate
//!     └─► (event store: its own issue)
//!  intel     threat score, risk level, attack phases
//!  baseline  saved baselines and what is new since
//!  spec      the typed network_map.yaml: node/edge types, state styles, layout, views
//!  text      bounding and escaping of host strings
//!  input     bounded reads of every file we are given (type, size, nesting)
//!  config    the settings file, NECROMAP_* variables and their layering
//!  fleet     many hosts into one PostgreSQL: agent shipper, schema, cross-host queries
//! ```
//!
//! The core (collect, model, spec) knows nothing of any front end.

pub mod agents;
pub mod baseline;
pub mod both;
pub mod collect;
pub mod collector;
pub mod config;
pub mod drop_beside;
pub mod duration;
pub mod export;
pub mod filter;
pub mod fleet;
pub mod input;
pub mod intel;
pub mod logins;
pub mod mcp;
pub mod memory;
pub mod model;
pub mod names;
pub mod paths;
pub mod posture;
pub mod rules;
pub mod slots;
pub mod spare;
pub mod spec;
pub mod store;
pub mod terms;
pub mod text;
pub mod tui;
pub mod web;
pub mod worker;

/// The demo scenario, embedded: `--demo` replays it.
pub const DEMO_SCENARIO: &str = include_str!("../assets/demo/scenario.yaml");
/// Name of the embedded demo in messages.
pub const DEMO_NAME: &str = "<embedded assets/demo/scenario.yaml>";
