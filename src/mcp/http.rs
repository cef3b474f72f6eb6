//! MCP over Streamable HTTP at `/mcp`, behind our own gate, for any rmcp
//! server a factory makes per session ([`bind_service`]: the single-host
//! server through [`bind`] and [`bind_beside`], the fleet's directly):
//!
//! 1. `Origin`, when a browser sends one, must be this server's own
//!    loopback origin: otherwise 403 (a web page cannot drive the server).
//! 2. `Authorization: Bearer TOKEN` must match: otherwise 401. The token
//!    comes from `NECROMAP_MCP_TOKEN`, or is generated at start and written
//!    to a 0600 file whose path is printed.
//! 3. rmcp then checks `Host` (loopback names unless remote access was
//!    asked for) and bounds the request body (a `Content-Length` over the
//!    bound is refused before any byte of the body is read).
//!
//! With a [`Beside`] (the web view builds one) the same server and gate
//! serve its routes too (`/`, `/login`, `/api/…`, `/events`): there the
//! session cookie of its one-time login link admits as the token does, the
//! `Host` is checked by the gate (rmcp checks `/mcp`'s), and every answer
//! carries its headers. This module knows nothing of the web view itself.
//!
//! No client can take the collector's file descriptors: at most
//! [`HttpOptions::max_connections`] connections are held (when all are
//! taken, the oldest that never showed the token is closed for a newcomer,
//! so a flood cannot lock out a client that has it), a connection that sends nothing within
//! [`FIRST_BYTE_TIMEOUT`] is closed, headers must arrive within
//! [`HEADER_TIMEOUT`] and the body within [`BODY_TIMEOUT`] (every message's
//! JSON-RPC envelope is checked, [`super::envelope`]), and at most [`HttpOptions::max_sessions`] MCP
//! sessions live at once (the least recently used is closed for a new
//! one; idle ones expire after [`SESSION_IDLE`]).
//!
//! The server runs on its own runtime threads and reads snapshots from the
//! watch channel without waiting on anyone, so a slow or abusive client can
//! hold a connection but cannot stall the collector or the TUI.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::SessionId;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use super::{McpState, NecromapServer};

/// Largest request body accepted (bytes).
pub const MAX_BODY: usize = 1 << 20;
/// Connections held at once, by default.
pub const DEFAULT_MAX_CONNECTIONS: usize = 64;
/// Descriptors kept for the collector (/proc, netlink, namespaces, the
/// store, logs): connections never take these.
pub const FD_RESERVE: u64 = 256;
/// MCP sessions alive at once, by default.
pub const DEFAULT_MAX_SESSIONS: usize = 256;
/// A connection that sends no byte within this is closed.
pub const FIRST_BYTE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// A request's headers must arrive within this.
pub const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// A request's body must arrive within this after its headers.
pub const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// An MCP session unused this long is closed.
pub const SESSION_IDLE: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// How the HTTP endpoint is reached and guarded.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub addr: SocketAddr,
    /// Serve on a non-loopback address (the caller has warned).
    pub allow_remote: bool,
    pub token: Arc<str>,
    /// Connections held at once; a newcomer replaces the oldest that never
    /// showed the token, or is closed.
    pub max_connections: usize,
    /// MCP sessions alive at once; the least recently used makes room.
    pub max_sessions: usize,
}

/// Cookie sessions opened by a login link, for routes served beside `/mcp`.
pub trait Login: Send + Sync + std::fmt::Debug {
    /// Whether the request carries a live session cookie.
    fn admits(&self, headers: &HeaderMap) -> bool;
    /// `/login`: a new session's `Set-Cookie` value when the query holds
    /// the unused one-time code, or when `token_shown`.
    fn login(&self, query: Option<&str>, token_shown: bool) -> Option<String>;
    /// The login link of a server at `addr`, while it is unused.
    fn link(&self, addr: SocketAddr) -> Option<String>;
}

/// Routes served beside `/mcp` behind the same gate (the web view).
#[derive(Debug)]
pub struct Beside {
    pub routes: axum::Router,
    pub login: Arc<dyn Login>,
    /// Applied to every answer of the server, refusals included.
    pub headers: fn(Response) -> Response,
}

