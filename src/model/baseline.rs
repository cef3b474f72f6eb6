//! A saved baseline: the sets of keys one snapshot of a host held (how
//! they are made and compared is `crate::baseline`). The model defines the
//! record so the event store can keep it without knowing the comparison.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// One saved baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    pub name: String,
    /// Host name the snapshot came from.
    pub host: String,
    /// When the snapshot was taken (Unix ms).
    pub taken_at_ms: i64,
    pub processes: BTreeSet<String>,
    pub remote_endpoints: BTreeSet<String>,
    pub listeners: BTreeSet<String>,
    /// Names of the remote endpoints. Baselines saved before names were
    /// kept load with none, so every name compares as new until resaved.
    #[serde(default)]
    pub remote_names: BTreeSet<String>,
}
