//! The login rules: what each is called, how severe, its tags (which give
//! the attack phase), its explanation in English and Korean, and the
//! thresholds they judge with. They are built in, like `suricata_alerts`:
//! the YAML rule language matches sockets, processes and endpoints, and
//! a login party has none of those until it connects.

use crate::model::Severity;

/// The thresholds the login rules judge with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
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
    /// failures from the same address in the ten minutes before it.
    pub burst_failures: u32,
    /// A live SSH session whose peer had at least this many failures in
    /// the last day.
    pub session_failures: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            brute_failures: 10,
            brute_window_ms: 600_000,
            spray_users: 5,
            spray_addresses: 5,
            spray_window_ms: 3_600_000,
            burst_failures: 5,
            session_failures: 3,
        }
    }
}

/// One login rule's description.
#[derive(Debug, Clone, Copy)]
pub struct LoginRule {
    pub id: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub tags: &'static [&'static str],
    pub en: &'static str,
    pub ko: &'static str,
}

pub const ACTIVITY: &str = "login_activity";
pub const BRUTE_FORCE: &str = "login_brute_force";
pub const SPRAY: &str = "login_password_spray";
pub const SUCCESS_AFTER_FAILURES: &str = "login_success_after_failures";
pub const FROM_IOC: &str = "login_from_ioc";
pub const NEW_ADDRESS: &str = "login_new_address";
pub const SESSION_AFTER_FAILURES: &str = "ssh_session_after_failures";

pub const RULES: &[LoginRule] = &[
    LoginRule {
        id: ACTIVITY,
        name: "Login attempts",
        severity: Severity::Low,
        tags: &["login", "scan"],
        en: "This address tried to log in to this host. The trace counts its attempts by kind over the last hour and day and lists the users it named.",
        ko: "이 주소가 이 호스트에 로그인을 시도했습니다. 추적에 지난 1시간과 하루 동안의 시도 종류별 횟수와 시도한 사용자 이름이 있습니다.",
    },
    LoginRule {
        id: BRUTE_FORCE,
        name: "Brute-force login attempts",
        severity: Severity::High,
        tags: &["login", "brute_force"],
        en: "Many failed logins from one address in a few minutes: commonly associated with password guessing. Check whether any login from it succeeded, and consider blocking it.",
        ko: "한 주소에서 몇 분 안에 로그인 실패가 많습니다. 비밀번호 추측 공격과 흔히 연관됩니다. 이 주소의 로그인이 성공한 적이 있는지 확인하고 차단을 고려하세요.",
    },
    LoginRule {
        id: SPRAY,
        name: "Password spraying",
        severity: Severity::High,
        tags: &["login", "password_spray"],
        en: "Failed logins for many different users from one address, or for one user from many addresses: commonly associated with password spraying. Check the users named and whether any of them logged in.",
        ko: "한 주소에서 여러 사용자로, 또는 여러 주소에서 한 사용자로 로그인이 실패했습니다. 패스워드 스프레이 공격과 흔히 연관됩니다. 시도된 사용자와 그중 로그인에 성공한 사용자가 있는지 확인하세요.",
    },
    LoginRule {
        id: SUCCESS_AFTER_FAILURES,
        name: "Login accepted after a burst of failures",
        severity: Severity::Critical,
        tags: &["login", "brute_force", "account_access"],
        en: "A login was accepted from an address right after a burst of failed logins from it: the guessing may have worked. Check the session now (who, last, ss), the account's recent activity, and change its password.",
        ko: "한 주소에서 로그인 실패가 연속된 직후 같은 주소의 로그인이 허용되었습니다. 추측이 성공했을 수 있습니다. 지금 세션(who, last, ss)과 계정의 최근 활동을 확인하고 비밀번호를 바꾸세요.",
    },
    LoginRule {
        id: FROM_IOC,
        name: "Login from an address on an IOC list",
        severity: Severity::High,
        tags: &["login", "ioc"],
        en: "A login was accepted from an address on one of your IOC lists. Confirm who logged in and whether they should come from there.",
        ko: "IOC 목록에 있는 주소에서 로그인이 허용되었습니다. 누가 로그인했는지, 그 주소에서 접속하는 것이 맞는지 확인하세요.",
    },
    LoginRule {
        id: NEW_ADDRESS,
        name: "Login from an address new against the baseline",
        severity: Severity::Medium,
        tags: &["login", "baseline"],
        en: "A login was accepted from an address the saved baseline has never seen. Worth a look if the user does not usually come from there.",
        ko: "저장된 기준선에 없는 주소에서 로그인이 허용되었습니다. 사용자가 평소 그 주소에서 접속하지 않는다면 확인할 가치가 있습니다.",
    },
    LoginRule {
        id: SESSION_AFTER_FAILURES,
        name: "Live SSH session from a peer with failed logins",
        severity: Severity::High,
        tags: &["login", "brute_force", "ssh"],
        en: "An SSH connection is open now with an address that failed to log in several times today. Check whether it is logged in (who, last) and what it runs.",
        ko: "오늘 여러 번 로그인에 실패한 주소와 지금 SSH 연결이 열려 있습니다. 로그인 상태인지(who, last)와 무엇을 실행하는지 확인하세요.",
    },
];

/// A login rule by id.
pub fn rule(id: &str) -> Option<&'static LoginRule> {
    RULES.iter().find(|r| r.id == id)
}

/// A login rule's explanation in English or Korean (`ko`), if it is one.
pub fn explanation(id: &str, korean: bool) -> Option<&'static str> {
    rule(id).map(|r| if korean { r.ko } else { r.en })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_both_explanations_and_a_phase() {
        for r in RULES {
            assert!(!r.en.is_empty() && !r.ko.is_empty(), "{}", r.id);
            assert!(r.ko.chars().any(|c| ('\u{ac00}'..='\u{d7a3}').contains(&c)), "{}: Korean text", r.id);
            let phase = r.tags.iter().find_map(|t| crate::intel::phase_of(t));
            if r.id != NEW_ADDRESS {
                assert!(phase.is_some(), "{}: tags {:?} point to no phase", r.id, r.tags);
            }
        }
        assert_eq!(explanation(BRUTE_FORCE, true).map(|s| s.contains("비밀번호")), Some(true));
        assert_eq!(explanation("long_lived_connection", false), None);
    }
}
