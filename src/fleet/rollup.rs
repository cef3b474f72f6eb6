//! The hourly edge rollup (`edge_hours`): per UTC hour, host, direction,
//! address, port, protocol and process name, how many connections opened,
//! when the last did, and its pid. Kept by the ingest in the same
//! transaction as the events (so a batch sent twice, skipped by the
//! ledger, is counted once), read by `fleet_edges` and `who_talks_to`
//! instead of every event of the window: a window is a few thousand
//! rollup rows an hour, not a million events.
//!
//! `outbound` rows are keyed by the remote address (who a host dialled),
//! `inbound` rows by the local one (what a host accepted on). Windows are
//! rounded out to whole hours.

use std::time::SystemTime;

use tokio_postgres::Client;

use super::FleetError;

/// One batch's opened sockets added to the rollup. Parameters: $1 host id,
/// then one array per column: $2 at, $3 kind, $4 direction, $5 protocol,
/// $6 local ip, $7 local port, $8 remote ip, $9 remote port, $10 pid,
/// $11 comm.
pub const ADD: &str = "
    INSERT INTO edge_hours (hour, host_id, direction, ip, port, protocol, comm, n, last_at, pid)
    SELECT date_trunc('hour', at, 'UTC'), $1, direction,
           (CASE WHEN direction = 'outbound' THEN rip ELSE lip END)::inet,
           CASE WHEN direction = 'outbound' THEN rport ELSE lport END,
           proto, coalesce(comm, ''), count(*), max(at), (array_agg(pid ORDER BY at DESC))[1]
      FROM unnest($2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[], $9::int[], $10::int[], $11::text[])
           AS u(at, kind, direction, proto, lip, lport, rip, rport, pid, comm)
     WHERE kind = 'opened' AND direction IN ('outbound', 'inbound')
     GROUP BY 1, 3, 4, 5, 6, 7
    ON CONFLICT (hour, host_id, direction, ip, port, protocol, comm) DO UPDATE SET
        n = edge_hours.n + EXCLUDED.n,
        pid = CASE WHEN EXCLUDED.last_at >= edge_hours.last_at THEN EXCLUDED.pid ELSE edge_hours.pid END,
        last_at = greatest(edge_hours.last_at, EXCLUDED.last_at)";

/// Rebuild the rollup's hours from `since` on out of `socket_events`
/// (after a bulk load that bypassed the ingest, as the benchmark's
/// synthetic history does); returns the rows written.
pub async fn rebuild(client: &Client, since: SystemTime) -> Result<u64, FleetError> {
    client.execute("DELETE FROM edge_hours WHERE hour >= date_trunc('hour', $1::timestamptz, 'UTC')", &[&since]).await?;
    let n = client
        .execute(
            "INSERT INTO edge_hours (hour, host_id, direction, ip, port, protocol, comm, n, last_at, pid)
             SELECT date_trunc('hour', at, 'UTC'), host_id, direction,
                    CASE WHEN direction = 'outbound' THEN remote_ip ELSE local_ip END,
                    CASE WHEN direction = 'outbound' THEN remote_port ELSE local_port END,
                    protocol, coalesce(comm, ''), count(*), max(at), (array_agg(pid ORDER BY at DESC))[1]
               FROM socket_events
              WHERE kind = 'opened' AND direction IN ('outbound', 'inbound') AND at >= date_trunc('hour', $1::timestamptz, 'UTC')
              GROUP BY 1, 2, 3, 4, 5, 6, 7",
            &[&since],
        )
        .await?;
    Ok(n)
}

/// Retention: hours before `before` go (the rollup is not partitioned: it
/// is small, a DELETE an hour is cheap).
pub async fn drop_before(client: &Client, before: SystemTime) -> Result<u64, FleetError> {
    Ok(client.execute("DELETE FROM edge_hours WHERE hour < $1", &[&before]).await?)
}
