//! Exporters over the demo host with fixture findings: the CSV findings
//! table, findings in the summary, severities and rule ids on rows.

use std::sync::Arc;

use super::csv::{CsvTable, write_csv};
use super::{ProcessRow, SocketRow, summary_text};
use crate::collect::ReplaySource;
use crate::model::{EndpointKey, Finding, Pid, Severity, Snapshot, Subject, TraceStep};
use crate::spec::Spec;

fn finding(rule: &str, name: &str, severity: Severity, subject: Subject, trace: &[(&str, &str)]) -> Finding {
    Finding {
        id: format!("{rule}@x"),
        rule_id: rule.into(),
        rule_name: name.into(),
        severity,
        tags: vec!["c2".into(), "odd".into()],
        subject,
        netns: None,
        highlight: None,
        icon: None,
        trace: trace.iter().map(|(c, v)| TraceStep { condition: (*c).into(), value: (*v).into() }).collect(),
        explanation: "why, \"quoted\", twice".into(),
        explanation_ko: String::new(),
        steps: vec![],
        first_seen_ms: 1_000,
        last_seen_ms: 2_000,
    }
}

/// The demo host after all its frames, without rules.
fn demo() -> Snapshot {
    let mut src = ReplaySource::from_text(crate::DEMO_SCENARIO, "demo").expect("demo");
    src.build_through(Arc::new(Spec::embedded()), None, None).0.expect("frames")
}

/// The demo with three findings, given worst-last: a process, a socket and
/// an endpoint finding, with a control character in a trace value.
fn flagged() -> Snapshot {
    let mut s = demo();
    let shell = s.sockets.iter().find(|x| x.raw.remote.port() == 4444).expect("the shell's socket").key();
    s.set_findings(vec![
        finding("low_rule", "Low thing", Severity::Low, Subject::Endpoint { endpoint: EndpointKey::host("203.0.113.200".parse().expect("ip")) }, &[]),
        finding(
            "callback",
            "Callback port",
            Severity::High,
            Subject::Socket { socket: shell, pid: Some(Pid(3401)) },
            &[("direction: outbound", "direction outbound"), ("remote_port_in: [4444]", "remote_port 4444"), ("exclude_private_ips: true", "public")],
        ),
        finding("stdio", "Reverse shell", Severity::Critical, Subject::Process { pid: Pid(3401) }, &[("stdio_is_socket: true", "fd 0 → socket\x1b[31m")]),
    ]);
    s
}

fn csv(s: &Snapshot, table: CsvTable) -> String {
    let mut out = Vec::new();
    write_csv(s, table, &mut out).expect("csv");
    String::from_utf8(out).expect("utf8")
}

#[test]
fn the_csv_findings_table_has_one_escaped_row_per_finding_worst_first() {
    let text = csv(&flagged(), CsvTable::Findings);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "id,rule_id,rule_name,severity,tags,subject_kind,socket_id,pid,process,endpoint,first_seen_ms,last_seen_ms,evidence,explanation,netns,namespace"
    );
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[1].starts_with("stdio@x,stdio,Reverse shell,critical,c2 odd,process,,3401,bash,,1000,2000,"), "{}", lines[1]);
    assert!(lines[1].contains("stdio_is_socket: true = fd 0 → socket\\x1b[31m"), "control characters escaped: {}", lines[1]);
    assert!(!text.contains('\x1b'));
    assert!(lines[1].ends_with(",\"why, \"\"quoted\"\", twice\",,host"), "RFC 4180 quoting, then the namespace: {}", lines[1]);
    let socket_row = lines[2];
    assert!(socket_row.contains(",high,c2 odd,socket,tcp:"), "{socket_row}");
    assert!(socket_row.contains(",3401,bash,203.0.113.200,"), "a socket finding names its remote: {socket_row}");
    assert!(
        socket_row.contains("direction: outbound = direction outbound; remote_port_in: [4444] = remote_port 4444; exclude_private_ips: true = public"),
        "{socket_row}"
    );
    assert!(lines[3].starts_with("low_rule@x,low_rule,Low thing,low,c2 odd,endpoint,,,,203.0.113.200,"), "{}", lines[3]);
    assert_eq!(csv(&demo(), CsvTable::Findings).lines().count(), 1, "only the header without findings");
}

