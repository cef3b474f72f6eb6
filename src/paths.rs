//! Where necromap keeps its files: one data directory,
//! `$XDG_DATA_HOME/necromap` (else `~/.local/share/necromap`), holding the
//! event store (`events.db`), saved baselines (`baselines/`) and, when
//! there is no `XDG_RUNTIME_DIR`, the MCP token (`run/`). A leaf: it
//! imports nothing of the crate.

use std::path::PathBuf;

/// The data directory; None when neither `XDG_DATA_HOME` nor `HOME` is set.
pub fn data_dir() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(std::env::var_os("HOME").filter(|v| !v.is_empty())?).join(".local/share"),
    };
    Some(base.join("necromap"))
}