/// Connections that may be held under a soft open-file limit of
/// `soft_limit`: at most `asked`, leaving [`FD_RESERVE`] descriptors to the
/// collector, and at least one.
pub fn clamp_connections(asked: usize, soft_limit: u64) -> usize {
    let room = usize::try_from(soft_limit.saturating_sub(FD_RESERVE)).unwrap_or(usize::MAX);
    asked.min(room).max(1)
}

/// [`clamp_connections`] under this process's soft open-file limit, and a
/// sentence saying so when the number asked for was lowered.
pub fn allowed_connections(asked: usize) -> (usize, Option<String>) {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    let Some(soft) = limit else { return (asked.max(1), None) };
    let allowed = clamp_connections(asked, soft);
    let note = (allowed < asked).then(|| {
        format!("--mcp-max-connections {asked} lowered to {allowed}: the open-file limit is {soft} and {FD_RESERVE} descriptors are kept for the collector")
    });
    (allowed, note)
}

/// Where a generated token is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// From `NECROMAP_MCP_TOKEN`.
    Environment,
    /// Generated and written to this 0600 file.
    File(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{addr} is not a loopback address; add --mcp-allow-remote to serve other hosts (the token is then the only guard)")]
    NotLoopback { addr: SocketAddr },
    #[error("NECROMAP_MCP_TOKEN is too short: use at least 16 characters")]
    WeakToken,
    #[error("cannot write the token file {path}")]
    TokenFile { path: PathBuf, source: std::io::Error },
    #[error("cannot read random bytes for a token")]
    Random(#[source] std::io::Error),
    #[error("cannot listen on {addr}")]
    Bind { addr: SocketAddr, source: std::io::Error },
}

/// Refuse a non-loopback address unless remote access was asked for.
pub fn check_bind(addr: SocketAddr, allow_remote: bool) -> Result<(), HttpError> {
    if addr.ip().is_loopback() || allow_remote { Ok(()) } else { Err(HttpError::NotLoopback { addr }) }
}

/// The token file: `$XDG_RUNTIME_DIR/necromap/mcp-token`, else under the
/// data directory.
pub fn token_path() -> Option<PathBuf> {
    let runtime = std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()).map(PathBuf::from);
    let base = runtime.or_else(|| crate::paths::data_dir().map(|d| d.join("run")))?;
    Some(base.join("necromap").join("mcp-token"))
}

/// The token from the environment, or a new one written to `path` (0600).
pub fn obtain_token(path: Option<&Path>) -> Result<(Arc<str>, TokenSource), HttpError> {
    if let Some(t) = std::env::var_os("NECROMAP_MCP_TOKEN").filter(|v| !v.is_empty()) {
        let t = t.to_string_lossy().into_owned();
        if t.len() < 16 {
            return Err(HttpError::WeakToken);
        }
        return Ok((t.into(), TokenSource::Environment));
    }
    let mut bytes = [0u8; 24];
    rustix::rand::getrandom(&mut bytes, rustix::rand::GetRandomFlags::empty()).map_err(|e| HttpError::Random(e.into()))?;
    let token = bytes.iter().fold(String::with_capacity(48), |mut acc, b| {
        use std::fmt::Write as _;
        let _ = write!(acc, "{b:02x}");
        acc
    });
    let path = path
        .map(Path::to_path_buf)
        .or_else(token_path)
        .ok_or_else(|| HttpError::TokenFile { path: PathBuf::from("mcp-token"), source: std::io::Error::other("no XDG_RUNTIME_DIR, XDG_DATA_HOME or HOME") })?;
    super::token_file::write_private(&path, &token).map_err(|source| HttpError::TokenFile { path: path.clone(), source })?;
    Ok((token.into(), TokenSource::File(path)))
}

/// Origins a browser on this machine may send for this server.
fn own_origins(port: u16) -> Vec<String> {
    ["127.0.0.1", "localhost", "[::1]"].iter().map(|h| format!("http://{h}:{port}")).collect()
}

