//! Our own migration runner (a dozen lines of SQL, no framework): the
//! table `necromap_migrations` lists the versions applied; the missing
//! ones run in order, each in its own transaction, under an advisory
//! lock so two agents starting together do not both migrate.

use tokio_postgres::Client;

use super::FleetError;
use super::schema::{MIGRATIONS, current_version};

/// The advisory lock key: "necromap" in ASCII.
const LOCK: i64 = 0x6e65_6372_6f6d_6170;

/// Bring the database to [`current_version`]; returns the versions applied.
pub async fn migrate(client: &mut Client) -> Result<Vec<i64>, FleetError> {
    client.batch_execute("CREATE TABLE IF NOT EXISTS necromap_migrations (version bigint PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())").await?;
    client.execute("SELECT pg_advisory_lock($1)", &[&LOCK]).await?;
    let result = apply(client).await;
    client.execute("SELECT pg_advisory_unlock($1)", &[&LOCK]).await?;
    result
}

async fn apply(client: &mut Client) -> Result<Vec<i64>, FleetError> {
    let found: i64 = client.query_one("SELECT coalesce(max(version), 0) FROM necromap_migrations", &[]).await?.get(0);
    if found > current_version() {
        return Err(FleetError::TooNew { found, supported: current_version() });
    }
    let mut applied = Vec::new();
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = i as i64 + 1;
        let tx = client.transaction().await?;
        tx.batch_execute(sql).await?;
        tx.execute("INSERT INTO necromap_migrations (version) VALUES ($1)", &[&version]).await?;
        tx.commit().await?;
        applied.push(version);
    }
    Ok(applied)
}

/// The version the database is at (0 before any migration).
pub async fn version(client: &Client) -> Result<i64, FleetError> {
    let exists: bool = client.query_one("SELECT to_regclass('necromap_migrations') IS NOT NULL", &[]).await?.get(0);
    if !exists {
        return Ok(0);
    }
    Ok(client.query_one("SELECT coalesce(max(version), 0) FROM necromap_migrations", &[]).await?.get(0))
}
