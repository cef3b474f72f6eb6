//! The fleet database's tables, versioned like the local store: each
//! migration runs once, in order, in one transaction, and is recorded in
//! `necromap_migrations`. Add a migration at the end; never edit one that
//! shipped.
//!
//! ```text
//!  hosts              one row per agent: name, version, last seen, outbox depth
//!  batches            (host_id, stream, seq): what was applied; a batch sent twice is skipped
//!  socket_events      opened/closed sockets with owners        ┐ partitioned by day on `at`;
//!  findings           first/last seen per host and finding id  │ retention drops whole days
//!  alerts             Suricata alerts                          ┘ (see `partitions`)
//!  current_sockets    each host's open sockets now (small: replaced as they open and close)
//!  current_processes  the owners of those sockets
//!  host_addresses     the addresses each host's sockets are bound to (edges to wildcard listeners)
//!  edge_hours         (2) connections opened per hour, host, direction, address, port, process name:
//!                     what fleet_edges and who_talks_to read at a window's partial ends (see `rollup`)
//!  edge_days          (3) the same per UTC day: what they read for a window's whole days
//! ```

/// Every migration, in order; the schema version is their count.
pub const MIGRATIONS: &[&str] = &[
    // 1: hosts, the batch ledger, the event tables by day, the current state.
    r"
    CREATE TABLE hosts (
        host_id        text PRIMARY KEY,
        name           text NOT NULL,
        agent_version  text NOT NULL,
        labels         jsonb NOT NULL DEFAULT '{}',
        first_seen     timestamptz NOT NULL,
        last_seen      timestamptz NOT NULL,
        outbox_depth   integer NOT NULL DEFAULT 0,
        dropped        bigint NOT NULL DEFAULT 0,
        health         text
    );

    CREATE TABLE batches (
        host_id  text NOT NULL,
        stream   bigint NOT NULL,
        seq      bigint NOT NULL,
        at       timestamptz NOT NULL,
        received timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (host_id, stream, seq)
    );
    CREATE INDEX batches_received ON batches (received);

    CREATE TABLE socket_events (
        host_id        text NOT NULL,
        at             timestamptz NOT NULL,
        kind           text NOT NULL CHECK (kind IN ('opened', 'closed')),
        socket_id      text NOT NULL,
        protocol       text NOT NULL,
        state          text NOT NULL,
        direction      text NOT NULL,
        local_ip       inet NOT NULL,
        local_port     integer NOT NULL,
        remote_ip      inet NOT NULL,
        remote_port    integer NOT NULL,
        pid            integer,
        comm           text,
        exe            text,
        uid            integer,
        netns          bigint,
        bytes_sent     bigint,
        bytes_received bigint
    ) PARTITION BY RANGE (at);
    CREATE INDEX socket_events_remote ON socket_events (remote_ip, remote_port, at);
    CREATE INDEX socket_events_host ON socket_events (host_id, at);
    CREATE TABLE socket_events_default PARTITION OF socket_events DEFAULT;

    CREATE TABLE findings (
        host_id     text NOT NULL,
        finding_id  text NOT NULL,
        first_seen  timestamptz NOT NULL,
        last_seen   timestamptz NOT NULL,
        rule_id     text NOT NULL,
        rule_name   text NOT NULL,
        severity    smallint NOT NULL,
        tags        text[] NOT NULL,
        subject     text NOT NULL,
        pid         integer,
        endpoint    inet,
        PRIMARY KEY (host_id, finding_id, first_seen)
    ) PARTITION BY RANGE (first_seen);
    CREATE INDEX findings_last_seen ON findings (last_seen, severity);
    CREATE INDEX findings_endpoint ON findings (endpoint, last_seen);
    CREATE TABLE findings_default PARTITION OF findings DEFAULT;

    CREATE TABLE alerts (
        host_id      text NOT NULL,
        at           timestamptz NOT NULL,
        remote_ip    inet NOT NULL,
        src_ip       inet NOT NULL,
        src_port     integer,
        dest_ip      inet NOT NULL,
        dest_port    integer,
        proto        text NOT NULL,
        signature_id bigint NOT NULL,
        signature    text NOT NULL,
        category     text NOT NULL,
        severity     smallint NOT NULL
    ) PARTITION BY RANGE (at);
    CREATE INDEX alerts_remote ON alerts (remote_ip, at);
    CREATE TABLE alerts_default PARTITION OF alerts DEFAULT;

    CREATE TABLE current_sockets (
        host_id     text NOT NULL,
        socket_id   text NOT NULL,
        protocol    text NOT NULL,
        state       text NOT NULL,
        direction   text NOT NULL,
        local_ip    inet NOT NULL,
        local_port  integer NOT NULL,
        remote_ip   inet NOT NULL,
        remote_port integer NOT NULL,
        pid         integer,
        comm        text,
        netns       bigint,
        since       timestamptz NOT NULL,
        PRIMARY KEY (host_id, socket_id)
    );
    CREATE INDEX current_sockets_local ON current_sockets (local_port, local_ip);
    CREATE INDEX current_sockets_remote ON current_sockets (remote_ip, remote_port);

    CREATE TABLE current_processes (
        host_id  text NOT NULL,
        pid      integer NOT NULL,
        ppid     integer NOT NULL,
        name     text NOT NULL,
        cmdline  text NOT NULL,
        exe      text,
        uid      integer NOT NULL,
        username text,
        workload text,
        PRIMARY KEY (host_id, pid)
    );

    CREATE TABLE host_addresses (
        host_id text NOT NULL,
        ip      inet NOT NULL,
        seen    timestamptz NOT NULL,
        PRIMARY KEY (host_id, ip)
    );
    CREATE INDEX host_addresses_ip ON host_addresses (ip);
    ",
    // 2: the hourly edge rollup, filled from the events already stored.
    r"
    CREATE TABLE edge_hours (
        hour      timestamptz NOT NULL,
        host_id   text NOT NULL,
        direction text NOT NULL CHECK (direction IN ('outbound', 'inbound')),
        ip        inet NOT NULL,
        port      integer NOT NULL,
        protocol  text NOT NULL,
        comm      text NOT NULL,
        n         bigint NOT NULL,
        last_at   timestamptz NOT NULL,
        pid       integer,
        PRIMARY KEY (hour, host_id, direction, ip, port, protocol, comm)
    );
    CREATE INDEX edge_hours_address ON edge_hours (ip, port, hour);
    INSERT INTO edge_hours (hour, host_id, direction, ip, port, protocol, comm, n, last_at, pid)
    SELECT date_trunc('hour', at, 'UTC'), host_id, direction,
           CASE WHEN direction = 'outbound' THEN remote_ip ELSE local_ip END,
           CASE WHEN direction = 'outbound' THEN remote_port ELSE local_port END,
           protocol, coalesce(comm, ''), count(*), max(at), (array_agg(pid ORDER BY at DESC))[1]
      FROM socket_events
     WHERE kind = 'opened' AND direction IN ('outbound', 'inbound')
     GROUP BY 1, 2, 3, 4, 5, 6, 7;
    ",
    // 3: the daily edge rollup, filled from the hourly one.
    r"
    CREATE TABLE edge_days (
        day       timestamptz NOT NULL,
        host_id   text NOT NULL,
        direction text NOT NULL CHECK (direction IN ('outbound', 'inbound')),
        ip        inet NOT NULL,
        port      integer NOT NULL,
        protocol  text NOT NULL,
        comm      text NOT NULL,
        n         bigint NOT NULL,
        last_at   timestamptz NOT NULL,
        pid       integer,
        PRIMARY KEY (day, host_id, direction, ip, port, protocol, comm)
    );
    CREATE INDEX edge_days_address ON edge_days (ip, port, day);
    INSERT INTO edge_days (day, host_id, direction, ip, port, protocol, comm, n, last_at, pid)
    SELECT date_trunc('day', hour, 'UTC'), host_id, direction, ip, port, protocol, comm, sum(n), max(last_at),
           (array_agg(pid ORDER BY last_at DESC))[1]
      FROM edge_hours
     GROUP BY 1, 2, 3, 4, 5, 6, 7;
    ",
];

/// The schema version this build writes.
pub fn current_version() -> i64 {
    MIGRATIONS.len() as i64
}
