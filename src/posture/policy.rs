//! The listener policy: which services may listen on public addresses.
//!
//! ```yaml
//! allow:
//!   - { port: 22, process: sshd }
//!   - { port: 443, process: nginx, user: www-data }
//! deny:
//!   - { port: 23 }
//!   - { process: telnetd }
//! ```
//!
//! An entry matches a listener when every key it gives matches (port
//! number, process name, user name or uid). Deny wins over allow. A bad
//! file is refused with its path and line.

use std::path::Path;

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("{file}: {source}")]
    Read { file: String, source: crate::input::InputError },
    /// A value or entry the checks refuse (the message quotes nothing of the file).
    #[error("{file}:{line}: {message}")]
    Invalid { file: String, line: usize, message: String },
    /// Not YAML of the policy's shape: the parser's message may quote the
    /// text (a key, a value), so a caller that may not show a file's
    /// content (MCP naming any file) shows [`PolicyError::redacted`].
    #[error("{file}:{line}: {message}")]
    Syntax { file: String, line: usize, message: String },
}

impl PolicyError {
    /// The error without anything quoted from the file: where, and what
    /// a policy looks like.
    pub fn redacted(&self) -> String {
        match self {
            Self::Syntax { file, line, .. } => format!("{file}:{line}: not a policy: expected `allow:` and `deny:` lists of {{port, process, user}}"),
            other => other.to_string(),
        }
    }
}

/// One allow or deny entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub port: Option<u16>,
    pub process: Option<String>,
    /// A user name or a uid.
    pub user: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(default)]
    pub allow: Vec<Entry>,
    #[serde(default)]
    pub deny: Vec<Entry>,
}

/// What the policy says of a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    Denied,
    Unlisted,
}

/// The listener facts an entry is matched against.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub port: u16,
    pub process: Option<&'a str>,
    pub user: Option<&'a str>,
    pub uid: Option<u32>,
}

impl Entry {
    fn matches(&self, f: &Facts<'_>) -> bool {
        self.port.is_none_or(|p| p == f.port)
            && self.process.as_deref().is_none_or(|p| f.process == Some(p))
            && self.user.as_deref().is_none_or(|u| f.user == Some(u) || f.uid.is_some_and(|id| id.to_string() == u))
    }
}

impl Policy {
    pub fn verdict(&self, f: &Facts<'_>) -> Verdict {
        if self.deny.iter().any(|e| e.matches(f)) {
            Verdict::Denied
        } else if self.allow.iter().any(|e| e.matches(f)) {
            Verdict::Allowed
        } else {
            Verdict::Unlisted
        }
    }

    /// Read and check a policy file.
    pub fn load(path: &Path) -> Result<Self, PolicyError> {
        let file = path.display().to_string();
        let text = crate::input::read_structured(path, crate::input::Kind::Config).map_err(|source| PolicyError::Read { file: file.clone(), source })?;
        Self::parse(&text, &file)
    }

    /// Parse and check policy text (`file` names it in errors).
    pub fn parse(text: &str, file: &str) -> Result<Self, PolicyError> {
        let invalid = |line: usize, message: String| PolicyError::Invalid { file: file.to_string(), line, message };
        if text.trim().is_empty() {
            return Err(invalid(1, "empty policy: give `allow:` and/or `deny:` lists".into()));
        }
        let p: Self = serde_yaml::from_str(text).map_err(|e| PolicyError::Syntax {
            file: file.to_string(),
            line: e.location().map_or(1, |l| l.line()),
            message: format!("{e} (expected `allow:` and `deny:` lists of {{port, process, user}})"),
        })?;
        for (section, entries) in [("allow", &p.allow), ("deny", &p.deny)] {
            let lines = entry_lines(text, section);
            for (i, e) in entries.iter().enumerate() {
                let line = lines.get(i).copied().unwrap_or(1);
                if e.port.is_none() && e.process.is_none() && e.user.is_none() {
                    return Err(invalid(line, format!("{section}[{i}]: an entry needs at least one of port, process, user")));
                }
                if e.port == Some(0) {
                    return Err(invalid(line, format!("{section}[{i}]: port 0 is not a port (1 to 65535)")));
                }
                if e.process.as_deref().is_some_and(|p| p.trim().is_empty()) || e.user.as_deref().is_some_and(|u| u.trim().is_empty()) {
                    return Err(invalid(line, format!("{section}[{i}]: an empty name")));
                }
            }
        }
        Ok(p)
    }
}

/// The lines (1-based) where the entries of a top-level section start.
fn entry_lines(text: &str, section: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut inside = false;
    for (i, line) in text.lines().enumerate() {
        if !line.starts_with([' ', '\t', '-']) && !line.trim().is_empty() && !line.trim_start().starts_with('#') {
            inside = line.trim_start().starts_with(&format!("{section}:"));
            continue;
        }
        if inside && line.trim_start().starts_with('-') {
            out.push(i + 1);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_match_every_key_they_give_and_deny_wins() {
        let p = Policy::parse("allow:\n  - { port: 22, process: sshd }\n  - { user: www-data }\ndeny:\n  - { port: 23 }\n", "p.yaml").expect("policy");
        let f = |port, process, user| Facts { port, process, user, uid: None };
        assert_eq!(p.verdict(&f(22, Some("sshd"), Some("root"))), Verdict::Allowed);
        assert_eq!(p.verdict(&f(22, Some("dropbear"), Some("root"))), Verdict::Unlisted, "the process must match too");
        assert_eq!(p.verdict(&f(8080, Some("node"), Some("www-data"))), Verdict::Allowed);
        assert_eq!(p.verdict(&f(23, Some("telnetd"), Some("www-data"))), Verdict::Denied, "deny wins");
        assert_eq!(p.verdict(&Facts { port: 1, process: None, user: None, uid: Some(33) }), Verdict::Unlisted);
    }

    #[test]
    fn bad_files_are_refused_with_file_and_line() {
        let e = Policy::parse("allow:\n  - { port: 22 }\n  - { prot: 80 }\n", "p.yaml").expect_err("unknown key");
        assert!(e.to_string().starts_with("p.yaml:3:"), "{e}");
        assert!(e.to_string().contains("prot"), "{e}");
        let e = Policy::parse("allow:\n  - { port: 22 }\ndeny:\n  # nothing yet\n  - {}\n", "p.yaml").expect_err("empty entry");
        assert_eq!(e.to_string(), "p.yaml:5: deny[0]: an entry needs at least one of port, process, user");
        let e = Policy::parse("allow:\n  - port: 70000\n", "p.yaml").expect_err("port range");
        assert!(e.to_string().starts_with("p.yaml:2:"), "{e}");
        assert!(Policy::parse("", "p.yaml").is_err());
    }
}
