//! `check_posture`: the read-only posture checks of this host (sysctls,
//! listeners, sshd, firewall), each pass/warn/fail with evidence and a fix,
//! judging public listeners against a policy given as a file or inline.

#![allow(clippy::doc_markdown)]

use rmcp::handler::server::wrapper::Parameters;
use rmcp::schemars::{self, JsonSchema};
use rmcp::{Json, tool, tool_router};
use serde::{Deserialize, Serialize};

use super::NecromapServer;
use super::dto::portable_schema;
use crate::posture::policy::Policy;
use crate::posture::{Options, Status, run};

/// Largest inline policy, in bytes (a policy file may be 1 MiB, like `--policy`).
const POLICY_TEXT_MAX: usize = 64 * 1024;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = portable_schema)]
pub struct PostureArgs {
    /// Lowest status listed: pass, warn (default) or fail.
    #[serde(default)]
    pub min_status: String,
    /// The policy of allowed services, as a file on this host: an absolute path to YAML
    /// `allow:`/`deny:` lists of {port, process, user} (deny wins), checked like the CLI's
    /// --policy. A bad file is a tool error with its file:line.
    #[serde(default)]
    pub policy_file: String,
    /// Or the policy itself as YAML text (at most 64 KiB); errors name `policy_yaml:LINE`.
    #[serde(default)]
    pub policy_yaml: String,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct PostureAnswer {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    #[schemars(schema_with = "super::dto::objects_schema")]
    pub checks: Vec<serde_json::Value>,
}

fn min_status(text: &str) -> Result<Status, String> {
    match text.trim() {
        "" | "warn" => Ok(Status::Warn),
        "pass" => Ok(Status::Pass),
        "fail" => Ok(Status::Fail),
        other => Err(format!("min_status: `{}` is not pass, warn or fail", super::dto::safe(other, 20))),
    }
}

/// An argument given (not empty).
fn given(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// The policy the arguments give, checked: from a file (errors quote
/// nothing of it: the tool must not show the content of any file it is
/// pointed at) or inline text (bounded; errors in full).
fn policy_of(a: &PostureArgs) -> Result<Option<Policy>, String> {
    match (given(&a.policy_file), given(&a.policy_yaml)) {
        (Some(_), Some(_)) => Err("give policy_file or policy_yaml, not both".into()),
        (Some(path), None) => {
            let p = std::path::Path::new(path);
            if !p.is_absolute() {
                return Err(format!("policy_file: `{}` is not an absolute path", super::dto::safe(path, 200)));
            }
            Policy::load(p).map(Some).map_err(|e| super::dto::safe(&e.redacted(), 500))
        }
        (None, Some(text)) if text.len() > POLICY_TEXT_MAX => Err(format!("policy_yaml: {} bytes; at most {POLICY_TEXT_MAX}", text.len())),
        (None, Some(text)) => Policy::parse(text, "policy_yaml").map(Some).map_err(|e| super::dto::safe(&e.to_string(), 500)),
        (None, None) => Ok(None),
    }
}

#[tool_router(router = posture_router, vis = "pub(super)")]
impl NecromapServer {
    #[tool(
        description = "Use to judge how exposed this host is: network sysctls, public listeners (against a policy of allowed services, as a file or inline YAML), their executables, sshd settings, firewall rules; each pass/warn/fail with evidence and fix.",
        annotations(title = "Check posture", read_only_hint = true, open_world_hint = false)
    )]
    pub async fn check_posture(&self, Parameters(a): Parameters<PostureArgs>) -> Result<Json<PostureAnswer>, String> {
        let min = min_status(&a.min_status)?;
        super::off_reactor(move || {
            let r = run(&Options::live(policy_of(&a)?));
            let mut checks: Vec<_> = r.checks.iter().filter(|c| c.status >= min).collect();
            checks.sort_by(|x, y| y.status.cmp(&x.status).then_with(|| x.id.cmp(&y.id)));
            let checks = checks.into_iter().map(|c| serde_json::json!({ "id": c.id, "status": c.status, "evidence": c.evidence, "fix": c.fix })).collect();
            Ok(Json(PostureAnswer { pass: r.pass, warn: r.warn, fail: r.fail, checks }))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_parse_and_others_are_refused() {
        assert_eq!(min_status(""), Ok(Status::Warn));
        assert_eq!(min_status("fail"), Ok(Status::Fail));
        assert!(min_status("bad").is_err());
    }

    fn args(file: Option<&str>, yaml: Option<&str>) -> PostureArgs {
        PostureArgs { min_status: String::new(), policy_file: file.unwrap_or_default().into(), policy_yaml: yaml.unwrap_or_default().into() }
    }

    #[test]
    fn a_policy_comes_from_a_file_or_inline_text_checked_and_bounded() {
        assert_eq!(policy_of(&args(None, None)), Ok(None));
        let p = policy_of(&args(None, Some("allow:\n  - { port: 22, process: sshd }\n"))).expect("inline").expect("policy");
        assert_eq!(p.allow.len(), 1);
        let e = policy_of(&args(None, Some("allow:\n  - { port: 22 }\n  - { prot: 80 }\n"))).expect_err("typo");
        assert!(e.starts_with("policy_yaml:3:") && e.contains("prot"), "{e}");
        let e = policy_of(&args(None, Some("deny:\n  - {}\n"))).expect_err("empty entry");
        assert_eq!(e, "policy_yaml:2: deny[0]: an entry needs at least one of port, process, user");
        let big = format!("allow:\n{}", "  - { port: 22 }\n".repeat(5_000));
        assert!(policy_of(&args(None, Some(&big))).expect_err("too big").contains("at most 65536"));
        assert!(policy_of(&args(Some("/x.yaml"), Some("allow: []"))).expect_err("both").contains("not both"));
        assert!(policy_of(&args(Some("policy.yaml"), None)).expect_err("relative").contains("absolute"));

        let dir = tempfile::tempdir().expect("tmp");
        let good = dir.path().join("policy.yaml");
        std::fs::write(&good, "allow:\n  - { port: 22 }\ndeny:\n  - { port: 23 }\n").expect("write");
        let p = policy_of(&args(good.to_str(), None)).expect("file").expect("policy");
        assert_eq!((p.allow.len(), p.deny.len()), (1, 1));
        let bad = dir.path().join("bad.yaml");
        std::fs::write(&bad, "allow:\n  - { port: 0 }\n").expect("write");
        assert_eq!(policy_of(&args(bad.to_str(), None)), Err(format!("{}:2: allow[0]: port 0 is not a port (1 to 65535)", bad.display())));
        // Any other file: where it failed, never what it holds.
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "hunter2-password-line\n").expect("write");
        let e = policy_of(&args(secret.to_str(), None)).expect_err("not a policy");
        assert!(e.starts_with(&format!("{}:1: not a policy", secret.display())), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        assert!(policy_of(&args(dir.path().join("missing.yaml").to_str(), None)).is_err());
    }
}
