//! Loading and validating a spec file. Every refusal names the file, the
//! line, the key and what was expected.

use std::path::Path;

use super::types::{EnumValues, FieldType, Spec};
use crate::terms::SocketState;

/// The spec shipped in the binary.
pub const EMBEDDED_SPEC: &str = include_str!("../../specs/network_map.yaml");
/// Name used for the embedded copy in messages.
pub const EMBEDDED_NAME: &str = "<embedded specs/network_map.yaml>";

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("{file}: cannot read the spec: {source}")]
    Read { file: String, source: std::io::Error },
    #[error("{file}:{line}: at `{key}`: {expected}")]
    Invalid { file: String, line: usize, key: String, expected: String },
    #[error(transparent)]
    Input(#[from] crate::input::InputError),
}

impl Spec {
    /// The copy built into the binary. It is checked by the tests, so a
    /// failure here is a build defect.
    pub fn embedded() -> Self {
        match Self::parse(EMBEDDED_SPEC, EMBEDDED_NAME) {
            Ok(spec) => spec,
            Err(e) => panic!("the embedded spec is invalid: {e}"),
        }
    }

    /// Read a user's spec file.
    pub fn from_file(path: &Path) -> Result<Self, SpecError> {
        let file = path.display().to_string();
        let text = crate::input::read_text(path, crate::input::Kind::Spec)?;
        Self::parse(&text, &file)
    }

    /// Parse and validate spec text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, SpecError> {
        crate::input::check_depth(text, file, crate::input::Kind::Spec)?;
        let spec: Self = serde_yaml::from_str(text).map_err(|e| yaml_error(&e, text, file))?;
        validate(&spec, text, file)?;
        Ok(spec)
    }
}

/// Turn a `serde_yaml` error ("path.to.key: message at line L column C") into
/// file, line, key, expected.
pub(crate) fn yaml_error(e: &serde_yaml::Error, text: &str, file: &str) -> SpecError {
    let raw = e.to_string();
    let line = e.location().map_or(0, |l| l.line());
    // Strip the trailing " at line L column C" that serde_yaml appends.
    let message = raw.rfind(" at line ").map_or(raw.as_str(), |i| &raw[..i]);
    let (key, expected) = match message.split_once(": ") {
        Some((path, rest)) if !path.contains(' ') => (path.to_string(), rest.to_string()),
        _ => ("(document)".to_string(), message.to_string()),
    };
    let line = if line == 0 { line_of_key(text, &key) } else { line };
    SpecError::Invalid { file: file.to_string(), line, key, expected }
}

fn invalid(text: &str, file: &str, key: &str, expected: impl Into<String>) -> SpecError {
    SpecError::Invalid { file: file.to_string(), line: line_of_key(text, key), key: key.to_string(), expected: expected.into() }
}

/// Best-effort line of a dotted key path (`states.LISTEN.style`): walks the
/// text, matching each segment at a deeper indentation than the previous.
/// Returns the line of the deepest segment found (1-based), or 1.
pub fn line_of_key(text: &str, key: &str) -> usize {
    let mut found = 1;
    let mut start = 0;
    let mut min_indent = 0usize;
    let lines: Vec<&str> = text.lines().collect();
    'segments: for segment in key.split('.').filter(|s| !s.is_empty()) {
        for (i, line) in lines.iter().enumerate().skip(start) {
            let trimmed = line.trim_start();
            let indent = line.len() - trimmed.len();
            if trimmed.starts_with('#') || trimmed.is_empty() {
                continue;
            }
            if i > start && indent < min_indent {
                break;
            }
            let bare = trimmed.trim_start_matches("- ");
            if bare.starts_with(&format!("{segment}:")) || bare.starts_with(&format!("{{ {segment}:")) {
                found = i + 1;
                start = i + 1;
                min_indent = indent + 1;
                continue 'segments;
            }
        }
        break;
    }
    found
}

fn validate(spec: &Spec, text: &str, file: &str) -> Result<(), SpecError> {
    if spec.version != 1 {
        return Err(invalid(text, file, "version", format!("version {} is not supported: expected 1", spec.version)));
    }
    for state in SocketState::ALL {
        let Some(s) = spec.states.get(&state) else {
            return Err(invalid(text, file, "states", format!("state {state} is missing: every TCP state plus UDP and UNCONN needs an entry")));
        };
        if s.protocol != state.protocol() {
            return Err(invalid(text, file, &format!("states.{state}.protocol"), format!("{}: expected {}", s.protocol, state.protocol())));
        }
    }
    let sections = spec.node_types.iter().map(|(n, t)| (format!("node_types.{n}"), &t.fields));
    let edges = spec.edge_types.iter().map(|(n, t)| (format!("edge_types.{n}"), &t.fields));
    for (section, fields) in sections.chain(edges) {
        if fields.is_empty() {
            return Err(invalid(text, file, &section, "at least one field"));
        }
        for (name, field) in fields {
            let key = format!("{section}.fields.{name}");
            match (field.kind, &field.values) {
                (FieldType::Enum, None) => return Err(invalid(text, file, &key, "an enum field needs `values`: a list, or `states`")),
                (FieldType::Enum, Some(EnumValues::Named(n))) if n != "states" => {
                    return Err(invalid(text, file, &key, format!("values `{n}`: expected a list or `states`")));
                }
                (FieldType::Enum, Some(EnumValues::List(l))) if l.is_empty() => return Err(invalid(text, file, &key, "a non-empty list of values")),
                (k, Some(_)) if k != FieldType::Enum => return Err(invalid(text, file, &key, "`values` is only for enum fields")),
                _ => {}
            }
        }
    }
    let l = &spec.layout;
    let m = l.max_neighbors;
    if m.small == 0 || m.small > m.medium || m.medium > m.large {
        return Err(invalid(text, file, "layout.max_neighbors", "positive counts with small ≤ medium ≤ large"));
    }
    let c = l.size_classes;
    if !(c.small.min_width <= c.medium.min_width
        && c.medium.min_width <= c.large.min_width
        && c.small.min_height <= c.medium.min_height
        && c.medium.min_height <= c.large.min_height)
    {
        return Err(invalid(text, file, "layout.size_classes", "minimum sizes growing from small to medium to large"));
    }
    for rule in &l.grouping {
        if let super::types::GroupingRule::Subnet { prefix_v4, prefix_v6, .. } = rule
            && (*prefix_v4 > 32 || *prefix_v6 > 128)
        {
            return Err(invalid(text, file, "layout.grouping", "subnet prefix_v4 ≤ 32 and prefix_v6 ≤ 128"));
        }
    }
    if l.radial.rings.is_empty() {
        return Err(invalid(text, file, "layout.radial.rings", "at least one zone"));
    }
    if spec.views.is_empty() {
        return Err(invalid(text, file, "views", "at least one view"));
    }
    if !spec.views.contains_key("default") {
        return Err(invalid(text, file, "views", "a view named `default`"));
    }
    Ok(())
}
