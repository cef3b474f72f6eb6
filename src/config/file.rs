//! The file layer: `config.toml`. Every key is known (an unknown one is
//! refused, never ignored), and every error names the file, the line and
//! the key.
//!
//! ```toml
//! interval = "2s"
//! view = "suspicious_only"
//! theme = "light"          # dark | light
//! icons = "ascii"          # emoji | ascii
//! resolve = false
//! bell = false             # no terminal bell on new findings
//! [store]
//! path = "/var/lib/necromap/events.db"
//! retention = "7d"
//! [mcp]
//! address = "127.0.0.1:7878"
//! [keys]                   # the explorer's actions, rebound by name
//! quit = "x"
//! down = ["j", "Down"]
//! ```

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::{Spanned, Value};

use super::values::{Icons, ThemeName, parse_interval, parse_listen};
use super::{Config, ConfigError, Origin};
use crate::duration::parse_duration;

/// The keys a file may have, for the refusal of one it may not.
pub const KEYS: &str = "interval, view, theme, icons, resolve, bell, fleet, [store] path and retention, [mcp] address, [keys] ACTION = KEY";

type Field = Option<Spanned<Value>>;

/// Keys whose values are durations (a bare number gets the unit hint).
const DURATIONS: [&str; 2] = ["interval", "store.retention"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    interval: Field,
    view: Field,
    theme: Field,
    icons: Field,
    resolve: Field,
    bell: Field,
    fleet: Field,
    store: Option<StoreDoc>,
    mcp: Option<McpDoc>,
    keys: Option<std::collections::BTreeMap<String, Spanned<Value>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreDoc {
    path: Field,
    retention: Field,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct McpDoc {
    address: Field,
}

fn line_of(text: &str, span: &Range<usize>) -> usize {
    text.get(..span.start).map_or(1, |t| t.matches('\n').count() + 1)
}

/// Reads values with their place in the file.
struct Reader<'a> {
    text: &'a str,
    path: &'a Path,
}

impl Reader<'_> {
    fn invalid(&self, key: &str, span: &Range<usize>, message: String) -> ConfigError {
        ConfigError::Invalid { file: self.path.display().to_string(), line: line_of(self.text, span), key: key.to_string(), message }
    }

    /// A string value, parsed by `parse`.
    fn string<T>(&self, key: &str, field: Field, parse: impl Fn(&str) -> Result<T, String>) -> Result<Option<T>, ConfigError> {
        let Some(v) = field else { return Ok(None) };
        let span = v.span();
        match v.into_inner() {
            Value::String(s) => parse(&s).map(Some).map_err(|m| self.invalid(key, &span, m)),
            Value::Integer(n) if DURATIONS.contains(&key) => Err(self.invalid(key, &span, format!("{n}: add a unit, in quotes: \"{n}s\", \"500ms\", \"1m\""))),
            other => Err(self.invalid(key, &span, format!("expected a string, found {}", other.type_str()))),
        }
    }

    /// `[keys]`: an action name and a key or a list of keys.
    fn keys(&self, action: &str, value: Spanned<Value>) -> Result<Vec<super::keys::KeyChord>, ConfigError> {
        let span = value.span();
        let name = format!("keys.{action}");
        super::keys::check_action(action).map_err(|m| self.invalid(&name, &span, m))?;
        let texts: Vec<Value> = match value.into_inner() {
            Value::Array(a) if !a.is_empty() => a,
            Value::Array(_) => return Err(self.invalid(&name, &span, "expected a key or a list of keys, found an empty list".into())),
            other => vec![other],
        };
        texts
            .into_iter()
            .map(|v| match v {
                Value::String(s) => super::keys::parse_key(&s).map_err(|m| self.invalid(&name, &span, m)),
                other => Err(self.invalid(&name, &span, format!("expected a key in quotes (\"x\", \"Ctrl-d\"), found {}", other.type_str()))),
            })
            .collect()
    }

    fn boolean(&self, key: &str, field: Field) -> Result<Option<bool>, ConfigError> {
        let Some(v) = field else { return Ok(None) };
        let span = v.span();
        match v.into_inner() {
            Value::Boolean(b) => Ok(Some(b)),
            other => Err(self.invalid(key, &span, format!("expected true or false, found {}", other.type_str()))),
        }
    }
}

/// Refuse a document error (syntax, unknown key, a table where a value goes) with its line.
fn doc_error(text: &str, path: &Path, e: &toml::de::Error) -> ConfigError {
    let line = e.span().map_or(1, |s| line_of(text, &s));
    let file = path.display().to_string();
    let message = e.message().trim().to_string();
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((key, _)) = rest.split_once('`')
    {
        return ConfigError::Invalid { file, line, key: key.to_string(), message: format!("unknown key; known keys: {KEYS}") };
    }
    ConfigError::Syntax { file, line, message }
}

