//! The fleet: many hosts into one PostgreSQL.
//!
//! ```text
//!  agent (each host)                                   PostgreSQL 15+
//!  collector ─Arc<Snapshot>─► diff ─► outbox (SQLite) ─► ship: one transaction per batch
//!                                      ▲ kept while PG is down     (batches ledger: host, stream, seq)
//!                                      └ caught up in order         socket_events / findings / alerts (by day)
//!                                                                   hosts, current_sockets, current_processes
//!  necromap --mcp --fleet, necromap fleet ◄──── queries (edges, who talks to, threats, fleet rules)
//! ```
//!
//! - [`conn`]: the connection settings (URL, `PGPASSFILE`, `PG*` variables, `sslmode`); [`tls`]: TLS as libpq's `sslmode` says.
//! - [`schema`], [`migrate`]: versioned migrations in `necromap_migrations`; [`partitions`]: days, retention.
//! - [`batch`]: what one refresh sends, diffed from two snapshots.
//! - [`outbox`]: batches queued in the local store until PostgreSQL took them.
//! - [`ship`]: one batch in one transaction, idempotent; [`shipper`]: the agent's thread.
//! - [`query`], [`edges`]: hosts, host-to-host edges, who talks to an address, threats;
//!   [`rollup`]: the hourly and daily edge rollups they read, kept by [`ship`].
//! - [`drill`]: one host's drill-down (processes → peers, recent events) for the explorer.
//! - [`labels`]: host labels and the explorer's grouping.
//! - [`rules`]: fleet rules (lateral movement, new edge, blast radius, shared IOC).
//!
//! Knows no front end: MCP and the explorer read [`query`].

// "PostgreSQL" is a name here, not code.
#![allow(clippy::doc_markdown)]

pub mod batch;
pub mod conn;
pub mod drill;
pub mod edges;
pub mod labels;
pub mod migrate;
pub mod outbox;
pub mod partitions;
pub mod query;
pub mod rollup;
pub mod rules;
pub mod schema;
pub mod ship;
pub mod shipper;
pub mod tls;
pub mod view;

/// What went wrong talking to the fleet database or the outbox.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("fleet URL: {0}")]
    Url(String),
    #[error("sslmode={mode}: {why}")]
    Tls { mode: String, why: &'static str },
    #[error("sslmode={mode}: the root certificate file {} {why}", path.display())]
    RootCert { mode: &'static str, path: std::path::PathBuf, why: String },
    #[error("sslmode={mode}: {server} refused over TLS: {why} ({roots})")]
    TlsRefused { mode: &'static str, server: String, why: String, roots: String },
    #[error("PostgreSQL: {0}")]
    Pg(#[from] tokio_postgres::Error),
    #[error("the fleet database has schema version {found}, newer than this necromap ({supported}); upgrade necromap")]
    TooNew { found: i64, supported: i64 },
    #[error("outbox: {0}")]
    Outbox(#[from] rusqlite::Error),
    #[error("outbox: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("batch encoding: {0}")]
    Encoding(#[from] serde_json::Error),
    #[error("unknown host `{given}`: the fleet's hosts are {known}")]
    UnknownHost { given: String, known: String },
    #[error("host id: {0}")]
    HostId(String),
    #[error("cannot start the fleet runtime: {0}")]
    Runtime(std::io::Error),
}

/// Run `future` on a small runtime of its own (commands and tests that are
/// not already inside tokio).
pub fn block_on<T>(future: impl std::future::Future<Output = Result<T, FleetError>>) -> Result<T, FleetError> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(FleetError::Runtime)?.block_on(future)
}