#[derive(Debug, Clone)]
struct Gate {
    token: Arc<str>,
    origins: Arc<[String]>,
    /// The live sessions, to answer `DELETE` of an unknown one.
    sessions: Arc<super::sessions::CappedSessions>,
    /// With the web view: its login, whose session cookie admits to
    /// everything but `/mcp`.
    web: Option<Arc<dyn Login>>,
    /// `Host` values the web paths accept (rmcp checks `/mcp`'s); none
    /// when remote access was asked for.
    hosts: Option<Arc<[String]>>,
}

/// Equal in time independent of where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn refuse(status: StatusCode, text: &'static str) -> Response {
    let mut r = (status, text).into_response();
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer realm=\"necromap\""));
    }
    r
}

/// The gate in front of `/mcp`: Origin, then token. The refusal is a
/// status and a line for the client.
fn admit(gate: &Gate, headers: &HeaderMap) -> Result<(), (StatusCode, &'static str)> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let ok = origin.to_str().is_ok_and(|o| gate.origins.iter().any(|allowed| allowed.eq_ignore_ascii_case(o)));
        if !ok {
            return Err((StatusCode::FORBIDDEN, "forbidden: foreign Origin\n"));
        }
    }
    // The scheme is case-insensitive (RFC 7235).
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim_start().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    match presented {
        Some(t) if same(t.as_bytes(), gate.token.as_bytes()) => Ok(()),
        _ => Err((StatusCode::UNAUTHORIZED, "unauthorized: send Authorization: Bearer <token> (see the token file necromap printed)\n")),
    }
}

/// Loopback `Host` values for a server on `port`.
fn own_hosts(port: u16) -> Vec<String> {
    ["localhost", "127.0.0.1", "::1", "[::1]"].into_iter().flat_map(|h| [h.to_string(), format!("{h}:{port}")]).collect()
}

/// The gate of the web paths: the `Host` (against DNS rebinding), the
/// Origin, then the token or a session cookie.
fn admit_web(gate: &Gate, login: &dyn Login, headers: &HeaderMap) -> Result<(), (StatusCode, &'static str)> {
    if let Some(hosts) = &gate.hosts {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
        if !hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
            return Err((StatusCode::FORBIDDEN, "forbidden: Host is not this server's loopback name\n"));
        }
    }
    match admit(gate, headers) {
        Err((StatusCode::UNAUTHORIZED, _)) if login.admits(headers) => Ok(()),
        Err((StatusCode::UNAUTHORIZED, _)) => {
            Err((StatusCode::UNAUTHORIZED, "unauthorized: open the login link necromap printed, or send Authorization: Bearer <token>\n"))
        }
        other => other,
    }
}

/// `/login`: the one-time code (or the token) opens a cookie session and
/// goes to the page.
fn login_route(gate: &Gate, login: &dyn Login, request: &Request) -> Response {
    let token_shown = admit(gate, request.headers()).is_ok();
    let Some(cookie) = login.login(request.uri().query(), token_shown) else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "unauthorized: this login link was used already or is not this server's; restart necromap for a new one, or open /login with Authorization: Bearer <token>\n",
        );
    };
    let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
    if let Ok(v) = header::HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn gatekeeper(State(gate): State<Gate>, request: Request, next: Next) -> Response {
    // A declared body over the bound is refused before reading it.
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, "payload too large: requests are at most 1 MiB\n");
    }
    let path = request.uri().path();
    let is_mcp = path == "/mcp" || path.starts_with("/mcp/");
    let web = gate.web.as_ref().filter(|_| !is_mcp);
    let admitted = match web {
        Some(login) => admit_web(&gate, login.as_ref(), request.headers()),
        None => admit(&gate, request.headers()),
    };
    if let (Some(login), "/login") = (web, path) {
        // The link itself carries the secret: only the Host and Origin
        // checks come first.
        return match admitted {
            Err((StatusCode::FORBIDDEN, text)) => refuse(StatusCode::FORBIDDEN, text),
            _ => login_route(&gate, login.as_ref(), &request),
        };
    }
    if let Err((status, text)) = admitted {
        return refuse(status, text);
    }
    if let Some(a) = request.extensions().get::<Admitted>() {
        a.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    if web.is_some() {
        return next.run(request).await;
    }
    if request.method() == axum::http::Method::DELETE {
        return end_session(&gate, request, next).await;
    }
    if request.method() != axum::http::Method::POST {
        return next.run(request).await;
    }
    // The whole body within the body timeout (a client that trickles it
    // loses its connection's slot), then its envelope checked.
    let (parts, body) = request.into_parts();
    let bytes = match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, MAX_BODY)).await {
        Ok(Ok(b)) => b,
        Ok(Err(_)) => return refuse(StatusCode::BAD_REQUEST, "bad request: the body could not be read (at most 1 MiB)\n"),
        Err(_) => return refuse(StatusCode::REQUEST_TIMEOUT, "request timeout: the body must arrive within 10 s\n"),
    };
    match super::envelope::check(&bytes) {
        super::envelope::Verdict::Forward => next.run(Request::from_parts(parts, axum::body::Body::from(bytes))).await,
        super::envelope::Verdict::Reply(error) => (StatusCode::BAD_REQUEST, [(header::CONTENT_TYPE, "application/json")], error.to_string()).into_response(),
        super::envelope::Verdict::Ignore => refuse(StatusCode::BAD_REQUEST, "bad request: an empty or malformed notification\n"),
    }
}

