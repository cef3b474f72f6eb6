//! Host labels (`necromap agent --label role=web`, stored in `hosts.labels`)
//! and how the fleet explorer groups hosts (`necromap fleet --group-by
//! role|subnet|LABEL`).

use std::collections::BTreeMap;

use super::query::HostRow;

/// A host's labels, by key.
pub type Labels = BTreeMap<String, String>;

/// Most labels one agent sends.
pub const MAX_LABELS: usize = 32;

fn key_ok(key: &str) -> bool {
    (1..=32).contains(&key.len()) && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
}

/// `KEY=VALUE`: a key of 1 to 32 letters, digits, `_ - . /`; a value of 1
/// to 64 printable characters.
pub fn parse_label(text: &str) -> Result<(String, String), String> {
    let bounded = crate::text::escape_control(&crate::text::bounded(text, 80));
    let (k, v) = text.split_once('=').ok_or_else(|| format!("label `{bounded}`: expected KEY=VALUE (role=web)"))?;
    let (k, v) = (k.trim(), v.trim());
    if !key_ok(k) {
        return Err(format!("label `{bounded}`: the key is 1 to 32 letters, digits, `_`, `-`, `.` or `/`"));
    }
    if v.is_empty() || v.chars().count() > 64 || v.chars().any(char::is_control) {
        return Err(format!("label `{bounded}`: the value is 1 to 64 printable characters"));
    }
    Ok((k.to_string(), v.to_string()))
}

/// Every `--label`, at most [`MAX_LABELS`].
pub fn parse_labels(texts: &[String]) -> Result<Labels, String> {
    if texts.len() > MAX_LABELS {
        return Err(format!("at most {MAX_LABELS} labels"));
    }
    texts.iter().map(|t| parse_label(t)).collect()
}

/// What the explorer groups hosts by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupBy {
    /// The /24 (IPv4) or /64 (IPv6) of the host's first address.
    Subnet,
    /// A label's value (`role` is the label `role`).
    Label(String),
}

impl std::str::FromStr for GroupBy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s == "subnet" {
            return Ok(Self::Subnet);
        }
        if key_ok(s) {
            return Ok(Self::Label(s.to_string()));
        }
        Err(format!("--group-by `{}`: give role, subnet, or a label key", crate::text::escape_control(&crate::text::bounded(s, 40))))
    }
}

impl GroupBy {
    /// What the groups are called in titles (`role`, `subnet`).
    pub fn name(&self) -> &str {
        match self {
            Self::Subnet => "subnet",
            Self::Label(k) => k,
        }
    }

    /// The group of `host`; none when it has no such label or address.
    pub fn group_of(&self, host: &HostRow) -> Option<String> {
        match self {
            Self::Subnet => host.subnet.clone(),
            Self::Label(k) => host.labels.get(k).cloned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_key_value_and_bounded() {
        assert_eq!(parse_label("role=web"), Ok(("role".into(), "web".into())));
        assert!(parse_label("role").is_err());
        assert!(parse_label("=web").is_err());
        assert!(parse_label("role=").is_err());
        assert!(parse_label("ro le=web").is_err());
        assert!(parse_label(&format!("role={}", "x".repeat(65))).is_err());
        assert_eq!("subnet".parse::<GroupBy>(), Ok(GroupBy::Subnet));
        assert_eq!("role".parse::<GroupBy>(), Ok(GroupBy::Label("role".into())));
        assert!("no spaces".parse::<GroupBy>().is_err());
    }
}
