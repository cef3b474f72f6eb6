//! Command-line interface: flags and subcommands.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use necromap::config::ThemeName;
use necromap::config::values::{parse_interval, parse_listen};
use necromap::duration::parse_duration;
use necromap::export::csv::CsvTable;

// Doc comments here are `--help` text for people, not rustdoc; the flags
// are independent switches, not a state machine. `Option<Option<_>>` is
// clap's flag with an optional value (absent / bare / with a value).
#[allow(clippy::struct_excessive_bools, clippy::doc_markdown, clippy::option_option)]
#[derive(Debug, Parser)]
#[command(
    name = "necromap",
    version,
    about = "Terminal network-map explorer for Linux: which processes hold which sockets, talking to whom.",
    long_about = "necromap reads every TCP and UDP socket of this host (netlink sock_diag, with byte \
counters and round-trip times), maps sockets to processes through /proc, and builds a graph of \
processes, listeners and remote endpoints.\n\nIt changes nothing on the system: it keeps only its own event \
store in your data directory (--no-store to go without), and only `necromap respond --execute` touches the firewall. \
Run unprivileged to see every socket and the owners of your own processes; run as root to see every owner.",
    after_help = "Examples:\n  necromap                                   summary of this host\n  necromap snapshot --format json --pretty   one refresh as JSON\n  necromap snapshot --format csv --table processes\n  necromap record --out host.ndjson --duration 1m --interval 2s\n  necromap --replay host.ndjson snapshot      the last frame of a recording\n  necromap --demo snapshot --format json      the bundled demo host\n  necromap spec check my_spec.yaml            validate a spec file\n  necromap baseline save && necromap baseline compare   what is new since\n  necromap --mcp                             MCP server over stdio (for Claude Desktop, Cursor, …)\n  necromap --mcp --http 7878                 MCP over HTTP at http://127.0.0.1:7878/mcp (token printed)\n  necromap --serve-mcp                       the explorer, with MCP over HTTP beside it\n\n\
Configuration: $XDG_CONFIG_HOME/necromap/config.toml (else ~/.config/necromap/config.toml, or --config FILE),\n\
then these variables, then flags; `necromap config print` shows what is in force and why:\n  \
NECROMAP_INTERVAL     refresh interval (e.g. 2s)\n  \
NECROMAP_VIEW         the view the explorer starts in\n  \
NECROMAP_THEME        dark or light\n  \
NECROMAP_ICONS        emoji or ascii\n  \
NECROMAP_RESOLVE      on or off: names for addresses\n  \
NECROMAP_STORE        the event store file\n  \
NECROMAP_RETENTION    how long stored events are kept (e.g. 7d)\n  \
NECROMAP_MCP_ADDRESS  where --serve-mcp and --mcp --http listen\n  \
NECROMAP_MCP_TOKEN    the MCP bearer token (else one is generated)\n  \
NO_BELL               no terminal bell on new findings\n  \
NO_COLOR              draw without colour"
)]
pub struct Cli {
    /// Read settings from FILE instead of $XDG_CONFIG_HOME/necromap/config.toml (which is read when it exists).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Colours for a dark or a light terminal background.
    #[arg(long, global = true, value_enum, value_name = "THEME")]
    pub theme: Option<ThemeName>,

    /// Replay a recording (.ndjson from `necromap record`) or a scenario (.yaml) instead of the live host.
    /// Regular files only; a recording may be up to 1 GiB (unpacked), a scenario 4 MiB, up to
    /// 100,000 frames and 2,000,000 sockets over all frames.
    #[arg(long, global = true, value_name = "FILE", conflicts_with = "demo")]
    pub replay: Option<PathBuf>,

    /// Replay the bundled demo host (a web server, database, ssh, clients and a few odd connections).
    #[arg(long, global = true)]
    pub demo: bool,

    /// Use this network-map spec instead of the embedded one (a regular file of at most 4 MiB, 64 levels deep).
    #[arg(long, global = true, value_name = "FILE")]
    pub spec: Option<PathBuf>,

