//! `/api/…`: JSON from the MCP tools' own functions (the same arguments,
//! checks, DTOs and pruning as their structured content) and from the JSON
//! export. A bad argument, a filter the language refuses included, is a 400
//! with the tool's sentence.

use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use rmcp::Json;
use rmcp::handler::server::wrapper::Parameters;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::WebState;
use crate::mcp::NecromapServer;

/// A JSON answer that is not cached.
fn json_text(status: StatusCode, text: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")], text).into_response()
}

fn refused(text: &str) -> Response {
    json_text(StatusCode::BAD_REQUEST, serde_json::json!({ "error": text }).to_string())
}

/// A tool's answer as the page reads it: pruned like the tool's
/// structured content, host text kept free of controls.
fn answer<T: Serialize>(result: Result<Json<T>, String>) -> Response {
    match result {
        Ok(Json(value)) => match serde_json::to_value(value) {
            Ok(mut v) => {
                crate::mcp::prune(&mut v);
                json_text(StatusCode::OK, crate::text::json_escape_unsafe(&v.to_string()).into_owned())
            }
            Err(e) => json_text(StatusCode::INTERNAL_SERVER_ERROR, serde_json::json!({ "error": e.to_string() }).to_string()),
        },
        Err(e) => refused(&e),
    }
}

/// The query string's parameters (the last of a repeated name wins).
fn params(query: Option<&str>) -> HashMap<String, String> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect()
}

/// Query parameters as a tool's arguments: numbers where the tool takes
/// numbers, text otherwise; unknown names are refused by the tool's type.
fn arguments<A: DeserializeOwned>(query: &HashMap<String, String>, numbers: &[&str], fixed: &[(&str, Value)]) -> Result<A, String> {
    let mut args = Map::new();
    for (k, v) in query {
        let value = if numbers.contains(&k.as_str()) {
            Value::from(v.trim().parse::<u64>().map_err(|_| format!("{}: `{}` is not a number", crate::mcp::dto::safe(k, 40), crate::mcp::dto::safe(v, 40)))?)
        } else {
            Value::from(v.clone())
        };
        args.insert(k.clone(), value);
    }
    for (k, v) in fixed {
        args.insert((*k).to_string(), v.clone());
    }
    serde_json::from_value(Value::Object(args)).map_err(|e| crate::mcp::dto::safe(&e.to_string(), 300))
}

/// Run a tool off the reactor (a scan of 10k sockets takes milliseconds).
async fn call<A, T>(web: &WebState, args: Result<A, String>, tool: fn(&NecromapServer, Parameters<A>) -> Result<Json<T>, String>) -> Response
where
    A: Send + 'static,
    T: Serialize + Send + 'static,
{
    let args = match args {
        Ok(a) => a,
        Err(e) => return refused(&e),
    };
    let server = web.server.clone();
    match crate::mcp::off_reactor(move || Ok(tool(&server, Parameters(args)))).await {
        Ok(result) => answer(result),
        Err(e) => json_text(StatusCode::INTERNAL_SERVER_ERROR, serde_json::json!({ "error": e }).to_string()),
    }
}

/// `/api/connections?filter=…&limit=…&offset=…` (and `list_connections`' other arguments).
pub async fn connections(State(web): State<WebState>, RawQuery(q): RawQuery) -> Response {
    let args = arguments(&params(q.as_deref()), &["limit", "offset", "pid"], &[]);
    call(&web, args, NecromapServer::list_connections).await
}

/// `/api/findings?min_severity=…` (`get_suspicious_connections`).
pub async fn findings(State(web): State<WebState>, RawQuery(q): RawQuery) -> Response {
    let args = arguments(&params(q.as_deref()), &["limit", "offset", "findings_offset"], &[]);
    call(&web, args, NecromapServer::get_suspicious_connections).await
}

/// `/api/processes/{pid}` (`suggest_investigation`; `?detail=full` for traces and steps).
pub async fn process(State(web): State<WebState>, Path(pid): Path<String>, RawQuery(q): RawQuery) -> Response {
    let Ok(pid) = pid.parse::<u32>() else {
        return refused("the pid must be a number");
    };
    let args = arguments(&params(q.as_deref()), &[], &[("pid", Value::from(pid))]);
    call(&web, args, NecromapServer::suggest_investigation).await
}

/// `/api/explain?socket_id=…` (`explain_connection`).
pub async fn explain(State(web): State<WebState>, RawQuery(q): RawQuery) -> Response {
    let args = arguments(&params(q.as_deref()), &["pid", "remote_port"], &[]);
    call(&web, args, NecromapServer::explain_connection).await
}

/// `/api/snapshot`: the JSON export of the latest snapshot.
pub async fn snapshot(State(web): State<WebState>) -> Response {
    let s = web.server.state().snapshot();
    let written = crate::mcp::off_reactor(move || {
        let mut out = Vec::new();
        crate::export::write_json(&s, &mut out, false).map_err(|e| e.to_string())?;
        String::from_utf8(out).map_err(|e| e.to_string())
    })
    .await;
    match written {
        Ok(text) => json_text(StatusCode::OK, text),
        Err(e) => json_text(StatusCode::INTERNAL_SERVER_ERROR, serde_json::json!({ "error": e }).to_string()),
    }
}

/// `/api/map`: the graph as drawn, with the summary and health.
pub async fn map(State(web): State<WebState>) -> Response {
    let s = web.server.state().snapshot();
    let text = crate::mcp::off_reactor(move || serde_json::to_string(&super::map::map(&s)).map_err(|e| e.to_string())).await;
    match text {
        Ok(text) => json_text(StatusCode::OK, crate::text::json_escape_unsafe(&text).into_owned()),
        Err(e) => json_text(StatusCode::INTERNAL_SERVER_ERROR, serde_json::json!({ "error": e }).to_string()),
    }
}
