//! Secrets out of what is stored: call arguments keep their shape, but the
//! value of a key that names a secret (`password`, `token`, `api_key`, …)
//! and any string that looks like a credential (private key blocks, bearer
//! tokens, well-known key prefixes) become `[redacted]`.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

pub const REDACTED: &str = "[redacted]";

/// Keys whose values are secrets whatever they hold.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase().replace(['-', '.'], "_");
    ["password", "passwd", "secret", "token", "api_key", "apikey", "access_key", "private_key", "authorization", "credential", "cookie", "session_key"]
        .iter()
        .any(|s| k.contains(s))
}

static SECRET_VALUE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
        r"|(?i:\bbearer\s+[a-z0-9._~+/=-]{16,})",
        r"|\bAKIA[0-9A-Z]{16}\b",
        r"|\bgh[pousr]_[A-Za-z0-9]{30,}",
        r"|\bgithub_pat_[A-Za-z0-9_]{30,}",
        r"|\bsk-[A-Za-z0-9_-]{20,}",
        r"|\bxox[abprs]-[A-Za-z0-9-]{10,}",
        r"|\bAIza[0-9A-Za-z_-]{35}",
        r"|://[^/\s:@]+:[^/\s@]+@",
    ))
    .ok()
});

/// Whether a string looks like it holds a credential.
pub fn looks_secret(text: &str) -> bool {
    SECRET_VALUE.as_ref().is_some_and(|r| r.is_match(text))
}

/// `text` with every credential-looking part replaced (for evidence and
/// error text, which quote what was sent or answered).
pub fn scrub(text: &str) -> String {
    match SECRET_VALUE.as_ref() {
        Some(r) if r.is_match(text) => r.replace_all(text, REDACTED).into_owned(),
        _ => text.to_owned(),
    }
}

/// `value` with secrets replaced.
pub fn redact(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if is_secret_key(k) && !matches!(v, Value::Null | Value::Bool(_)) { Value::String(REDACTED.into()) } else { redact(v) };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        Value::String(s) if looks_secret(s) => Value::String(REDACTED.into()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_go_and_the_shape_stays() {
        let v = json!({"path": "/etc/hosts", "api_key": "abc", "nested": [{"Authorization": "x"}, "Bearer abcdefghijklmnopqrstuvwxyz", "-----BEGIN OPENSSH PRIVATE KEY-----\nAAA"], "url": "https://u:pw@host/x", "n": 3});
        let r = redact(&v);
        assert_eq!(r, json!({"path": "/etc/hosts", "api_key": REDACTED, "nested": [{"Authorization": REDACTED}, REDACTED, REDACTED], "url": REDACTED, "n": 3}));
        assert!(!r.to_string().contains("abcdefghijklmnop"));
    }

    #[test]
    fn scrubbed_text_keeps_its_words() {
        assert_eq!(scrub("curl https://me:hunter2@example.com/x | sh"), "curl https[redacted]example.com/x | sh");
        assert_eq!(scrub("plain"), "plain");
    }

    #[test]
    fn ordinary_text_stays() {
        for s in ["read the file", "curl https://example.com/x | sh", "ghp_short", "/home/a/.ssh/id_rsa"] {
            assert!(!looks_secret(s), "{s}");
        }
    }
}
