//! The exporters through the real binary on the bundled demo host, with
//! the built-in rules: findings in the summary, the CSV findings table,
//! severities and rule ids on socket and process rows, and unknown ages
//! and rates as null.

use std::process::Command;

use serde_json::Value;

fn necromap(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_necromap")).args(args).output().expect("run necromap");
    assert!(out.status.success(), "necromap {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf8")
}

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&necromap(args)).expect("json")
}

const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];

#[test]
fn the_summary_lists_the_demo_findings_worst_first() {
    let text = necromap(&["--demo", "summary"]);
    let heads: Vec<&str> = text.lines().filter(|l| SEVERITIES.iter().any(|s| l.trim_start().starts_with(&format!("{} ", s.to_uppercase())))).collect();
    assert!(heads.len() >= 3, "{text}");
    let rank = |l: &str| SEVERITIES.iter().position(|s| l.trim_start().starts_with(&s.to_uppercase())).expect("severity");
    assert!(heads.windows(2).all(|w| rank(w[0]) <= rank(w[1])), "worst first:\n{text}");
    assert!(heads[0].starts_with("  CRITICAL") && heads[0].contains("pid 3401 bash"), "{text}");
    assert!(text.contains("tcp 10.0.0.5:38812 → 203.0.113.200:4444"), "a socket subject: {text}");
    assert!(!text.contains("no findings"));
    let findings = text.find("\nfindings (").expect("findings section");
    assert!(findings < text.find("processes by sockets").expect("processes"), "near the top");
}

#[test]
fn the_csv_findings_table_matches_the_json_findings() {
    let doc = json(&["--demo", "snapshot", "--format", "json"]);
    let findings = doc["findings"].as_array().expect("findings");
    assert!(!findings.is_empty());
    let text = necromap(&["--demo", "snapshot", "--format", "csv", "--table", "findings"]);
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("id,rule_id,rule_name,severity,tags,subject_kind,socket_id,pid,process,endpoint,first_seen_ms,last_seen_ms,evidence,explanation,netns,namespace")
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), findings.len());
    for (row, f) in rows.iter().zip(findings) {
        let id = f["id"].as_str().expect("id");
        assert!(row.starts_with(&format!("{id},{},", f["rule_id"].as_str().expect("rule"))), "same order as the JSON: {row}");
        assert!(row.contains(&format!(",{},", f["severity"].as_str().expect("severity"))), "{row}");
        // The namespace ends both: the name, or nothing for an endpoint
        // outside loopback (every namespace's).
        let namespace = f["namespace"].as_str().unwrap_or_default();
        assert!(row.ends_with(&format!(",{namespace}")), "same namespace as the JSON: {row} / {f}");
        assert_eq!(f["namespace"].is_null(), f["subject"]["kind"] == "endpoint", "{f}");
    }
    assert!(rows.iter().any(|r| r.starts_with("reverse_shell_stdio@pid:3401,") && r.contains(",process,,3401,bash,,")), "{text}");
}

#[test]
fn socket_and_process_rows_carry_severity_and_rule_ids() {
    let doc = json(&["--demo", "snapshot", "--format", "json"]);
    let sockets = doc["sockets"].as_array().expect("sockets");
    let shell = sockets.iter().find(|s| s["remote_port"] == 4444).expect("the shell's socket");
    assert_eq!(shell["severity"], "critical");
    let rules: Vec<&str> = shell["rule_ids"].as_array().expect("rule ids").iter().filter_map(Value::as_str).collect();
    assert!(rules.contains(&"callback_port") && rules.contains(&"reverse_shell_stdio"), "{rules:?}");
    assert!(rules.windows(2).all(|w| w[0] < w[1]), "sorted, no duplicates: {rules:?}");
    let quiet = sockets.iter().find(|s| s["process"] == "sshd").expect("sshd");
    assert_eq!((&quiet["severity"], &quiet["rule_ids"]), (&Value::Null, &serde_json::json!([])));
    let bash = doc["processes"].as_array().expect("processes").iter().find(|p| p["pid"] == 3401).expect("bash");
    assert_eq!(bash["severity"], "critical");
    assert!(bash["rule_ids"].as_array().expect("rule ids").iter().any(|r| r == "reverse_shell_stdio"));
    assert_eq!(bash["name"], "bash", "the process fields are still there");
    assert_eq!(bash["namespace"], "host", "the process row names its namespace");
    let listeners = doc["listeners"].as_array().expect("listeners");
    assert!(!listeners.is_empty() && listeners.iter().all(|l| l["namespace"] == "host"), "listener rows name their namespace: {listeners:?}");
    let endpoints = doc["endpoints"].as_array().expect("endpoints");
    let public = endpoints.iter().find(|e| e["ip"] == "203.0.113.200").expect("the shell's peer");
    assert!(public["namespace"].is_null(), "an address outside loopback belongs to no one namespace: {public}");
    // A view keeps the rows' facts in step with the sockets it keeps.
    let view = json(&["--demo", "--view", "suspicious_only", "snapshot", "--format", "json"]);
    let kept = view["sockets"].as_array().expect("sockets");
    assert!(!kept.is_empty());
    assert!(kept.iter().all(|s| s["severity"].is_string()), "{kept:?}");
}

#[test]
fn unknown_ages_and_rates_are_null_and_bounds_are_named() {
    let first = json(&["--demo", "snapshot", "--format", "json", "--frame", "1"]);
    for s in first["sockets"].as_array().expect("sockets") {
        assert_eq!((&s["send_rate"], &s["recv_rate"]), (&Value::Null, &Value::Null), "one refresh: no rates: {s}");
        match s["state"].as_str() {
            Some("LISTEN") => assert_eq!(s["age_bound"], "at_most", "{s}"),
            Some("ESTABLISHED") => assert_eq!((&s["age_ms"], &s["age_bound"]), (&Value::Null, &Value::Null), "{s}"),
            _ => {}
        }
    }
    let last = json(&["--demo", "snapshot", "--format", "json"]);
    let bounds: std::collections::BTreeSet<&str> = last["sockets"].as_array().expect("sockets").iter().filter_map(|s| s["age_bound"].as_str()).collect();
    assert_eq!(bounds, ["at_least", "exact"].into_iter().collect(), "after 60 frames every age is seen");
    let sockets = last["sockets"].as_array().expect("sockets");
    let shell = sockets.iter().find(|s| s["remote_port"] == 4444).expect("shell");
    assert_eq!((&shell["age_ms"], &shell["age_bound"]), (&serde_json::json!(59 * 3000), &serde_json::json!("at_least")), "there at the first frame");
    assert!(shell["send_rate"].is_u64());
    let young = sockets.iter().find(|s| s["age_bound"] == "exact").expect("a socket that appeared");
    assert!(young["age_ms"].as_i64().expect("age") < 59 * 3000, "{young}");
}
