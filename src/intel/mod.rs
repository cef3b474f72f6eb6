//! Threat intelligence: Suricata eve.json intake (`eve`, `tail`), alerts
//! folded onto the map with the block window (`alerts`), and, here, the
//! threat score and risk level of an address and the attack phase a tag or
//! alert category points to.

pub mod alerts;
pub mod eve;
pub mod intake;
pub mod tail;

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
    let t = tag.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
    if has(&["lateral"]) {
        Some(Phase::LateralMovement)
    } else if has(&["exfil", "large_transfer", "large transfer", "credential"]) {
        Some(Phase::Exfiltration)
    } else if has(&["scan", "recon"]) {
        Some(Phase::Reconnaissance)
    } else if has(&["exploit", "injection", "flood", "web_shell", "reverse_shell"]) {
        Some(Phase::Exploitation)
    } else if has(&["beacon", "c2", "tor", "tunnel", "ioc", "miner"]) {
        Some(Phase::CommandAndControl)
    } else if has(&["persistence", "backdoor", "listener", "memory_exec"]) {
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
    }
}
