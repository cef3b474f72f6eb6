//! Loading rule packs: the ones embedded in the binary and a user's folder
//! (`--rules DIR`, added to the defaults or replacing them). Every refusal
//! names the file, the line, the key and what was expected.

use std::collections::BTreeMap;
use std::path::Path;

use super::conditions::Conditions;
use super::schema::{HighlightStyle, Intensity, PrivateTreatment, Rule, RuleFile, TagDefinition};
use crate::model::Highlight;
use crate::spec::{Color, SpecError, line_of_key};

/// The packs shipped in the binary.
pub const EMBEDDED_PACKS: &[(&str, &str)] = &[
    ("rules/suspicious_detection.yaml", include_str!("../../rules/suspicious_detection.yaml")),
    ("rules/host_intel.yaml", include_str!("../../rules/host_intel.yaml")),
];

#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("{file}: cannot read: {source}")]
    Read { file: String, source: std::io::Error },
    #[error("{file}:{line}: at `{key}`: {expected}")]
    Invalid { file: String, line: usize, key: String, expected: String },
    #[error(transparent)]
    Input(#[from] crate::input::InputError),
}

/// One rule ready to run.
#[derive(Debug, Clone)]
pub struct LoadedRule {
    pub rule: Rule,
    /// The file it came from.
    pub pack: String,
    pub treatment: PrivateTreatment,
    pub highlight: Option<Highlight>,
    /// Its match, compiled.
    pub(crate) compiled: Conditions,
}

/// Every rule, tag definition and highlight style loaded.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub rules: Vec<LoadedRule>,
    pub tags: BTreeMap<String, TagDefinition>,
    pub styles: BTreeMap<String, HighlightStyle>,
    pub files: Vec<String>,
}

/// The glow a highlight style draws.
pub fn highlight_of(style: &HighlightStyle) -> Option<Highlight> {
    Some(match style.color {
        Color::Red => Highlight::RedGlow,
        Color::Orange => Highlight::OrangeGlow,
        Color::Yellow => Highlight::YellowGlow,
        Color::Gray => Highlight::GrayGlow,
        Color::Blue => Highlight::BlueGlow,
        Color::Cyan => Highlight::CyanGlow,
        Color::Green | Color::Magenta | Color::White => return None,
    })
}

fn builtin_styles() -> BTreeMap<String, HighlightStyle> {
    [
        ("red_glow", Color::Red),
        ("orange_glow", Color::Orange),
        ("yellow_glow", Color::Yellow),
        ("gray_glow", Color::Gray),
        ("blue_glow", Color::Blue),
        ("cyan_glow", Color::Cyan),
    ]
    .into_iter()
    .map(|(n, c)| (n.to_string(), HighlightStyle { color: c, intensity: Intensity::Normal }))
    .collect()
}

/// The line where `needle` first appears after the rule with `id`.
fn line_in_rule(text: &str, id: &str, needle: &str) -> usize {
    let start = text.lines().position(|l| l.contains(&format!("id: {id}"))).unwrap_or(0);
    text.lines().enumerate().skip(start).find(|(_, l)| l.contains(needle)).map_or(start + 1, |(i, _)| i + 1)
}

impl RuleSet {
    /// The embedded packs. They are checked by the tests, so a failure is a
    /// build defect.
    pub fn embedded() -> Self {
        let mut set = Self::empty();
        for (name, text) in EMBEDDED_PACKS {
            if let Err(e) = set.add_text(text, name) {
                panic!("an embedded rule pack is invalid: {e}");
            }
        }
        set
    }

    /// No rules, only the built-in highlight styles.
    pub fn empty() -> Self {
        Self { styles: builtin_styles(), ..Self::default() }
    }

    /// The embedded packs (unless `replace`) plus every `*.yaml` in `dir`.
    pub fn load(dir: Option<&Path>, replace: bool) -> Result<Self, RuleError> {
        let mut set = if replace { Self::empty() } else { Self::embedded() };
        if let Some(dir) = dir {
            let d = dir.display().to_string();
            let mut files: Vec<_> = std::fs::read_dir(dir)
                .map_err(|source| RuleError::Read { file: d.clone(), source })?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect();
            files.sort();
            for path in files {
                let file = path.display().to_string();
                let text = crate::input::read_text(&path, crate::input::Kind::RuleFile)?;
                set.add_text(&text, &file)?;
            }
        }
        Ok(set)
    }

    /// Parse, validate and add one pack.
    pub fn add_text(&mut self, text: &str, file: &str) -> Result<(), RuleError> {
        crate::input::check_depth(text, file, crate::input::Kind::RuleFile)?;
        let parsed: RuleFile = serde_yaml::from_str(text).map_err(|e| match crate::spec::yaml_error(&e, text, file) {
            SpecError::Invalid { file, line, key, expected } => RuleError::Invalid { file, line, key, expected },
            SpecError::Read { file, source } => RuleError::Read { file, source },
            SpecError::Input(e) => RuleError::Input(e),
        })?;
        let invalid = |line: usize, key: String, expected: String| RuleError::Invalid { file: file.to_string(), line, key, expected };
        if parsed.version != 1 {
            return Err(invalid(line_of_key(text, "version"), "version".into(), format!("version {}: expected 1", parsed.version)));
        }
        let mut styles = self.styles.clone();
        for (name, style) in &parsed.highlight_styles {
            if highlight_of(style).is_none() {
                return Err(invalid(
                    line_of_key(text, &format!("highlight_styles.{name}")),
                    format!("highlight_styles.{name}.color"),
                    "a glow colour: red, orange, yellow, gray, blue or cyan".into(),
                ));
            }
            styles.insert(name.clone(), *style);
        }
        let mut added = Vec::new();
        for (i, rule) in parsed.rules.iter().enumerate() {
            let at = |needle: &str| line_in_rule(text, &rule.id, needle);
            let key = |k: &str| format!("rules[{i}].{k}");
            if self.rules.iter().chain(&added).any(|r: &LoadedRule| r.rule.id == rule.id) {
                return Err(invalid(at("id:"), key("id"), format!("a unique id: `{}` is defined twice", rule.id)));
            }
            if rule.matcher.is_empty() {
                return Err(invalid(at("match"), key("match"), "at least one condition (an empty match flags every socket)".into()));
            }
            let highlight = if let Some(name) = &rule.effects.highlight_style {
                let Some(style) = styles.get(name) else {
                    let known: Vec<&str> = styles.keys().map(String::as_str).collect();
                    return Err(invalid(
                        at("highlight_style"),
                        key("effects.highlight_style"),
                        format!("`{name}` is not a highlight style: expected one of {}", known.join(", ")),
                    ));
                };
                highlight_of(style)
            } else {
                None
            };
            for weaker in &rule.supersedes {
                let known = self.rules.iter().map(|r| &r.rule.id).chain(parsed.rules.iter().map(|r| &r.id)).any(|id| id == weaker);
                if !known {
                    return Err(invalid(at("supersedes"), key("supersedes"), format!("`{weaker}` is not a rule id")));
                }
            }
            let compiled = Conditions::compile(&rule.matcher).map_err(|(k, needle, expected)| invalid(at(&needle), key(&format!("match.{k}")), expected))?;
            added.push(LoadedRule { rule: rule.clone(), pack: file.to_string(), treatment: parsed.defaults.private_ip_treatment, highlight, compiled });
        }
        self.styles = styles;
        self.rules.extend(added);
        for (k, v) in parsed.tag_definitions {
            self.tags.insert(k, v);
        }
        self.files.push(file.to_string());
        Ok(())
    }
}
