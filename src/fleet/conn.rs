//! Where the fleet database is and how to log in, as libpq reads it: a
//! `postgres://user:password@host:port/db?sslmode=…&sslrootcert=…` URL (or
//! `key=value` pairs), then the `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`,
//! `PGDATABASE`, `PGSSLMODE`, `PGSSLROOTCERT` variables for what the URL
//! leaves out, then the password file (`PGPASSFILE`, else `~/.pgpass`, used
//! only when it is not readable by group or others, as libpq does).
//!
//! `sslmode` is libpq's (see [`super::tls`]): `disable` plain text;
//! `allow` and `prefer` TLS when the server offers it, else plain text;
//! `require` TLS without checking the certificate (unless a root
//! certificate file exists: then as `verify-ca`); `verify-ca` the chain to
//! a CA of `sslrootcert` (default `~/.postgresql/root.crt`); `verify-full`
//! also the host name. A Unix socket never uses TLS.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::config::Host;

use super::FleetError;
use super::tls::RootCert;

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
    /// Where the CA certificates for `verify-ca`/`verify-full` come from.
    pub root_cert: RootCert,
    /// The TLS settings; none for `disable` and for a Unix socket.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// For messages: the address with the password left out.
    pub display: String,
}

/// Reads one environment variable (tests pass their own).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Take `key=VALUE` out of a URL's query or out of `key=value` text:
/// the text without it, and the value (percent-decoded in a URL, unquoted
/// in `key=value` text).
fn take_param(text: &str, key: &str) -> (String, Option<String>) {
    let mut value = None;
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        let Some((base, query)) = text.split_once('?') else { return (text.to_string(), None) };
        let kept: Vec<&str> = query
            .split('&')
            .filter(|p| match p.split_once('=') {
                Some((k, v)) if k == key => {
                    value = Some(percent_decode(v));
                    false
                }
                _ => true,
            })
            .collect();
        let text = if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) };
        return (text, value);
    }
    let kept: Vec<&str> = text
        .split_whitespace()
        .filter(|p| match p.split_once('=') {
            Some((k, v)) if k.trim() == key => {
                value = Some(v.trim_matches('\'').to_string());
                false
            }
            _ => true,
        })
        .collect();
    (kept.join(" "), value)
}

