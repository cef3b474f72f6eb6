//! necromap's settings: defaults < the config file < `NECROMAP_*`
//! variables < flags, each layer over the one before, every value kept
//! with where it came from (`necromap config print`). Knows no front end:
//! the binary maps the values onto its options.

pub mod env;
pub mod file;
pub mod keys;
pub mod print;
pub mod values;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use values::{Icons, ThemeName};

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    File(PathBuf),
    Env(&'static str),
    Flag(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File(path) => write!(f, "file {}", path.display()),
            Origin::Env(var) => write!(f, "env {var}"),
            Origin::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

/// One setting's value and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting<T> {
    pub value: T,
    pub origin: Origin,
}

impl<T> Setting<T> {
    fn default(value: T) -> Self {
        Self { value, origin: Origin::Default }
    }

    /// Put `value` over what is there.
    pub fn set(&mut self, value: T, origin: Origin) {
        *self = Self { value, origin };
    }
}

/// The default MCP address of `--serve-mcp` and `--mcp --http`.
pub const DEFAULT_MCP_ADDRESS: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 7878);
/// How long stored events are kept by default.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 86_400);

/// The effective settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file read, if any (the default place when it exists, or `--config`).
    pub file: Option<PathBuf>,
    /// Refresh interval; `None`: 1s live, a replay's own pace.
    pub interval: Setting<Option<Duration>>,
    /// The spec view the explorer starts in; `None`: the spec's first.
    pub view: Setting<Option<String>>,
    pub theme: Setting<ThemeName>,
    pub icons: Setting<Icons>,
    /// Names for addresses (DNS answers, PTR lookups, /etc/hosts).
    pub resolve: Setting<bool>,
    /// The event store; `None`: the data directory's `events.db`.
    pub store_path: Setting<Option<PathBuf>>,
    pub retention: Setting<Duration>,
    /// Where `--serve-mcp` and `--mcp --http` listen when given no address.
    pub mcp_address: Setting<SocketAddr>,
    /// Ring the terminal bell when a new critical or high finding arrives.
    pub bell: Setting<bool>,
    /// The explorer's actions rebound (`[keys]`): (action name, keys).
    pub keys: Setting<Vec<(String, Vec<keys::KeyChord>)>>,
    /// The fleet's database URL (`agent`, `fleet`); `None`: no fleet.
    pub fleet: Setting<Option<String>>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            file: None,
            interval: Setting::default(None),
            view: Setting::default(None),
            theme: Setting::default(ThemeName::Dark),
            icons: Setting::default(Icons::Emoji),
            resolve: Setting::default(true),
            store_path: Setting::default(None),
            retention: Setting::default(DEFAULT_RETENTION),
            mcp_address: Setting::default(DEFAULT_MCP_ADDRESS),
            bell: Setting::default(true),
            keys: Setting::default(Vec::new()),
            fleet: Setting::default(None),
        }
    }
}

/// A setting that could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Input(#[from] crate::input::InputError),
    #[error("{file}:{line}: `{key}`: {message}")]
    Invalid { file: String, line: usize, key: String, message: String },
    #[error("{file}:{line}: {message}")]
    Syntax { file: String, line: usize, message: String },
    #[error("{var}: {message}")]
    Env { var: &'static str, message: String },
}

/// `$XDG_CONFIG_HOME/necromap/config.toml`, else `~/.config/necromap/config.toml`;
/// `None` when neither variable is set.
pub fn default_path() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(std::env::var_os("HOME").filter(|v| !v.is_empty())?).join(".config"),
    };
    Some(base.join("necromap").join("config.toml"))
}

impl Config {
    /// Defaults, then the file (`explicit`, which must exist, or the default
    /// place when there is a file there), then the environment (`var`
    /// reads one variable). Flags go on top, set by the caller.
    pub fn load(explicit: Option<&std::path::Path>, var: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut config = Config::default();
        let path = match explicit {
            Some(p) => Some(p.to_path_buf()),
            None => default_path().filter(|p| p.exists()),
        };
        if let Some(path) = path {
            let text = crate::input::read_text(&path, crate::input::Kind::Config)?;
            file::apply(&mut config, &text, &path)?;
            config.file = Some(path);
        }
        env::apply(&mut config, var)?;
        Ok(config)
    }
}
