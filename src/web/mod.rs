//! The web view: a page, a JSON API and a Server-Sent Events stream,
//! served on the same port and behind the same gate as MCP
//! ([`crate::mcp::http`]).
//!
//! ```text
//!  /                 the page (assets embedded: index.html, app.js, style.css)
//!  /login?once=CODE  the one-time login link printed on the terminal → a cookie
//!  /api/snapshot     the JSON export (`snapshot --format json`)
//!  /api/findings     get_suspicious_connections
//!  /api/connections  list_connections (filter, limit, offset)
//!  /api/processes/N  suggest_investigation
//!  /api/explain      explain_connection (socket)
//!  /api/map          the NetGraph as drawn (nodes, edges, severity)
//!  /events           SSE: findings new and ended, alerts, summaries, health
//! ```
//!
//! The API answers with the MCP tools' own functions and DTOs (pruned as the
//! tools' structured content is), so the page, an assistant and the export
//! never disagree. Every string from the host reaches the page as JSON and
//! is inserted there with `textContent`.

pub mod api;
pub mod assets;
pub mod diff;
pub mod feed;
pub mod login;
pub mod map;
pub mod sse;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::mcp::{McpState, NecromapServer};

/// Event streams open at once, by default.
pub const DEFAULT_MAX_STREAMS: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("cannot read random bytes for the login link")]
    Random(#[source] std::io::Error),
}

/// What the web routes share.
#[derive(Debug, Clone)]
pub struct WebState {
    pub server: Arc<NecromapServer>,
    pub feed: Arc<feed::Feed>,
    /// One permit per open event stream.
    pub streams: Arc<tokio::sync::Semaphore>,
}

/// Build the routes for the MCP server's gate ([`crate::mcp::http::bind_beside`])
/// and start the event feed on the current runtime (it ends with `cancel`
/// or when the collector stops).
pub fn mount(state: McpState, cancel: CancellationToken) -> Result<crate::mcp::http::Beside, WebError> {
    let login = Arc::new(login::Login::new()?);
    let feed = Arc::new(feed::Feed::new(feed::REPLAY));
    tokio::spawn(diff::run(feed.clone(), state.published.clone(), cancel));
    let web = WebState { server: Arc::new(NecromapServer::new(state)), feed, streams: Arc::new(tokio::sync::Semaphore::new(DEFAULT_MAX_STREAMS)) };
    Ok(crate::mcp::http::Beside { routes: routes(web), login, headers: assets::secure })
}

/// The routes over `web`, with the security headers on every answer.
pub fn routes(web: WebState) -> axum::Router {
    use axum::routing::get;
    axum::Router::new()
        .route("/", get(assets::index))
        .route("/app.js", get(assets::script))
        .route("/style.css", get(assets::style))
        .route("/favicon.ico", get(assets::no_icon))
        .route("/api/snapshot", get(api::snapshot))
        .route("/api/findings", get(api::findings))
        .route("/api/connections", get(api::connections))
        .route("/api/processes/{pid}", get(api::process))
        .route("/api/explain", get(api::explain))
        .route("/api/map", get(api::map))
        .route("/events", get(sse::events))
        .with_state(web)
}
