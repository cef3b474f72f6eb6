//! The web view's server side, over raw HTTP on 127.0.0.1: the gate (token,
//! login link and cookie, Origin, Host, the security headers), the API's
//! contract (the same JSON as the MCP tools' structured content, filter
//! errors as 400 with the filter language's sentence), and `/events`
//! (ids without gaps, resuming with `Last-Event-ID`, a reset for an id it
//! cannot resume from, the cap on streams). Every server child is killed
//! and reaped by its guard, also when an assertion fails.

use std::time::Duration;

mod common;
#[path = "web/server.rs"]
mod server;

use common::mcp::{call_tool, result_of};
use server::{Stream, bearer, get, start};

#[test]
fn the_gate_wants_the_token_or_the_cookie_of_the_login_link() {
    let web = start(&["--demo", "--interval", "1h"]);
    let a = web.addr();
    let (k, v) = bearer();
    for path in ["/", "/api/map", "/api/connections", "/events", "/app.js"] {
        let r = get(a, path, &[]);
        assert_eq!(r.status, 401, "{path} without the token: {}", r.head);
        assert!(r.header("content-security-policy").is_some_and(|c| c.contains("default-src 'self'")), "refusals carry the CSP too: {}", r.head);
    }
    assert_eq!(get(a, "/api/map", &[(k, &v)]).status, 200);
    assert_eq!(get(a, "/api/map", &[(k, "Bearer wrong-token-0123456789")]).status, 401);
    assert_eq!(get(a, "/api/map", &[(k, &v), ("Origin", "http://evil.example")]).status, 403, "a foreign Origin");
    assert_eq!(get(a, "/api/map", &[(k, &v), ("Origin", &format!("http://localhost:{}", a.port()))]).status, 200, "our own Origin");
    assert_eq!(get(a, "/api/map", &[(k, &v), ("Host", "evil.example")]).status, 403, "a foreign Host (DNS rebinding)");

    // The one-time link: a cookie, once.
    let path = web.login.split_once(&a.to_string()).map(|x| x.1).expect("the link is on this server");
    let r = get(a, path, &[]);
    assert_eq!(r.status, 303, "{}", r.head);
    assert_eq!(r.header("location").as_deref(), Some("/"));
    let cookie = r.header("set-cookie").expect("a session cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"), "{cookie}");
    let session = cookie.split(';').next().expect("name=value").to_string();
    assert_eq!(get(a, path, &[]).status, 401, "the link works once");
    let page = get(a, "/", &[("Cookie", &session)]);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<script src=\"/app.js\" defer>"), "{}", page.body);
    assert_eq!(page.header("x-content-type-options").as_deref(), Some("nosniff"));
    assert_eq!(page.header("referrer-policy").as_deref(), Some("no-referrer"));
    let csp = page.header("content-security-policy").expect("CSP");
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(get(a, "/api/map", &[("Cookie", &session)]).status, 200, "the cookie admits to the API");
    assert_eq!(get(a, "/api/map", &[("Cookie", "necromap_session=0123456789")]).status, 401, "a made-up cookie does not");
    // The cookie is for the page: MCP still wants the token.
    assert_eq!(get(a, "/mcp", &[("Cookie", &session), ("Accept", "text/event-stream")]).status, 401);
    // The token opens a session too, so a used link is no lock-out.
    let again = get(a, "/login", &[(k, &v)]);
    assert_eq!(again.status, 303);
    assert!(again.header("set-cookie").is_some());
}

/// A tool's structured content over MCP.
fn tool(addr: std::net::SocketAddr, name: &str, arguments: &str) -> serde_json::Value {
    let body = call_tool(addr, name, arguments).expect("tools/call");
    let result = result_of(&body);
    assert_ne!(result["isError"], true, "{name} failed: {result}");
    result["structuredContent"].clone()
}

