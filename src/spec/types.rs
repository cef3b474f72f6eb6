//! The typed mirror of `specs/network_map.yaml`. Unknown keys are refused
//! (`deny_unknown_fields`) so a typo is a load error with its line, not a
//! silently ignored setting.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::terms::{Severity, SocketState, Zone};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub version: u32,
    pub node_types: NodeTypes,
    pub edge_types: EdgeTypes,
    pub states: BTreeMap<SocketState, StateSpec>,
    pub layout: LayoutSpec,
    /// In file order: `v` in the TUI cycles them in this order.
    pub views: IndexMap<String, ViewSpec>,
}

/// The four node types; each must be present, no other is allowed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeTypes {
    pub process: NodeTypeSpec,
    pub remote_endpoint: NodeTypeSpec,
    pub service_listener: NodeTypeSpec,
    pub endpoint_group: NodeTypeSpec,
}

impl NodeTypes {
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &NodeTypeSpec)> {
        [
            ("process", &self.process),
            ("remote_endpoint", &self.remote_endpoint),
            ("service_listener", &self.service_listener),
            ("endpoint_group", &self.endpoint_group),
        ]
        .into_iter()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeTypeSpec {
    pub description: String,
    pub fields: IndexMap<String, FieldSpec>,
}

/// The three edge types.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EdgeTypes {
    pub outbound_connection: EdgeTypeSpec,
    pub inbound_connection: EdgeTypeSpec,
    pub listener_binding: EdgeTypeSpec,
}

impl EdgeTypes {
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &EdgeTypeSpec)> {
        [("outbound_connection", &self.outbound_connection), ("inbound_connection", &self.inbound_connection), ("listener_binding", &self.listener_binding)]
            .into_iter()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeTypeName {
    Process,
    RemoteEndpoint,
    ServiceListener,
    EndpointGroup,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EdgeTypeSpec {
    pub description: String,
    pub from: NodeTypeName,
    pub to: NodeTypeName,
    pub fields: IndexMap<String, FieldSpec>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    #[serde(rename = "type")]
    pub kind: FieldType,
    pub description: String,
    #[serde(default)]
    pub optional: bool,
    /// For `enum` fields: the allowed values, or `states` for the state names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<EnumValues>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EnumValues {
    List(Vec<String>),
    /// The literal `states`: the keys of the spec's `states` section.
    Named(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FieldType {
    #[serde(rename = "integer")]
    Integer,
    #[serde(rename = "float")]
    Float,
    #[serde(rename = "string")]
    String,
    #[serde(rename = "boolean")]
    Boolean,
    #[serde(rename = "ip")]
    Ip,
    #[serde(rename = "timestamp_ms")]
    TimestampMs,
    #[serde(rename = "duration_ms")]
    DurationMs,
    #[serde(rename = "bytes")]
    Bytes,
    #[serde(rename = "enum")]
    Enum,
    #[serde(rename = "list<string>")]
    ListString,
    #[serde(rename = "list<integer>")]
    ListInteger,
    /// A list of records; their fields are named in the description.
    #[serde(rename = "list<object>")]
    ListObject,
    /// One record; its fields are named in the description.
    #[serde(rename = "object")]
    Object,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateSpec {
    pub protocol: crate::terms::Protocol,
    pub description: String,
    pub severity_hint: Severity,
    pub style: StyleSpec,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StyleSpec {
    pub color: Color,
    pub line: LineStyle,
    pub icon: IconHint,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Color {
    Green,
    Yellow,
    Red,
    Blue,
    Cyan,
    Magenta,
    White,
    Gray,
    Orange,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineStyle {
    Solid,
    Dashed,
    Dotted,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IconHint {
    Coffin,
    Skull,
    Ghost,
    Pumpkin,
    None,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayoutSpec {
    pub center_node: CenterNode,
    pub size_classes: SizeClasses,
    pub max_neighbors: PerSize<usize>,
    pub grouping: Vec<GroupingRule>,
    pub radial: RadialSpec,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CenterNode {
    Host,
    FocusedProcess,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SizeClasses {
    pub small: SizeRule,
    pub medium: SizeRule,
    pub large: SizeRule,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SizeRule {
    pub min_width: u16,
    pub min_height: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_width: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_height: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerSize<T> {
    pub small: T,
    pub medium: T,
    pub large: T,
}

/// A terminal size class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SizeClass {
    /// Smaller than the small class's minimum: a text summary, no map.
    Tiny,
    Small,
    Medium,
    Large,
}

impl<T: Copy> PerSize<T> {
    /// The value for a size class; `Tiny` takes the small value.
    pub fn get(&self, class: SizeClass) -> T {
        match class {
            SizeClass::Tiny | SizeClass::Small => self.small,
            SizeClass::Medium => self.medium,
            SizeClass::Large => self.large,
        }
    }
}

impl SizeClasses {
    /// The largest class whose minimum the terminal meets.
    pub fn classify(&self, width: u16, height: u16) -> SizeClass {
        let fits = |r: &SizeRule| width >= r.min_width && height >= r.min_height;
        if fits(&self.large) {
            SizeClass::Large
        } else if fits(&self.medium) {
            SizeClass::Medium
        } else if fits(&self.small) {
            SizeClass::Small
        } else {
            SizeClass::Tiny
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "strategy", rename_all = "snake_case", deny_unknown_fields)]
pub enum GroupingRule {
    /// One node per address (the default, no folding).
    Ip { min_members: usize },
    /// Fold endpoints sharing a prefix.
    Subnet { prefix_v4: u8, prefix_v6: u8, min_members: usize },
    /// Fold endpoints by autonomous system (needs an ASN database; skipped
    /// with a health note when none is configured).
    Asn { min_members: usize },
    /// Fold endpoints by country (offline table).
    Country { min_members: usize },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RadialSpec {
    pub rings: Vec<Zone>,
    pub start_angle_deg: f64,
    pub min_label_gap: u16,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewSpec {
    pub description: String,
    pub filter: ViewFilter,
}

/// A view's filter. Every filter given must pass; empty means "all".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewFilter {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub states_in: Vec<SocketState>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub states_out: Vec<SocketState>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags_in: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags_out: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones_in: Vec<Zone>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_severity: Option<Severity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_connections: Option<usize>,
}
