//! `necromap rules suggest`: a YAML draft from a description (and optionally
//! from an observed socket), checked by the same loader before it is shown.

use super::load::RuleSet;
use super::schema::{Effects, Explanation, Match, MatchDirection, Rule, RuleFile, Scope};
use crate::model::{Direction, Protocol, Severity, Snapshot, Socket};

use super::describe::{Described, SHELLS, UNDERSTOOD};

/// Why no draft was made.
#[derive(Debug, thiserror::Error)]
pub enum SuggestError {
    #[error(
        "{description}: nothing in it narrows a rule (it would match nearly every connection). I understand {UNDERSTOOD}; or base the draft on a socket with --from-socket ID"
    )]
    Meaningless { description: String },
    #[error(transparent)]
    Rule(#[from] super::load::RuleError),
}

fn slug(text: &str) -> String {
    let s: String = text.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    let parts: Vec<&str> = s.split('_').filter(|p| !p.is_empty()).take(6).collect();
    if parts.is_empty() { "custom_rule".into() } else { parts.join("_") }
}

/// Conditions from what a description says.
fn from_words(description: &str, d: &Described) -> (Match, Scope, Severity, Vec<String>) {
    let text = description.to_lowercase();
    let mut m = Match::default();
    let mut tags = Vec::new();
    let ports = d.ports.clone();
    if d.listen {
        m.direction = Some(MatchDirection::Listen);
        if !ports.is_empty() {
            m.local_port_in = Some(ports);
        }
        tags.push("listener".to_string());
    } else {
        m.direction = Some(if d.inbound { MatchDirection::Inbound } else { MatchDirection::Outbound });
        if !ports.is_empty() {
            m.remote_port_in = Some(ports);
        }
    }
    if d.udp {
        m.protocol = Some(Protocol::Udp);
    } else if d.tcp {
        m.protocol = Some(Protocol::Tcp);
    }
    if d.internet {
        m.exclude_private_ips = Some(true);
    }
    if !d.addresses.is_empty() {
        m.remote_ip_in = Some(d.addresses.clone());
    }
    let mut names: Vec<String> = d.processes.clone();
    if d.shell {
        names.extend(SHELLS.iter().map(ToString::to_string));
        tags.push("reverse_shell".to_string());
    }
    if !names.is_empty() {
        m.process_name_in = Some(names);
    }
    if d.tmp {
        m.cwd_prefix_in = Some(vec!["/tmp".into(), "/var/tmp".into(), "/dev/shm".into()]);
    }
    let beacon = d.beacon || d.interval.is_some();
    if beacon {
        // The beacon score finds the rhythm whatever its period; the
        // period said is kept in the rule's description.
        m.beacon_score_gte = Some(0.7);
        tags.push("beacon".to_string());
    }
    let severity = if text.contains("critical") {
        Severity::Critical
    } else if text.contains("high") || d.shell {
        Severity::High
    } else if text.contains("low") {
        Severity::Low
    } else {
        Severity::Medium
    };
    let scope = if m.process_name_in.is_some() {
        Scope::Process
    } else if beacon {
        Scope::Endpoint
    } else {
        Scope::Connection
    };
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
/// Refuses a description that says nothing a rule can use, unless a socket is given.
pub fn suggest(description: &str, socket: Option<(&Socket, &Snapshot)>) -> Result<String, SuggestError> {
    let described = super::describe::read(description);
    if socket.is_none() && !described.is_meaningful() {
        let description = match description.trim() {
            "" => "an empty description".to_string(),
            d => format!("`{}`", crate::text::escape_control(d)),
        };
        return Err(SuggestError::Meaningless { description });
    }
    let (mut m, scope, severity, tags) = from_words(description, &described);
    let period = described.interval.map(|p| format!(" (a rhythm of about {}s: compare median_interval_s in the finding's trace)", p.as_secs_f64()));
    if let Some((s, snap)) = socket {
        from_socket(&mut m, s, snap);
    }
    let rule = Rule {
        id: slug(description),
        name: description.trim().to_string(),
        description: format!("Drafted by `necromap rules suggest` from: {}{}", description.trim(), period.unwrap_or_default()),
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

    #[test]
    fn an_interval_drafts_a_beacon_rule_and_nonsense_is_refused() {
        let y = suggest("outbound every 60 seconds", None).expect("valid");
        assert!(y.contains("beacon_score_gte: 0.7") && !y.contains("remote_port_in"), "{y}");
        let y = suggest("process nc to 203.0.113.0/24 port 4444", None).expect("valid");
        assert!(y.contains("- nc") && y.contains("203.0.113.0/24") && y.contains("- 4444"), "{y}");
        for text in ["", "something odd"] {
            let e = suggest(text, None).expect_err("refused").to_string();
            assert!(e.contains("every 60 seconds") && e.contains("port 4444"), "{e}");
        }
    }
}