/// `DELETE /mcp`: 200 when a live session ends (rmcp says 202, which
/// clients such as the Python SDK log as a failed termination), 404 when
/// the session is unknown, already ended or expired.
async fn end_session(gate: &Gate, request: Request, next: Next) -> Response {
    use rmcp::transport::streamable_http_server::session::SessionManager as _;
    let id = request.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()).map(|s| SessionId::from(s.to_owned()));
    if let Some(id) = &id
        && !gate.sessions.has_session(id).await.unwrap_or(false)
    {
        return refuse(StatusCode::NOT_FOUND, "not found: no such MCP session (it ended or expired); start a new one with initialize\n");
    }
    let mut response = next.run(request).await;
    if response.status() == StatusCode::ACCEPTED {
        *response.status_mut() = StatusCode::OK;
    }
    response
}

/// A bound listener and the app, ready to serve.
#[derive(Debug)]
pub struct Bound {
    listener: tokio::net::TcpListener,
    pub local_addr: SocketAddr,
    app: axum::Router,
    max_connections: usize,
    /// With the web view: its login (for the link to print).
    pub login: Option<Arc<dyn Login>>,
}

/// Bind and build the app (inside a tokio runtime).
pub async fn bind(state: McpState, options: &HttpOptions, cancel: CancellationToken) -> Result<Bound, HttpError> {
    bind_beside(state, options, cancel, None).await
}

/// Bind and build the app with `beside`'s routes next to `/mcp`.
pub async fn bind_beside(state: McpState, options: &HttpOptions, cancel: CancellationToken, beside: Option<Beside>) -> Result<Bound, HttpError> {
    bind_service(move || Ok(NecromapServer::new(state.clone())), options, cancel, beside).await
}

/// Bind and build the app serving the MCP server that `factory` makes, one
/// per session (the single-host server, the fleet's), behind the same gate
/// and with the same caps, with `beside`'s routes next to `/mcp`.
pub async fn bind_service<S, F>(factory: F, options: &HttpOptions, cancel: CancellationToken, beside: Option<Beside>) -> Result<Bound, HttpError>
where
    S: rmcp::ServerHandler + Send + 'static,
    F: Fn() -> Result<S, std::io::Error> + Send + Sync + 'static,
{
    check_bind(options.addr, options.allow_remote)?;
    let listener = tokio::net::TcpListener::bind(options.addr).await.map_err(|source| HttpError::Bind { addr: options.addr, source })?;
    let local_addr = listener.local_addr().map_err(|source| HttpError::Bind { addr: options.addr, source })?;
    let origins = own_origins(local_addr.port());
    let mut config = StreamableHttpServerConfig::default()
        .with_allowed_origins(origins.clone())
        .with_max_request_body_bytes(MAX_BODY)
        // No SSE priming events (an empty `data:` with an id and a retry):
        // clients before protocol 2025-11-25, such as the Python SDK 1.22,
        // fail on them, and with no event store there is nothing to resume.
        .with_sse_retry(None)
        .with_cancellation_token(cancel.child_token());
    if options.allow_remote {
        config = config.disable_allowed_hosts();
    } else {
        let port = local_addr.port();
        config = config.with_allowed_hosts(own_hosts(port));
    }
    let mut sessions = LocalSessionManager::default();
    sessions.session_config.keep_alive = Some(SESSION_IDLE);
    // No priming event on request streams either (see `with_sse_retry`).
    sessions.session_config.sse_retry = None;
    let sessions = Arc::new(super::sessions::CappedSessions::new(sessions, options.max_sessions.max(1)));
    let service = StreamableHttpService::new(factory, sessions.clone(), config);
    let hosts = (!options.allow_remote).then(|| own_hosts(local_addr.port()).into());
    let login = beside.as_ref().map(|w| w.login.clone());
    let gate = Gate { token: options.token.clone(), origins: origins.into(), sessions, web: login.clone(), hosts };
    let mut app = axum::Router::new().nest_service("/mcp", service);
    let headers = beside.as_ref().map(|b| b.headers);
    if let Some(beside) = beside {
        app = app.merge(beside.routes);
    }
    let mut app = app.layer(axum::middleware::from_fn_with_state(gate, gatekeeper)).layer(axum::extract::DefaultBodyLimit::max(MAX_BODY));
    if let Some(headers) = headers {
        // On every answer, refusals included.
        app = app.layer(axum::middleware::map_response(move |r: Response| async move { headers(r) }));
    }
    Ok(Bound { listener, local_addr, app, max_connections: options.max_connections.max(1), login })
}