#[test]
fn the_api_answers_what_the_mcp_tools_answer() {
    // One frame for the whole test: every answer comes from generation 1.
    let web = start(&["--demo", "--interval", "1h"]);
    let a = web.addr();
    let (k, v) = bearer();
    let auth = [(k, v.as_str())];
    let api = |path: &str| {
        let r = get(a, path, &auth);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
        r.json()
    };
    let connections = api("/api/connections?filter=proc%3Abash&limit=5");
    assert_eq!(connections, tool(a, "list_connections", r#"{"filter":"proc:bash","limit":5}"#));
    assert_eq!(connections["total"], 1);
    assert_eq!(connections["connections"][0]["severity"], "critical");
    assert_eq!(api("/api/connections?limit=20&offset=10"), tool(a, "list_connections", r#"{"limit":20,"offset":10}"#));
    assert_eq!(api("/api/findings?min_severity=low"), tool(a, "get_suspicious_connections", r#"{"min_severity":"low"}"#));
    assert_eq!(api("/api/processes/3401?detail=full"), tool(a, "suggest_investigation", r#"{"pid":3401,"detail":"full"}"#));
    let socket = connections["connections"][0]["id"].as_str().expect("socket id").to_string();
    assert_eq!(api(&format!("/api/explain?socket_id={socket}")), tool(a, "explain_connection", &format!(r#"{{"socket_id":"{socket}"}}"#)));

    // The JSON export's document.
    let doc = api("/api/snapshot");
    assert_eq!(doc["format"], "necromap-snapshot");
    assert_eq!(doc["generation"], 1);
    assert_eq!(doc["summary"]["sockets"].as_u64(), doc["sockets"].as_array().map(|s| s.len() as u64));

    // The map: bash is a critical process node with its socket to explain.
    let map = api("/api/map");
    let bash = map["nodes"].as_array().and_then(|n| n.iter().find(|n| n["id"] == "p_3401")).expect("bash in the map");
    assert_eq!(bash["severity"], "critical");
    assert_eq!(bash["socket_id"], socket.as_str());
    assert!(map["edges"].as_array().is_some_and(|e| e.iter().any(|e| e["from"] == "p_3401")), "bash's edge");

    // Bad arguments: 400 with the tool's sentence.
    let bad = get(a, "/api/connections?filter=sev%3E%3Dbogus", &auth);
    assert_eq!(bad.status, 400);
    let text = bad.json()["error"].as_str().expect("error").to_string();
    assert!(text.contains("severity `bogus`") && text.contains("expected info, low"), "{text}");
    assert_eq!(get(a, "/api/connections?limit=many", &auth).status, 400);
    assert_eq!(get(a, "/api/connections?nonsense=1", &auth).status, 400, "unknown arguments are refused as the tool refuses them");
    assert_eq!(get(a, "/api/processes/abc", &auth).status, 400);
    assert_eq!(get(a, "/api/processes/999999", &auth).status, 400);
}

#[test]
fn events_resume_without_gaps_and_reset_when_they_cannot() {
    let web = start(&["--demo", "--interval", "100ms"]);
    let a = web.addr();
    let (status, mut live) = Stream::open(a, Some(0));
    assert_eq!(status, 200);
    let first = live.events(8, Duration::from_secs(20));
    assert_eq!(first.len(), 8, "eight events within 20 s: {first:?}");
    let ids: Vec<u64> = first.iter().map(|e| e.id).collect();
    assert_eq!(ids, (1..=8).collect::<Vec<u64>>(), "from the first, without a gap");
    assert_eq!(first[0].kind, "health", "the first snapshot says its health");
    assert!(first.iter().any(|e| e.kind == "summary"), "{first:?}");
    for e in &first {
        let data: serde_json::Value = serde_json::from_str(&e.data).expect("JSON data");
        assert!(data["generation"].as_u64().is_some_and(|g| g >= 1), "{data}");
    }
    // Summaries come at most once a second.
    let summaries: Vec<i64> = live
        .events(12, Duration::from_secs(20))
        .iter()
        .chain(&first)
        .filter(|e| e.kind == "summary")
        .map(|e| serde_json::from_str::<serde_json::Value>(&e.data).expect("json")["at_ms"].as_i64().expect("at_ms"))
        .collect();
    let mut sorted = summaries.clone();
    sorted.sort_unstable();
    assert!(sorted.windows(2).all(|w| w[1] - w[0] >= 990), "at most one summary a second: {sorted:?}");
    drop(live);

    // Resume after event 3: 4, 5, … with nothing left out.
    let (_, mut resumed) = Stream::open(a, Some(3));
    let again = resumed.events(5, Duration::from_secs(10));
    assert_eq!(again.iter().map(|e| e.id).collect::<Vec<_>>(), vec![4, 5, 6, 7, 8]);
    assert_eq!(again[0].data, first[3].data, "the same event, replayed");

    // An id this run never gave: a reset, then the newest events.
    let (_, mut stale) = Stream::open(a, Some(1_000_000));
    let reset = stale.events(1, Duration::from_secs(10));
    assert_eq!(reset.first().map(|e| e.kind.as_str()), Some("reset"), "{reset:?}");

    // A cap on streams: the 17th is refused while 16 are open.
    drop((resumed, stale));
    std::thread::sleep(Duration::from_millis(300)); // let the server see the two closed
    let open: Vec<Stream> = (0..16)
        .map(|_| Stream::open(a, None))
        .map(|(s, st)| {
            assert_eq!(s, 200);
            st
        })
        .collect();
    let (refused, _) = Stream::open(a, None);
    assert_eq!(refused, 503, "the 17th stream");
    drop(open);
}
