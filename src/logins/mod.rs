//! Logins on the map: authentication events from an auth log or the
//! systemd journal, per remote party, and the findings they make.
//!
//! ```text
//! auth.log ─ tail (rotation, truncation) ─┐
//! journalctl -o json -f ──────────────────┴─ parse ─► LoginBook ─► LoginDigest (tallied, per snapshot)
//!                                                │                  ├─► detect: findings (rules.rs)
//!                                                └─► store batch    └─► Snapshot::logins (explorer, MCP)
//! ```
//!
//! `parse` reads OpenSSH's and PAM's messages (escaped, bounded), `book`
//! keeps recent events per party, `intake` follows the source and writes
//! events and the position to the store, `journal` runs journalctl,
//! `rules` holds the login rules and `rule_file` reads them from YAML
//! (`rules/logins/logins.yaml`, `--login-rules FILE`), `detect` judges a
//! digest, `evaluator` joins them to the rule engine's refresh.

pub mod book;
pub mod detect;
pub mod evaluator;
pub mod intake;
pub mod journal;
pub mod parse;
pub mod respond;
pub mod rule_file;
pub mod rules;
