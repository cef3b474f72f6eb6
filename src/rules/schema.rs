//! The rule file format (see ../README "Rules"): typed, with unknown keys
//! refused so a typo is a load error with its line, never a silent
//! always-true or always-false matcher.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{Protocol, Severity, SocketState, Zone};
use crate::spec::{Color, IconHint};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    pub version: u32,
    #[serde(default)]
    pub defaults: Defaults,
    pub rules: Vec<Rule>,
    #[serde(default)]
    pub tag_definitions: BTreeMap<String, TagDefinition>,
    #[serde(default)]
    pub highlight_styles: BTreeMap<String, HighlightStyle>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Named numbers a pack documents (informative: rules carry their own).
    #[serde(default)]
    pub thresholds: BTreeMap<String, f64>,
    #[serde(default)]
    pub private_ip_treatment: PrivateTreatment,
}

/// How a pack treats findings whose remote is private or loopback: one
/// severity step lower when set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivateTreatment {
    #[serde(default)]
    pub rfc1918_less_suspicious: bool,
    #[serde(default)]
    pub localhost_less_suspicious: bool,
}

impl Default for PrivateTreatment {
    fn default() -> Self {
        Self { rfc1918_less_suspicious: true, localhost_less_suspicious: true }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// One finding per socket.
    Connection,
    /// One finding per remote endpoint.
    Endpoint,
    /// One finding per process.
    Process,
}

/// Which way a shell's plumbing reaches the process's sockets
/// (`shell_io`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShellIo {
    /// Input and output: someone types into the shell and reads it.
    Both,
    /// The shell reads its input from here (output may go elsewhere).
    Input,
    /// The shell's output goes here.
    Output,
    /// Either way.
    Any,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchDirection {
    Outbound,
    Inbound,
    Listen,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub severity: Severity,
    pub scope: Scope,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(rename = "match")]
    pub matcher: Match,
    #[serde(default)]
    pub effects: Effects,
    #[serde(default)]
    pub explanation: Explanation,
    /// Weaker rules this one replaces for the same subject (their findings
    /// are dropped when this one fires).
    #[serde(default)]
    pub supersedes: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Effects {
    #[serde(default)]
    pub add_tag: Vec<String>,
    #[serde(default)]
    pub highlight_style: Option<String>,
    #[serde(default)]
    pub icon_hint: Option<IconHint>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Explanation {
    #[serde(default)]
    pub en: String,
    #[serde(default)]
    pub ko: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagDefinition {
    pub description: String,
    pub severity_hint: Severity,
    /// Investigation steps; `{pid}`, `{remote}`, `{remote_ip}`, `{exe}` are filled in.
    #[serde(default)]
    pub steps: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intensity {
    Dim,
    Normal,
    Bright,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HighlightStyle {
    pub color: Color,
    #[serde(default = "normal")]
    pub intensity: Intensity,
}

fn normal() -> Intensity {
    Intensity::Normal
}

/// Every condition a rule can ask; all given ones must hold (AND), and
/// `any_of` adds an OR of nested matches (which may not use aggregates).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Match {
    // State, protocol and family.
    pub state: Option<SocketState>,
    pub state_in: Option<Vec<SocketState>>,
    pub protocol: Option<Protocol>,
    pub remote_ip_version: Option<u8>,
    // Ports.
    pub local_port_gte: Option<u16>,
    pub local_port_lte: Option<u16>,
    pub remote_port_gte: Option<u16>,
    pub remote_port_lte: Option<u16>,
    pub remote_port_in: Option<Vec<u16>>,
    pub local_port_in: Option<Vec<u16>>,
    pub exclude_well_known_ports: Option<bool>,
    pub exclude_common_udp_ports: Option<bool>,
    pub exclude_common_privileged_ports: Option<bool>,
    pub exclude_ports: Option<Vec<u16>>,
    // Direction and addresses.
    pub direction: Option<MatchDirection>,
    pub remote_ip_in: Option<Vec<String>>,
    pub exclude_private_ips: Option<bool>,
    pub zone_in: Option<Vec<Zone>>,
    pub local_zone_in: Option<Vec<Zone>>,
    // Time and volume.
    pub duration_gte_sec: Option<u64>,
    pub duration_lte_sec: Option<u64>,
    pub bytes_sent_gte: Option<u64>,
    pub bytes_received_gte: Option<u64>,
    // Aggregates over the group the finding is about.
    pub connection_count_gte: Option<u64>,
    pub rate_per_minute_gte: Option<f64>,
    pub distinct_remote_ports_gte: Option<u64>,
    pub distinct_remote_hosts_gte: Option<u64>,
    /// Connection attempts that never completed the handshake (refused,
    /// unreachable, timed out) in the window, plus `SYN_SENT` sockets now.
    pub failed_attempts_gte: Option<u64>,
    pub window_sec: Option<u64>,
    // Geography and reputation.
    pub remote_country_in: Option<Vec<String>>,
    pub remote_country_not_in: Option<Vec<String>>,
    pub remote_tags_contains: Option<String>,
    pub remote_tags_contains_any: Option<Vec<String>>,
    // Process.
    pub process_name_in: Option<Vec<String>>,
    pub process_name_not_in: Option<Vec<String>>,
    pub exe_path_prefix_in: Option<Vec<String>>,
    pub exe_regex_any: Option<Vec<String>>,
    pub cwd_prefix_in: Option<Vec<String>>,
    pub exe_deleted: Option<bool>,
    pub exe_memfd: Option<bool>,
    pub cmdline_regex_any: Option<Vec<String>>,
    pub parent_cmdline_regex_any: Option<Vec<String>>,
    pub sensitive_file_open: Option<bool>,
    pub parent_name_in: Option<Vec<String>>,
    pub ancestor_name_in: Option<Vec<String>>,
    pub stdio_is_socket: Option<bool>,
    pub uid_in: Option<Vec<u32>>,
    pub has_tty: Option<bool>,
    pub shell_io: Option<ShellIo>,
    // Baseline.
    pub listener_not_in_baseline: Option<bool>,
    pub process_not_in_baseline: Option<bool>,
    pub remote_not_in_baseline: Option<bool>,
    // Beacon.
    pub beacon_score_gte: Option<f64>,
    // Local services.
    pub remote_local_service_except: Option<Vec<String>>,
    // Names (passive DNS, PTR, /etc/hosts).
    /// A name of the remote endpoint is on a domain IOC list with this tag.
    pub remote_name_tags_contains: Option<String>,
    /// Whether a DNS answer named the remote address. `false` holds only
    /// while passive DNS runs and already ran when the socket appeared.
    pub remote_resolved: Option<bool>,
    /// The highest entropy (bits per character) of a first label of 12 or
    /// more characters among the endpoint's names.
    pub remote_name_entropy_gte: Option<f64>,
    /// The longest label among the endpoint's names, in characters.
    pub remote_name_label_gte: Option<u64>,
    /// Distinct names the process asked DNS for under one parent domain in
    /// the last 5 minutes.
    pub dns_names_under_parent_gte: Option<u64>,
    // OR, and NOT.
    pub any_of: Option<Vec<Match>>,
    pub not: Option<Box<Match>>,
}

impl Match {
    /// Whether any aggregate key is set.
    pub fn has_aggregates(&self) -> bool {
        self.connection_count_gte.is_some()
            || self.rate_per_minute_gte.is_some()
            || self.distinct_remote_ports_gte.is_some()
            || self.distinct_remote_hosts_gte.is_some()
            || self.failed_attempts_gte.is_some()
    }

    /// Whether an aggregate can be met from history alone (a process with
    /// no socket open now still has the attempts it made).
    pub fn has_history_aggregates(&self) -> bool {
        self.rate_per_minute_gte.is_some()
            || self.distinct_remote_ports_gte.is_some()
            || self.distinct_remote_hosts_gte.is_some()
            || self.failed_attempts_gte.is_some()
    }

    /// This match without its process keys (and without `any_of`): what is
    /// left depends on the socket or its remote.
    fn socket_keys_only(&self) -> Self {
        Self {
            process_name_in: None,
            process_name_not_in: None,
            exe_path_prefix_in: None,
            exe_regex_any: None,
            cwd_prefix_in: None,
            exe_deleted: None,
            exe_memfd: None,
            cmdline_regex_any: None,
            parent_cmdline_regex_any: None,
            sensitive_file_open: None,
            process_not_in_baseline: None,
            parent_name_in: None,
            ancestor_name_in: None,
            stdio_is_socket: None,
            uid_in: None,
            has_tty: None,
            shell_io: None,
            dns_names_under_parent_gte: None,
            any_of: None,
            not: self.not.clone().filter(|n| !n.is_process_only_deep()),
            ..self.clone()
        }
    }

    /// Whether every condition, including `any_of` alternatives and a
    /// nested `not`, is about the process only (its outcome is the same for
    /// every socket of a process).
    pub fn is_process_only_deep(&self) -> bool {
        self.is_process_only() && self.any_of.iter().flatten().all(Self::is_process_only_deep)
    }

    /// Whether a top-level condition asks a saved baseline (so the rule
    /// cannot match without one).
    pub fn needs_baseline(&self) -> bool {
        self.listener_not_in_baseline == Some(true) || self.process_not_in_baseline == Some(true) || self.remote_not_in_baseline == Some(true)
    }

    /// Whether every condition (outside `any_of`) is about the process only.
    pub fn is_process_only(&self) -> bool {
        self.socket_keys_only().is_empty()
    }

    /// Whether no condition at all is set (matches everything).
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}
