//! Investigation steps: concrete commands chosen by a finding's tags, with
//! the process and endpoint filled in.

use super::item::Item;
use super::load::RuleSet;

/// Steps for a finding with these tags about this item, without repeats.
pub fn steps(set: &RuleSet, tags: &[String], item: &Item<'_>) -> Vec<String> {
    let pid = item.pid.map_or_else(|| "<pid>".to_string(), |p| p.to_string());
    let remote = item.remote.map_or_else(|| "<remote>".to_string(), |r| r.to_string());
    let remote_ip = item.remote.map_or_else(|| "<remote-ip>".to_string(), |r| r.ip().to_string());
    let exe = item.process.and_then(|p| p.facts.exe.clone()).unwrap_or_else(|| format!("/proc/{pid}/exe"));
    let mut out: Vec<String> = Vec::new();
    for tag in tags {
        for step in set.tags.get(tag).map(|t| t.steps.as_slice()).unwrap_or_default() {
            let s = step.replace("{pid}", &pid).replace("{remote_ip}", &remote_ip).replace("{remote}", &remote).replace("{exe}", &exe);
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}
