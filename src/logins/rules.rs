//! The login rules: what each is called, how severe, its tags (which give
//! the attack phase), its explanation in English and Korean, the commands
//! suggested next, and the thresholds they judge with. They come from a
//! YAML file (`rules/logins/logins.yaml`, embedded; `--login-rules FILE`
//! for a tuned copy, read by `rule_file.rs`): the rule language of
//! `rules/*.yaml` matches sockets, processes and endpoints, and a login
//! party has none of those until it connects.

use std::net::IpAddr;
use std::sync::OnceLock;

use crate::model::{Pid, Severity};

/// The login rules there are. Each is in every login rule file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LoginRuleId {
    Activity,
    BruteForce,
    Spray,
    SuccessAfterFailures,
    FromIoc,
    NewAddress,
    SessionAfterFailures,
}

impl LoginRuleId {
    pub const ALL: [Self; 7] =
        [Self::Activity, Self::BruteForce, Self::Spray, Self::SuccessAfterFailures, Self::FromIoc, Self::NewAddress, Self::SessionAfterFailures];

    /// The rule id findings carry (and the file's key).
    pub fn name(self) -> &'static str {
        match self {
            Self::Activity => "login_activity",
            Self::BruteForce => "login_brute_force",
            Self::Spray => "login_password_spray",
            Self::SuccessAfterFailures => "login_success_after_failures",
            Self::FromIoc => "login_from_ioc",
            Self::NewAddress => "login_new_address",
            Self::SessionAfterFailures => "ssh_session_after_failures",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The thresholds the login rules judge with (windows in ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// Activity: a party heard from within this window is on the map.
    pub activity_window_ms: i64,
    /// Brute force: at least this many failures from one address …
    pub brute_failures: u32,
    /// … within this window.
    pub brute_window_ms: i64,
    /// Spraying: at least this many distinct users from one address, or
    /// addresses naming one user, within `spray_window_ms`.
    pub spray_users: usize,
    pub spray_addresses: usize,
    pub spray_window_ms: i64,
    /// Success after a burst: an accepted login with at least this many
    /// failures from the same address in the `burst_window_ms` before it.
    pub burst_failures: u32,
    pub burst_window_ms: i64,
    /// A live SSH session whose peer had at least this many failures in
    /// the `session_window_ms` before now.
    pub session_failures: u32,
    pub session_window_ms: i64,
}

/// One login rule's description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRule {
    pub id: LoginRuleId,
    pub name: String,
    pub severity: Severity,
    pub tags: Vec<String>,
    pub en: String,
    pub ko: String,
    /// Commands suggested next; `{ip}` and `{pid}` are filled in.
    pub next_steps: Vec<String>,
}

impl LoginRule {
    /// The explanation in English or Korean.
    pub fn explanation(&self, korean: bool) -> &str {
        if korean { &self.ko } else { &self.en }
    }

    /// The next steps for `ip` (and the socket's process): a step naming
    /// `{pid}` is left out when there is none.
    pub fn steps_for(&self, ip: IpAddr, pid: Option<Pid>) -> Vec<String> {
        let ip = ip.to_string();
        self.next_steps
            .iter()
            .filter_map(|s| {
                let s = s.replace("{ip}", &ip);
                match pid {
                    Some(p) => Some(s.replace("{pid}", &p.0.to_string())),
                    None => (!s.contains("{pid}")).then_some(s),
                }
            })
            .collect()
    }
}

/// Every login rule and the thresholds, as one file gave them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRules {
    /// In [`LoginRuleId::ALL`] order.
    rules: Vec<LoginRule>,
    pub thresholds: Thresholds,
    /// The file they came from.
    pub file: String,
}

/// The shipped file, embedded.
pub const EMBEDDED_FILE: (&str, &str) = ("rules/logins/logins.yaml", include_str!("../../rules/logins/logins.yaml"));

impl LoginRules {
    /// Built from a checked file (`rule_file.rs`): one rule per id, in order.
    pub(crate) fn new(rules: Vec<LoginRule>, thresholds: Thresholds, file: String) -> Self {
        debug_assert!(rules.iter().map(|r| r.id).eq(LoginRuleId::ALL));
        Self { rules, thresholds, file }
    }

    /// The shipped rules. The file is checked by the tests, so a failure
    /// is a build defect.
    pub fn embedded() -> &'static Self {
        static EMBEDDED: OnceLock<LoginRules> = OnceLock::new();
        EMBEDDED.get_or_init(|| match Self::parse(EMBEDDED_FILE.1, EMBEDDED_FILE.0) {
            Ok(r) => r,
            Err(e) => panic!("the embedded login rules are invalid: {e}"),
        })
    }

    /// One rule.
    pub fn rule(&self, id: LoginRuleId) -> &LoginRule {
        &self.rules[id.index()]
    }

    pub fn all(&self) -> &[LoginRule] {
        &self.rules
    }
}

impl LoginRules {
    /// A copy of the shipped rules to share (what judges without
    /// `--login-rules`).
    pub fn shipped() -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self::embedded().clone())
    }

    /// A login rule's explanation in English or Korean, if `id` names one.
    pub fn explanation_of(&self, id: &str, korean: bool) -> Option<&str> {
        LoginRuleId::from_name(id).map(|id| self.rule(id).explanation(korean))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_rule_has_both_explanations_a_phase_and_steps() {
        let all = LoginRules::embedded();
        for r in all.all() {
            assert!(!r.en.is_empty() && !r.ko.is_empty(), "{:?}", r.id);
            assert!(r.ko.chars().any(|c| ('\u{ac00}'..='\u{d7a3}').contains(&c)), "{:?}: Korean text", r.id);
            let phase = r.tags.iter().find_map(|t| crate::intel::phase_of(t));
            if r.id != LoginRuleId::NewAddress {
                assert!(phase.is_some(), "{:?}: tags {:?} point to no phase", r.id, r.tags);
            }
            assert!(!r.next_steps.is_empty(), "{:?}", r.id);
        }
        assert_eq!(LoginRules::embedded().explanation_of("login_brute_force", true).map(|s| s.contains("비밀번호")), Some(true));
        assert_eq!(LoginRules::embedded().explanation_of("long_lived_connection", false), None);
        let th = all.thresholds;
        assert_eq!((th.brute_failures, th.brute_window_ms, th.burst_failures, th.session_failures), (10, 600_000, 5, 3));
        assert_eq!((th.spray_users, th.spray_addresses, th.spray_window_ms), (5, 5, 3_600_000));
    }

    #[test]
    fn steps_fill_the_address_and_leave_out_a_missing_pid() {
        let r = LoginRules::embedded().rule(LoginRuleId::SessionAfterFailures);
        let ip: IpAddr = "203.0.113.45".parse().expect("ip");
        assert_eq!(r.steps_for(ip, None), ["who -a", "ss -tnp dst 203.0.113.45"]);
        assert_eq!(r.steps_for(ip, Some(Pid(42))).last().map(String::as_str), Some("pstree -p 42"));
    }
}
