//! Where baselines live: one JSON file per name under
//! `$XDG_DATA_HOME/necromap/baselines/` (default `~/.local/share/...`), or
//! any path given directly. Files are written to a temporary name and
//! renamed, so a crash leaves the old baseline or the new one, never half.

use std::path::{Path, PathBuf};

use super::Baseline;

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("baseline name `{0}`: use 1-64 letters, digits, `-`, `_` or `.` (or give a path ending in .json)")]
    BadName(String),
    #[error("no baseline `{name}` (looked for {path}); save one with `necromap baseline save {name}`")]
    Missing { name: String, path: PathBuf },
    #[error("{path}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a necromap baseline")]
    Parse { path: PathBuf, source: serde_json::Error },
    #[error("no data directory: set XDG_DATA_HOME or HOME")]
    NoDataDir,
    #[error(transparent)]
    Input(crate::input::InputError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// The directory baselines are kept in.
pub fn baseline_dir() -> Result<PathBuf, BaselineError> {
    Ok(crate::paths::data_dir().ok_or(BaselineError::NoDataDir)?.join("baselines"))
}

/// Whether a baseline name is a file path (has `/` or ends in `.json`).
pub fn is_path(name: &str) -> bool {
    name.contains('/') || Path::new(name).extension().is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

/// The file for a name, or the path itself when `name` is one.
pub fn baseline_path(name: &str) -> Result<PathBuf, BaselineError> {
    if is_path(name) {
        return Ok(PathBuf::from(name));
    }
    let ok = !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) && !name.starts_with('.');
    if !ok {
        return Err(BaselineError::BadName(name.to_string()));
    }
    Ok(baseline_dir()?.join(format!("{name}.json")))
}

/// Write a baseline; returns the path written.
pub fn save(baseline: &Baseline, name: &str) -> Result<PathBuf, BaselineError> {
    let path = baseline_path(name)?;
    let io = |source| BaselineError::Io { path: path.clone(), source };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let text = serde_json::to_string_pretty(baseline).map_err(|e| io(std::io::Error::other(e)))?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text).map_err(|source| BaselineError::Io { path: tmp.clone(), source })?;
    std::fs::rename(&tmp, &path).map_err(io)?;
    Ok(path)
}

/// Read a baseline by name or path.
pub fn load(name: &str) -> Result<Baseline, BaselineError> {
    let path = baseline_path(name)?;
    load_path(&path, name)
}

fn load_path(path: &Path, name: &str) -> Result<Baseline, BaselineError> {
    let text = match crate::input::read_text(path, crate::input::Kind::Baseline) {
        Ok(t) => t,
        Err(e) if e.io_kind() == Some(std::io::ErrorKind::NotFound) => {
            return Err(BaselineError::Missing { name: name.to_string(), path: path.to_path_buf() });
        }
        Err(e) => return Err(BaselineError::Input(e)),
    };
    serde_json::from_str(&text).map_err(|source| BaselineError::Parse { path: path.to_path_buf(), source })
}

/// Names of the saved baselines, sorted.
pub fn list() -> Result<Vec<String>, BaselineError> {
    let dir = baseline_dir()?;
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(BaselineError::Io { path: dir, source }),
    };
    let mut names: Vec<String> =
        entries.filter_map(Result::ok).filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".json")).map(str::to_string)).collect();
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(matches!(baseline_path("../etc"), Ok(p) if p == Path::new("../etc")), "a path is taken as a path");
        assert!(matches!(baseline_path(".hidden"), Err(BaselineError::BadName(_))));
        assert!(matches!(baseline_path("a b"), Err(BaselineError::BadName(_))));
        assert!(matches!(baseline_path(""), Err(BaselineError::BadName(_))));
    }

    #[test]
    fn round_trip_through_a_path() {
        let dir = std::env::temp_dir().join(format!("necromap-baseline-{}", std::process::id()));
        let path = dir.join("b.json");
        let b = Baseline {
            name: "b".into(),
            host: "h".into(),
            taken_at_ms: 1,
            processes: ["/usr/sbin/sshd uid 0".parse().expect("process")].into(),
            remote_endpoints: ["192.0.2.1".parse().expect("ip")].into(),
            listeners: ["22/tcp/0/sshd".parse().expect("listener")].into(),
            remote_names: ["api.github.com".to_string()].into(),
        };
        let written = save(&b, path.to_str().expect("utf-8 path")).expect("save");
        assert_eq!(load(written.to_str().expect("utf-8")).expect("load"), b);
        std::fs::write(&path, "{").expect("write");
        assert!(matches!(load(path.to_str().expect("utf-8")), Err(BaselineError::Parse { .. })));
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
