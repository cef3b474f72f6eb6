//! The environment layer: `NECROMAP_*` variables, one per setting. An
//! empty variable is unset; a bad value is refused naming the variable.

use std::path::PathBuf;

use super::values::{Icons, ThemeName, parse_interval, parse_listen, parse_switch};
use super::{Config, ConfigError, Origin};
use crate::duration::parse_duration;

/// Every variable read, with what it sets (for `--help` and the README).
pub const VARIABLES: [(&str, &str); 9] = [
    ("NECROMAP_INTERVAL", "refresh interval (e.g. 2s)"),
    ("NECROMAP_VIEW", "the view the explorer starts in"),
    ("NECROMAP_THEME", "dark or light"),
    ("NECROMAP_ICONS", "emoji or ascii"),
    ("NECROMAP_RESOLVE", "on or off: names for addresses"),
    ("NECROMAP_STORE", "the event store file"),
    ("NECROMAP_RETENTION", "how long stored events are kept (e.g. 7d)"),
    ("NECROMAP_MCP_ADDRESS", "where --serve-mcp and --mcp --http listen"),
    ("NO_BELL", "set (any value): no terminal bell on new findings"),
];

/// Put the variables `var` finds over `config`.
pub fn apply(config: &mut Config, var: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
    let get = |name: &'static str| var(name).filter(|v| !v.trim().is_empty()).map(|v| (name, v));
    let bad = |name: &'static str| move |message: String| ConfigError::Env { var: name, message };
    if let Some((n, v)) = get("NECROMAP_INTERVAL") {
        config.interval.set(Some(parse_interval(&v).map_err(bad(n))?), Origin::Env(n));
    }
    if let Some((n, v)) = get("NECROMAP_VIEW") {
        config.view.set(Some(v.trim().to_string()), Origin::Env(n));
    }
    if let Some((n, v)) = get("NECROMAP_THEME") {
        config.theme.set(ThemeName::parse(&v).map_err(bad(n))?, Origin::Env(n));
    }
    if let Some((n, v)) = get("NECROMAP_ICONS") {
        config.icons.set(Icons::parse(&v).map_err(bad(n))?, Origin::Env(n));
    }
    if let Some((n, v)) = get("NECROMAP_RESOLVE") {
        config.resolve.set(parse_switch(&v).map_err(bad(n))?, Origin::Env(n));
    }
    if let Some((n, v)) = get("NECROMAP_STORE") {
        config.store_path.set(Some(PathBuf::from(v)), Origin::Env(n));
    }
    if let Some((n, v)) = get("NECROMAP_RETENTION") {
        config.retention.set(parse_duration(&v).map_err(bad(n))?, Origin::Env(n));
    }
    if let Some((n, v)) = get("NECROMAP_MCP_ADDRESS") {
        config.mcp_address.set(parse_listen(v.trim()).map_err(bad(n))?, Origin::Env(n));
    }
    // `NO_BELL` (any value, even empty: it is a flag, like NO_COLOR).
    if var("NO_BELL").is_some() {
        config.bell.set(false, Origin::Env("NO_BELL"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_set_and_bad_ones_name_themselves() {
        let mut c = Config::default();
        let vars = |n: &str| match n {
            "NECROMAP_THEME" => Some("light".to_string()),
            "NECROMAP_VIEW" => Some(String::new()),
            _ => None,
        };
        apply(&mut c, &vars).expect("applies");
        assert_eq!((c.theme.value, &c.theme.origin), (ThemeName::Light, &Origin::Env("NECROMAP_THEME")));
        assert_eq!(c.view.origin, Origin::Default, "empty is unset");
        let e = apply(&mut c, &|n: &str| (n == "NECROMAP_INTERVAL").then(|| "5".to_string())).expect_err("no unit");
        assert_eq!(e.to_string(), "NECROMAP_INTERVAL: 5: add a unit: 5s, 500ms, 1m");
    }

    #[test]
    fn no_bell_set_even_empty_turns_the_bell_off() {
        let mut c = Config::default();
        assert!(c.bell.value);
        apply(&mut c, &|n: &str| (n == "NO_BELL").then(String::new)).expect("applies");
        assert_eq!((c.bell.value, &c.bell.origin), (false, &Origin::Env("NO_BELL")));
    }
}
