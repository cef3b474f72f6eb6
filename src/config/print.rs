//! `necromap config print`: the effective settings as a config file, each
//! line saying where its value came from.

use std::fmt::Write as _;

use super::values::format_duration;
use super::{Config, Setting};

fn line<T>(out: &mut String, key: &str, value: &str, setting: &Setting<T>) {
    let assignment = format!("{key} = {value}");
    let _ = writeln!(out, "{assignment:<44} # {}", setting.origin);
}

fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

impl Config {
    /// The settings as TOML (a file `--config` accepts), with their origins.
    /// `default_store` is what an unset store path means here.
    pub fn render(&self, default_store: Option<&std::path::Path>) -> String {
        let mut out = String::from("# necromap's effective configuration: default < file < environment < flag\n");
        let _ = match &self.file {
            Some(f) => writeln!(out, "# file: {}", f.display()),
            None => writeln!(
                out,
                "# file: none ({})",
                super::default_path().map_or_else(|| "no XDG_CONFIG_HOME or HOME".into(), |p| format!("{} does not exist", p.display()))
            ),
        };
        match self.interval.value {
            Some(d) => line(&mut out, "interval", &quoted(&format_duration(d)), &self.interval),
            None => line(&mut out, "# interval", "\"1s\" live, a replay's own pace", &self.interval),
        }
        match &self.view.value {
            Some(v) => line(&mut out, "view", &quoted(v), &self.view),
            None => line(&mut out, "# view", "the spec's first view", &self.view),
        }
        line(&mut out, "theme", &quoted(self.theme.value.as_str()), &self.theme);
        line(&mut out, "icons", &quoted(self.icons.value.as_str()), &self.icons);
        line(&mut out, "resolve", if self.resolve.value { "true" } else { "false" }, &self.resolve);
        line(&mut out, "bell", if self.bell.value { "true" } else { "false" }, &self.bell);
        if let Some(url) = &self.fleet.value {
            // Never the password.
            let shown = match crate::fleet::conn::parse(url, &|_| None) {
                Ok(u) => u.display,
                Err(_) => "(not a valid URL)".to_string(),
            };
            line(&mut out, "fleet", &quoted(&shown), &self.fleet);
        }
        out.push_str("\n[store]\n");
        match self.store_path.value.as_deref().or(default_store) {
            Some(p) => line(&mut out, "path", &quoted(&p.display().to_string()), &self.store_path),
            None => line(&mut out, "# path", "none (no XDG_DATA_HOME or HOME)", &self.store_path),
        }
        line(&mut out, "retention", &quoted(&format_duration(self.retention.value)), &self.retention);
        out.push_str("\n[mcp]\n");
        line(&mut out, "address", &quoted(&self.mcp_address.value.to_string()), &self.mcp_address);
        out.push_str("\n[keys]\n");
        if self.keys.value.is_empty() {
            line(&mut out, "# quit", "\"q\" (the explorer's keys: `?` lists them)", &self.keys);
        }
        for (action, keys) in &self.keys.value {
            let list: Vec<String> = keys.iter().map(|k| quoted(&super::keys::chord_text(*k))).collect();
            line(&mut out, action, &format!("[{}]", list.join(", ")), &self.keys);
        }
        out
    }
}