    /// Refresh interval, with a unit (100ms to 1h; outside that is refused). Default: 1s live,
    /// the recording's own pace in a replay.
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_interval)]
    pub interval: Option<Duration>,

    #[arg(
        long,
        global = true,
        value_name = "NAME",
        help = "Show only the sockets of this view from the spec: default, suspicious_only, active_only, local_only, internet_only, listeners_only, cleanup_states"
    )]
    pub view: Option<String>,

    /// Load rule packs (*.yaml) from this folder, in addition to the built-in ones
    /// (regular files of at most 4 MiB and 64 levels of nesting each).
    #[arg(long, global = true, value_name = "DIR")]
    pub rules: Option<PathBuf>,

    /// With --rules: use only the packs in DIR, not the built-in ones.
    #[arg(long, global = true, requires = "rules")]
    pub rules_replace: bool,

    /// An IOC list: IP/CIDR lines, a Tor exit list, AWS ip-ranges.json or domains. Repeatable.
    /// Entries are tagged `ioc` unless given as TAG=FILE or the file has a `# tag: NAME` line.
    /// A regular file of at most 64 MiB.
    #[arg(long, global = true, value_name = "[TAG=]FILE")]
    pub ioc: Vec<String>,

    /// The saved baseline new listeners are judged against (a name from `baseline list`, or a .json path).
    /// Default: the baseline named `default`, when one is saved.
    #[arg(long, global = true, value_name = "NAME")]
    pub baseline: Option<String>,

    /// The event store (SQLite). Default: $XDG_DATA_HOME/necromap/events.db for the live host;
    /// a replay (--replay, --demo) keeps no store unless --db is given.
    #[arg(long, global = true, value_name = "FILE", conflicts_with = "no_store")]
    pub db: Option<PathBuf>,

    /// Run without the event store (threat tools then answer from memory).
    #[arg(long, global = true)]
    pub no_store: bool,

    /// Do not trace connects. As root, necromap otherwise names the process behind connections
    /// shorter than a refresh through the kernel tracepoint sock:inet_sock_set_state, read from a
    /// tracing instance of its own (necromap-PID-N, on a private tracefs mount) that it removes on exit.
    #[arg(long, global = true)]
    pub no_trace: bool,

    /// Show addresses, not names (like `ss -n` and `lsof -n`): no DNS answers are read, no reverse
    /// lookup is sent, /etc/hosts is not read. Otherwise, as root, necromap reads the DNS answers
    /// this host receives (a packet socket filtered in the kernel to port 53: the names programs
    /// asked for), and asks the DNS server for PTR names of public addresses nobody named
    /// (at most 20 queries a second, cached).
    #[arg(short = 'n', long, global = true)]
    pub no_resolve: bool,

    /// Show names even when the config file or NECROMAP_RESOLVE says off.
    #[arg(long, global = true, conflicts_with = "no_resolve")]
    pub resolve: bool,

    /// No terminal bell when a new critical or high finding arrives (also `bell = false` in the
    /// config file, or NO_BELL set); the status line still tells.
    #[arg(long, global = true)]
    pub no_bell: bool,

    /// The DNS server for reverse (PTR) lookups: IP or IP:PORT. Default: the first nameserver in
    /// /etc/resolv.conf.
    #[arg(long, global = true, value_name = "ADDR", value_parser = parse_dns_server)]
    pub dns_server: Option<std::net::SocketAddr>,

    /// Also make reverse lookups for loopback, link-local and private addresses (never by default:
    /// they say nothing to a public server and leak your internal addresses to it).
    #[arg(long, global = true)]
    pub resolve_private: bool,

    /// Keep stored events this long (e.g. 7d, 30d; default 30d); older ones are pruned hourly.
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub retention: Option<Duration>,

    /// Follow a Suricata eve.json file: alerts fold onto the map and go to the store. Starts at the
    /// end of the file, or where the store says it stopped reading that file. A regular file only
    /// (a FIFO or device is not opened).
    #[arg(long, global = true, value_name = "FILE")]
    pub eve: Option<PathBuf>,

    /// With --eve: read the file from its start when the store has no position for it.
    #[arg(long, global = true, requires = "eve")]
    pub eve_from_start: bool,

    /// Follow an auth log (/var/log/auth.log, /var/log/secure): failed and accepted logins of sshd
    /// and PAM services fold onto the map per remote address and go to the store. Followed across
    /// rotation and truncation from where the store says it stopped (else the end).
    #[arg(long, global = true, value_name = "FILE", conflicts_with = "journal")]
    pub auth_log: Option<PathBuf>,

    /// With --auth-log: read the file from its start when the store has no position for it.
    #[arg(long, global = true, requires = "auth_log")]
    pub logins_from_start: bool,

    /// Follow logins in the systemd journal (`journalctl -o json -f`, auth and authpriv
    /// facilities), resuming after the cursor the store remembers, else from now.
    #[arg(long, global = true)]
    pub journal: bool,

    /// The login rules to judge logins with: a tuned copy of rules/logins/logins.yaml (thresholds,
    /// windows, severities, explanations, next steps). Checked at start; a bad value is refused
    /// with its file and line. Also what `respond` and MCP's propose_blocks count brute force by.
    #[arg(long, global = true, value_name = "FILE")]
    pub login_rules: Option<PathBuf>,

    /// Draw with ASCII icons and no colour (also when the `NO_COLOR` variable is set).
    #[arg(long, global = true)]
    pub ascii: bool,

    /// Serve MCP (Model Context Protocol) for AI assistants, without the explorer: over stdin/stdout,
    /// or over HTTP with --http. Logs go to stderr (or --log).
    #[arg(long, conflicts_with = "serve_mcp")]
    pub mcp: bool,

    /// With --mcp: serve Streamable HTTP at http://ADDR/mcp instead of stdio (ADDR: 127.0.0.1:PORT, or a port;
    /// without one, the configured MCP address, default 127.0.0.1:7878).
    /// Clients send `Authorization: Bearer TOKEN` (NECROMAP_MCP_TOKEN, or a generated token whose file is printed).
    #[arg(long, value_name = "ADDR", requires = "mcp", num_args = 0..=1, value_parser = parse_listen)]
    pub http: Option<Option<SocketAddr>>,

    /// Run the explorer and serve MCP over HTTP at ADDR (default: the configured MCP address, 127.0.0.1:7878)
    /// from the same live snapshot.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, value_parser = parse_listen)]
    pub serve_mcp: Option<Option<SocketAddr>>,

    /// Serve the web view at http://ADDR/ (the live map, the connections, the events; default: the
    /// configured MCP address, 127.0.0.1:7878; a port of 0 picks one), with MCP at /mcp on the same
    /// port. A one-time login link is printed; the token (Authorization: Bearer) admits too. With a
    /// terminal the explorer runs beside it; without one necromap serves until interrupted.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, value_parser = parse_listen, conflicts_with = "mcp")]
    pub web: Option<Option<SocketAddr>>,

    /// Allow --http or --serve-mcp on a non-loopback address (the token is then the only guard).
    #[arg(long)]
    pub mcp_allow_remote: bool,

    /// With --http or --serve-mcp: connections held at once, so no client can take the collector's
    /// file descriptors; when all are taken, the oldest connection that never showed the token is
    /// closed for a newcomer. A connection that sends nothing for 5 s, or whose headers or body take
    /// over 10 s, is closed. Lowered to the open-file limit minus 256 descriptors kept for the collector.
    #[arg(long, value_name = "N", default_value_t = necromap::mcp::http::DEFAULT_MAX_CONNECTIONS, value_parser = clap::value_parser!(usize))]
    pub mcp_max_connections: usize,

    /// With --http or --serve-mcp: MCP sessions alive at once (the least recently used is closed to
    /// make room; a session idle for 30 minutes expires).
    #[arg(long, value_name = "N", default_value_t = necromap::mcp::http::DEFAULT_MAX_SESSIONS, value_parser = clap::value_parser!(usize))]
    pub mcp_max_sessions: usize,

    /// Append log lines to FILE instead of stderr.
    #[arg(long, global = true, value_name = "FILE")]
    pub log: Option<PathBuf>,

    /// The fleet's PostgreSQL: postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=…&sslrootcert=CA.pem] (sslmode as libpq: disable, allow, prefer, require, verify-ca, verify-full).
    /// With --mcp: serve the fleet's tools (hosts, host-to-host edges, who talks to an address,
    /// threats) instead of this host's. `agent` ships to it; `fleet` explores it. Missing parts come
    /// from PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE and PGPASSFILE (~/.pgpass).
    /// Also `fleet = "postgres://…"` in the config file (for `agent` and `fleet`).
    #[arg(long, global = true, value_name = "URL")]
    pub fleet: Option<String>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// A command that builds one snapshot (live or replayed), prints it
    /// and exits: `snapshot` and `summary` without `--mcp` or `--web`.
    pub fn one_shot(&self) -> bool {
        !self.mcp && self.web.is_none() && matches!(self.command, Some(Command::Snapshot { .. } | Command::Summary { .. }))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Json,
    Csv,
    /// The map as a Graphviz digraph (`| dot -Tsvg > map.svg`).
    Dot,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print one refresh: processes, sockets, endpoints, listeners and health.
    Snapshot {
        #[arg(long, value_enum, default_value = "json")]
        format: Format,
        /// CSV only: which table to print.
        #[arg(long, value_enum, default_value = "sockets")]
        table: CsvTable,
        /// JSON only: indent the output.
        #[arg(long)]
        pretty: bool,
        /// Replay only: stop at this frame (1-based) instead of the last.
        #[arg(long, value_name = "N")]
        frame: Option<usize>,
    },
    /// Record refreshes to a file that `--replay` can play back.
    Record {
        /// Where to write the recording (newline-delimited JSON).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// How long to record (e.g. 30s, 5m). Default: one minute; a replay records all its frames.
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        duration: Option<Duration>,
    },
    /// Print a text summary of one refresh (plain `necromap` prints it too when output is not a terminal).
    Summary {
        /// Rows per section.
        #[arg(long, default_value_t = 10)]
        top: usize,
    },
    /// Lint rule packs, or draft a new rule.
    Rules {
        #[command(subcommand)]
        action: RulesAction,
    },
    /// Save what this host ordinarily runs, and compare with it later.
    Baseline {
        #[command(subcommand)]
        action: BaselineAction,
    },
    /// Propose (and with --execute, run) blocks of remote parties from stored alerts.
    ///
    /// Propose blocks for remote parties Suricata's stored alerts make candidates (last 300 s), and,
    /// only with --execute (as root, after a confirmation), run them with nft. Every proposal and
    /// execution is logged in the event store.
    Respond {
        /// Run the proposed nft commands (needs root; asks first unless --yes).
        #[arg(long)]
        execute: bool,
        /// With --execute: do not ask.
        #[arg(long, requires = "execute")]
        yes: bool,
        /// Never block these networks (CIDR or address); repeatable.
        #[arg(long, value_name = "CIDR")]
        allow: Vec<String>,
        /// How long a block lasts.
        #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
        timeout: Duration,
        /// Most blocks run at once.
        #[arg(long, value_name = "N", default_value_t = 10)]
        max: usize,
    },
    /// Check, read-only, how exposed this host's network configuration is.
    ///
    /// Check, read-only, how exposed this host's network configuration is: network sysctls,
    /// listeners on all addresses against a policy, listener executables and their directories,
    /// root services listening publicly, sshd settings, and whether a firewall has rules. Each
    /// check passes, warns or fails with its evidence and a fix. Exits 1 when a check fails.
    Posture {
        /// Read everything under DIR instead of / (proc/sys, proc/net, proc/PID, etc/ssh); nft and
        /// iptables-save are run only for /.
        #[arg(long, value_name = "DIR", default_value = "/")]
        root: PathBuf,
        /// The services allowed to listen publicly (YAML: `allow:` and `deny:` lists of
        /// {port, process, user}).
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "text")]
        format: DiffFormat,
    },
    /// Work with network-map spec files.
    Spec {
        #[command(subcommand)]
        action: SpecAction,
    },
    /// Print a shell completion script to stdout, e.g. `necromap completions bash > ~/.local/share/bash-completion/completions/necromap`.
    Completions {
        #[arg(value_enum)]
        shell: CompletionShell,
    },
    /// Print the manual page (roff) to stdout, e.g. `necromap man | man -l -`.
    Man,
    // `--help` text: "PostgreSQL" is a name, not code.
    #[allow(clippy::doc_markdown)]
    /// Run headless and ship this host's changes to the fleet's PostgreSQL.
    ///
    /// Run headless on this host and ship its changes to the fleet's PostgreSQL (--fleet URL or
    /// `fleet` in the config file): the live collector, rules, --eve intake and the local store as
    /// always, plus each refresh's changes (sockets opened and closed with their owners, owners'
    /// facts, listeners, findings, alerts) queued in the local store and sent in order, in one
    /// transaction each; while PostgreSQL is away they wait (up to --outbox batches) and are sent
    /// when it is back. Stops on Ctrl-C or SIGTERM.
    Agent {
        /// This host's name in the fleet, and its id (default: the name from uname, and /etc/machine-id as the id).
        #[arg(long, value_name = "NAME")]
        host_name: Option<String>,
        /// Which network namespaces to report: every one of the host (all), or only the one the agent runs in (self).
        #[arg(long, value_enum, default_value = "all")]
        netns: NetnsScope,
        /// Most batches kept while PostgreSQL is away; beyond it refreshes are dropped (and counted)
        /// and a full resync follows.
        #[arg(long, value_name = "N", default_value_t = necromap::fleet::outbox::DEFAULT_CAPACITY)]
        outbox: usize,
        /// A label of this host in the fleet (role=web, site=par1): the explorer groups by it
        /// (`necromap fleet --group-by role`). Repeatable.
        #[arg(long = "label", value_name = "KEY=VALUE")]
        labels: Vec<String>,
    },
    #[allow(clippy::doc_markdown)]
    /// Explore the fleet in PostgreSQL: hosts, their worst severity, host-to-host edges.
    ///
    /// Explore the fleet in PostgreSQL (--fleet URL): hosts, worst severity, host-to-host edges;
    /// Enter opens a host's current sockets. Without a terminal, prints the same as text.
    Fleet {
        /// Group hosts by a label the agents gave (`--label role=web`: role) or by subnet.
        #[arg(long, value_name = "role|subnet|LABEL")]
        group_by: Option<String>,
    },
    /// Run a stdio MCP server behind a byte-exact relay that records its tools and calls.
    ///
    /// Run a stdio MCP server and stand between it and its client: bytes pass both ways unchanged,
    /// while its tools, every call (arguments with secrets redacted) and what the MCP rules find are
    /// recorded in the event store. In a client config, replace `"command": "X", "args": [..]` with
    /// `"command": "necromap", "args": ["mcp-observe", "--", "X", ..]`. The exit status is the server's.
    /// With `--http URL --listen 127.0.0.1:PORT`, relay a Streamable HTTP server instead: point the
    /// client at the relay (same path); headers, `Authorization` included, pass through and are never
    /// logged or stored.
    McpObserve {
        /// Relay the Streamable HTTP MCP server at URL (http://HOST:PORT/PATH) instead of running a command.
        #[arg(long, value_name = "URL", requires = "listen", conflicts_with = "command")]
        http: Option<String>,
        /// Where the HTTP relay listens: a loopback address and port, e.g. 127.0.0.1:8931 (port 0 picks one).
        #[arg(long, value_name = "ADDR", requires = "http")]
        listen: Option<std::net::SocketAddr>,
        /// The server's command and arguments, after `--`.
        #[arg(required_unless_present = "http", trailing_var_arg = true, allow_hyphen_values = true, value_name = "COMMAND")]
        command: Vec<std::ffi::OsString>,
    },
    /// List the MCP servers AI assistants are configured to run, with static findings.
    ///
    /// List the MCP servers AI assistants are configured to run (Claude Desktop, Claude Code, Cursor,
    /// VS Code, Windsurf, Zed; read only), where each is defined, what it runs, and what a static look
    /// finds: plain-text secrets in env, programs in temporary directories, unpinned npx/uvx packages,
    /// and poisoned or changed tools when mcp-observe has seen the server.
    McpAudit {
        /// The home directory whose configs are read (default: $HOME).
        #[arg(long, value_name = "DIR")]
        home: Option<PathBuf>,
        /// Also read DIR/.mcp.json (a Claude Code project).
        #[arg(long, value_name = "DIR")]
        project: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "text")]
        format: DiffFormat,
    },
    /// The settings: defaults < config file < NECROMAP_* variables < flags.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

