//! `sslmode` as libpq understands it, against a real PostgreSQL started
//! here with `ssl=on`, a CA and a server certificate (for `localhost` and
//! 127.0.0.1) made by the test with the `openssl` CLI, and a pg_hba.conf
//! that takes TCP clients over TLS only (`hostssl`). Everything it made
//! (the cluster, the certificates) is removed when the test ends.

#![allow(clippy::doc_markdown)] // "PostgreSQL" is a name, not code

mod common;

use common::pg::Pg;
use necromap::fleet::FleetError;
use necromap::fleet::conn::{connect, parse};

/// Connect with `url` (no environment: no `~/.postgresql/root.crt`) and
/// say whether the session is encrypted, as the server sees it.
async fn session_ssl(url: &str) -> Result<bool, FleetError> {
    let u = parse(url, &|_| None)?;
    let c = connect(&u).await?;
    let row = c.query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).await?;
    Ok(row.get(0))
}

#[tokio::test(flavor = "current_thread")]
async fn sslmode_require_verify_ca_verify_full_and_disable() {
    common::require("openssl");
    let (pg, files) = Pg::start_tls();
    let port = pg.port;
    let url = |host: &str, query: &str| format!("postgres://necromap@{host}:{port}/postgres?{query}");
    let ca = files.ca.display().to_string();
    let other = files.other_ca.display().to_string();

    // require: encrypted, the certificate not checked (no root file).
    assert!(session_ssl(&url("127.0.0.1", "sslmode=require")).await.expect("require"), "pg_stat_ssl says ssl for a require session");
    // prefer (the default): the server offers TLS, so TLS.
    assert!(session_ssl(&url("127.0.0.1", "")).await.expect("prefer"));

    // verify-full with the CA that signed the certificate, by name and by address.
    for host in ["localhost", "127.0.0.1"] {
        let ok = session_ssl(&url(host, &format!("sslmode=verify-full&sslrootcert={ca}"))).await;
        assert!(ok.as_ref().is_ok_and(|s| *s), "verify-full to {host}: {ok:?}");
    }

    // verify-full with another CA: refused, and the message says why and against what.
    let e = session_ssl(&url("localhost", &format!("sslmode=verify-full&sslrootcert={other}"))).await.expect_err("a CA that did not sign it");
    let text = e.to_string();
    assert!(matches!(e, FleetError::TlsRefused { .. }), "{text}");
    assert!(text.contains("sslmode=verify-full") && text.contains("invalid peer certificate") && text.contains(&other), "{text}");
    // require with a root file given is libpq's verify-ca: the same refusal.
    let e = session_ssl(&url("127.0.0.1", &format!("sslmode=require&sslrootcert={other}"))).await.expect_err("require with a root file checks it");
    assert!(matches!(e, FleetError::TlsRefused { .. }), "{e}");

    // The right CA but a name the certificate does not carry (dialled at
    // 127.0.0.1): verify-ca takes it, verify-full does not.
    let pairs = |mode: &str| format!("host=wrong.example hostaddr=127.0.0.1 port={port} user=necromap dbname=postgres sslmode={mode} sslrootcert={ca}");
    assert!(session_ssl(&pairs("verify-ca")).await.expect("verify-ca ignores the name"));
    let e = session_ssl(&pairs("verify-full")).await.expect_err("verify-full checks the name");
    assert!(e.to_string().contains("NotValidForName") || e.to_string().contains("not valid for name"), "{e}");

    // A missing root file: refused before connecting, naming the file.
    let e = parse(&url("localhost", "sslmode=verify-ca&sslrootcert=/nonexistent/necromap-ca.crt"), &|_| None).expect_err("no such file");
    assert!(e.to_string().contains("/nonexistent/necromap-ca.crt") && e.to_string().contains("does not exist"), "{e}");

    // disable against a hostssl-only pg_hba.conf: the server refuses it.
    let e = session_ssl(&url("127.0.0.1", "sslmode=disable")).await.expect_err("hostssl only");
    let text = necromap::text::error_chain(&e);
    assert!(text.contains("no encryption") && text.contains("pg_hba.conf"), "{text}");
}
