//! The SSH daemon's settings that matter for exposure, read from
//! `<root>/etc/ssh/sshd_config` like sshd reads it: the first value of a
//! keyword wins, keywords are case-insensitive, `Include` is followed
//! (globs in the last path component, relative paths under /etc/ssh; at
//! most 8 levels and 64 files), and `Match` blocks (conditional) are left
//! out of the global settings.

use std::collections::HashMap;
use std::path::Path;

use super::{Area, Check, Options, Status};
use crate::model::Severity;

const DEPTH_MAX: usize = 8;
const FILES_MAX: usize = 64;

/// A keyword's first value and where it was set (`file:line`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub value: String,
    pub at: String,
}

/// The global settings of an `sshd_config` (and what it includes).
#[derive(Debug, Default)]
pub struct SshdConfig {
    pub settings: HashMap<String, Setting>,
    /// Ports (every `Port` line counts, unlike other keywords).
    pub ports: Vec<Setting>,
    pub files: usize,
    /// Includes not followed (too deep, too many, unreadable).
    pub skipped: Vec<String>,
}

impl SshdConfig {
    /// Read `path` (shown as `shown`) under the root.
    pub fn read(opts: &Options, shown: &str) -> Option<Self> {
        let mut c = Self::default();
        let mut in_match = false;
        c.file(opts, shown, 0, &mut in_match).then_some(c)
    }

    fn file(&mut self, opts: &Options, shown: &str, depth: usize, in_match: &mut bool) -> bool {
        if depth > DEPTH_MAX || self.files >= FILES_MAX {
            self.skipped.push(format!("{shown} (include limit)"));
            return false;
        }
        let Ok(text) = crate::input::read_text(&opts.path(shown), crate::input::Kind::Config) else { return false };
        self.files += 1;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = line.split_once(|c: char| c.is_whitespace() || c == '=').unwrap_or((line, ""));
            let key = key.to_ascii_lowercase();
            let value = value.trim_start_matches(|c: char| c.is_whitespace() || c == '=').trim().trim_matches('"').to_string();
            let at = format!("{shown}:{}", i + 1);
            if key == "match" {
                *in_match = true;
                continue;
            }
            if key == "include" {
                // sshd reads an Include wherever it is; inside Match it is conditional.
                for pattern in value.split_whitespace() {
                    for f in expand(opts, pattern) {
                        if !self.file(opts, &f, depth + 1, in_match) {
                            self.skipped.push(format!("{f} (from {at})"));
                        }
                    }
                }
                continue;
            }
            if *in_match {
                continue;
            }
            if key == "port" {
                self.ports.push(Setting { value, at });
            } else {
                self.settings.entry(key).or_insert(Setting { value, at });
            }
        }
        true
    }

    pub fn get(&self, key: &str) -> Option<&Setting> {
        self.settings.get(key)
    }
}

/// An Include pattern's files (sorted, as sshd does), as shown paths.
fn expand(opts: &Options, pattern: &str) -> Vec<String> {
    let full = if pattern.starts_with('/') { pattern.to_string() } else { format!("/etc/ssh/{pattern}") };
    let p = Path::new(&full);
    let (Some(dir), Some(name)) = (p.parent(), p.file_name().and_then(|n| n.to_str())) else { return Vec::new() };
    if !name.contains(['*', '?']) {
        return vec![full];
    }
    let (prefix, suffix) = name.split_once('*').unwrap_or((name, ""));
    let mut out: Vec<String> = std::fs::read_dir(opts.path(&dir.display().to_string()))
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter(|n| n.starts_with(prefix) && n.ends_with(suffix) && n.len() >= prefix.len() + suffix.len() && !n.starts_with('.'))
                .map(|n| format!("{}/{n}", dir.display()))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out.truncate(FILES_MAX);
    out
}

