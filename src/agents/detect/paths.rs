//! Paths in what a tool is asked or answers: found in strings (whole
//! values, words of a command line, `file://` URIs), with `~` and `$HOME`
//! read as the home directory, and judged: secret files (the collector's
//! list plus browser profiles, keyrings, `.netrc`, `.git-credentials`,
//! kube, cloud and docker configs) and broad places (`/`, the home
//! directory itself, system folders).

use crate::collect::sensitive::is_sensitive_path;

/// Most paths taken from one value.
const PATHS_MAX: usize = 64;

/// Path-like words of `text`, normalised (`~` → `/~`, `file://` dropped,
/// quotes and trailing punctuation trimmed).
pub fn paths_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in text.split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '(' | ')' | ';' | '|' | '&' | '<' | '>' | ',' | '=')) {
        let word = word.trim_end_matches(['.', ':', ']', '}']);
        let word = word.strip_prefix("file://").unwrap_or(word);
        let path = if let Some(rest) = word.strip_prefix("~") {
            format!("/~{rest}")
        } else if let Some(rest) = word.strip_prefix("$HOME").or_else(|| word.strip_prefix("${HOME}")) {
            format!("/~{rest}")
        } else if word.starts_with('/') {
            word.to_owned()
        } else {
            continue;
        };
        if !out.contains(&path) {
            out.push(path);
        }
        if out.len() >= PATHS_MAX {
            break;
        }
    }
    out
}

/// Whether a (normalised) path holds secrets.
pub fn is_secret_file(path: &str) -> bool {
    if is_sensitive_path(path) {
        return true;
    }
    let base = path.rsplit('/').next().unwrap_or(path);
    let lower = path.to_ascii_lowercase();
    let system_secret = matches!(base, "shadow" | "gshadow") && path.starts_with("/etc/");
    let named_secret = matches!(
        base,
        ".netrc"
            | ".git-credentials"
            | ".pgpass"
            | ".my.cnf"
            | "logins.json"
            | "key4.db"
            | "key3.db"
            | "cookies.sqlite"
            | "Login Data"
            | "Cookies"
            | "Web Data"
    );
    let ssh_key = path.contains("/.ssh/") && base.starts_with("id_") && !std::path::Path::new(base).extension().is_some_and(|e| e.eq_ignore_ascii_case("pub"));
    system_secret
        || named_secret
        || ssh_key
        || lower.ends_with("/.kube/config")
        || lower.ends_with("/.aws/config")
        || lower.contains("/.config/gcloud/")
        || lower.contains("/.azure/")
        || lower.ends_with("/.docker/config.json")
        || lower.contains("/.gnupg/private-keys")
        || lower.contains("/.local/share/keyrings/")
        || lower.ends_with(".keychain")
        || lower.ends_with(".keychain-db")
}

/// Whether a (normalised) path is `/`, a home directory itself, or a
/// system folder: a tool rooted there reaches far more than one project.
pub fn is_broad(path: &str, home: Option<&str>) -> bool {
    let p = path.trim_end_matches('/');
    if p.is_empty() || p == "/~" || p == "/root" || home.is_some_and(|h| h.trim_end_matches('/') == p) {
        return true;
    }
    if let Some(user) = p.strip_prefix("/home/")
        && !user.is_empty()
        && !user.contains('/')
    {
        return true;
    }
    matches!(p, "/etc" | "/usr" | "/var" | "/boot" | "/proc" | "/sys" | "/dev" | "/bin" | "/sbin" | "/lib" | "/opt" | "/home" | "/run")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_found_in_words_uris_and_home_forms() {
        assert_eq!(paths_in("cat ~/.ssh/id_rsa; ls /tmp"), ["/~/.ssh/id_rsa", "/tmp"]);
        assert_eq!(paths_in("file:///etc/passwd"), ["/etc/passwd"]);
        assert_eq!(paths_in("$HOME/.netrc"), ["/~/.netrc"]);
        assert!(paths_in("hello world").is_empty());
    }

    #[test]
    fn secret_files_and_near_misses() {
        for p in [
            "/~/.ssh/id_rsa",
            "/home/a/.netrc",
            "/~/.git-credentials",
            "/~/.kube/config",
            "/~/.aws/credentials",
            "/~/.mozilla/firefox/x.default/logins.json",
            "/etc/shadow",
            "/~/.config/google-chrome/Default/Login Data",
            "/~/.docker/config.json",
        ] {
            assert!(is_secret_file(p), "{p}");
        }
        for p in ["/~/.ssh/id_rsa.pub", "/~/project/README.md", "/srv/shadow", "/~/.kube/cache/x", "/tmp/notes.txt"] {
            assert!(!is_secret_file(p), "{p}");
        }
    }

    #[test]
    fn broad_places() {
        for p in ["/", "/~", "/home/alice", "/etc/", "/root"] {
            assert!(is_broad(p, Some("/home/bob")), "{p}");
        }
        for p in ["/home/alice/project", "/tmp/x", "/etc/hosts"] {
            assert!(!is_broad(p, None), "{p}");
        }
    }
}