/// Put the settings of the file at `path` (its text) over `config`.
pub fn apply(config: &mut Config, text: &str, path: &Path) -> Result<(), ConfigError> {
    let doc: Doc = toml::from_str(text).map_err(|e| doc_error(text, path, &e))?;
    let r = Reader { text, path };
    let origin = || Origin::File(path.to_path_buf());
    if let Some(v) = r.string("interval", doc.interval, parse_interval)? {
        config.interval.set(Some(v), origin());
    }
    if let Some(v) = r.string("view", doc.view, |s| Ok(s.to_string()))? {
        config.view.set(Some(v), origin());
    }
    if let Some(v) = r.string("theme", doc.theme, ThemeName::parse)? {
        config.theme.set(v, origin());
    }
    if let Some(v) = r.string("icons", doc.icons, Icons::parse)? {
        config.icons.set(v, origin());
    }
    if let Some(v) = r.boolean("resolve", doc.resolve)? {
        config.resolve.set(v, origin());
    }
    if let Some(v) = r.boolean("bell", doc.bell)? {
        config.bell.set(v, origin());
    }
    if let Some(v) = r.string("fleet", doc.fleet, |s| {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") { Ok(s.to_string()) } else { Err("expected a postgres:// URL".to_string()) }
    })? {
        config.fleet.set(Some(v), origin());
    }
    if let Some(keys) = doc.keys {
        let mut bound = Vec::new();
        for (action, value) in keys {
            bound.push((action.clone(), r.keys(&action, value)?));
        }
        config.keys.set(bound, origin());
    }
    if let Some(store) = doc.store {
        if let Some(v) = r.string("store.path", store.path, |s| Ok(PathBuf::from(s)))? {
            config.store_path.set(Some(v), origin());
        }
        if let Some(v) = r.string("store.retention", store.retention, parse_duration)? {
            config.retention.set(v, origin());
        }
    }
    if let Some(mcp) = doc.mcp
        && let Some(v) = r.string("mcp.address", mcp.address, parse_listen)?
    {
        config.mcp_address.set(v, origin());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        apply(&mut c, text, Path::new("/etc/x/config.toml")).map(|()| c)
    }

    #[test]
    fn every_key_is_read() {
        let c = load("interval = \"2s\"\nview = \"active_only\"\ntheme = \"light\"\nicons = \"ascii\"\nresolve = false\n[store]\npath = \"/tmp/e.db\"\nretention = \"7d\"\n[mcp]\naddress = \"9000\"\n").expect("valid");
        assert_eq!(c.interval.value, Some(std::time::Duration::from_secs(2)));
        assert_eq!((c.theme.value, c.icons.value, c.resolve.value), (ThemeName::Light, Icons::Ascii, false));
        assert_eq!(c.mcp_address.value.port(), 9000);
        assert_eq!(c.retention.origin, Origin::File(PathBuf::from("/etc/x/config.toml")));
    }

    #[test]
    fn keys_and_bell_are_read_and_checked() {
        let c = load("bell = false\n[keys]\nquit = \"x\"\ndown = [\"j\", \"Ctrl-n\"]\n").expect("valid");
        assert!(!c.bell.value);
        assert_eq!(c.keys.value.len(), 2);
        let down = &c.keys.value.iter().find(|(a, _)| a == "down").expect("down").1;
        assert_eq!(down.len(), 2);
        assert!(down[1].ctrl);
        let e = load("[keys]\nquit = \"x\"\njump = \"z\"\n").expect_err("unknown action");
        assert!(e.to_string().starts_with("/etc/x/config.toml:3: `keys.jump`: unknown action; expected one of quit, back"), "{e}");
        let e = load("[keys]\n\nquit = \"Ctrl-Banana\"\n").expect_err("bad key");
        assert!(e.to_string().starts_with("/etc/x/config.toml:3: `keys.quit`: `Ctrl-Banana` is not a key: expected one character"), "{e}");
        let e = load("[keys]\nquit = 5\n").expect_err("not a string");
        assert!(e.to_string().contains("`keys.quit`: expected a key in quotes"), "{e}");
        let e = load("bell = \"no\"\n").expect_err("not a boolean");
        assert!(e.to_string().contains(":1: `bell`: expected true or false"), "{e}");
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let e = load("theme = \"dark\"\n\ncolour = \"red\"\n").expect_err("unknown");
        assert!(e.to_string().starts_with("/etc/x/config.toml:3: `colour`: unknown key"), "{e}");
        let e = load("[store]\npath = \"/x\"\nsize = 3\n").expect_err("unknown");
        assert!(e.to_string().starts_with("/etc/x/config.toml:3: `size`"), "{e}");
        let e = load("interval = \"5\"\n").expect_err("no unit");
        assert_eq!(e.to_string(), "/etc/x/config.toml:1: `interval`: 5: add a unit: 5s, 500ms, 1m");
        let e = load("interval = 5\n").expect_err("no unit");
        assert!(e.to_string().contains("`interval`: 5: add a unit, in quotes: \"5s\""), "{e}");
        let e = load("resolve = \"maybe\"\n").expect_err("type");
        assert!(e.to_string().contains(":1: `resolve`: expected true or false"), "{e}");
        let e = load("theme = \"light\"\ntheme = \"dark\"\n").expect_err("dup");
        assert!(e.to_string().starts_with("/etc/x/config.toml:2:"), "{e}");
    }
}
