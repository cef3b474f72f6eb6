//! Where the fleet database is and how to log in, as libpq reads it: a
//! `postgres://user:password@host:port/db?sslmode=…` URL (or `key=value`
//! pairs), then the `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`,
//! `PGDATABASE`, `PGSSLMODE` variables for what the URL leaves out, then
//! the password file (`PGPASSFILE`, else `~/.pgpass`, used only when it is
//! not readable by group or others, as libpq does).
//!
//! `sslmode`: this build carries no TLS library, so `disable`, `allow` and
//! `prefer` connect in plain text (libpq's `prefer` does the same when the
//! server offers no TLS), and `require`, `verify-ca`, `verify-full` are
//! refused with a message instead of silently sending the password in the
//! clear. Reach a remote PostgreSQL through a Unix socket, a VPN or a TLS
//! tunnel until then.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use tokio_postgres::config::Host;

use super::FleetError;

/// libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn parse(text: &str) -> Result<Self, FleetError> {
        Ok(match text {
            "disable" => Self::Disable,
            "allow" => Self::Allow,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            other => {
                return Err(FleetError::Url(format!(
                    "sslmode `{}`: expected disable, allow, prefer, require, verify-ca or verify-full",
                    crate::text::bounded(other, 40)
                )));
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Allow => "allow",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }
}

/// A parsed fleet address, ready to connect.
#[derive(Debug, Clone)]
pub struct FleetUrl {
    pub config: tokio_postgres::Config,
    pub ssl: SslMode,
    /// For messages: the address with the password left out.
    pub display: String,
}

/// Reads one environment variable (tests pass their own).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// `sslmode=VALUE` in a URL query or in `key=value` text.
fn sslmode_in(text: &str) -> Option<&str> {
    let at = text.find("sslmode=")?;
    let rest = &text[at + "sslmode=".len()..];
    let end = rest.find(|c: char| c == '&' || c.is_whitespace()).unwrap_or(rest.len());
    Some(&rest[..end])
}

/// Parse `url` with the environment and password file filling the gaps.
pub fn parse(url: &str, env: Env<'_>) -> Result<FleetUrl, FleetError> {
    let url = url.trim();
    if url.is_empty() {
        return Err(FleetError::Url("empty: give postgres://USER@HOST:PORT/DB".into()));
    }
    let ssl = match sslmode_in(url) {
        Some(m) => SslMode::parse(m)?,
        None => match env("PGSSLMODE") {
            Some(m) => SslMode::parse(&m)?,
            None => SslMode::Prefer,
        },
    };
    match ssl {
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
            return Err(FleetError::Tls {
                mode: ssl.as_str().into(),
                why: "this necromap has no TLS support built in, and will not send the password in the clear: use sslmode=disable or prefer over a Unix socket, a VPN or a TLS tunnel",
            });
        }
        SslMode::Disable | SslMode::Allow | SslMode::Prefer => {}
    }
    // tokio-postgres knows disable/prefer/require only; the plain-text
    // modes are all the same without TLS.
    let text = match sslmode_in(url) {
        Some(m) => url.replacen(&format!("sslmode={m}"), "sslmode=disable", 1),
        None => url.to_string(),
    };
    let mut config = tokio_postgres::Config::from_str(&text).map_err(|e| FleetError::Url(format!("{e}: expected postgres://USER@HOST:PORT/DB")))?;
    config.ssl_mode(tokio_postgres::config::SslMode::Disable);
    fill_from_env(&mut config, env)?;
    if config.get_password().is_none()
        && let Some(file) = passfile(env)
        && let Some(password) = lookup_passfile(&file, &config)
    {
        config.password(password);
    }
    config.application_name("necromap");
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(5));
    }
    let display = describe(&config);
    Ok(FleetUrl { config, ssl, display })
}

fn fill_from_env(config: &mut tokio_postgres::Config, env: Env<'_>) -> Result<(), FleetError> {
    if config.get_hosts().is_empty() {
        match env("PGHOST") {
            Some(h) => {
                for host in h.split(',') {
                    config.host(host);
                }
            }
            None => {
                config.host("localhost");
            }
        }
    }
    if config.get_ports().is_empty()
        && let Some(p) = env("PGPORT")
    {
        let port: u16 = p.parse().map_err(|_| FleetError::Url(format!("PGPORT `{}`: not a port", crate::text::bounded(&p, 20))))?;
        config.port(port);
    }
    if config.get_user().is_none() {
        let user = env("PGUSER").or_else(|| env("USER")).unwrap_or_else(|| "postgres".into());
        config.user(&user);
    }
    if config.get_password().is_none()
        && let Some(p) = env("PGPASSWORD")
    {
        config.password(p);
    }
    if config.get_dbname().is_none()
        && let Some(d) = env("PGDATABASE")
    {
        config.dbname(&d);
    }
    Ok(())
}

/// `PGPASSFILE`, else `~/.pgpass`.
fn passfile(env: Env<'_>) -> Option<PathBuf> {
    env("PGPASSFILE").map(PathBuf::from).or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".pgpass")))
}

