//! Colours, glows, icons and number formatting. State and severity own the
//! colours; the theme decorates. Plain mode (`--ascii` or `NO_COLOR`) draws
//! no colour and ASCII icons.

use ratatui::style::{Color, Modifier, Style};

use crate::model::{AgeBound, Highlight, Severity, SocketAge};
use crate::spec::{self, IconHint};

/// How the screen is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    /// No colour, ASCII icons.
    pub plain: bool,
    /// Glows on nodes and rows with findings.
    pub glow: bool,
}

impl Theme {
    pub fn color(self, c: spec::Color) -> Style {
        if self.plain {
            return Style::default();
        }
        Style::default().fg(match c {
            spec::Color::Green => Color::Green,
            spec::Color::Yellow => Color::Yellow,
            spec::Color::Red => Color::Red,
            spec::Color::Blue => Color::Blue,
            spec::Color::Cyan => Color::Cyan,
            spec::Color::Magenta => Color::Magenta,
            spec::Color::White => Color::White,
            spec::Color::Gray => Color::DarkGray,
            spec::Color::Orange => Color::Rgb(255, 140, 0),
        })
    }

    pub fn ratatui_color(self, c: spec::Color) -> Color {
        self.color(c).fg.unwrap_or(Color::Reset)
    }

    /// A glow: the finding's highlight, or its severity's colour.
    pub fn glow_style(self, severity: Severity, highlight: Option<Highlight>, pulse: bool) -> Style {
        if self.plain || !self.glow {
            return if severity >= Severity::High { Style::default().add_modifier(Modifier::BOLD) } else { Style::default() };
        }
        let fg = match highlight {
            Some(Highlight::RedGlow) => Color::Red,
            Some(Highlight::OrangeGlow) => Color::Rgb(255, 140, 0),
            Some(Highlight::YellowGlow) => Color::Yellow,
            Some(Highlight::GrayGlow) => Color::DarkGray,
            Some(Highlight::BlueGlow) => Color::Blue,
            Some(Highlight::CyanGlow) => Color::Cyan,
            None => severity_color(severity),
        };
        let mut style = Style::default().fg(fg);
        if severity >= Severity::High {
            style = style.add_modifier(Modifier::BOLD);
        }
        if pulse {
            style = style.add_modifier(Modifier::REVERSED);
        }
        style
    }

    pub fn severity(self, s: Severity) -> Style {
        if self.plain { Style::default() } else { Style::default().fg(severity_color(s)) }
    }

    pub fn title(self) -> Style {
        if self.plain { Style::default().add_modifier(Modifier::BOLD) } else { Style::default().fg(Color::Magenta).add_modifier(Modifier::BOLD) }
    }

    pub fn dim(self) -> Style {
        if self.plain { Style::default() } else { Style::default().fg(Color::DarkGray) }
    }

    pub fn selected(self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }

    pub fn error(self) -> Style {
        if self.plain { Style::default().add_modifier(Modifier::BOLD) } else { Style::default().fg(Color::Red).add_modifier(Modifier::BOLD) }
    }

    /// An icon; `None` hint draws the default node mark.
    pub fn icon(self, hint: IconHint) -> &'static str {
        match (hint, self.plain) {
            (IconHint::Coffin, false) => "⚰",
            (IconHint::Skull, false) => "☠",
            (IconHint::Ghost, false) => "👻",
            (IconHint::Pumpkin, false) => "🎃",
            (IconHint::None, false) => "●",
            (IconHint::Coffin, true) => "#",
            (IconHint::Skull, true) => "X",
            (IconHint::Ghost, true) => "@",
            (IconHint::Pumpkin, true) => "*",
            (IconHint::None, true) => "o",
        }
    }
}

fn severity_color(s: Severity) -> Color {
    match s {
        Severity::Critical => Color::Red,
        Severity::High => Color::Rgb(255, 140, 0),
        Severity::Medium => Color::Yellow,
        Severity::Low => Color::Blue,
        Severity::Info => Color::DarkGray,
    }
}

/// `5s`, `3m`, `2h`, `4d`.
pub fn duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// A socket's age for the list's narrow column: `12s` exact, `≥5m` a
/// lower bound, `≤3d` an upper bound, `-` unknown.
pub fn age(age: Option<SocketAge>) -> String {
    age.map_or_else(|| "-".into(), |a| format!("{}{}", a.bound.symbol(), duration(a.ms)))
}

/// The same with room: `12s`, `≥ 5m`, `≤ 3d`, `-`.
pub fn age_spaced(age: Option<SocketAge>) -> String {
    match age {
        None => "-".into(),
        Some(a) if a.bound == AgeBound::Exact => duration(a.ms),
        Some(a) => format!("{} {}", a.bound.symbol(), duration(a.ms)),
    }
}

/// A rate per second, `-` when unknown.
pub fn rate(bytes_per_s: Option<u64>) -> String {
    bytes_per_s.map_or_else(|| "-".into(), bytes)
}

/// `812`, `1.2K`, `3.4M`, `5.6G`.
pub fn bytes(n: u64) -> String {
    let f = n as f64;
    if n < 1000 {
        format!("{n}")
    } else if f < 1e6 {
        format!("{:.1}K", f / 1e3)
    } else if f < 1e9 {
        format!("{:.1}M", f / 1e6)
    } else {
        format!("{:.1}G", f / 1e9)
    }
}

pub use crate::duration::utc;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(duration(59_999), "59s");
        assert_eq!(duration(3_600_000), "1h");
        let at = |ms, bound| Some(SocketAge { ms, bound });
        assert_eq!(age(at(12_000, AgeBound::Exact)), "12s");
        assert_eq!(age(at(300_000, AgeBound::AtLeast)), "≥5m");
        assert_eq!(age_spaced(at(300_000, AgeBound::AtLeast)), "≥ 5m");
        assert_eq!(age_spaced(at(3 * 86_400_000, AgeBound::AtMost)), "≤ 3d");
        assert_eq!((age(None), age_spaced(None), rate(None)), ("-".into(), "-".into(), "-".into()));
        assert_eq!(rate(Some(0)), "0", "a known idle rate is 0");
        assert_eq!(bytes(999), "999");
        assert_eq!(bytes(1_234_567), "1.2M");
        assert_eq!(utc(1_793_534_400_000), "2026-11-01 12:00:00 UTC");
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
    }

    #[test]
    fn plain_mode_has_no_colour_and_ascii_icons() {
        let plain = Theme { plain: true, glow: true };
        assert_eq!(plain.color(spec::Color::Red), Style::default());
        assert!(plain.icon(IconHint::Ghost).is_ascii());
        let rich = Theme { plain: false, glow: true };
        assert_eq!(rich.glow_style(Severity::Critical, Some(Highlight::RedGlow), false).fg, Some(Color::Red));
    }
}
