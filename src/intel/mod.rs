//! Threat intelligence: Suricata eve.json intake (`eve`, `tail`), alerts
//! folded onto the map with the block window (`alerts`), and, here, the
//! threat score and risk level of an address and the attack phase a tag or
//! alert category points to.

pub mod alerts;
pub mod eve;
pub mod intake;
pub mod respond;
pub mod tail;
pub mod window;

use serde::Serialize;

use crate::model::Severity;

/// Attack phases, in the order an intrusion usually goes through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Reconnaissance,
    Exploitation,
    Persistence,
    LateralMovement,
    CommandAndControl,
    Exfiltration,
}

impl Phase {
    pub const ALL: [Self; 6] =
        [Self::Reconnaissance, Self::Exploitation, Self::Persistence, Self::LateralMovement, Self::CommandAndControl, Self::Exfiltration];

    pub fn name(self) -> &'static str {
        match self {
            Self::Reconnaissance => "reconnaissance",
            Self::Exploitation => "exploitation",
            Self::Persistence => "persistence",
            Self::LateralMovement => "lateral_movement",
            Self::CommandAndControl => "command_and_control",
            Self::Exfiltration => "exfiltration",
        }
    }
}

/// The phase a tag or alert category points to, if any: scan →
/// reconnaissance; exploit, injection, flood → exploitation; beacon, c2,
/// tor, tunnel → command and control; persistence, backdoor, listener →
/// persistence; lateral → lateral movement; exfiltration, large transfer →
/// exfiltration.
pub fn phase_of(tag: &str) -> Option<Phase> {
    // Whole words only ("administrator" is not "tor"); `_` splits words too.
    let lower = tag.to_ascii_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let has = |list: &[&str]| words.iter().any(|w| list.contains(w) || w.strip_suffix('s').is_some_and(|x| list.contains(&x)));
    if has(&["lateral"]) {
        Some(Phase::LateralMovement)
    } else if has(&["exfiltration", "exfil", "credential"]) || (has(&["large"]) && has(&["transfer"])) {
        Some(Phase::Exfiltration)
    } else if has(&["scan", "scanning", "recon", "reconnaissance"]) {
        Some(Phase::Reconnaissance)
    } else if has(&["exploit", "exploitation", "injection", "flood", "shell", "overflow", "brute", "spray"]) {
        Some(Phase::Exploitation)
    } else if has(&["beacon", "beaconing", "c2", "cnc", "tor", "tunnel", "ioc", "miner", "trojan", "malware"]) {
        Some(Phase::CommandAndControl)
    } else if has(&["persistence", "backdoor", "listener", "memory"]) {
        Some(Phase::Persistence)
    } else {
        None
    }
}

/// Risk levels of a threat score.
pub fn risk_level(score: u32) -> Severity {
    match score {
        80.. => Severity::Critical,
        60..=79 => Severity::High,
        40..=59 => Severity::Medium,
        20..=39 => Severity::Low,
        _ => Severity::Info,
    }
}

/// `min(100, 5·items + 10·distinct threat types)`, plus 30 (still capped at
/// 100) when any item is critical.
pub fn threat_score(items: usize, distinct_types: usize, any_critical: bool) -> u32 {
    let base = (5 * items + 10 * distinct_types).min(100) as u32;
    if any_critical { (base + 30).min(100) } else { base }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_and_levels() {
        assert_eq!(threat_score(0, 0, false), 0);
        assert_eq!(threat_score(2, 1, false), 20);
        assert_eq!(threat_score(2, 1, true), 50);
        assert_eq!(threat_score(30, 5, true), 100);
        assert_eq!(risk_level(100), Severity::Critical);
        assert_eq!(risk_level(60), Severity::High);
        assert_eq!(risk_level(59), Severity::Medium);
        assert_eq!(risk_level(20), Severity::Low);
        assert_eq!(risk_level(19), Severity::Info);
    }

    #[test]
    fn phases_from_tags() {
        assert_eq!(phase_of("scan"), Some(Phase::Reconnaissance));
        assert_eq!(phase_of("c2"), Some(Phase::CommandAndControl));
        assert_eq!(phase_of("lateral"), Some(Phase::LateralMovement));
        assert_eq!(phase_of("exfiltration"), Some(Phase::Exfiltration));
        assert_eq!(phase_of("listener"), Some(Phase::Persistence));
        assert_eq!(phase_of("ET EXPLOIT Apache"), Some(Phase::Exploitation));
        assert_eq!(phase_of("ipv6"), None);
        assert_eq!(phase_of("Attempted Administrator Privilege Gain"), None, "whole words: administrator is not tor");
        assert_eq!(phase_of("A Network Trojan was detected"), Some(Phase::CommandAndControl));
        assert_eq!(phase_of("reverse_shell"), Some(Phase::Exploitation));
        assert_eq!(phase_of("brute_force"), Some(Phase::Exploitation));
        assert_eq!(phase_of("password_spray"), Some(Phase::Exploitation));
    }
}
