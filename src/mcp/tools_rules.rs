//! Tools about the rules and the spec: what is loaded, how complete it is,
//! whether rules and spec agree, and drafts of new rules.

// Field docs here are JSON Schema descriptions read by models: plain words,
// not rustdoc markup.
#![allow(clippy::doc_markdown)]

use rmcp::handler::server::wrapper::Parameters;
use rmcp::schemars::{self, JsonSchema};
use rmcp::{Json, tool, tool_router};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::NecromapServer;
use super::dto::{Detail, LIST_BUDGET, Lang, NoArgs, default_limit, fit, next_offset, page, parse_severity, portable_schema, safe};
use crate::model::{SocketKey, SocketState};
use crate::rules::lint;
use crate::rules::schema::Match;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = portable_schema)]
pub struct RulesArgs {
    /// Only rules carrying this tag (c2, beacon, reverse_shell, listener, …).
    #[serde(default)]
    pub tag: String,
    /// Only rules at or above this severity (info, low, medium, high, critical).
    #[serde(default)]
    pub min_severity: String,
    /// Language of explanations: en or ko.
    #[serde(default)]
    pub lang: Lang,
    /// Most rules to return (1 to 10000).
    #[serde(default = "default_limit")]
    #[schemars(schema_with = "super::dto::limit_schema")]
    pub limit: u32,
    /// Rules to skip, for paging.
    #[serde(default)]
    pub offset: u32,
    /// brief (default: id, name, severity, scope, tags) or full (adds pack, match criteria, supersedes and the explanation).
    #[serde(default)]
    pub detail: Detail,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct RuleItem {
    pub id: String,
    pub name: String,
    /// Full only: the pack file it came from.
    pub pack: String,
    pub severity: String,
    /// What one finding is about: connection, endpoint or process.
    pub scope: String,
    pub tags: Vec<String>,
    /// Full only: the match criteria, as in the rule file.
    pub match_criteria: Map<String, Value>,
    /// Full only: weaker rules this one replaces for the same subject.
    pub supersedes: Vec<String>,
    /// Full only.
    pub explanation: String,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct RuleList {
    pub total: usize,
    pub offset: u32,
    /// Where the next page starts, when rules remain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<u32>,
    /// Full only: the rule packs loaded.
    pub packs: Vec<String>,
    pub rules: Vec<RuleItem>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct RuleCoverage {
    pub rules: usize,
    pub with_explanations: usize,
    /// Percentage of rules with both an English and a Korean explanation.
    pub coverage_percent: f64,
    /// Rules lacking the English or the Korean explanation.
    pub missing_explanations: Vec<String>,
    /// Rules whose tags have no investigation steps (rule id, tag).
    pub tags_without_steps: Vec<TagIssue>,
    /// Rules that can never match, with the reason.
    pub unreachable: Vec<RuleIssue>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct TagIssue {
    pub rule_id: String,
    pub tag: String,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct RuleIssue {
    pub rule_id: String,
    /// unknown_state, undefined_tag or unreachable.
    pub kind: String,
    pub detail: String,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct Consistency {
    /// True when no rule refers to something the spec or the packs lack.
    pub consistent: bool,
    pub spec_states: Vec<String>,
    pub issues: Vec<RuleIssue>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct SpecSchema {
    /// The network-map spec in use: node types and fields, edge types, states with styles, layout, views.
    pub spec: Map<String, Value>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = portable_schema)]
pub struct SuggestArgs {
    /// What the rule should catch, in plain words, e.g. "shell talking to the internet on 4444".
    pub pattern_description: String,
    /// Socket ids (from list_connections) that show the pattern; the first one shapes the draft.
    #[serde(default)]
    pub observed_connections: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct RuleDraft {
    /// A rule pack holding the draft, already accepted by necromap's loader.
    pub yaml: String,
    /// The socket the draft was shaped by, if any.
    pub based_on: Option<String>,
    /// What to do with it.
    pub next: String,
}

/// A match as a JSON object without its unset keys.
fn criteria(m: &Match) -> Map<String, Value> {
    match serde_json::to_value(m) {
        Ok(Value::Object(map)) => map.into_iter().filter(|(_, v)| !v.is_null()).collect(),
        _ => Map::new(),
    }
}

/// States a match names.
fn states_of(m: &Match) -> Vec<SocketState> {
    let mut out: Vec<SocketState> = m.state.into_iter().chain(m.state_in.iter().flatten().copied()).collect();
    for sub in m.any_of.iter().flatten() {
        out.extend(states_of(sub));
    }
    out
}

#[tool_router(router = rules_router, vis = "pub(super)")]
impl NecromapServer {
    #[tool(
        description = "Use to learn which detection rules are loaded and what they look for: id, name, severity, scope and tags (detail full adds match criteria and explanation). Filter by tag or min_severity; returns total and next_offset.",
        annotations(title = "Detection rules", read_only_hint = true, open_world_hint = false)
    )]
    pub fn get_detection_rules(&self, Parameters(a): Parameters<RulesArgs>) -> Result<Json<RuleList>, String> {
        let min = match a.min_severity.trim() {
            "" => None,
            s => Some(parse_severity(s)?),
        };
        let set = &self.state.rules;
        let full = a.detail.full();
        let rules: Vec<RuleItem> = set
            .rules
            .iter()
            .filter(|r| a.tag.trim().is_empty() || r.rule.tags.iter().any(|t| t == a.tag.trim()))
            .filter(|r| min.is_none_or(|m| r.rule.severity >= m))
            .map(|r| RuleItem {
                id: r.rule.id.clone(),
                name: r.rule.name.clone(),
                pack: if full { r.pack.clone() } else { String::new() },
                severity: r.rule.severity.name().to_string(),
                scope: format!("{:?}", r.rule.scope).to_lowercase(),
                tags: r.rule.tags.clone(),
                match_criteria: if full { criteria(&r.rule.matcher) } else { Map::new() },
                supersedes: if full { r.rule.supersedes.clone() } else { Vec::new() },
                explanation: match a.lang {
                    _ if !full => String::new(),
                    Lang::Ko if !r.rule.explanation.ko.is_empty() => r.rule.explanation.ko.clone(),
                    _ => r.rule.explanation.en.clone(),
                },
            })
            .collect();
        let (total, rules) = page(rules, a.offset, a.limit)?;
        let rules = fit(rules, LIST_BUDGET);
        Ok(Json(RuleList {
            total,
            offset: a.offset,
            next_offset: next_offset(a.offset, rules.len(), total),
            packs: if full { set.files.clone() } else { Vec::new() },
            rules,
        }))
    }

    #[tool(
        description = "Use when you need the network-map spec necromap types its graph from: node types with fields, edge types, socket states with styles, layout and views (large; rarely needed).",
        annotations(title = "Network-map schema", read_only_hint = true, open_world_hint = false)
    )]
    pub fn get_network_map_schema(&self, _: Parameters<NoArgs>) -> Result<Json<SpecSchema>, String> {
        match serde_json::to_value(&*self.state.spec) {
            Ok(Value::Object(spec)) => Ok(Json(SpecSchema { spec })),
            Ok(_) => Err("the spec did not serialise to an object".into()),
            Err(e) => Err(format!("the spec could not be serialised: {e}")),
        }
    }

    #[tool(
        description = "Use when reviewing the rule packs: explanation coverage in percent (English and Korean), rules missing an explanation, tags without investigation steps, rules that can never match.",
        annotations(title = "Validate rule coverage", read_only_hint = true, open_world_hint = false)
    )]
    pub fn validate_rule_coverage(&self, _: Parameters<NoArgs>) -> Json<RuleCoverage> {
        let r = lint::check(&self.state.rules);
        Json(RuleCoverage {
            rules: r.rules,
            with_explanations: r.with_explanations,
            coverage_percent: (r.coverage_percent() * 10.0).round() / 10.0,
            missing_explanations: r.missing_explanations.clone(),
            tags_without_steps: r.undefined_tags.iter().map(|(id, tag)| TagIssue { rule_id: id.clone(), tag: tag.clone() }).collect(),
            unreachable: r.unreachable.iter().map(|(id, why)| RuleIssue { rule_id: id.clone(), kind: "unreachable".into(), detail: why.clone() }).collect(),
        })
    }

    #[tool(
        description = "Use to draft a detection rule from a plain description, optionally shaped by observed socket ids: returns a YAML rule pack necromap's loader already accepted, to save in a folder passed with --rules.",
        annotations(title = "Suggest a new rule", read_only_hint = true, open_world_hint = false)
    )]
    pub fn suggest_new_rule(&self, Parameters(a): Parameters<SuggestArgs>) -> Result<Json<RuleDraft>, String> {
        let description = a.pattern_description.trim();
        if description.is_empty() || description.chars().count() > 500 {
            return Err("pattern_description must be 1 to 500 characters".into());
        }
        let s = self.state.snapshot();
        let based_on = match a.observed_connections.first() {
            None => None,
            Some(id) => {
                let key: SocketKey = id.trim().parse().map_err(|e: String| safe(&e, 200))?;
                let sock = s.socket(key).ok_or_else(|| format!("no socket {key} in snapshot {} (see list_connections)", s.generation))?;
                Some((sock, key))
            }
        };
        let yaml = crate::rules::suggest::suggest(description, based_on.map(|(sock, _)| (sock, &*s))).map_err(|e| format!("the draft did not load: {e}"))?;
        Ok(Json(RuleDraft {
            yaml,
            based_on: based_on.map(|(_, k)| k.to_string()),
            next: "Review the match keys and write the explanations, save as a .yaml file in a folder, then check it with `necromap rules check DIR` and load it with --rules DIR.".into(),
        }))
    }

    #[tool(
        description = "Use after changing rules or the spec to check they agree: rules naming socket states the spec lacks, tags without definitions, rules that can never match.",
        annotations(title = "Spec consistency", read_only_hint = true, open_world_hint = false)
    )]
    pub fn analyze_spec_consistency(&self, _: Parameters<NoArgs>) -> Json<Consistency> {
        let spec = &self.state.spec;
        let set = &self.state.rules;
        let mut issues = Vec::new();
        for r in &set.rules {
            for st in states_of(&r.rule.matcher) {
                if !spec.states.contains_key(&st) {
                    issues.push(RuleIssue { rule_id: r.rule.id.clone(), kind: "unknown_state".into(), detail: format!("state {st} is not in the spec") });
                }
            }
        }
        let report = lint::check(set);
        for (id, tag) in &report.undefined_tags {
            issues.push(RuleIssue { rule_id: id.clone(), kind: "undefined_tag".into(), detail: format!("tag `{tag}` has no tag_definitions entry") });
        }
        for (id, why) in &report.unreachable {
            issues.push(RuleIssue { rule_id: id.clone(), kind: "unreachable".into(), detail: why.clone() });
        }
        Json(Consistency { consistent: issues.is_empty(), spec_states: spec.states.keys().map(ToString::to_string).collect(), issues })
    }
}
