//! `check_posture`: the read-only posture checks of this host (sysctls,
//! listeners, sshd, firewall), each pass/warn/fail with evidence and a fix.

#![allow(clippy::doc_markdown)]

use rmcp::handler::server::wrapper::Parameters;
use rmcp::schemars::{self, JsonSchema};
use rmcp::{Json, tool, tool_router};
use serde::{Deserialize, Serialize};

use super::NecromapServer;
use super::dto::portable_schema;
use crate::posture::{Options, Status, run};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = portable_schema)]
pub struct PostureArgs {
    /// Lowest status listed: pass, warn (default) or fail.
    #[serde(default)]
    pub min_status: String,
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

#[tool_router(router = posture_router, vis = "pub(super)")]
impl NecromapServer {
    #[tool(
        description = "Use to judge how exposed this host is: network sysctls, public listeners, their executables, sshd settings, firewall rules; each pass/warn/fail with evidence and fix.",
        annotations(title = "Check posture", read_only_hint = true, open_world_hint = false)
    )]
    pub async fn check_posture(&self, Parameters(a): Parameters<PostureArgs>) -> Result<Json<PostureAnswer>, String> {
        let min = min_status(&a.min_status)?;
        super::off_reactor(move || {
            let r = run(&Options::live(None));
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
}
