//! Colours, glows, icons and number formatting. State and severity own the
//! colours; the theme decorates. Plain mode (`--ascii` or `NO_COLOR`) draws
//! no colour and ASCII icons.
//!
//! Two schemes, dark and light (`--theme`, `theme =` in the config), each
//! in true colour (`COLORTERM=truecolor|24bit`), 256 colours (`TERM=*256color`)
//! or the 16 basic colours. The look travels in the explorer's options
//! (`Options::look`) into its [`Theme`]; the default is dark in true
//! colour with emoji icons.

use ratatui::style::{Color, Modifier, Style};

use crate::model::{AgeBound, Highlight, Severity, SocketAge};
use crate::spec::{self, IconHint};

/// The background a scheme is drawn for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scheme {
    #[default]
    Dark,
    Light,
}

/// The colours a terminal can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Depth {
    Basic16,
    Indexed256,
    #[default]
    TrueColor,
}

impl Depth {
    /// From `COLORTERM` and `TERM`: true colour when `COLORTERM` says
    /// `truecolor` or `24bit`, 256 colours for a `*256color` terminal,
    /// otherwise the 16 basic colours.
    pub fn detect(colorterm: Option<&str>, term: Option<&str>) -> Self {
        if colorterm.is_some_and(|c| matches!(c.trim().to_ascii_lowercase().as_str(), "truecolor" | "24bit")) {
            Depth::TrueColor
        } else if term.is_some_and(|t| t.contains("256color")) {
            Depth::Indexed256
        } else {
            Depth::Basic16
        }
    }
}

/// The look: scheme, colour depth, icons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Look {
    pub scheme: Scheme,
    pub depth: Depth,
    /// ASCII icons while keeping colour (`icons = "ascii"`).
    pub ascii_icons: bool,
}

impl Look {
    /// A colour of the spec's palette in this look.
    pub fn paint(self, c: spec::Color) -> Color {
        use spec::Color as C;
        match (self.scheme, self.depth) {
            (Scheme::Dark, depth) => match c {
                C::Green => Color::Green,
                C::Yellow => Color::Yellow,
                C::Red => Color::Red,
                C::Blue => Color::Blue,
                C::Cyan => Color::Cyan,
                C::Magenta => Color::Magenta,
                C::White => Color::White,
                C::Gray => Color::DarkGray,
                C::Orange => match depth {
                    Depth::TrueColor => Color::Rgb(255, 140, 0),
                    Depth::Indexed256 => Color::Indexed(208),
                    Depth::Basic16 => Color::LightRed,
                },
            },
            (Scheme::Light, Depth::TrueColor) => match c {
                C::Green => Color::Rgb(0, 128, 0),
                C::Yellow => Color::Rgb(150, 110, 0),
                C::Red => Color::Rgb(190, 0, 0),
                C::Blue => Color::Rgb(0, 70, 190),
                C::Cyan => Color::Rgb(0, 120, 140),
                C::Magenta => Color::Rgb(140, 0, 140),
                C::White => Color::Rgb(30, 30, 30),
                C::Gray => Color::Rgb(110, 110, 110),
                C::Orange => Color::Rgb(200, 90, 0),
            },
            (Scheme::Light, Depth::Indexed256) => Color::Indexed(match c {
                C::Green => 28,
                C::Yellow => 136,
                C::Red => 160,
                C::Blue => 25,
                C::Cyan => 30,
                C::Magenta => 127,
                C::White => 235,
                C::Gray => 243,
                C::Orange => 166,
            }),
            (Scheme::Light, Depth::Basic16) => match c {
                C::Green => Color::Green,
                C::Yellow => Color::Yellow,
                C::Red | C::Orange => Color::Red,
                C::Blue => Color::Blue,
                C::Cyan => Color::Cyan,
                C::Magenta => Color::Magenta,
                C::White => Color::Black,
                C::Gray => Color::DarkGray,
            },
        }
    }
}

/// How the screen is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    /// No colour, ASCII icons.
    pub plain: bool,
    /// Glows on nodes and rows with findings.
    pub glow: bool,
    /// Scheme, colour depth and icons.
    pub look: Look,
}