#[test]
fn rows_carry_the_worst_severity_and_rule_ids() {
    let s = flagged();
    let shell = s.sockets.iter().find(|x| x.raw.remote.port() == 4444).expect("shell socket");
    let row = SocketRow::new(&s, shell);
    assert_eq!(row.severity, Some(Severity::Critical), "its owner's finding is the worst");
    assert_eq!(row.rule_ids, ["callback", "low_rule", "stdio"]);
    let quiet = s.sockets.iter().find(|x| x.owner().is_some_and(|p| p.0 != 3401) && x.raw.remote.ip().to_string() != "203.0.113.200").expect("another socket");
    let row = SocketRow::new(&s, quiet);
    assert_eq!((row.severity, row.rule_ids.len()), (None, 0));
    let json = serde_json::to_value(&row).expect("json");
    assert_eq!(json["severity"], serde_json::Value::Null);
    let text = csv(&s, CsvTable::Sockets);
    let header = text.lines().next().expect("header");
    assert!(header.ends_with(",send_queue,severity,rule_ids,age_bound,netns,namespace,container,remote_name,service"), "new columns at the end: {header}");
    assert!(text.lines().any(|l| l.contains(",critical,callback low_rule stdio,")), "{text}");
    let bash = s.process(Pid(3401)).expect("bash");
    let json = serde_json::to_value(ProcessRow::new(&s, bash)).expect("json");
    assert_eq!((json["pid"].as_u64(), json["severity"].as_str()), (Some(3401), Some("critical")));
    assert_eq!(json["rule_ids"], serde_json::json!(["callback", "stdio"]), "its own and its socket's, not its endpoint's");
    let procs = csv(&s, CsvTable::Processes);
    assert!(procs.lines().next().expect("header").ends_with(",cmdline,severity,rule_ids,netns,namespace,container"));
    assert!(procs.lines().any(|l| l.starts_with("3401,") && l.ends_with(",critical,callback stdio,,host,")), "{procs}");
}

#[test]
fn unknown_ages_and_rates_are_empty_not_zero() {
    let mut src = ReplaySource::from_text(crate::DEMO_SCENARIO, "demo").expect("demo");
    let first = src.build_through(Arc::new(Spec::embedded()), Some(1), None).0.expect("frame 1");
    let text = csv(&first, CsvTable::Sockets);
    let columns: Vec<&str> = text.lines().next().expect("header").split(',').collect();
    let at = |name: &str| columns.iter().position(|c| *c == name).expect("column");
    let (age, bound, rate) = (at("age_ms"), at("age_bound"), at("send_rate"));
    for line in text.lines().skip(1) {
        let v: Vec<&str> = line.split(',').collect();
        assert_eq!(v[rate], "", "no rate on a first sighting: {line}");
        if v[at("state")] == "LISTEN" {
            assert_eq!(v[bound], "at_most", "a listener is bounded by its owner's start: {line}");
            assert!(!v[age].is_empty());
        } else if v[at("state")] == "ESTABLISHED" {
            assert_eq!((v[age], v[bound]), ("", ""), "a connection already open: unknown: {line}");
        }
    }
}

#[test]
fn the_summary_lists_findings_worst_first_with_subject_and_evidence() {
    let text = summary_text(&flagged(), 10);
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| l.starts_with("findings (3: 1 critical · 1 high · 1 low):")).expect("findings header");
    assert!(start <= 3, "near the top:\n{text}");
    assert!(lines[start + 1].contains("CRITICAL") && lines[start + 1].contains("Reverse shell · pid 3401 bash"), "{text}");
    assert_eq!(lines[start + 2].trim(), "fd 0 → socket\\x1b[31m", "evidence escaped");
    assert!(lines[start + 3].contains("HIGH") && lines[start + 3].contains("pid 3401 bash tcp 10.0.0.5:38812 → 203.0.113.200:4444"), "{text}");
    assert_eq!(lines[start + 4].trim(), "remote_port 4444", "the telling step, not the context");
    assert!(lines[start + 5].contains("LOW") && lines[start + 5].contains("Low thing · 203.0.113.200 (pid 3401 bash)"), "one talker: {text}");
    assert!(!text.contains('\x1b'));
    let cut = summary_text(&flagged(), 1);
    assert!(cut.contains("  … and 2 more (necromap snapshot --format csv --table findings)"), "{cut}");
    assert!(!cut.contains("HIGH"));
}

