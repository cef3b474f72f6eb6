//! An MCP server with outbound connections it never declared: a snapshot
//! built here (the public addresses exist only in it; no traffic leaves
//! the host) holds two configured servers. The GitHub server's connection
//! to a `github.com` name is declared by its package and env names; its
//! other connection, to a name nothing declares, and the file server's
//! connection to a bare address are flagged, in the same findings stream,
//! with the endpoints as evidence and en/ko explanations. Loopback and
//! private peers are never flagged.

use std::collections::BTreeMap;
use std::sync::Arc;

use necromap::agents::config::{Client, ConfiguredServer};
use necromap::agents::evaluator::AgentEvaluator;
use necromap::model::{
    Evaluator, Finding, History, Observation, Pid, ProcessFacts, Protocol, RawSocket, Snapshot, SnapshotBuilder, SocketKey, SocketState, SourceInfo,
    SourceKind, Subject,
};

struct Nothing;

impl Evaluator for Nothing {
    fn evaluate(&mut self, _: &Snapshot, _: &History) -> Vec<Finding> {
        Vec::new()
    }
}

fn sock(cookie: u64, remote: &str, owner: u32) -> RawSocket {
    RawSocket {
        key: SocketKey { protocol: Protocol::Tcp, cookie },
        state: SocketState::Established,
        local: format!("10.0.0.5:{}", 40_000 + cookie).parse().expect("local"),
        remote: remote.parse().expect("remote"),
        inode: 1_000 + cookie as u32,
        uid: 1000,
        owners: [Pid(owner)].into_iter().collect(),
        tcp: None,
        recv_queue: 0,
        send_queue: 0,
        netns: None,
    }
}

fn process(pid: u32, name: &str, cmdline: &str) -> ProcessFacts {
    ProcessFacts { pid, ppid: 1, name: name.into(), cmdline: cmdline.into(), uid: 1000, ..ProcessFacts::default() }
}

fn configured(name: &str, command: &str, args: &[&str], env: &[&str]) -> ConfiguredServer {
    ConfiguredServer {
        client: Client::ClaudeDesktop,
        file: "/home/u/.config/Claude/claude_desktop_config.json".into(),
        at: format!("mcpServers.{name}"),
        name: name.into(),
        command: command.into(),
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        env: env.iter().map(|e| ((*e).to_owned(), "${VALUE}".to_owned())).collect::<BTreeMap<_, _>>(),
        url: None,
    }
}

#[test]
fn undeclared_public_connections_of_a_server_are_findings_and_declared_ones_are_quiet() {
    let github = "npx -y @modelcontextprotocol/server-github";
    let files = "node /opt/mcp/files/index.js /home/u/project";
    let mut obs = Observation { taken_at_ms: 1_000_000, privileged: true, ..Observation::default() };
    obs.processes = vec![process(4242, "node", github), process(4343, "node", files), process(4444, "curl", "curl https://203.0.113.99/")];
    obs.sockets = vec![
        sock(1, "140.82.112.3:443", 4242),  // named below lb-….github.com: declared
        sock(2, "198.51.100.23:443", 4242), // named exfil.example.net: not declared
        sock(3, "203.0.113.50:8443", 4343), // no name: not declared
        sock(4, "127.0.0.1:5432", 4343),    // loopback: never
        sock(5, "192.168.1.20:443", 4343),  // private: never
        sock(6, "203.0.113.99:443", 4444),  // not an MCP server
    ];
    let mut builder = SnapshotBuilder::new(Arc::new(necromap::spec::Spec::embedded()));
    let mut snapshot = builder.build(obs, SourceInfo { kind: SourceKind::Netlink, host: "test".into(), detail: "built in the test".into() }, None);
    for (ip, name) in [("140.82.112.3", "lb-140-82-112-3-iad.github.com"), ("198.51.100.23", "exfil.example.net")] {
        let e = snapshot.endpoints.values_mut().find(|e| e.ip.to_string() == ip).expect("endpoint in the snapshot");
        e.hostname = Some(name.into());
        e.names = vec![name.into()];
    }
    let servers = vec![
        configured("github", "npx", &["-y", "@modelcontextprotocol/server-github"], &["GITHUB_PERSONAL_ACCESS_TOKEN"]),
        configured("files", "node", &["/opt/mcp/files/index.js", "/home/u/project"], &[]),
    ];
    let mut evaluator = AgentEvaluator::new(Nothing, None, servers);
    let findings = evaluator.evaluate(&snapshot, builder.history());
    let on = |rule: &str, pid: u32| findings.iter().find(|f| f.rule_id == rule && f.subject == Subject::Process { pid: Pid(pid) });
    assert!(on("mcp_server", 4242).is_some() && on("mcp_server", 4343).is_some(), "both are marked: {findings:#?}");
    let gh = on("mcp_undeclared_outbound", 4242).unwrap_or_else(|| panic!("the GitHub server's undeclared peer: {findings:#?}"));
    assert_eq!(gh.severity, necromap::terms::Severity::Medium);
    let evidence = &gh.trace[0].value;
    assert_eq!(evidence, "connected to 1 never declared: 198.51.100.23:443 (exfil.example.net)", "github.com is declared, exfil is not");
    assert!(gh.explanation.contains("never agreed") && gh.explanation_ko.contains("공인 주소"), "{gh:?}");
    let fs = on("mcp_undeclared_outbound", 4343).unwrap_or_else(|| panic!("the file server's bare address: {findings:#?}"));
    assert_eq!(fs.trace[0].value, "connected to 1 never declared: 203.0.113.50:8443", "loopback and private peers are never counted");
    assert!(findings.iter().all(|f| f.subject != Subject::Process { pid: Pid(4444) }), "a process that is no MCP server draws nothing here");
    assert_eq!(findings.iter().filter(|f| f.rule_id == "mcp_undeclared_outbound").count(), 2);
}
