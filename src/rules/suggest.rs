//! `necromap rules suggest`: a YAML draft from a description (and optionally
//! from an observed socket), checked by the same loader before it is shown.

use super::load::RuleSet;
use super::schema::{Effects, Explanation, Match, MatchDirection, Rule, RuleFile, Scope};
use crate::model::{Direction, Protocol, Severity, Snapshot, Socket};

const SHELLS: [&str; 8] = ["sh", "bash", "dash", "zsh", "ksh", "ash", "csh", "tcsh"];

fn slug(text: &str) -> String {
    let s: String = text.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    let parts: Vec<&str> = s.split('_').filter(|p| !p.is_empty()).take(6).collect();
    if parts.is_empty() { "custom_rule".into() } else { parts.join("_") }
}

/// Conditions read from the words of a description.
fn from_words(description: &str) -> (Match, Scope, Severity, Vec<String>) {
    let d = description.to_lowercase();
    let mut m = Match::default();
    let mut tags = Vec::new();
    let words: Vec<&str> = d.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let ports: Vec<u16> = words.iter().filter_map(|w| w.parse::<u16>().ok()).filter(|p| *p > 0).collect();
    if d.contains("listen") {
        m.direction = Some(MatchDirection::Listen);
        if !ports.is_empty() {
            m.local_port_in = Some(ports.clone());
        }
        tags.push("listener".to_string());
    } else {
        if d.contains("inbound") || d.contains("incoming") {
            m.direction = Some(MatchDirection::Inbound);
        } else {
            m.direction = Some(MatchDirection::Outbound);
        }
        if !ports.is_empty() {
            m.remote_port_in = Some(ports);
        }
    }
    if words.contains(&"udp") {
        m.protocol = Some(Protocol::Udp);
    } else if words.contains(&"tcp") {
        m.protocol = Some(Protocol::Tcp);
    }
    if d.contains("internet") || d.contains("public") || d.contains("external") {
        m.exclude_private_ips = Some(true);
    }
    if words.iter().any(|w| SHELLS.contains(w) || *w == "shell") {
        m.process_name_in = Some(SHELLS.iter().map(ToString::to_string).collect());
        tags.push("reverse_shell".to_string());
    }
    if d.contains("tmp") {
        m.cwd_prefix_in = Some(vec!["/tmp".into(), "/var/tmp".into(), "/dev/shm".into()]);
    }
    let severity = if d.contains("critical") {
        Severity::Critical
    } else if d.contains("high") || d.contains("shell") {
        Severity::High
    } else if d.contains("low") {
        Severity::Low
    } else {
        Severity::Medium
    };
    let scope = if m.process_name_in.is_some() { Scope::Process } else { Scope::Connection };
    (m, scope, severity, tags)
}

/// Conditions from an observed socket: its state, direction, port, process.
fn from_socket(m: &mut Match, s: &Socket, snapshot: &Snapshot) {
    m.state = Some(s.state());
    m.protocol = Some(s.key().protocol);
    match s.direction {
        Direction::Listen => {
            m.direction = Some(MatchDirection::Listen);
            m.local_port_in = Some(vec![s.raw.local.port()]);
            m.remote_port_in = None;
        }
        Direction::Inbound => {
            m.direction = Some(MatchDirection::Inbound);
            m.local_port_in = Some(vec![s.raw.local.port()]);
            m.remote_port_in = None;
        }
        Direction::Outbound => {
            m.direction = Some(MatchDirection::Outbound);
            m.remote_port_in = Some(vec![s.raw.remote.port()]);
        }
    }
    if let Some(p) = s.owner().and_then(|p| snapshot.process(p)) {
        m.process_name_in = Some(vec![p.facts.name.clone()]);
    }
}

/// A draft pack holding one rule, as YAML, already accepted by the loader.
pub fn suggest(description: &str, socket: Option<(&Socket, &Snapshot)>) -> Result<String, super::load::RuleError> {
    let (mut m, scope, severity, tags) = from_words(description);
    if let Some((s, snap)) = socket {
        from_socket(&mut m, s, snap);
    }
    let rule = Rule {
        id: slug(description),
        name: description.trim().to_string(),
        description: format!("Drafted by `necromap rules suggest` from: {}", description.trim()),
        severity,
        scope,
        tags,
        matcher: m,
        effects: Effects { add_tag: Vec::new(), highlight_style: Some("yellow_glow".into()), icon_hint: None },
        explanation: Explanation { en: "TODO: say why this deserves a look, in plain words.".into(), ko: "TODO: 한국어 설명을 적으세요.".into() },
        supersedes: Vec::new(),
    };
    let file = RuleFile {
        version: 1,
        defaults: super::schema::Defaults::default(),
        rules: vec![rule],
        tag_definitions: std::collections::BTreeMap::default(),
        highlight_styles: std::collections::BTreeMap::default(),
    };
    let yaml = serde_yaml::to_string(&file).unwrap_or_default();
    // Drop the `null`s of unset keys: the draft reads like a hand-written pack.
    let yaml: String = yaml.lines().filter(|l| !l.trim_end().ends_with(": null")).fold(String::new(), |mut acc, l| {
        acc.push_str(l);
        acc.push('\n');
        acc
    });
    let mut check = RuleSet::load(None, false).unwrap_or_else(|_| RuleSet::empty());
    check.add_text(&yaml, "<suggested rule>")?;
    Ok(yaml)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_description_becomes_a_rule_the_loader_accepts() {
        let y = suggest("shell talking to the internet on 4444", None).expect("valid");
        assert!(y.contains("id: shell_talking_to_the_internet_on\n"), "{y}");
        assert!(y.contains("4444") && y.contains("bash") && y.contains("exclude_private_ips: true"), "{y}");
        let y = suggest("udp listener on 5353", None).expect("valid");
        assert!(y.contains("direction: listen") && y.contains("protocol: udp") && y.contains("5353"), "{y}");
    }
}
