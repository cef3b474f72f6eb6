//! The explorer's look from the settings and the terminal: scheme (theme),
//! colour depth (`COLORTERM`, `TERM`) and icons.

use necromap::config::{Config, Icons, ThemeName};
use necromap::tui::theme::{Depth, Look, Scheme};

pub fn of(config: &Config) -> Look {
    let var = |name| std::env::var(name).ok();
    Look {
        scheme: match config.theme.value {
            ThemeName::Dark => Scheme::Dark,
            ThemeName::Light => Scheme::Light,
        },
        depth: Depth::detect(var("COLORTERM").as_deref(), var("TERM").as_deref()),
        ascii_icons: config.icons.value == Icons::Ascii,
    }
}
