//! The edge rollups: per UTC hour (`edge_hours`) and per UTC day
//! (`edge_days`), host, direction, address, port, protocol and process
//! name, how many connections opened, when the last did, and its pid.
//! Both are kept by the ingest in the same transaction as the events (so a
//! batch sent twice, skipped by the ledger, is counted once; a batch that
//! arrives late, after an outage, lands in its own hour and day), and read
//! by `fleet_edges` and `who_talks_to` instead of every event of the
//! window: whole days of the window from `edge_days`, the partial hours at
//! its ends from `edge_hours` ([`Span`], [`ROLLED`]), so 30 days are ~30
//! day rows per host-edge plus the hours of the two partial days, not 720
//! hour rows.
//!
//! `outbound` rows are keyed by the remote address (who a host dialled),
//! `inbound` rows by the local one (what a host accepted on). Windows are
//! rounded out to whole hours.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio_postgres::Client;

use super::FleetError;

/// One batch's opened sockets added to both rollups, in one statement.
/// Parameters: $1 host id, then one array per column: $2 at, $3 kind,
/// $4 direction, $5 protocol, $6 local ip, $7 local port, $8 remote ip,
/// $9 remote port, $10 pid, $11 comm.
pub const ADD: &str = "
    WITH u AS (
        SELECT date_trunc('hour', at, 'UTC') AS hour, direction,
               (CASE WHEN direction = 'outbound' THEN rip ELSE lip END)::inet AS ip,
               CASE WHEN direction = 'outbound' THEN rport ELSE lport END AS port,
               proto, coalesce(comm, '') AS comm, count(*) AS n, max(at) AS last_at, (array_agg(pid ORDER BY at DESC))[1] AS pid
          FROM unnest($2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[], $9::int[], $10::int[], $11::text[])
               AS u(at, kind, direction, proto, lip, lport, rip, rport, pid, comm)
         WHERE kind = 'opened' AND direction IN ('outbound', 'inbound')
         GROUP BY 1, 2, 3, 4, 5, 6
    ), hours AS (
        INSERT INTO edge_hours (hour, host_id, direction, ip, port, protocol, comm, n, last_at, pid)
        SELECT hour, $1, direction, ip, port, proto, comm, n, last_at, pid FROM u
        ON CONFLICT (hour, host_id, direction, ip, port, protocol, comm) DO UPDATE SET
            n = edge_hours.n + EXCLUDED.n,
            pid = CASE WHEN EXCLUDED.last_at >= edge_hours.last_at THEN EXCLUDED.pid ELSE edge_hours.pid END,
            last_at = greatest(edge_hours.last_at, EXCLUDED.last_at)
    )
    INSERT INTO edge_days (day, host_id, direction, ip, port, protocol, comm, n, last_at, pid)
    SELECT date_trunc('day', hour, 'UTC'), $1, direction, ip, port, proto, comm, sum(n), max(last_at), (array_agg(pid ORDER BY last_at DESC))[1]
      FROM u GROUP BY 1, 3, 4, 5, 6, 7
    ON CONFLICT (day, host_id, direction, ip, port, protocol, comm) DO UPDATE SET
        n = edge_days.n + EXCLUDED.n,
        pid = CASE WHEN EXCLUDED.last_at >= edge_days.last_at THEN EXCLUDED.pid ELSE edge_days.pid END,
        last_at = greatest(edge_days.last_at, EXCLUDED.last_at)";

const HOUR: u64 = 3600;
const DAY: u64 = 86_400;

/// Which rollup rows a window reads: hours from `hours_from` to
/// `hours_to`, whole days from `days_from` on (today's day row is today so
/// far, so the window's end needs no hours), less the hours from
/// `minus_from` to `minus_to` (their counts taken back out of the first
/// day read). The window's first, partial day is read whichever way
/// touches fewer hour rows: its hours in the window, or its day row less
/// its hours before the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub hours_from: SystemTime,
    pub hours_to: SystemTime,
    pub days_from: SystemTime,
    pub minus_from: SystemTime,
    pub minus_to: SystemTime,
}

impl Span {
    /// The span of the window from `since` to `now`, rounded out to the hour.
    pub fn of(since: SystemTime, now: SystemTime) -> Self {
        let secs = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let at = |s: u64| UNIX_EPOCH + Duration::from_secs(s);
        let first = secs(since) / HOUR * HOUR;
        let day = first / DAY * DAY;
        let next = day + DAY;
        // Hours of the first day in the window, and before it.
        let inside = (next.min(secs(now) / HOUR * HOUR + HOUR).max(first) - first) / HOUR;
        let before = (first - day) / HOUR;
        let none = at(first);
        if before < inside {
            // The first day's row, less its hours before the window (none at midnight).
            Self { hours_from: none, hours_to: none, days_from: at(day), minus_from: at(day), minus_to: at(first) }
        } else {
            Self { hours_from: at(first), hours_to: at(next), days_from: at(next), minus_from: none, minus_to: none }
        }
    }

    /// $1–$5 of [`ROLLED`].
    pub fn params(&self) -> [&(dyn tokio_postgres::types::ToSql + Sync); 5] {
        [&self.hours_from, &self.hours_to, &self.days_from, &self.minus_from, &self.minus_to]
    }

    /// The window of the last `window` up to now.
    pub fn last(window: Duration) -> Self {
        let now = SystemTime::now();
        Self::of(now.checked_sub(window).unwrap_or(UNIX_EPOCH), now)
    }
}

