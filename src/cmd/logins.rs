//! (binary) Which login source the flags ask for, and starting its intake
//! with the position the store remembers.
//!
//! Logins are followed only when asked (`--auth-log FILE` or `--journal`):
//! reading the journal starts a child process and may need membership of
//! `adm` or `systemd-journal`, and necromap does nothing on a host unasked.

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use necromap::intel::tail::StartAt;
use necromap::logins::book::LoginBook;
use necromap::logins::intake::{LoginIntake, LoginSource};
use necromap::store::writer::BatchSender;

use crate::cmd::cli::Cli;

/// The journalctl to run (`NECROMAP_JOURNALCTL` names another, for tests).
fn journalctl() -> String {
    std::env::var("NECROMAP_JOURNALCTL").ok().filter(|p| !p.is_empty()).unwrap_or_else(|| "journalctl".into())
}

/// The login source the flags ask for, if any.
pub fn source(cli: &Cli) -> Option<LoginSource> {
    match (&cli.auth_log, cli.journal) {
        (Some(p), _) => Some(LoginSource::File(p.clone())),
        (None, true) => Some(LoginSource::Journal { program: journalctl() }),
        (None, false) => None,
    }
}

/// Start following `source`, from where the store says it stopped.
pub fn start(cli: &Cli, source: LoginSource, book: Arc<Mutex<LoginBook>>, store: Option<&Path>, sender: Option<BatchSender>) -> Result<LoginIntake> {
    if let LoginSource::File(path) = &source {
        necromap::input::open(path, necromap::input::Kind::Followed).context("--auth-log: the file to follow")?;
    }
    let saved = match store {
        Some(p) => necromap::store::query::reader_if_exists(p)?.map(|conn| necromap::store::query::login_position(&conn, &source.key())).transpose()?.flatten(),
        None => None,
    };
    let start = if cli.logins_from_start { StartAt::Beginning } else { StartAt::End };
    LoginIntake::spawn(source, start, saved, book, sender).context("starting the login intake")
}