impl Theme {
    pub fn color(self, c: spec::Color) -> Style {
        if self.plain {
            return Style::default();
        }
        Style::default().fg(self.look.paint(c))
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
            Some(Highlight::RedGlow) => self.look.paint(spec::Color::Red),
            Some(Highlight::OrangeGlow) => self.look.paint(spec::Color::Orange),
            Some(Highlight::YellowGlow) => self.look.paint(spec::Color::Yellow),
            Some(Highlight::GrayGlow) => self.look.paint(spec::Color::Gray),
            Some(Highlight::BlueGlow) => self.look.paint(spec::Color::Blue),
            Some(Highlight::CyanGlow) => self.look.paint(spec::Color::Cyan),
            None => severity_color(self.look, severity),
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
        if self.plain { Style::default() } else { Style::default().fg(severity_color(self.look, s)) }
    }

    pub fn title(self) -> Style {
        if self.plain {
            Style::default().add_modifier(Modifier::BOLD)
        } else {
            Style::default().fg(self.look.paint(spec::Color::Magenta)).add_modifier(Modifier::BOLD)
        }
    }

    pub fn dim(self) -> Style {
        if self.plain { Style::default() } else { Style::default().fg(self.look.paint(spec::Color::Gray)) }
    }

    pub fn selected(self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }

    pub fn error(self) -> Style {
        if self.plain {
            Style::default().add_modifier(Modifier::BOLD)
        } else {
            Style::default().fg(self.look.paint(spec::Color::Red)).add_modifier(Modifier::BOLD)
        }
    }

    /// An icon; `None` hint draws the default node mark.
    /// A process node's mark (`group`: several processes in one node).
    pub fn process_icon(self, group: bool) -> &'static str {
        match (group, self.plain || self.look.ascii_icons) {
            (false, false) => "◆",
            (true, false) => "◈",
            (false, true) => "+",
            (true, true) => "&",
        }
    }

    /// An MCP server's node (one or a group), when no finding gives an icon.
    pub fn mcp_icon(self, group: bool) -> &'static str {
        match (group, self.plain || self.look.ascii_icons) {
            (false, false) => "⚙",
            (true, false) => "⛭",
            (false, true) => "M",
            (true, true) => "%",
        }
    }

    pub fn icon(self, hint: IconHint) -> &'static str {
        match (hint, self.plain || self.look.ascii_icons) {
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

fn severity_color(look: Look, s: Severity) -> Color {
    look.paint(match s {
        Severity::Critical => spec::Color::Red,
        Severity::High => spec::Color::Orange,
        Severity::Medium => spec::Color::Yellow,
        Severity::Low => spec::Color::Blue,
        Severity::Info => spec::Color::Gray,
    })
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
        let plain = Theme { plain: true, glow: true, look: Look::default() };
        assert_eq!(plain.color(spec::Color::Red), Style::default());
        assert!(plain.icon(IconHint::Ghost).is_ascii());
        let rich = Theme { plain: false, glow: true, look: Look::default() };
        assert_eq!(rich.glow_style(Severity::Critical, Some(Highlight::RedGlow), false).fg, Some(Color::Red));
    }

    #[test]
    fn schemes_and_depths() {
        assert_eq!(Depth::detect(Some("truecolor"), Some("xterm")), Depth::TrueColor);
        assert_eq!(Depth::detect(Some("24bit"), None), Depth::TrueColor);
        assert_eq!(Depth::detect(None, Some("xterm-256color")), Depth::Indexed256);
        assert_eq!(Depth::detect(Some(""), Some("linux")), Depth::Basic16);
        let look = |scheme, depth| Look { scheme, depth, ascii_icons: false };
        // Dark in true colour is the look the frames were drawn with.
        assert_eq!(look(Scheme::Dark, Depth::TrueColor).paint(spec::Color::Orange), Color::Rgb(255, 140, 0));
        assert_eq!(look(Scheme::Dark, Depth::Basic16).paint(spec::Color::Orange), Color::LightRed);
        assert_eq!(look(Scheme::Light, Depth::Basic16).paint(spec::Color::White), Color::Black, "no white text on a light background");
        assert_eq!(look(Scheme::Light, Depth::Indexed256).paint(spec::Color::Gray), Color::Indexed(243));
        for c in [spec::Color::Yellow, spec::Color::White, spec::Color::Gray] {
            assert!(matches!(look(Scheme::Light, Depth::TrueColor).paint(c), Color::Rgb(..)), "{c:?}");
        }
    }
}
