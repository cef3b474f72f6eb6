//! The values a setting can take, parsed from text the same way whether it
//! comes from the file, a `NECROMAP_*` variable or a flag.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

use crate::collector::{MAX_INTERVAL, MIN_INTERVAL};
use crate::duration::parse_duration;

/// A refresh interval: a duration with a unit, within what the collector
/// runs at (100ms to 1h). Out of range is refused, never clamped.
///
/// ```
/// use necromap::config::values::parse_interval;
/// assert!(parse_interval("2s").is_ok());
/// assert!(parse_interval("50ms").unwrap_err().contains("100ms"));
/// ```
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let d = parse_duration(text)?;
    if d < MIN_INTERVAL {
        return Err(format!("{}: below the shortest refresh interval, {}ms", text.trim(), MIN_INTERVAL.as_millis()));
    }
    if d > MAX_INTERVAL {
        return Err(format!("{}: above the longest refresh interval, {}h", text.trim(), MAX_INTERVAL.as_secs() / 3600));
    }
    Ok(d)
}

/// A duration as the flags take it: `500ms`, `2s`, `10m`, `1h`, `30d`
/// (the largest unit that divides it).
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    for (unit, size) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)] {
        if ms >= size && ms.is_multiple_of(size) {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

/// `127.0.0.1:7878`, `[::1]:7878`, or a bare port (on 127.0.0.1).
pub fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = s.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    s.parse().map_err(|_| format!("`{s}`: expected HOST:PORT such as 127.0.0.1:7878, or a port"))
}

/// `on|off`, `true|false`, `yes|no`, `1|0`.
pub fn parse_switch(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Ok(true),
        "off" | "false" | "no" | "0" => Ok(false),
        _ => Err(format!("`{s}`: expected on or off")),
    }
}

/// The explorer's colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ThemeName {
    /// Light text on a dark background.
    #[default]
    Dark,
    /// Dark text on a light background.
    Light,
}

/// How nodes are marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Icons {
    /// ⚰ ☠ 👻 🎃.
    #[default]
    Emoji,
    /// # X @ *.
    Ascii,
}

impl ThemeName {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim() {
            "dark" => Ok(Self::Dark),
            "light" => Ok(Self::Light),
            _ => Err(format!("`{s}`: expected dark or light")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dark => "dark",
            Self::Light => "light",
        }
    }
}

impl Icons {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim() {
            "emoji" => Ok(Self::Emoji),
            "ascii" => Ok(Self::Ascii),
            _ => Err(format!("`{s}`: expected emoji or ascii")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Emoji => "emoji",
            Self::Ascii => "ascii",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_out_of_range_are_refused_not_clamped() {
        assert_eq!(parse_interval("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_interval("50ms"), Err("50ms: below the shortest refresh interval, 100ms".into()));
        assert!(parse_interval("2h").is_err_and(|e| e.contains("longest")));
        assert!(parse_interval("5").is_err_and(|e| e.contains("add a unit")));
        assert_eq!(format_duration(Duration::from_secs(30 * 86_400)), "30d");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
    }

    #[test]
    fn switches_and_names() {
        assert_eq!(parse_switch("off"), Ok(false));
        assert!(parse_switch("maybe").is_err());
        assert_eq!(ThemeName::parse("light"), Ok(ThemeName::Light));
        assert!(Icons::parse("svg").is_err());
    }
}
