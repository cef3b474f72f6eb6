//! What a model pays for, kept small: every answer without null or empty
//! fields, and every tool schema without what says nothing.
//!
//! - [`prune`] drops `null`, `""`, `[]` and `{}` from every object of a
//!   tool's structured content (never from inside a list), so "absent"
//!   means "none or unknown" everywhere; [`answer`] then writes the text
//!   block beside it as the same compact JSON.
//! - [`tool`] rewrites a tool's schemas once, when the server is built:
//!   no `$schema`, `title`, trivial `default` or Rust `format`. Output
//!   schemas type every top-level field, without descriptions, `null`
//!   branches or `minimum: 0`; nested records are plain objects (see
//!   [`strip`]); only the fields [`prune`] can never drop (numbers and
//!   booleans) stay `required`, so a client validating structured content
//!   against the schema accepts every pruned answer. Argument schemas keep
//!   their descriptions: they are what a model reads to call a tool.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use rmcp::model::{CallToolResult, ContentBlock, JsonObject, Tool};
use serde_json::{Map, Value};

/// Remove null and empty values from every object in `v`, depth first (an
/// object emptied by pruning goes too). Items of lists stay.
pub fn prune(v: &mut Value) {
    match v {
        Value::Object(obj) => {
            for x in obj.values_mut() {
                prune(x);
            }
            obj.retain(|_, x| !is_empty(x));
        }
        Value::Array(items) => items.iter_mut().for_each(prune),
        _ => {}
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// A successful tool answer, pruned, with its text block the compact JSON
/// of the structured content (what the specification asks for beside it).
pub fn answer(mut result: CallToolResult) -> CallToolResult {
    if result.is_error == Some(true) {
        return result;
    }
    if let Some(structured) = result.structured_content.as_mut() {
        prune(structured);
        result.content = vec![ContentBlock::text(structured.to_string())];
    }
    result
}

/// A tool's input and output schemas.
type Schemas = (Arc<JsonObject>, Option<Arc<JsonObject>>);

/// The tool with its schemas made compact (see the module docs). Schemas
/// are computed once per tool name and shared by every session.
pub fn tool(mut t: Tool) -> Tool {
    static CACHE: OnceLock<std::sync::Mutex<HashMap<String, Schemas>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Ok(mut cache) = cache.lock() {
        let (input, output) = cache
            .entry(t.name.to_string())
            .or_insert_with(|| (Arc::new(input_schema(&t.input_schema)), t.output_schema.as_deref().map(|o| Arc::new(output_schema(o)))))
            .clone();
        t.input_schema = input;
        t.output_schema = output;
    }
    t
}

/// An argument schema without `$schema`, titles, Rust formats or defaults
/// that only say "empty" (`""`, `0`, `false`, `[]`).
pub fn input_schema(schema: &JsonObject) -> JsonObject {
    let mut v = Value::Object(schema.clone());
    strip(&mut v, Side::Input, 0);
    inline_defs(into_object(v))
}

/// An output schema as described in the module docs.
pub fn output_schema(schema: &JsonObject) -> JsonObject {
    let mut v = Value::Object(schema.clone());
    strip(&mut v, Side::Output, 0);
    // A reference inlined as an object can be pruned: required no more.
    let mut schema = inline_defs(into_object(v));
    keep_required_unprunable(&mut schema);
    schema
}

/// `$defs` made small: a definition used once, or one that only says "an
/// object" (what [`strip`] leaves of a nested record), is written where it
/// is used, and one no longer used goes. The schema accepts the same
/// documents; it is only shorter.
fn inline_defs(mut root: JsonObject) -> JsonObject {
    let Some(Value::Object(mut defs)) = root.remove("$defs") else { return root };
    let mut root = Value::Object(root);
    let uses = ref_counts(&root, &defs);
    let inline: HashMap<String, Value> = defs
        .iter()
        .filter(|(name, d)| !has_ref(d) && (uses.get(name.as_str()) == Some(&1) || is_plain_object(d)))
        .map(|(name, d)| (format!("{DEFS}{name}"), d.clone()))
        .collect();
    replace_refs(&mut root, &inline);
    defs.values_mut().for_each(|d| replace_refs(d, &inline));
    let uses = ref_counts(&root, &defs);
    defs.retain(|name, _| uses.contains_key(name.as_str()));
    let mut root = into_object(root);
    if !defs.is_empty() {
        root.insert("$defs".into(), Value::Object(defs));
    }
    root
}

const DEFS: &str = "#/$defs/";

/// How often each definition is referred to, from the schema and from the
/// other definitions.
fn ref_counts(root: &Value, defs: &Map<String, Value>) -> HashMap<String, usize> {
    fn walk(v: &Value, uses: &mut HashMap<String, usize>) {
        match v {
            Value::Object(obj) => {
                if let Some(name) = obj.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix(DEFS)) {
                    *uses.entry(name.to_string()).or_default() += 1;
                }
                obj.values().for_each(|x| walk(x, uses));
            }
            Value::Array(items) => items.iter().for_each(|x| walk(x, uses)),
            _ => {}
        }
    }
    let mut uses = HashMap::new();
    walk(root, &mut uses);
    defs.values().for_each(|d| walk(d, &mut uses));
    uses
}

fn has_ref(v: &Value) -> bool {
    match v {
        Value::Object(obj) => obj.contains_key("$ref") || obj.values().any(has_ref),
        Value::Array(items) => items.iter().any(has_ref),
        _ => false,
    }
}

fn is_plain_object(v: &Value) -> bool {
    v.as_object().is_some_and(|o| o.len() == 1 && o.get("type").is_some_and(|t| t == "object"))
}

/// Each `$ref` to a definition in `inline` becomes the definition itself,
/// keeping what the referring schema says beside it (an argument's
/// description).
fn replace_refs(v: &mut Value, inline: &HashMap<String, Value>) {
    match v {
        Value::Object(obj) => {
            if let Some(Value::Object(def)) = obj.get("$ref").and_then(Value::as_str).and_then(|r| inline.get(r)).cloned() {
                obj.remove("$ref");
                for (k, x) in def {
                    obj.entry(k).or_insert(x);
                }
            }
            obj.values_mut().for_each(|x| replace_refs(x, inline));
        }
        Value::Array(items) => items.iter_mut().for_each(|x| replace_refs(x, inline)),
        _ => {}
    }
}

fn into_object(v: Value) -> JsonObject {
    match v {
        Value::Object(o) => o,
        _ => Map::new(),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Input,
    Output,
}

const RUST_FORMATS: &[&str] = &["uint", "uint8", "uint16", "uint32", "uint64", "int", "int8", "int16", "int32", "int64", "float", "double"];

/// `depth` counts schema levels: 0 is the tool's own object. Output
/// schemas lose every description (the tool's description and the field
/// names say what an answer holds), and each nested record in `$defs`
/// becomes `{"type": "object"}`: its fields are the ones the answer shows,
/// and spelling them out for every tool would double `tools/list`.
/// Enumerations in `$defs` (severity, phase, …) stay whole.
fn strip(v: &mut Value, side: Side, depth: usize) {
    match v {
        Value::Array(items) => items.iter_mut().for_each(|x| strip(x, side, depth)),
        Value::Object(obj) => {
            obj.remove("$schema");
            obj.remove("title");
            if obj.get("format").and_then(Value::as_str).is_some_and(|f| RUST_FORMATS.contains(&f)) {
                obj.remove("format");
            }
            if obj.get("default").is_some_and(trivial_default) {
                obj.remove("default");
            }
            if depth == 0 || side == Side::Output {
                // The root's description repeats the tool's.
                obj.remove("description");
            }
            if side == Side::Output {
                collapse_null(obj);
                if obj.get("minimum").and_then(Value::as_i64) == Some(0) {
                    obj.remove("minimum");
                }
                if depth >= 1 && obj.contains_key("properties") {
                    obj.clear();
                    obj.insert("type".into(), Value::String("object".into()));
                    return;
                }
                keep_required_unprunable(obj);
            }
            for (key, x) in obj.iter_mut() {
                match key.as_str() {
                    "$defs" => {
                        if let Value::Object(defs) = x {
                            defs.values_mut().for_each(|d| {
                                // An argument's enumeration is described by the argument.
                                if let Value::Object(d) = d {
                                    d.remove("description");
                                }
                                strip(d, side, depth + 1);
                            });
                        }
                    }
                    "properties" => {
                        if let Value::Object(props) = x {
                            props.values_mut().for_each(|p| strip_property(p, side, depth));
                        }
                    }
                    _ => strip(x, side, depth),
                }
            }
            if obj.get("required").is_some_and(|r| r.as_array().is_some_and(Vec::is_empty)) {
                obj.remove("required");
            }
        }
        _ => {}
    }
}

/// One property's schema: like [`strip`], keeping an argument's description.
fn strip_property(p: &mut Value, side: Side, depth: usize) {
    let description = (side == Side::Input).then(|| p.get("description").cloned()).flatten();
    strip(p, side, depth.max(1));
    if let (Some(d), Value::Object(obj)) = (description, p) {
        obj.insert("description".into(), d);
    }
}

fn trivial_default(v: &Value) -> bool {
    match v {
        Value::String(s) => s.is_empty(),
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Bool(b) => !b,
        Value::Array(a) => a.is_empty(),
        Value::Null => true,
        Value::Object(o) => o.is_empty(),
    }
}

/// `anyOf: [X, {type: null}]` (or `type: [T, "null"]`) becomes X: pruned
/// answers never carry null.
fn collapse_null(obj: &mut Map<String, Value>) {
    if let Some(Value::Array(types)) = obj.get("type")
        && types.len() == 2
        && types.iter().any(|t| t == "null")
    {
        let base = types.iter().find(|t| *t != "null").cloned().unwrap_or(Value::Null);
        obj.insert("type".into(), base);
    }
    let Some(Value::Array(branches)) = obj.get("anyOf") else { return };
    if branches.len() != 2 || !branches.iter().any(|b| b.get("type").is_some_and(|t| t == "null") && b.as_object().is_some_and(|o| o.len() == 1)) {
        return;
    }
    let Some(Value::Object(base)) = branches.iter().find(|b| !b.get("type").is_some_and(|t| t == "null")).cloned() else { return };
    obj.remove("anyOf");
    for (k, x) in base {
        obj.entry(k).or_insert(x);
    }
}

/// Only properties that pruning can never remove stay required: numbers,
/// integers and booleans (and references to enums, which are strings that
/// are never empty).
fn keep_required_unprunable(obj: &mut Map<String, Value>) {
    let Some(Value::Array(required)) = obj.get("required") else { return };
    let props = obj.get("properties").and_then(Value::as_object);
    let kept: Vec<Value> = required
        .iter()
        .filter(|name| {
            let p = name.as_str().and_then(|n| props.and_then(|ps| ps.get(n)));
            p.is_some_and(|p| {
                let t = p.get("type").and_then(Value::as_str);
                matches!(t, Some("integer" | "number" | "boolean")) || (p.get("$ref").is_some() && p.get("type").is_none() && p.get("anyOf").is_none())
            })
        })
        .cloned()
        .collect();
    obj.insert("required".into(), Value::Array(kept));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prune_drops_null_and_empty_fields_but_not_list_items() {
        let mut v = json!({ "a": null, "b": "", "c": [], "d": {}, "e": 0, "f": false, "g": { "h": null }, "i": ["", null, 1], "j": "x" });
        prune(&mut v);
        assert_eq!(v, json!({ "e": 0, "f": false, "i": ["", null, 1], "j": "x" }));
    }

    #[test]
    fn output_schemas_lose_null_branches_and_require_only_unprunable_fields() {
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "X",
            "type": "object",
            "properties": {
                "n": { "type": "integer", "minimum": 0, "format": "uint32", "description": "gone" },
                "s": { "type": "string", "description": "gone" },
                "o": { "anyOf": [{ "type": "integer", "minimum": 0 }, { "type": "null" }] },
                "r": { "$ref": "#/$defs/Y" }
            },
            "required": ["n", "s", "o", "r"],
            "$defs": { "Y": { "description": "gone", "type": "object", "properties": { "z": { "type": "string", "description": "gone" } }, "required": ["z"] } }
        });
        let Value::Object(obj) = schema else { unreachable!() };
        let out = Value::Object(output_schema(&obj));
        assert_eq!(
            out,
            json!({
                "type": "object",
                "properties": {
                    "n": { "type": "integer" },
                    "s": { "type": "string" },
                    "o": { "type": "integer" },
                    "r": { "type": "object" }
                },
                "required": ["n"]
            })
        );
    }

    #[test]
    fn input_schemas_keep_bounds_and_meaningful_defaults() {
        let Value::Object(obj) = json!({
            "type": "object",
            "properties": {
                "limit": { "type": "integer", "minimum": 1, "maximum": 10000, "default": 100, "format": "uint32" },
                "state": { "type": "string", "default": "" }
            }
        }) else {
            unreachable!()
        };
        let out = Value::Object(input_schema(&obj));
        assert_eq!(
            out,
            json!({ "type": "object", "properties": { "limit": { "type": "integer", "minimum": 1, "maximum": 10000, "default": 100 }, "state": { "type": "string" } } })
        );
    }

    #[test]
    fn definitions_used_once_or_plain_objects_are_inlined_and_unused_ones_dropped() {
        let schema = json!({
            "type": "object",
            "properties": {
                "detail": { "$ref": "#/$defs/Detail", "description": "brief or full" },
                "worst": { "$ref": "#/$defs/Severity" },
                "least": { "$ref": "#/$defs/Severity" },
                "items": { "type": "array", "items": { "$ref": "#/$defs/Item" } }
            },
            "$defs": {
                "Detail": { "type": "string", "enum": ["brief", "full"] },
                "Severity": { "type": "string", "enum": ["low", "high"] },
                "Item": { "type": "object" },
                "Unused": { "type": "string", "enum": ["x"] }
            }
        });
        let Value::Object(obj) = schema else { unreachable!() };
        let out = Value::Object(input_schema(&obj));
        assert_eq!(out["properties"]["detail"], json!({ "type": "string", "enum": ["brief", "full"], "description": "brief or full" }));
        assert_eq!(out["properties"]["items"]["items"], json!({ "type": "object" }));
        // Used twice: stays a reference, and its definition stays.
        assert_eq!(out["properties"]["worst"], json!({ "$ref": "#/$defs/Severity" }));
        assert_eq!(out["$defs"], json!({ "Severity": { "type": "string", "enum": ["low", "high"] } }));
    }
}