/// `rolled`: the rollup rows of a window as one relation (host_id,
/// direction, ip, port, protocol, comm, n, last_at, pid), for a query's
/// `WITH`; its parameters are $1–$5, the fields of a [`Span`] in order.
/// Rows taken back out have a negative `n` and no `last_at` or `pid`, so
/// a grouping sums `n` (and keeps groups whose sum is above 0) and takes
/// `max(last_at)`. Not materialized, so each use's conditions (direction,
/// address) reach each table's index.
pub const ROLLED: &str = "
    rolled AS NOT MATERIALIZED (
        SELECT host_id, direction, ip, port, protocol, comm, n, last_at, pid FROM edge_hours
         WHERE hour >= $1::timestamptz AND hour < $2::timestamptz
        UNION ALL
        SELECT host_id, direction, ip, port, protocol, comm, n, last_at, pid FROM edge_days
         WHERE day >= $3::timestamptz
        UNION ALL
        SELECT host_id, direction, ip, port, protocol, comm, -n, NULL::timestamptz, NULL::integer FROM edge_hours
         WHERE hour >= $4::timestamptz AND hour < $5::timestamptz
    )";

/// Rebuild both rollups from the start of `since`'s UTC day on out of
/// `socket_events` (after a bulk load that bypassed the ingest, as the
/// benchmark's synthetic history does); returns the hour and day rows
/// written.
pub async fn rebuild(client: &Client, since: SystemTime) -> Result<(u64, u64), FleetError> {
    let day = UNIX_EPOCH + Duration::from_secs(since.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() / DAY * DAY);
    client.execute("DELETE FROM edge_hours WHERE hour >= $1", &[&day]).await?;
    client.execute("DELETE FROM edge_days WHERE day >= $1", &[&day]).await?;
    let hours = client
        .execute(
            "INSERT INTO edge_hours (hour, host_id, direction, ip, port, protocol, comm, n, last_at, pid)
             SELECT date_trunc('hour', at, 'UTC'), host_id, direction,
                    CASE WHEN direction = 'outbound' THEN remote_ip ELSE local_ip END,
                    CASE WHEN direction = 'outbound' THEN remote_port ELSE local_port END,
                    protocol, coalesce(comm, ''), count(*), max(at), (array_agg(pid ORDER BY at DESC))[1]
               FROM socket_events
              WHERE kind = 'opened' AND direction IN ('outbound', 'inbound') AND at >= $1
              GROUP BY 1, 2, 3, 4, 5, 6, 7",
            &[&day],
        )
        .await?;
    let days = client
        .execute(
            "INSERT INTO edge_days (day, host_id, direction, ip, port, protocol, comm, n, last_at, pid)
             SELECT date_trunc('day', hour, 'UTC'), host_id, direction, ip, port, protocol, comm, sum(n), max(last_at), (array_agg(pid ORDER BY last_at DESC))[1]
               FROM edge_hours WHERE hour >= $1
              GROUP BY 1, 2, 3, 4, 5, 6, 7",
            &[&day],
        )
        .await?;
    Ok((hours, days))
}

/// Retention: hours and days before `before` go (the rollups are not
/// partitioned: they are small, a DELETE an hour is cheap).
pub async fn drop_before(client: &Client, before: SystemTime) -> Result<u64, FleetError> {
    let hours = client.execute("DELETE FROM edge_hours WHERE hour < $1", &[&before]).await?;
    let days = client.execute("DELETE FROM edge_days WHERE day < $1", &[&before]).await?;
    Ok(hours + days)
}

#[cfg(test)]
mod tests {
    use super::{DAY, HOUR, Span};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    fn at(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(s)
    }

    #[test]
    fn whole_days_from_the_day_rollup_the_first_day_by_its_fewer_hours() {
        let now = at(100 * DAY + 4 * HOUR + 1_200);
        // Starting at 04:00: the first day's row less its 4 hours before the window.
        let s = Span::of(now - Duration::from_secs(30 * DAY), now);
        assert_eq!(
            s,
            Span {
                hours_from: at(70 * DAY + 4 * HOUR),
                hours_to: at(70 * DAY + 4 * HOUR),
                days_from: at(70 * DAY),
                minus_from: at(70 * DAY),
                minus_to: at(70 * DAY + 4 * HOUR)
            }
        );
        // Starting at 20:00: the first day's 4 hours in the window, whole days after it.
        let s = Span::of(at(97 * DAY + 20 * HOUR + 59), now);
        let h = at(97 * DAY + 20 * HOUR);
        assert_eq!(s, Span { hours_from: h, hours_to: at(98 * DAY), days_from: at(98 * DAY), minus_from: h, minus_to: h });
        // At midnight: whole days only.
        let s = Span::of(at(98 * DAY), now);
        assert_eq!((s.hours_from == s.hours_to, s.days_from, s.minus_from == s.minus_to), (true, at(98 * DAY), true));
        // The last hour (03:00 and 04:00 of today): those hours only.
        let s = Span::of(now - Duration::from_secs(HOUR), now);
        assert_eq!((s.hours_from, s.hours_to, s.days_from), (at(100 * DAY + 3 * HOUR), at(101 * DAY), at(101 * DAY)));
        assert_eq!(s.minus_from, s.minus_to);
        // The last day from 04:00 yesterday: yesterday's row less its 4 hours, and today's.
        let s = Span::of(now - Duration::from_secs(DAY), now);
        assert_eq!((s.days_from, s.minus_from, s.minus_to), (at(99 * DAY), at(99 * DAY), at(99 * DAY + 4 * HOUR)));
    }
}