/// Set on a connection once one of its requests passed the gate: a full
/// server makes room by closing the oldest connection that never did.
#[derive(Debug, Clone, Default)]
struct Admitted(Arc<std::sync::atomic::AtomicBool>);

/// The connections held, oldest first.
#[derive(Debug, Default)]
struct Held {
    next_id: u64,
    open: std::collections::VecDeque<(u64, Admitted, CancellationToken)>,
}

impl Held {
    fn add(&mut self, admitted: Admitted, evict: CancellationToken) -> u64 {
        self.next_id += 1;
        self.open.push_back((self.next_id, admitted, evict));
        self.next_id
    }

    fn remove(&mut self, id: u64) {
        self.open.retain(|(i, _, _)| *i != id);
    }

    /// Close the oldest connection that has not shown the token; false
    /// when every connection has.
    fn evict_oldest_stranger(&mut self) -> bool {
        let stranger = self.open.iter().position(|(_, a, _)| !a.0.load(std::sync::atomic::Ordering::Relaxed));
        match stranger.and_then(|i| self.open.remove(i)) {
            Some((_, _, evict)) => {
                evict.cancel();
                true
            }
            None => false,
        }
    }
}

impl Bound {
    /// Serve until `cancel` fires: one task per connection, at most
    /// `max_connections` of them. When all are taken, the oldest connection
    /// that never showed the token is closed to make room (so a flood of
    /// idle connections cannot lock out a client that has the token);
    /// when every held connection has shown it, the newcomer is closed.
    pub async fn serve(self, cancel: CancellationToken) -> std::io::Result<()> {
        let slots = Arc::new(tokio::sync::Semaphore::new(self.max_connections));
        let held = Arc::new(std::sync::Mutex::new(Held::default()));
        let mut h1 = hyper::server::conn::http1::Builder::new();
        h1.timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT).keep_alive(true);
        loop {
            let accepted = tokio::select! {
                () = cancel.cancelled() => return Ok(()),
                a = self.listener.accept() => a,
            };
            let Ok((stream, _)) = accepted else {
                // Out of descriptors (or a transient error): back off
                // rather than spin.
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            };
            let slot = if let Ok(slot) = slots.clone().try_acquire_owned() {
                slot
            } else {
                let evicted = held.lock().unwrap_or_else(std::sync::PoisonError::into_inner).evict_oldest_stranger();
                let freed = if evicted { tokio::time::timeout(EVICT_WAIT, slots.clone().acquire_owned()).await.ok().and_then(Result::ok) } else { None };
                let Some(slot) = freed else {
                    drop(stream);
                    continue;
                };
                slot
            };
            let admitted = Admitted::default();
            let evict = cancel.child_token();
            let id = held.lock().unwrap_or_else(std::sync::PoisonError::into_inner).add(admitted.clone(), evict.clone());
            let (app, h1, held) = (self.app.clone().layer(axum::Extension(admitted)), h1.clone(), held.clone());
            tokio::spawn(async move {
                let _slot = slot;
                serve_connection(stream, app, h1, evict).await;
                held.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(id);
            });
        }
    }
}

