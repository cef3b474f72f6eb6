//! Where a named baseline lives: in the event store when one is kept,
//! else (and for names that are paths) in a JSON file (`files.rs`).
//! Loading looks in the store first, then in the files.

use std::path::{Path, PathBuf};

use super::Baseline;
use super::files::{self, BaselineError, is_path};

/// Where a baseline was saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SavedIn {
    Store(PathBuf),
    File(PathBuf),
}

impl std::fmt::Display for SavedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Store(p) => write!(f, "the event store {}", p.display()),
            Self::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Save under `name`: in the store when there is one, else to a file.
pub fn save(baseline: &Baseline, name: &str, store: Option<&Path>) -> Result<SavedIn, BaselineError> {
    match store {
        Some(db) if !is_path(name) => {
            files::baseline_path(name)?; // the same name rules as files
            let mut conn = crate::store::open(db)?;
            let batch = crate::store::Batch { baselines: vec![baseline.clone()], ..crate::store::Batch::default() };
            crate::store::write(&mut conn, &batch)?;
            Ok(SavedIn::Store(db.to_path_buf()))
        }
        _ => files::save(baseline, name).map(SavedIn::File),
    }
}

/// Whether `name` is saved already (store or file).
pub fn exists(name: &str, store: Option<&Path>) -> bool {
    load(name, store).is_ok()
}

/// Load `name`: from the store, else from the files.
pub fn load(name: &str, store: Option<&Path>) -> Result<Baseline, BaselineError> {
    if let Some(db) = store.filter(|db| db.exists() && !is_path(name)) {
        let conn = crate::store::open_reader(db)?;
        if let Some(b) = crate::store::query::baseline(&conn, name)? {
            return Ok(b);
        }
    }
    files::load(name)
}

/// Saved baselines: (name, where), store ones first.
pub fn list(store: Option<&Path>) -> Result<Vec<(String, SavedIn)>, BaselineError> {
    let mut out = Vec::new();
    if let Some(db) = store.filter(|db| db.exists()) {
        let conn = crate::store::open_reader(db)?;
        for (name, _) in crate::store::query::baselines(&conn)? {
            out.push((name, SavedIn::Store(db.to_path_buf())));
        }
    }
    let dir = files::baseline_dir()?;
    for name in files::list()? {
        let path = dir.join(format!("{name}.json"));
        out.push((name, SavedIn::File(path)));
    }
    Ok(out)
}
