//! Reading a login rule file (`rules/logins/logins.yaml`, or the
//! `--login-rules FILE` a user tuned): typed, unknown keys refused, every
//! rule present, each threshold in range; every refusal names the file,
//! the line, the key and what was expected, like the rule packs.

use std::path::Path;

use serde::Deserialize;

use super::rules::{LoginRule, LoginRuleId, LoginRules, Thresholds};
use crate::model::Severity;
use crate::spec::{SpecError, line_of_key};

/// Most failures a threshold may ask for: a party's book keeps its last
/// [`super::book::PER_PARTY`] events, so more could never be counted.
const MAX_FAILURES: u32 = super::book::PER_PARTY as u32;
/// Windows from a second to a day (the book's span).
const MAX_WINDOW_MS: i64 = crate::model::DAY_MS;
/// Longest name, explanation and next step, in characters.
const MAX_TEXT: usize = 2_000;

#[derive(Debug, thiserror::Error)]
pub enum LoginRuleError {
    #[error("{file}:{line}: at `{key}`: {expected}")]
    Invalid { file: String, line: usize, key: String, expected: String },
    #[error(transparent)]
    Input(#[from] crate::input::InputError),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    version: u32,
    login_rules: RulesDoc,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesDoc {
    login_activity: RuleDoc<ActivityWhen>,
    login_brute_force: RuleDoc<CountWhen>,
    login_password_spray: RuleDoc<SprayWhen>,
    login_success_after_failures: RuleDoc<CountWhen>,
    login_from_ioc: RuleDoc<NoWhen>,
    login_new_address: RuleDoc<NoWhen>,
    ssh_session_after_failures: RuleDoc<CountWhen>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDoc<W> {
    name: String,
    severity: Severity,
    tags: Vec<String>,
    /// A missing `when` is None (serde's rule for an `Option`).
    when: Option<W>,
    explanation: TextDoc,
    next_steps: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TextDoc {
    en: String,
    ko: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActivityWhen {
    heard_within: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CountWhen {
    failures: u32,
    within: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SprayWhen {
    users: u32,
    addresses: u32,
    within: String,
}

/// Rules without thresholds take no `when`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoWhen {}

/// The checks of one file, with its text for line numbers.
struct Checker<'a> {
    text: &'a str,
    file: &'a str,
}

impl Checker<'_> {
    fn invalid(&self, key: &str, expected: impl Into<String>) -> LoginRuleError {
        LoginRuleError::Invalid { file: self.file.to_string(), line: line_of_key(self.text, key), key: key.to_string(), expected: expected.into() }
    }

    /// The same, at the first line from `key`'s on that holds `needle`
    /// (one item of a list).
    fn invalid_at(&self, key: &str, needle: &str, expected: impl Into<String>) -> LoginRuleError {
        let from = line_of_key(self.text, key);
        let line = self.text.lines().enumerate().skip(from.saturating_sub(1)).find(|(_, l)| l.contains(needle)).map_or(from, |(i, _)| i + 1);
        LoginRuleError::Invalid { file: self.file.to_string(), line, key: key.to_string(), expected: expected.into() }
    }

    fn window(&self, id: LoginRuleId, field: &str, text: &str) -> Result<i64, LoginRuleError> {
        let key = format!("login_rules.{}.when.{field}", id.name());
        let d = crate::duration::parse_duration(text).map_err(|e| self.invalid(&key, e))?;
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        if !(1_000..=MAX_WINDOW_MS).contains(&ms) {
            return Err(self.invalid(&key, format!("`{text}`: a window from 1s to 24h (the book keeps a party's last day)")));
        }
        Ok(ms)
    }

    fn count(&self, id: LoginRuleId, field: &str, n: u32, least: u32) -> Result<u32, LoginRuleError> {
        if !(least..=MAX_FAILURES).contains(&n) {
            return Err(self.invalid(&format!("login_rules.{}.when.{field}", id.name()), format!("{n}: a count from {least} to {MAX_FAILURES}")));
        }
        Ok(n)
    }

    fn need<'w, W>(&self, id: LoginRuleId, when: Option<&'w W>, shape: &str) -> Result<&'w W, LoginRuleError> {
        when.ok_or_else(|| self.invalid(&format!("login_rules.{}", id.name()), format!("a `when:` with {shape}")))
    }

    fn text(&self, key: &str, s: &str) -> Result<String, LoginRuleError> {
        if s.trim().is_empty() {
            return Err(self.invalid(key, "a non-empty text"));
        }
        if s.chars().count() > MAX_TEXT {
            return Err(self.invalid(key, format!("at most {MAX_TEXT} characters")));
        }
        if s.chars().any(crate::text::is_unsafe) {
            return Err(self.invalid(key, "text without control or bidi characters"));
        }
        Ok(s.to_string())
    }

    fn rule<W>(&self, id: LoginRuleId, doc: &RuleDoc<W>) -> Result<LoginRule, LoginRuleError> {
        let key = |k: &str| format!("login_rules.{}.{k}", id.name());
        if doc.tags.is_empty() {
            return Err(self.invalid(&key("tags"), "at least one tag (tags give the attack phase)"));
        }
        for t in &doc.tags {
            if t.is_empty() || !t.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
                return Err(self.invalid(
                    &key("tags"),
                    format!("`{}`: a tag of lowercase letters, digits and `_`", crate::text::bounded(&crate::text::escape_control(t), 60)),
                ));
            }
        }
        if doc.next_steps.is_empty() {
            return Err(self.invalid(&key("next_steps"), "at least one command to run next"));
        }
        let mut steps = Vec::new();
        for s in &doc.next_steps {
            let s = self.text(&key("next_steps"), s)?;
            let mut rest = s.replace("{ip}", "");
            if id == LoginRuleId::SessionAfterFailures {
                rest = rest.replace("{pid}", "");
            }
            if let Some(at) = rest.find('{').filter(|at| rest[*at..].contains('}')) {
                let end = rest[at..].find('}').map_or(rest.len(), |e| at + e + 1);
                let allowed = if id == LoginRuleId::SessionAfterFailures { "{ip} and {pid}" } else { "{ip}" };
                return Err(self.invalid_at(&key("next_steps"), &rest[at..end], format!("`{}` is not a placeholder here: use {allowed}", &rest[at..end])));
            }
            steps.push(s);
        }
        Ok(LoginRule {
            id,
            name: self.text(&key("name"), &doc.name)?,
            severity: doc.severity,
            tags: doc.tags.clone(),
            en: self.text(&key("explanation.en"), &doc.explanation.en)?,
            ko: self.text(&key("explanation.ko"), &doc.explanation.ko)?,
            next_steps: steps,
        })
    }

    fn check(&self, doc: &FileDoc) -> Result<LoginRules, LoginRuleError> {
        use LoginRuleId as Id;
        if doc.version != 1 {
            return Err(self.invalid("version", format!("version {}: expected 1", doc.version)));
        }
        let r = &doc.login_rules;
        let activity = self.need(Id::Activity, r.login_activity.when.as_ref(), "heard_within")?;
        let brute = self.need(Id::BruteForce, r.login_brute_force.when.as_ref(), "failures and within")?;
        let spray = self.need(Id::Spray, r.login_password_spray.when.as_ref(), "users, addresses and within")?;
        let burst = self.need(Id::SuccessAfterFailures, r.login_success_after_failures.when.as_ref(), "failures and within")?;
        let session = self.need(Id::SessionAfterFailures, r.ssh_session_after_failures.when.as_ref(), "failures and within")?;
        for (id, given) in [(Id::FromIoc, r.login_from_ioc.when.is_some()), (Id::NewAddress, r.login_new_address.when.is_some())] {
            if given {
                return Err(self.invalid(&format!("login_rules.{}.when", id.name()), "no `when:`: this rule has no thresholds"));
            }
        }
        let thresholds = Thresholds {
            activity_window_ms: self.window(Id::Activity, "heard_within", &activity.heard_within)?,
            brute_failures: self.count(Id::BruteForce, "failures", brute.failures, 1)?,
            brute_window_ms: self.window(Id::BruteForce, "within", &brute.within)?,
            spray_users: self.count(Id::Spray, "users", spray.users, 2)? as usize,
            spray_addresses: self.count(Id::Spray, "addresses", spray.addresses, 2)? as usize,
            spray_window_ms: self.window(Id::Spray, "within", &spray.within)?,
            burst_failures: self.count(Id::SuccessAfterFailures, "failures", burst.failures, 1)?,
            burst_window_ms: self.window(Id::SuccessAfterFailures, "within", &burst.within)?,
            session_failures: self.count(Id::SessionAfterFailures, "failures", session.failures, 1)?,
            session_window_ms: self.window(Id::SessionAfterFailures, "within", &session.within)?,
        };
        let rules = vec![
            self.rule(Id::Activity, &r.login_activity)?,
            self.rule(Id::BruteForce, &r.login_brute_force)?,
            self.rule(Id::Spray, &r.login_password_spray)?,
            self.rule(Id::SuccessAfterFailures, &r.login_success_after_failures)?,
            self.rule(Id::FromIoc, &r.login_from_ioc)?,
            self.rule(Id::NewAddress, &r.login_new_address)?,
            self.rule(Id::SessionAfterFailures, &r.ssh_session_after_failures)?,
        ];
        Ok(LoginRules::new(rules, thresholds, self.file.to_string()))
    }
}

impl LoginRules {
    /// Parse and check a login rule file's text (`file` names it in errors).
    pub fn parse(text: &str, file: &str) -> Result<Self, LoginRuleError> {
        crate::input::check_depth(text, file, crate::input::Kind::RuleFile)?;
        let doc: FileDoc = serde_yaml::from_str(text).map_err(|e| match crate::spec::yaml_error(&e, text, file) {
            SpecError::Invalid { file, line, key, expected } => LoginRuleError::Invalid { file, line, key, expected },
            SpecError::Read { file, source } => LoginRuleError::Input(crate::input::InputError::Io { file, kind: crate::input::Kind::RuleFile.name(), source }),
            SpecError::Input(e) => LoginRuleError::Input(e),
        })?;
        Checker { text, file }.check(&doc)
    }

    /// Read and check a login rule file.
    pub fn load(path: &Path) -> Result<Self, LoginRuleError> {
        let text = crate::input::read_structured(path, crate::input::Kind::RuleFile)?;
        Self::parse(&text, &path.display().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logins::rules::EMBEDDED_FILE;

    fn edited(from: &str, to: &str) -> String {
        assert!(EMBEDDED_FILE.1.contains(from), "{from}");
        EMBEDDED_FILE.1.replacen(from, to, 1)
    }

    fn line_of(text: &str, needle: &str) -> usize {
        text.lines().position(|l| l.contains(needle)).map_or(0, |i| i + 1)
    }

    #[test]
    fn the_shipped_file_reads_and_a_tuned_copy_changes_the_thresholds() {
        let shipped = LoginRules::parse(EMBEDDED_FILE.1, EMBEDDED_FILE.0).expect("shipped");
        assert_eq!(&shipped, LoginRules::embedded());
        let tuned = LoginRules::parse(&edited("when: { failures: 10, within: 10m }", "when: { failures: 20, within: 30m }"), "t.yaml").expect("tuned");
        assert_eq!((tuned.thresholds.brute_failures, tuned.thresholds.brute_window_ms), (20, 1_800_000));
        let severe = LoginRules::parse(&edited("severity: medium", "severity: critical"), "t.yaml").expect("severity");
        assert_eq!(severe.rule(LoginRuleId::NewAddress).severity, Severity::Critical);
    }

    #[test]
    fn bad_values_are_refused_with_file_line_and_key() {
        let cases = [
            (
                "when: { failures: 10, within: 10m }",
                "when: { failures: 0, within: 10m }",
                "login_rules.login_brute_force.when.failures",
                "0: a count from 1 to 500",
            ),
            (
                "when: { failures: 10, within: 10m }",
                "when: { failures: 10, within: 3d }",
                "login_rules.login_brute_force.when.within",
                "a window from 1s to 24h",
            ),
            ("when: { failures: 10, within: 10m }", "when: { failures: 10, within: 10 }", "login_rules.login_brute_force.when.within", "add a unit"),
            ("when: { failures: 10, within: 10m }", "when: { failures: ten, within: 10m }", "login_rules.login_brute_force.when.failures", "invalid type"),
            (
                "when: { failures: 10, within: 10m }",
                "when: { failures: 10, within: 10m, window: 1m }",
                "login_rules.login_brute_force.when",
                "unknown field `window`",
            ),
            (
                "when: { users: 5, addresses: 5, within: 1h }",
                "when: { users: 1, addresses: 5, within: 1h }",
                "login_rules.login_password_spray.when.users",
                "a count from 2",
            ),
            ("severity: critical", "severity: dire", "login_rules.login_success_after_failures.severity", "unknown variant `dire`"),
            (
                "      - \"pstree -p {pid}\"",
                "      - \"pstree -p {ppid}\"",
                "login_rules.ssh_session_after_failures.next_steps",
                "`{ppid}` is not a placeholder here",
            ),
            ("tags: [login, ioc]", "tags: [login, IOC]", "login_rules.login_from_ioc.tags", "lowercase"),
        ];
        for (from, to, key, expected) in cases {
            let text = edited(from, to);
            let e = LoginRules::parse(&text, "mine.yaml").expect_err(to);
            let LoginRuleError::Invalid { file, line, key: k, expected: why } = &e else { panic!("{e}") };
            assert_eq!((file.as_str(), k.as_str()), ("mine.yaml", key), "{e}");
            assert_eq!(*line, line_of(&text, to.trim()), "{e}");
            assert!(why.contains(expected), "{e}");
            assert!(e.to_string().starts_with(&format!("mine.yaml:{line}: at `{key}`")), "{e}");
        }
        let missing = EMBEDDED_FILE.1.replacen("  login_new_address:", "  login_new_addr:", 1);
        let e = LoginRules::parse(&missing, "mine.yaml").expect_err("renamed rule");
        assert!(e.to_string().contains("unknown field `login_new_addr`"), "{e}");
        assert!(LoginRules::parse(&edited("version: 1", "version: 2"), "mine.yaml").is_err());
    }
}
