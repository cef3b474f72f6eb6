//! The store's tables, versioned: `PRAGMA user_version` says which
//! migrations ran; each migration runs once, in a transaction, in order.
//! Add a migration at the end; never edit one that shipped.

/// Every migration, in order; the schema version is their count.
pub const MIGRATIONS: &[&str] = &[
    // 1: findings, socket events, alerts, eve offsets, baselines, responses.
    r"
    CREATE TABLE findings (
        id            TEXT PRIMARY KEY,
        rule_id       TEXT NOT NULL,
        rule_name     TEXT NOT NULL,
        severity      INTEGER NOT NULL,          -- 0 info .. 4 critical
        tags          TEXT NOT NULL,             -- comma-separated
        subject_kind  TEXT NOT NULL,             -- socket | endpoint | process
        socket_id     TEXT,
        pid           INTEGER,
        exe           TEXT,
        endpoint      TEXT,                      -- remote IP when the finding has one
        first_seen_ms INTEGER NOT NULL,
        last_seen_ms  INTEGER NOT NULL,
        count         INTEGER NOT NULL           -- refreshes it was seen in
    );
    CREATE INDEX findings_last_seen ON findings(last_seen_ms);
    CREATE INDEX findings_endpoint ON findings(endpoint, last_seen_ms);

    CREATE TABLE socket_events (
        id             INTEGER PRIMARY KEY,
        at_ms          INTEGER NOT NULL,
        kind           TEXT NOT NULL CHECK (kind IN ('seen', 'opened', 'closed')),
        socket_id      TEXT NOT NULL,
        protocol       TEXT NOT NULL,
        state          TEXT NOT NULL,
        direction      TEXT NOT NULL,
        local_ip       TEXT NOT NULL,
        local_port     INTEGER NOT NULL,
        remote_ip      TEXT NOT NULL,
        remote_port    INTEGER NOT NULL,
        pid            INTEGER,
        comm           TEXT,
        exe            TEXT,
        uid            INTEGER NOT NULL,
        bytes_sent     INTEGER,
        bytes_received INTEGER,
        duration_ms    INTEGER
    );
    CREATE INDEX socket_events_remote ON socket_events(remote_ip, at_ms);
    CREATE INDEX socket_events_at ON socket_events(at_ms);

    CREATE TABLE alerts (
        id           INTEGER PRIMARY KEY,
        at_ms        INTEGER NOT NULL,
        remote_ip    TEXT NOT NULL,              -- the remote party, attributed
        local_ip     TEXT,
        src_ip       TEXT NOT NULL,
        src_port     INTEGER,
        dest_ip      TEXT NOT NULL,
        dest_port    INTEGER,
        proto        TEXT NOT NULL,
        direction    TEXT,
        flow_id      INTEGER,
        signature_id INTEGER NOT NULL,
        signature    TEXT NOT NULL,
        category     TEXT NOT NULL,
        severity     INTEGER NOT NULL,           -- Suricata: 1 highest .. 3
        action       TEXT
    );
    CREATE INDEX alerts_remote ON alerts(remote_ip, at_ms);
    CREATE INDEX alerts_at ON alerts(at_ms);

    CREATE TABLE eve_offsets (
        path       TEXT PRIMARY KEY,
        inode      INTEGER NOT NULL,
        offset     INTEGER NOT NULL,
        malformed  INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL
    );

    CREATE TABLE baselines (
        name        TEXT PRIMARY KEY,
        host        TEXT NOT NULL,
        taken_at_ms INTEGER NOT NULL,
        body        TEXT NOT NULL                -- the baseline as JSON
    );

    CREATE TABLE responses (
        id        INTEGER PRIMARY KEY,
        at_ms     INTEGER NOT NULL,
        kind      TEXT NOT NULL CHECK (kind IN ('proposed', 'executed', 'refused', 'failed')),
        remote_ip TEXT NOT NULL,
        command   TEXT NOT NULL,
        reason    TEXT NOT NULL,
        outcome   TEXT
    );
    CREATE INDEX responses_at ON responses(at_ms);
    ",
    // 2: the remote's name when a socket event was recorded (passive DNS,
    // PTR or /etc/hosts; NULL when it had none, and for rows written before).
    r"
    ALTER TABLE socket_events ADD COLUMN remote_name TEXT;
    ",
    // 3: the network namespace of each socket event and finding: its inode
    // and readable name when recorded (`host` for necromap's own). NULL for
    // rows written before, and for findings about an endpoint outside
    // loopback (every namespace shares it).
    r"
    ALTER TABLE socket_events ADD COLUMN netns INTEGER;
    ALTER TABLE socket_events ADD COLUMN namespace TEXT;
    ALTER TABLE findings ADD COLUMN netns INTEGER;
    ALTER TABLE findings ADD COLUMN namespace TEXT;
    ",
    // 4: the fleet agent's outbox (`necromap agent --fleet`): each
    // refresh's changes wait here, in order, until PostgreSQL took them.
    // AUTOINCREMENT: a sequence number is never used twice, even after
    // the rows before it were sent and deleted. `fleet_state` keeps the
    // stream id that makes (host, stream, seq) unique in PostgreSQL.
    r"
    CREATE TABLE fleet_outbox (
        seq   INTEGER PRIMARY KEY AUTOINCREMENT,
        at_ms INTEGER NOT NULL,
        rows  INTEGER NOT NULL,
        body  TEXT NOT NULL
    );
    CREATE TABLE fleet_state (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    ",
    // 5: login events (auth log or journal: sshd and PAM), attributed to
    // their remote party, and where each login source was read to (an
    // auth log's inode and offset, or the journal's cursor).
    r"
    CREATE TABLE login_events (
        id           INTEGER PRIMARY KEY,
        at_ms        INTEGER NOT NULL,
        kind         TEXT NOT NULL,              -- failed | invalid_user | accepted | preauth_disconnect | too_many_failures | pam_failure
        remote_ip    TEXT NOT NULL,
        port         INTEGER,
        user         TEXT,                       -- escaped and bounded when read
        invalid_user INTEGER NOT NULL,
        method       TEXT,
        service      TEXT NOT NULL,
        pid          INTEGER
    );
    CREATE INDEX login_events_remote ON login_events(remote_ip, at_ms);
    CREATE INDEX login_events_at ON login_events(at_ms);

    CREATE TABLE login_positions (
        source     TEXT PRIMARY KEY,             -- the auth log's path, or `journal`
        inode      INTEGER NOT NULL,
        offset     INTEGER NOT NULL,
        cursor     TEXT,                         -- the journal's __CURSOR
        malformed  INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL
    );
    ",
    // 6: MCP servers seen by `necromap mcp-observe`: each run, the tools
    // each server offered (a new version whenever the list changes, keyed
    // by the server's command line so versions outlive one run), every
    // tools/call (arguments with secrets redacted; results only by size),
    // and what the MCP detection engines said.
    r"
    CREATE TABLE mcp_servers (
        id          INTEGER PRIMARY KEY,
        server_key  TEXT NOT NULL,               -- command line, as configured
        command     TEXT NOT NULL,               -- JSON array: program and arguments
        pid         INTEGER,
        name        TEXT,                        -- serverInfo.name from initialize
        started_ms  INTEGER NOT NULL,
        ended_ms    INTEGER,
        exit_code   INTEGER,
        malformed   INTEGER NOT NULL DEFAULT 0   -- lines that were not JSON-RPC
    );
    CREATE INDEX mcp_servers_key ON mcp_servers(server_key, started_ms);

    CREATE TABLE mcp_specs (
        id          INTEGER PRIMARY KEY,
        server_key  TEXT NOT NULL,
        version     INTEGER NOT NULL,            -- 1 for the first list seen
        run_id      INTEGER NOT NULL REFERENCES mcp_servers(id),
        seen_ms     INTEGER NOT NULL,
        digest      TEXT NOT NULL,
        tools       TEXT NOT NULL,               -- JSON: [{name, description, input_schema}]
        UNIQUE (server_key, version)
    );

    CREATE TABLE mcp_calls (
        id           INTEGER PRIMARY KEY,
        run_id       INTEGER NOT NULL REFERENCES mcp_servers(id),
        at_ms        INTEGER NOT NULL,
        tool         TEXT NOT NULL,
        arguments    TEXT NOT NULL,              -- JSON, secrets redacted
        result_bytes INTEGER,
        duration_ms  INTEGER,
        error        TEXT
    );
    CREATE INDEX mcp_calls_at ON mcp_calls(run_id, at_ms);

    CREATE TABLE mcp_findings (
        id        INTEGER PRIMARY KEY,
        run_id    INTEGER NOT NULL REFERENCES mcp_servers(id),
        call_id   INTEGER REFERENCES mcp_calls(id),
        at_ms     INTEGER NOT NULL,
        rule_id   TEXT NOT NULL,
        severity  INTEGER NOT NULL,              -- 0 info .. 4 critical
        tool      TEXT,
        evidence  TEXT NOT NULL
    );
    CREATE INDEX mcp_findings_at ON mcp_findings(at_ms);
    ",
];

/// The schema version this build writes.
pub fn current_version() -> u32 {
    MIGRATIONS.len() as u32
}
