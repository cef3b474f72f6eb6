//! `snapshot --format dot`: the demo host's map as a Graphviz digraph,
//! checked as text (nodes, edges, severities) and rendered by Graphviz's
//! own `dot -Tsvg`; and a hostile process name that must stay one inert
//! quoted string.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;

use necromap::collect::ReplaySource;
use necromap::export::write_dot;
use necromap::spec::Spec;

fn necromap(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_necromap")).args(args).output().expect("run necromap");
    assert!(out.status.success(), "necromap {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf8")
}

/// Graphviz's `dot -Tsvg` over `text`: the SVG, after asserting success.
fn render_svg(text: &str) -> String {
    let found = Command::new("dot").arg("-V").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    assert!(found, "graphviz is not installed: .ci/run installs it");
    let mut child = Command::new("dot").arg("-Tsvg").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn dot");
    child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write dot text");
    let out = child.wait_with_output().expect("dot");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "dot -Tsvg failed: {stderr}\n{text}");
    assert!(!stderr.contains("Error") && !stderr.contains("syntax"), "dot -Tsvg: {stderr}");
    let svg = String::from_utf8(out.stdout).expect("utf8 svg");
    assert!(svg.contains("<svg"), "{svg}");
    svg
}

/// The quoted strings of one statement, unescaped only for `\"` and `\\`;
/// panics on an unterminated string.
fn quoted(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut s = String::new();
        loop {
            match chars.next() {
                Some('\\') => s.push(chars.next().unwrap_or_else(|| panic!("dangling backslash: {line}"))),
                Some('"') => break,
                Some(c) => s.push(c),
                None => panic!("unterminated string: {line}"),
            }
        }
        out.push(s);
    }
    out
}

/// A light parse of our own output: a `digraph { … }` of node and edge
/// statements, one a line, every edge between declared nodes. Returns the
/// node statements by id.
fn parse_digraph(text: &str) -> std::collections::BTreeMap<String, String> {
    let body: Vec<&str> = text.lines().filter(|l| !l.trim_start().starts_with("//")).collect();
    assert!(body.first().is_some_and(|l| l.starts_with("digraph ") && l.ends_with('{')), "{text}");
    assert_eq!(body.last().copied(), Some("}"), "{text}");
    let mut nodes = std::collections::BTreeMap::new();
    let mut edges = Vec::new();
    for line in &body[1..body.len() - 1] {
        let l = line.trim();
        assert!(l.ends_with("];"), "statement: {l}");
        if l.starts_with("graph [") || l.starts_with("node [") || l.starts_with("edge [") {
            continue;
        }
        let strings = quoted(l);
        if l.contains("\" -> \"") {
            edges.push((strings[0].clone(), strings[1].clone()));
        } else {
            let id = strings[0].clone();
            assert!(id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "id {id}");
            assert!(nodes.insert(id.clone(), l.to_string()).is_none(), "duplicate id {id}");
        }
    }
    assert!(!edges.is_empty(), "{text}");
    for (a, b) in &edges {
        assert!(nodes.contains_key(a) && nodes.contains_key(b), "edge {a} -> {b} between undeclared nodes");
    }
    nodes
}

#[test]
fn the_demo_map_is_a_digraph_graphviz_renders() {
    let text = necromap(&["--demo", "snapshot", "--format", "dot"]);
    let nodes = parse_digraph(&text);
    let bash = nodes.get("p_3401").expect("bash node");
    assert!(bash.contains("label=\"bash (3401)\""), "{bash}");
    assert!(bash.contains("color=\"red\"") && bash.contains("severity=\"critical\""), "critical finding on bash: {bash}");
    assert!(bash.contains("reverse_shell_stdio"), "rule ids in the tooltip: {bash}");
    assert!(text.contains("203.0.113.200"), "the C2 endpoint or its group: {text}");
    assert!(nodes.values().any(|n| n.contains("shape=cds") && n.contains("label=\":22 tcp\"")), "the sshd listener: {text}");
    assert!(text.contains("tcp ESTABLISHED ×"), "edge labels: {text}");
    // Established edges take the spec's ESTABLISHED style (green, solid).
    let est = text.lines().find(|l| l.contains("-> ") && l.contains("tcp ESTABLISHED")).expect("an established edge");
    assert!(est.contains("color=\"green4\"") && est.contains("style=solid"), "{est}");
    let svg = render_svg(&text);
    assert!(svg.contains("bash (3401)"), "rendered label");
}

#[test]
fn a_hostile_process_name_renders_as_inert_text() {
    let hostile = "ev\\\"il\\\\x\\nsh\\u202Egnp\\u009B31m";
    let scenario = format!(
        "host: hostile\nframes: 2\nprocesses:\n  - {{ pid: 4242, name: \"{hostile}\", cmdline: \"{hostile} --flag\" }}\nsockets:\n  - {{ pid: 4242, proto: tcp, local: \"10.0.0.5:40000\", remote: \"203.0.113.9:443\", state: ESTABLISHED }}\n  - {{ pid: 4242, proto: tcp, local: \"0.0.0.0:8443\", state: LISTEN }}\n"
    );
    let mut src = ReplaySource::from_text(&scenario, "hostile.yaml").expect("scenario");
    let spec = Arc::new(Spec::embedded());
    let snapshot = src.build_through(spec.clone(), None, None).0.expect("frames");
    let name = &snapshot.processes.values().next().expect("the process").facts.name;
    assert!(name.contains('"') && name.contains('\n'), "the scenario kept the hostile name: {name:?}");
    let mut out = Vec::new();
    write_dot(&snapshot, &spec, &mut out).expect("write dot");
    let text = String::from_utf8(out).expect("utf8");
    let bad: BTreeSet<char> = text.chars().filter(|&c| necromap::text::is_unsafe(c) && c != '\n').collect();
    assert!(bad.is_empty(), "raw control or bidi characters {bad:?} in:\n{text}");
    let nodes = parse_digraph(&text);
    let node = nodes.get("p_4242").expect("the hostile process");
    assert!(node.contains(r#"label="ev\"il\\x\\x0ash\\u{202e}gnp\\x9b31m (4242)""#), "{node}");
    render_svg(&text);
}
