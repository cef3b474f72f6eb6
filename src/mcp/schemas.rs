//! JSON schemas for the crate's own enums that MCP answers carry typed
//! (severity, attack phase): each a string with its allowed values, so a
//! client sees the closed set instead of a free string.

use std::borrow::Cow;

use rmcp::schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use crate::intel::Phase;
use crate::model::Severity;

impl JsonSchema for Severity {
    fn schema_name() -> Cow<'static, str> {
        "Severity".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<&str> = Severity::ALL.iter().map(|s| s.name()).collect();
        json_schema!({ "type": "string", "enum": names })
    }
}

impl JsonSchema for Phase {
    fn schema_name() -> Cow<'static, str> {
        "Phase".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<&str> = Phase::ALL.iter().map(|p| p.name()).collect();
        json_schema!({ "type": "string", "enum": names })
    }
}