/// Which network namespaces an agent reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NetnsScope {
    /// Every network namespace of the host.
    All,
    /// Only the namespace the agent runs in.
    #[value(name = "self")]
    Own,
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print the effective configuration (as a config file) and where each value came from:
    /// default, the file's path, the variable or the flag.
    Print,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Subcommand)]
pub enum RulesAction {
    /// Lint packs (the built-in ones, plus DIR): explanation coverage, tags without definitions,
    /// rules that can never match; and the login rules (--login-rules FILE, else the shipped
    /// ones) load. Exits 1 on errors.
    Check { dir: Option<PathBuf> },
    /// Print a YAML draft of a rule from a description, e.g. "shell talking to the internet on 4444".
    Suggest {
        description: String,
        /// Base the draft on this socket (its id from `snapshot`, e.g. tcp:00000000000012ab), from the live host or --replay.
        #[arg(long, value_name = "ID")]
        from_socket: Option<String>,
    },
    /// Replay labelled recordings through the packs (with --rules, --rules-replace, --ioc) and
    /// print recall and precision per rule. A manifest (YAML) names its recording and says
    /// whether it is benign (nothing above `max_severity`, default low) or malicious (which
    /// findings each scenario must draw, at which severity). Exits 1 when a benign corpus draws
    /// more or a malicious one misses something. The shipped corpora:
    /// `necromap rules score assets/corpus/benign.yaml assets/corpus/malicious.yaml`.
    Score {
        #[arg(required = true, value_name = "MANIFEST")]
        manifests: Vec<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum BaselineAction {
    /// Record processes with sockets, remote endpoints and listeners of one refresh
    /// (live, or the last frame of --replay) under NAME (default: `default`).
    Save {
        name: Option<String>,
        /// Replace an existing baseline of that name.
        #[arg(long)]
        force: bool,
    },
    /// Show what is new now compared with baseline NAME (default: `default`).
    /// Exit status, for scripts: 0 when nothing is new, 1 when something is (or on an error, said on stderr).
    Compare {
        name: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: DiffFormat,
    },
    /// List saved baselines and where they are kept.
    List,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum SpecAction {
    /// Validate a spec file (default: the embedded one); exit 1 with file, line, key and what was expected.
    Check { file: Option<PathBuf> },
    /// Print the embedded spec, a starting point for your own.
    Print,
}

/// `IP` (port 53) or `IP:PORT`.
fn parse_dns_server(text: &str) -> Result<std::net::SocketAddr, String> {
    text.parse::<std::net::SocketAddr>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(|ip| std::net::SocketAddr::new(ip, 53)))
        .map_err(|_| format!("`{text}` is not an address: use an IP (port 53) or IP:PORT, e.g. 192.0.2.53 or 127.0.0.1:5353"))
}