#[test]
fn the_summary_says_no_findings_when_there_are_none() {
    let text = summary_text(&demo(), 10);
    assert!(text.contains("\nfindings: no findings\n"), "{text}");
}

#[test]
fn c1_del_and_bidi_controls_never_reach_any_output_raw() {
    let mut s = flagged();
    let hostile = "evil\u{9b}31m\u{85}\u{7f}\u{202e}fdp.exe\u{2066}";
    for p in s.processes.values_mut() {
        p.facts.name = hostile.into();
        p.facts.cmdline = format!("{hostile} --flag");
    }
    s.findings[0].trace.push(crate::model::TraceStep { condition: "cmdline".into(), value: hostile.into() });
    let mut json = Vec::new();
    crate::export::write_json(&s, &mut json, true).expect("json");
    let json = String::from_utf8(json).expect("utf8");
    let outputs = [
        ("json", json.clone()),
        ("csv sockets", csv(&s, CsvTable::Sockets)),
        ("csv processes", csv(&s, CsvTable::Processes)),
        ("csv findings", csv(&s, CsvTable::Findings)),
        ("summary", crate::export::summary_text(&s, 10)),
    ];
    for (what, text) in &outputs {
        assert!(text.contains("evil"), "{what} shows the process");
        let raw: Vec<String> =
            text.chars().filter(|&c| crate::text::is_unsafe(c) && !matches!(c, '\n' | '\r' | '\t')).map(|c| format!("U+{:04X}", c as u32)).collect();
        assert!(raw.is_empty(), "{what} carries raw {raw:?}");
    }
    // JSON keeps the value: the escapes decode to the original text.
    let doc: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    assert!(doc["processes"].as_array().expect("processes").iter().all(|p| p["name"] == hostile));
}

/// The demo with a brute-forcing login party that holds no socket, its
/// finding, and the parties placed as the builder places them.
fn with_a_party() -> (Snapshot, EndpointKey) {
    let mut s = demo();
    let ip: std::net::IpAddr = "192.0.2.250".parse().expect("ip");
    let party = EndpointKey::host(ip);
    let mut book = crate::logins::book::LoginBook::default();
    book.add(crate::model::LoginEvent {
        at_ms: s.taken_at_ms - 1_000,
        kind: crate::model::LoginKind::Failed,
        remote: ip,
        port: Some(50_000),
        user: Some("root".into()),
        invalid_user: false,
        method: Some("password".into()),
        service: "sshd".into(),
        pid: Some(9),
    });
    s.logins = Some(Arc::new(book.digest(s.generation, "test", s.taken_at_ms)));
    s.set_findings(vec![finding("login_brute_force", "Brute force", Severity::High, Subject::Endpoint { endpoint: party }, &[])]);
    let spec = Spec::embedded();
    s.place_parties(crate::model::graph_build::Crowding::large(&spec));
    (s, party)
}

#[test]
fn the_dot_export_and_the_web_map_draw_a_party_without_a_socket() {
    let (s, party) = with_a_party();
    assert_eq!(s.parties.first().map(|p| p.endpoint), Some(party));
    let mut out = Vec::new();
    super::dot::write_dot(&s, &Spec::embedded(), &mut out).expect("dot");
    let dot = String::from_utf8(out).expect("utf8");
    let id = super::node_id(crate::model::NodeRef::Endpoint(party));
    assert!(dot.lines().any(|l| l.trim_start().starts_with(&format!("\"{id}\" [")) && l.contains("severity=\"high\"")), "{dot}");
    let map = crate::web::map::map(&s);
    let node =
        map.nodes.iter().find(|n| n.id == id).unwrap_or_else(|| panic!("the web map has the party: {:?}", map.nodes.iter().map(|n| &n.id).collect::<Vec<_>>()));
    assert_eq!(node.severity, Some(Severity::High));
    assert_eq!(node.sockets, 0);
    assert!(map.edges.iter().all(|e| e.from != id && e.to != id), "a party has no edges");
}