pub fn checks(opts: &Options) -> Vec<Check> {
    let shown = "/etc/ssh/sshd_config";
    let Some(c) = SshdConfig::read(opts, shown) else {
        return vec![Check::new("sshd:config", Area::Sshd, Status::Pass, "SSH daemon configuration", format!("no {shown}: no SSH daemon configured here"), "")];
    };
    let mut out = Vec::new();
    let src = |s: Option<&Setting>, default: &str| {
        s.map_or_else(|| format!("not set (default {default})"), |s| format!("{} at {}", crate::text::escape_control(&s.value), s.at))
    };
    let root = c.get("permitrootlogin");
    let root_value = root.map_or("prohibit-password", |s| s.value.as_str()).to_ascii_lowercase();
    out.push(match root_value.as_str() {
        "yes" => Check::new(
            "sshd:permit_root_login",
            Area::Sshd,
            Status::Fail,
            "SSH root login",
            format!("PermitRootLogin {}", src(root, "prohibit-password")),
            "set `PermitRootLogin no` (or prohibit-password) in /etc/ssh/sshd_config and reload sshd",
        )
        .severity(Severity::High),
        "no" | "prohibit-password" | "without-password" | "forced-commands-only" => {
            Check::new("sshd:permit_root_login", Area::Sshd, Status::Pass, "SSH root login", format!("PermitRootLogin {}", src(root, "prohibit-password")), "")
        }
        _ => Check::new(
            "sshd:permit_root_login",
            Area::Sshd,
            Status::Warn,
            "SSH root login",
            format!("PermitRootLogin {}: not a value sshd knows", src(root, "prohibit-password")),
            "set `PermitRootLogin no`",
        ),
    });
    let pw = c.get("passwordauthentication");
    let pw_on = pw.is_none_or(|s| s.value.eq_ignore_ascii_case("yes"));
    out.push(if pw_on {
        Check::new(
            "sshd:password_authentication",
            Area::Sshd,
            Status::Warn,
            "SSH password logins",
            format!("PasswordAuthentication {}: passwords can be guessed", src(pw, "yes")),
            "use keys and set `PasswordAuthentication no` (and `KbdInteractiveAuthentication no`)",
        )
    } else {
        Check::new("sshd:password_authentication", Area::Sshd, Status::Pass, "SSH password logins", format!("PasswordAuthentication {}", src(pw, "yes")), "")
    });
    let ports: Vec<String> = if c.ports.is_empty() {
        vec!["22 (default)".into()]
    } else {
        c.ports.iter().map(|p| format!("{} at {}", crate::text::escape_control(&p.value), p.at)).collect()
    };
    out.push(Check::new("sshd:port", Area::Sshd, Status::Pass, "SSH port", format!("Port {}", ports.join(", ")), ""));
    if !c.skipped.is_empty() {
        out.push(Check::new(
            "sshd:include",
            Area::Sshd,
            Status::Warn,
            "SSH configuration includes",
            format!("not read: {}", c.skipped.join(", ")),
            "check the Include lines: sshd -T prints the settings in force (as root)",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tmp");
        for (p, text) in files {
            let f = dir.path().join(p.trim_start_matches('/'));
            std::fs::create_dir_all(f.parent().expect("parent")).expect("mkdir");
            std::fs::write(f, text).expect("write");
        }
        dir
    }

    #[test]
    fn first_value_wins_includes_are_followed_and_match_blocks_are_left_out() {
        let dir = root_with(&[
            (
                "etc/ssh/sshd_config",
                "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\nPort 22\nPort 2222\nMatch User backup\n  PasswordAuthentication yes\n",
            ),
            ("etc/ssh/sshd_config.d/10-cloud.conf", "PasswordAuthentication no\npermitrootlogin=yes\n"),
            ("etc/ssh/sshd_config.d/notes.txt", "PermitRootLogin no\n"),
        ]);
        let opts = Options { root: dir.path().to_path_buf(), policy: None, run_commands: false };
        let c = SshdConfig::read(&opts, "/etc/ssh/sshd_config").expect("read");
        assert_eq!(c.get("permitrootlogin").map(|s| (s.value.as_str(), s.at.as_str())), Some(("yes", "/etc/ssh/sshd_config.d/10-cloud.conf:2")));
        assert_eq!(c.get("passwordauthentication").map(|s| s.value.as_str()), Some("no"), "the Match block does not count");
        assert_eq!(c.ports.len(), 2);
        let checks = checks(&opts);
        let get = |id: &str| checks.iter().find(|x| x.id == id).expect("check");
        assert_eq!(get("sshd:permit_root_login").status, Status::Fail);
        assert!(get("sshd:permit_root_login").evidence.contains("10-cloud.conf:2"));
        assert_eq!(get("sshd:password_authentication").status, Status::Pass);
        assert!(get("sshd:port").evidence.contains("2222"));
    }

    #[test]
    fn defaults_and_include_loops_are_bounded() {
        let dir = root_with(&[("etc/ssh/sshd_config", "Include sshd_config\n")]);
        let opts = Options { root: dir.path().to_path_buf(), policy: None, run_commands: false };
        let checks = checks(&opts);
        let get = |id: &str| checks.iter().find(|x| x.id == id).expect("check");
        assert_eq!(get("sshd:permit_root_login").status, Status::Pass, "default prohibit-password");
        assert_eq!(get("sshd:password_authentication").status, Status::Warn, "default yes");
        assert_eq!(get("sshd:include").status, Status::Warn, "a loop stops at the limit");
        let none = tempfile::tempdir().expect("tmp");
        let opts = Options { root: none.path().to_path_buf(), policy: None, run_commands: false };
        assert_eq!(super::checks(&opts)[0].id, "sshd:config");
    }
}
