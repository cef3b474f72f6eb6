//! The JSON-RPC envelope of one incoming MCP message, checked before rmcp
//! sees it, so every malformed message gets an answer that says what is
//! wrong and carries its `id` when one can be read.
//!
//! rmcp drops a line that is not JSON without a word, and answers other
//! malformed messages with an `Invalid request` that has no `id`, which a
//! client cannot match to its call. JSON-RPC 2.0 §5.1 asks for `-32700`
//! (parse error, `id: null`), `-32600` (invalid request) and `-32602`
//! (invalid params); MCP passes `params` by name only, so an array is
//! invalid params.

use serde_json::{Value, json};

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const INVALID_PARAMS: i64 = -32602;

/// What to do with one message.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// A well-formed envelope: hand it to the server.
    Forward,
    /// Nothing to do (a blank line, or a malformed notification, which by
    /// JSON-RPC gets no answer).
    Ignore,
    /// Answer with this error object instead.
    Reply(Value),
}

/// Check one message (a stdio line or an HTTP body).
pub fn check(message: &[u8]) -> Verdict {
    if message.iter().all(u8::is_ascii_whitespace) {
        return Verdict::Ignore;
    }
    let value: Value = match serde_json::from_slice(message) {
        Ok(v) => v,
        Err(e) => return Verdict::Reply(error(&Value::Null, PARSE_ERROR, &format!("parse error: not JSON ({e})"))),
    };
    let Value::Object(obj) = value else {
        let what = if value.is_array() { "a batch (array); MCP takes one message at a time" } else { "not a JSON object" };
        return Verdict::Reply(error(&Value::Null, INVALID_REQUEST, &format!("invalid request: {what}")));
    };
    // The id, when it is one JSON-RPC allows (string or number).
    let id = obj.get("id").filter(|v| v.is_string() || v.is_number()).cloned();
    let answer = |code, text: &str| match &id {
        Some(id) => Verdict::Reply(error(id, code, text)),
        // A notification (no id) is never answered; a bad id is answered with null.
        None if obj.contains_key("id") => Verdict::Reply(error(&Value::Null, code, text)),
        None => Verdict::Ignore,
    };
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return answer(INVALID_REQUEST, "invalid request: \"jsonrpc\" must be \"2.0\"");
    }
    if obj.contains_key("id") && id.is_none() {
        return answer(INVALID_REQUEST, "invalid request: \"id\" must be a string or a number");
    }
    match obj.get("method") {
        Some(Value::String(_)) => {}
        Some(_) => return answer(INVALID_REQUEST, "invalid request: \"method\" must be a string"),
        // A response to one of our requests (sampling, roots, elicitation).
        None if obj.contains_key("result") || obj.contains_key("error") => return Verdict::Forward,
        None => return answer(INVALID_REQUEST, "invalid request: no \"method\""),
    }
    match obj.get("params") {
        None | Some(Value::Object(_) | Value::Null) => Verdict::Forward,
        Some(_) => answer(INVALID_PARAMS, "invalid params: \"params\" must be an object of named arguments"),
    }
}

fn error(id: &Value, code: i64, message: &str) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(m: &str) -> (Value, i64) {
        match check(m.as_bytes()) {
            Verdict::Reply(v) => (v["id"].clone(), v["error"]["code"].as_i64().unwrap_or(0)),
            other => panic!("{m}: {other:?}"),
        }
    }

    #[test]
    fn well_formed_messages_pass() {
        for m in [
            r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":"a","method":"tools/list","params":{}}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":null}"#,
            r#"{"jsonrpc":"2.0","id":4,"result":{}}"#,
        ] {
            assert_eq!(check(m.as_bytes()), Verdict::Forward, "{m}");
        }
        assert_eq!(check(b"  \r"), Verdict::Ignore);
    }

    #[test]
    fn malformed_messages_are_answered_with_their_id() {
        assert_eq!(reply("hello not json"), (Value::Null, PARSE_ERROR));
        assert_eq!(reply(r#"[{"jsonrpc":"2.0","id":7,"method":"ping"}]"#), (Value::Null, INVALID_REQUEST));
        assert_eq!(reply(r#"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":[]}"#), (json!(2), INVALID_PARAMS));
        assert_eq!(reply(r#"{"jsonrpc":"2.0","id":"x","method":"tools/call","params":"s"}"#), (json!("x"), INVALID_PARAMS));
        assert_eq!(reply(r#"{"id":7,"method":"ping"}"#), (json!(7), INVALID_REQUEST));
        assert_eq!(reply(r#"{"jsonrpc":"2.0","id":7}"#), (json!(7), INVALID_REQUEST));
        assert_eq!(reply(r#"{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}"#), (Value::Null, INVALID_REQUEST));
        assert_eq!(reply(r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#), (Value::Null, INVALID_REQUEST));
        assert_eq!(reply("42"), (Value::Null, INVALID_REQUEST));
    }

    #[test]
    fn malformed_notifications_get_no_answer() {
        assert_eq!(check(br#"{"jsonrpc":"2.0","method":"notifications/x","params":[1]}"#), Verdict::Ignore);
        assert_eq!(check(br#"{"method":"notifications/x"}"#), Verdict::Ignore);
    }
}