/// Longest wait for an evicted connection to give back its slot.
const EVICT_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// One connection, until it ends, is evicted, or the server stops.
async fn serve_connection(stream: tokio::net::TcpStream, app: axum::Router, h1: hyper::server::conn::http1::Builder, evict: CancellationToken) {
    // A client that sends nothing is dropped quickly.
    let mut first = [0u8; 1];
    let peeked = tokio::select! {
        p = tokio::time::timeout(FIRST_BYTE_TIMEOUT, stream.peek(&mut first)) => p,
        () = evict.cancelled() => return,
    };
    if !matches!(peeked, Ok(Ok(n)) if n > 0) {
        return;
    }
    let service = hyper_util::service::TowerToHyperService::new(app);
    let conn = h1.serve_connection(hyper_util::rt::TokioIo::new(stream), service).with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        () = evict.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), conn).await;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn connections_leave_the_collector_its_reserve() {
        use super::{FD_RESERVE, clamp_connections};
        assert_eq!(clamp_connections(64, 1_048_576), 64, "a large limit leaves the flag as it is");
        assert_eq!(clamp_connections(5_000, 1_024), 1_024 - FD_RESERVE as usize);
        assert_eq!(clamp_connections(64, 300), 300 - FD_RESERVE as usize);
        assert_eq!(clamp_connections(64, 100), 1, "at least one, however low the limit");
        assert_eq!(clamp_connections(64, FD_RESERVE), 1);
        assert_eq!(clamp_connections(0, 1_024), 1);
    }

    use super::*;

    fn gate() -> Gate {
        Gate {
            token: "secret-token-0123456789".into(),
            origins: own_origins(8080).into(),
            sessions: Arc::new(super::super::sessions::CappedSessions::new(LocalSessionManager::default(), 4)),
            web: None,
            hosts: None,
        }
    }

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k.clone(), v.parse().expect("header value"));
        }
        h
    }

    #[test]
    fn the_gate_wants_the_token_and_an_own_origin() {
        let g = gate();
        let status = |h: &HeaderMap| admit(&g, h).err().map(|r| r.0);
        assert_eq!(status(&headers(&[])), Some(StatusCode::UNAUTHORIZED));
        assert_eq!(status(&headers(&[(header::AUTHORIZATION, "Bearer wrong")])), Some(StatusCode::UNAUTHORIZED));
        assert_eq!(status(&headers(&[(header::AUTHORIZATION, "Bearer secret-token-0123456789")])), None);
        let with_origin = |o: &str| headers(&[(header::AUTHORIZATION, "Bearer secret-token-0123456789"), (header::ORIGIN, o)]);
        assert_eq!(status(&with_origin("http://localhost:8080")), None);
        assert_eq!(status(&with_origin("https://evil.example")), Some(StatusCode::FORBIDDEN));
        assert_eq!(status(&with_origin("http://localhost:9999")), Some(StatusCode::FORBIDDEN));
    }

    #[test]
    fn only_loopback_without_the_flag() {
        assert!(check_bind("127.0.0.1:1".parse().expect("addr"), false).is_ok());
        assert!(check_bind("[::1]:1".parse().expect("addr"), false).is_ok());
        assert!(check_bind("0.0.0.0:1".parse().expect("addr"), false).is_err());
        assert!(check_bind("0.0.0.0:1".parse().expect("addr"), true).is_ok());
    }

    #[test]
    fn a_generated_token_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("sub").join("mcp-token");
        // The variable may be set in a developer's shell; this test is about the file.
        if std::env::var_os("NECROMAP_MCP_TOKEN").is_some() {
            return;
        }
        let (token, source) = obtain_token(Some(&path)).expect("token");
        assert_eq!(source, TokenSource::File(path.clone()));
        assert_eq!(token.len(), 48);
        assert_eq!(std::fs::read_to_string(&path).expect("read").trim(), &*token);
        assert_eq!(std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777, 0o600);
    }
}