/// The first host as libpq matches it in the password file: a Unix socket
/// directory counts as `localhost`.
fn host_text(config: &tokio_postgres::Config) -> String {
    match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        _ => "localhost".into(),
    }
}

/// The password for this host, port, database and user from a password
/// file (`hostname:port:database:username:password`, `*` matches anything,
/// `\:` and `\\` escape). Ignored when group or others can read it.
pub fn lookup_passfile(path: &Path, config: &tokio_postgres::Config) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.permissions().mode() & 0o077 != 0 {
        return None;
    }
    let text = crate::input::read_text(path, crate::input::Kind::Config).ok()?;
    let host = host_text(config);
    let port = config.get_ports().first().copied().unwrap_or(5432).to_string();
    let user = config.get_user().unwrap_or_default().to_string();
    let db = config.get_dbname().map_or_else(|| user.clone(), str::to_string);
    let wanted = [host.as_str(), port.as_str(), db.as_str(), user.as_str()];
    text.lines().filter(|l| !l.trim_start().starts_with('#')).find_map(|line| {
        let fields = split_pgpass(line);
        if fields.len() != 5 {
            return None;
        }
        let matches = fields.iter().zip(wanted).all(|(f, w)| f == "*" || f == w);
        matches.then(|| fields[4].clone())
    })
}

/// One password-file line into its fields, with escapes undone.
fn split_pgpass(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next()
                    && let Some(last) = fields.last_mut()
                {
                    last.push(n);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => {
                if let Some(last) = fields.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    fields
}

/// `user@host:port/db`, never the password.
pub fn describe(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or_default();
    let db = config.get_dbname().unwrap_or(user);
    crate::text::escape_control(&crate::text::bounded(&format!("postgres://{user}@{host}:{port}/{db}"), 200))
}

/// Connect; the connection task runs on the current runtime and ends when
/// the client is dropped.
pub async fn connect(url: &FleetUrl) -> Result<tokio_postgres::Client, FleetError> {
    let (client, connection) = url.config.connect(tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn a_url_gives_its_parts_and_hides_the_password() {
        let u = parse("postgres://necro:s3cret@db.example:6543/fleet?sslmode=disable", &none).expect("valid");
        assert_eq!(u.ssl, SslMode::Disable);
        assert_eq!(u.config.get_password(), Some(&b"s3cret"[..]));
        assert_eq!(u.display, "postgres://necro@db.example:6543/fleet");
        assert!(!u.display.contains("s3cret"));
    }

    #[test]
    fn require_and_verify_are_refused_plainly() {
        for mode in ["require", "verify-ca", "verify-full"] {
            let e = parse(&format!("postgres://u@h/db?sslmode={mode}"), &none).expect_err("no TLS here");
            assert!(e.to_string().contains("no TLS support"), "{e}");
        }
        let e = parse("postgres://u@h/db?sslmode=sometimes", &none).expect_err("unknown");
        assert!(e.to_string().contains("expected disable, allow, prefer"), "{e}");
        let env = |k: &str| (k == "PGSSLMODE").then(|| "require".to_string());
        assert!(parse("postgres://u@h/db", &env).is_err());
        assert_eq!(parse("postgres://u@h/db?sslmode=allow", &none).expect("allow").ssl, SslMode::Allow);
        assert_eq!(parse("postgres://u@h/db", &none).expect("default").ssl, SslMode::Prefer);
    }

    #[test]
    fn the_environment_fills_what_the_url_leaves_out() {
        let env = |k: &str| match k {
            "PGHOST" => Some("10.0.0.5".to_string()),
            "PGPORT" => Some("5433".to_string()),
            "PGUSER" => Some("agent".to_string()),
            "PGPASSWORD" => Some("pw".to_string()),
            "PGDATABASE" => Some("necro".to_string()),
            _ => None,
        };
        let u = parse("postgres://", &env).expect("valid");
        assert_eq!(u.display, "postgres://agent@10.0.0.5:5433/necro");
        assert_eq!(u.config.get_password(), Some(&b"pw"[..]));
        // The URL wins over the environment.
        let u = parse("postgres://other@h:1/d", &env).expect("valid");
        assert_eq!(u.display, "postgres://other@h:1/d");
    }

    #[test]
    fn the_password_file_is_read_when_private_and_matching() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("pgpass");
        std::fs::write(&file, "# comment\nother:*:*:*:nope\nh:5432:fleet:agent:pa\\:ss\n*:*:*:*:fallback\n").expect("write");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let path = file.display().to_string();
        let env = move |k: &str| (k == "PGPASSFILE").then(|| path.clone());
        let u = parse("postgres://agent@h/fleet", &env).expect("valid");
        assert_eq!(u.config.get_password(), Some(&b"pa:ss"[..]));
        let u = parse("postgres://agent@elsewhere/fleet", &env).expect("valid");
        assert_eq!(u.config.get_password(), Some(&b"fallback"[..]));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let u = parse("postgres://agent@h/fleet", &env).expect("valid");
        assert_eq!(u.config.get_password(), None, "a file others can read is ignored, as libpq does");
    }
}
