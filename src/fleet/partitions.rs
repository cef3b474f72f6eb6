//! Daily partitions of the event tables, and retention by dropping whole
//! days (no DELETE, no vacuum debt). Rows for a day without a partition
//! land in the table's DEFAULT partition, so an insert never fails for
//! want of one; agents create today's and tomorrow's ahead of time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio_postgres::Client;

use super::FleetError;

/// The partitioned tables and their time column.
pub const TABLES: [&str; 3] = ["socket_events", "findings", "alerts"];

const DAY: u64 = 86_400;

/// `YYYYMMDD` of a day number since the epoch (civil from days, Howard Hinnant's algorithm).
pub fn day_name(day: i64) -> String {
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}{m:02}{d:02}")
}

fn day_of(t: SystemTime) -> i64 {
    (t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() / DAY) as i64
}

/// Create the partitions of the days around `now` (yesterday to
/// tomorrow) that are missing. Safe to run from many agents at once (an
/// advisory lock orders them). A day whose rows already sit in the
/// DEFAULT partition cannot be attached; it is left there (still read by
/// every query) and skipped.
pub async fn ensure(client: &mut Client, now: SystemTime) -> Result<(), FleetError> {
    let today = day_of(now);
    for day in today - 1..=today + 1 {
        let name = day_name(day);
        let from = day * DAY as i64;
        let to = from + DAY as i64;
        for table in TABLES {
            let tx = client.transaction().await?;
            tx.execute("SELECT pg_advisory_xact_lock(7220)", &[]).await?;
            let sql = format!("CREATE TABLE IF NOT EXISTS {table}_{name} PARTITION OF {table} FOR VALUES FROM (to_timestamp({from})) TO (to_timestamp({to}))");
            match tx.batch_execute(&sql).await {
                Ok(()) => tx.commit().await?,
                Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::CHECK_VIOLATION) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

/// Drop the day partitions that ended more than `keep` before `now`, and
/// the rollups' hours and days before them; returns the tables dropped.
pub async fn drop_older(client: &Client, now: SystemTime, keep: Duration) -> Result<Vec<String>, FleetError> {
    let cutoff = day_of(now.checked_sub(keep).unwrap_or(UNIX_EPOCH));
    let rows = client
        .query(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent \
             WHERE p.relname = ANY($1) AND c.relname ~ '_[0-9]{8}$'",
            &[&TABLES.to_vec()],
        )
        .await?;
    let cutoff_name = day_name(cutoff);
    let mut dropped = Vec::new();
    for row in rows {
        let name: String = row.get(0);
        let day = name.rsplit('_').next().unwrap_or_default();
        if day < cutoff_name.as_str() {
            client.batch_execute(&format!("DROP TABLE IF EXISTS {name}")).await?;
            dropped.push(name);
        }
    }
    // The rollups (hours and days) keep the same days.
    super::rollup::drop_before(client, UNIX_EPOCH + Duration::from_secs(cutoff.max(0) as u64 * DAY)).await?;
    Ok(dropped)
}

#[cfg(test)]
mod tests {
    use super::day_name;

    #[test]
    fn days_are_named_by_their_date() {
        assert_eq!(day_name(0), "19700101");
        assert_eq!(day_name(19_723), "20240101");
        assert_eq!(day_name(20_513), "20260301");
    }
}
