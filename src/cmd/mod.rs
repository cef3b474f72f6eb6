//! The binary's commands: the flags (`cli`), what every command loads
//! (`setup`), one file per command or mode, and the assembly of the live
//! pipeline (`pipeline`) the explorer and the MCP modes share. Nothing here
//! is library: `main.rs` parses and dispatches.

pub mod agent;
pub mod audit;
pub mod baseline;
pub mod cli;
pub mod docs;
pub mod explore;
pub mod fleet;
pub mod logins;
pub mod look;
pub mod observe;
pub mod pipeline;
pub mod posture;
pub mod progress;
pub mod respond;
pub mod rules;
pub mod serve;
pub mod settings;
pub mod setup;
pub mod snapshot;
pub mod spec;