/// `%2F` and the like undone (invalid escapes are kept as they are).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parse `url` with the environment and password file filling the gaps.
pub fn parse(url: &str, env: Env<'_>) -> Result<FleetUrl, FleetError> {
    let url = url.trim();
    if url.is_empty() {
        return Err(FleetError::Url("empty: give postgres://USER@HOST:PORT/DB".into()));
    }
    // tokio-postgres knows disable/prefer/require and no sslrootcert: both
    // are taken out here and applied below.
    let (text, mode) = take_param(url, "sslmode");
    let (text, root) = take_param(&text, "sslrootcert");
    let ssl = match mode.or_else(|| env("PGSSLMODE")) {
        Some(m) => SslMode::parse(&m)?,
        None => SslMode::Prefer,
    };
    let root_cert = match root.or_else(|| env("PGSSLROOTCERT")) {
        Some(p) => RootCert::Given(PathBuf::from(p)),
        None => env("HOME").map_or(RootCert::Unknown, |h| RootCert::Default(PathBuf::from(h).join(".postgresql").join("root.crt"))),
    };
    let mut config = tokio_postgres::Config::from_str(&text).map_err(|e| FleetError::Url(format!("{e}: expected postgres://USER@HOST:PORT/DB")))?;
    fill_from_env(&mut config, env)?;
    // libpq ignores sslmode for a Unix socket (the server offers no TLS there).
    let unix_only = config.get_hosts().iter().all(|h| matches!(h, Host::Unix(_)));
    let tls = if unix_only { None } else { super::tls::client_config(ssl, &root_cert)? };
    config.ssl_mode(match (ssl, &tls) {
        (_, None) | (SslMode::Disable, _) => tokio_postgres::config::SslMode::Disable,
        (SslMode::Allow | SslMode::Prefer, Some(_)) => tokio_postgres::config::SslMode::Prefer,
        (SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull, Some(_)) => tokio_postgres::config::SslMode::Require,
    });
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
    Ok(FleetUrl { config, ssl, root_cert, tls, display })
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

/// Connect (over TLS as `sslmode` says); the connection task runs on the
/// current runtime and ends when the client is dropped. A certificate the
/// TLS layer refused is said plainly, with the root file it was checked
/// against.
pub async fn connect(url: &FleetUrl) -> Result<tokio_postgres::Client, FleetError> {
    let refused = |e: tokio_postgres::Error| match super::tls::tls_cause(&e) {
        Some(why) => FleetError::TlsRefused { mode: url.ssl.as_str(), server: url.display.clone(), why, roots: roots_note(url) },
        None => FleetError::Pg(e),
    };
    match &url.tls {
        None => {
            let (client, connection) = url.config.connect(tokio_postgres::NoTls).await?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            Ok(client)
        }
        Some(tls) => {
            let (client, connection) = url.config.connect(tokio_postgres_rustls::MakeRustlsConnect::new((**tls).clone())).await.map_err(refused)?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            Ok(client)
        }
    }
}

/// What the server's certificate was checked against, for a refusal.
fn roots_note(url: &FleetUrl) -> String {
    let file = match &url.root_cert {
        RootCert::Given(p) | RootCert::Default(p) => p.display().to_string(),
        RootCert::Unknown => "none".into(),
    };
    match url.ssl {
        SslMode::VerifyFull => format!("the certificate must be signed by a CA in {file} and name the host dialled"),
        SslMode::VerifyCa | SslMode::Require => format!("the certificate must be signed by a CA in {file}"),
        SslMode::Disable | SslMode::Allow | SslMode::Prefer => "the certificate is not checked in this mode; the handshake itself failed".into(),
    }
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
    fn sslmode_and_sslrootcert_are_read_from_the_url_the_pairs_and_the_environment() {
        let u = parse("postgres://u@h/db?sslmode=require&application_name=x", &none).expect("require");
        assert_eq!(u.ssl, SslMode::Require);
        assert!(u.tls.is_some());
        assert_eq!(u.config.get_ssl_mode(), tokio_postgres::config::SslMode::Require);
        let e = parse("postgres://u@h/db?sslmode=verify-full&sslrootcert=%2Fnonexistent%2Fca.pem", &none).expect_err("no such root file");
        assert!(e.to_string().contains("/nonexistent/ca.pem") && e.to_string().contains("does not exist"), "{e}");
        let e = parse("host=h user=u sslmode=verify-ca sslrootcert='/nonexistent/ca2.pem'", &none).expect_err("no such root file");
        assert!(e.to_string().contains("/nonexistent/ca2.pem"), "{e}");
        let e = parse("postgres://u@h/db?sslmode=sometimes", &none).expect_err("unknown");
        assert!(e.to_string().contains("expected disable, allow, prefer"), "{e}");
        let env = |k: &str| match k {
            "PGSSLMODE" => Some("verify-full".to_string()),
            "PGSSLROOTCERT" => Some("/nonexistent/env-root.crt".to_string()),
            _ => None,
        };
        let e = parse("postgres://u@h/db", &env).expect_err("the environment's root file");
        assert!(e.to_string().contains("/nonexistent/env-root.crt"), "{e}");
        let u = parse("postgres://u@h/db?sslmode=allow", &none).expect("allow");
        assert_eq!((u.ssl, u.config.get_ssl_mode()), (SslMode::Allow, tokio_postgres::config::SslMode::Prefer));
        let u = parse("postgres://u@h/db", &none).expect("default");
        assert_eq!(u.ssl, SslMode::Prefer);
        let u = parse("postgres://u@h/db?sslmode=disable", &none).expect("disable");
        assert!(u.tls.is_none());
        assert_eq!(u.config.get_ssl_mode(), tokio_postgres::config::SslMode::Disable);
        // A Unix socket: no TLS whatever the mode, as libpq.
        let u = parse("postgres://u@%2Frun%2Fpostgresql/db?sslmode=require", &none).expect("socket");
        assert!(u.tls.is_none());
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
