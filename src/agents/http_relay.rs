//! `necromap mcp-observe --http UPSTREAM --listen 127.0.0.1:PORT`: a relay
//! in front of a Streamable HTTP MCP server. It listens on loopback only
//! and passes each request (POST of JSON-RPC, GET of an event stream,
//! DELETE of a session) to the upstream with its method, path, query,
//! headers (`Authorization` and `Mcp-Session-Id` included) and body
//! unchanged, and streams the answer back the same way (`Host` is the
//! upstream's; hop-by-hop headers are the connection's own). Headers are
//! never logged or stored. Copies of the bodies go to the tap
//! ([`super::http_tap`]) without ever being waited for; the tap records in
//! the same store as the stdio observer ([`super::record`]).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};

use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::rt::TokioIo;

use super::http_tap::{BodyKind, HttpTap, HttpTapped};
use super::jsonrpc::Direction;
use super::record::Recorder;
use super::relay_body::{Copies, RelayBody};
use super::tap::{Tap, TapReport};

#[derive(Debug, thiserror::Error)]
pub enum HttpObserveError {
    #[error("mcp-observe: --listen {0} is not a loopback address: the relay listens on 127.0.0.1 or ::1 only (e.g. --listen 127.0.0.1:8931)")]
    NotLoopback(SocketAddr),
    #[error("mcp-observe: --http {0}: give the server's URL, e.g. --http http://127.0.0.1:8080/mcp")]
    BadUpstream(String),
    #[error("mcp-observe: --http {0}: only http:// upstreams are relayed (https is not supported yet)")]
    NotHttp(String),
    #[error("mcp-observe: --http {0}: credentials in the URL are not accepted; the client's Authorization header is passed through")]
    Credentials(String),
    #[error("mcp-observe: cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("mcp-observe: cannot start the relay: {0}")]
    Runtime(std::io::Error),
}

/// The server behind the relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    host: String,
    port: u16,
    /// `host:port`, as sent in `Host`.
    authority: String,
    /// `http://host:port/path`, without the query: the server's key in the store, and what is shown.
    pub shown: String,
    /// The path the client should ask the relay for.
    pub path: String,
}

impl Upstream {
    pub fn parse(url: &str) -> Result<Self, HttpObserveError> {
        let said = || crate::text::escape_control(&crate::text::bounded(url, 200));
        let uri: Uri = url.parse().map_err(|_| HttpObserveError::BadUpstream(said()))?;
        let Some(authority) = uri.authority() else { return Err(HttpObserveError::BadUpstream(said())) };
        match uri.scheme_str() {
            Some("http") => {}
            Some(_) => return Err(HttpObserveError::NotHttp(said())),
            None => return Err(HttpObserveError::BadUpstream(said())),
        }
        if authority.as_str().contains('@') {
            return Err(HttpObserveError::Credentials(crate::text::escape_control(&crate::text::bounded(authority.host(), 200))));
        }
        let host = authority.host().trim_start_matches('[').trim_end_matches(']').to_owned();
        let port = authority.port_u16().unwrap_or(80);
        let authority = authority.as_str().to_owned();
        let path = uri.path().to_owned();
        Ok(Self { shown: crate::text::escape_control(&format!("http://{authority}{path}")), host, port, authority, path })
    }
}

/// What the relay is told.
#[derive(Debug, Clone)]
pub struct HttpObserveOptions {
    pub upstream: Upstream,
    pub listen: SocketAddr,
    /// The store to record in (none: judge only).
    pub store: Option<PathBuf>,
}

/// Copies queued for the tap before new ones are dropped.
const TAP_QUEUE: usize = 4096;
/// Connections from clients held at once.
const MAX_CONNECTIONS: usize = 256;
/// A client's request headers must arrive within this.
const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// Longest wait for a kept upstream connection to be free before opening another.
const REUSE_WAIT: std::time::Duration = std::time::Duration::from_millis(20);

/// Refuse anything but a loopback address to listen on.
pub fn check_listen(addr: SocketAddr) -> Result<(), HttpObserveError> {
    if addr.ip().is_loopback() { Ok(()) } else { Err(HttpObserveError::NotLoopback(addr)) }
}

/// Shared by every connection.
#[derive(Debug)]
struct Relay {
    upstream: Upstream,
    tap: SyncSender<HttpTapped>,
    streams: AtomicU64,
    /// Keys the hash of session ids (the ids themselves are never kept).
    sessions: std::collections::hash_map::RandomState,
}

impl Relay {
    fn session(&self, headers: &HeaderMap) -> u64 {
        use std::hash::BuildHasher;
        headers.get("mcp-session-id").map_or(0, |v| self.sessions.hash_one(v.as_bytes()) | 1)
    }

    fn copies(&self, session: u64, dir: Direction, kind: BodyKind) -> Copies {
        Copies::new(self.tap.clone(), self.streams.fetch_add(1, Ordering::Relaxed), session, dir, kind)
    }
}

/// Bind, then relay until INT or TERM; the tap's report. `ready` is told
/// the address bound (port 0 picks one).
pub fn observe_http(options: &HttpObserveOptions, ready: impl FnOnce(SocketAddr)) -> Result<TapReport, HttpObserveError> {
    check_listen(options.listen)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(HttpObserveError::Runtime)?;
    let listener = rt.block_on(tokio::net::TcpListener::bind(options.listen)).map_err(|source| HttpObserveError::Listen { addr: options.listen, source })?;
    let bound = listener.local_addr().map_err(|source| HttpObserveError::Listen { addr: options.listen, source })?;
    let (tx, rx) = sync_channel::<HttpTapped>(TAP_QUEUE);
    let key = options.upstream.shown.clone();
    let store = options.store.clone();
    let home = std::env::var("HOME").ok();
    let tap = std::thread::Builder::new()
        .name("mcp-tap".into())
        .spawn(move || {
            let command = vec![key.clone()];
            let recorder = store.and_then(|path| match Recorder::start(&path, &key, &command, None, crate::collect::now_ms()) {
                Ok(r) => Some(r),
                Err(e) => {
                    eprintln!("necromap mcp-observe: not recording (traffic still flows): {}", crate::text::error_text(&e));
                    None
                }
            });
            HttpTap::new(Tap::new(recorder, home)).run(&rx)
        })
        .map_err(HttpObserveError::Runtime)?;
    ready(bound);
    let relay = Arc::new(Relay {
        upstream: options.upstream.clone(),
        tap: tx.clone(),
        streams: AtomicU64::new(0),
        sessions: std::collections::hash_map::RandomState::new(),
    });
    rt.block_on(serve(listener, relay));
    let _ = tx.send(HttpTapped::End);
    drop(rt);
    Ok(match tap.join() {
        Ok(mut t) => {
            t.tap.finish(None);
            t.tap.report
        }
        Err(_) => TapReport::default(),
    })
}

/// Accept until INT or TERM.
async fn serve(listener: tokio::net::TcpListener, relay: Arc<Relay>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) else { return };
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let mut h1 = hyper::server::conn::http1::Builder::new();
    h1.timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT).keep_alive(true);
    loop {
        let accepted = tokio::select! {
            _ = int.recv() => return,
            _ = term.recv() => return,
            a = listener.accept() => a,
        };
        let Ok((stream, _)) = accepted else {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else { continue };
        let _ = stream.set_nodelay(true);
        let (relay, h1) = (relay.clone(), h1.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let kept: Arc<tokio::sync::Mutex<Option<SendRequest<RelayBody>>>> = Arc::default();
            let service = hyper::service::service_fn(move |req| forward(req, relay.clone(), kept.clone()));
            let _ = h1.serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

/// Headers that belong to one connection, not to the message.
fn hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection" | "keep-alive" | "proxy-connection" | "proxy-authenticate" | "proxy-authorization" | "te" | "trailer" | "transfer-encoding" | "upgrade"
    )
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Headers the Connection header names are the connection's too.
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for n in named {
        headers.remove(n);
    }
    let hop: Vec<HeaderName> = headers.keys().filter(|n| hop_by_hop(n)).cloned().collect();
    for n in hop {
        headers.remove(n);
    }
}

fn answer(status: StatusCode, text: &'static str) -> Response<RelayBody> {
    let mut r = Response::new(RelayBody::text(text));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

/// A connection to the upstream: the one this client connection kept, when free, else a new one.
async fn connection(relay: &Relay, kept: &tokio::sync::Mutex<Option<SendRequest<RelayBody>>>) -> std::io::Result<SendRequest<RelayBody>> {
    if let Some(mut s) = kept.lock().await.take()
        && !s.is_closed()
        && matches!(tokio::time::timeout(REUSE_WAIT, s.ready()).await, Ok(Ok(())))
    {
        return Ok(s);
    }
    let tcp = tokio::net::TcpStream::connect((relay.upstream.host.as_str(), relay.upstream.port)).await?;
    let _ = tcp.set_nodelay(true);
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await.map_err(std::io::Error::other)?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// Relay one request and its answer.
async fn forward(
    req: Request<Incoming>,
    relay: Arc<Relay>,
    kept: Arc<tokio::sync::Mutex<Option<SendRequest<RelayBody>>>>,
) -> Result<Response<RelayBody>, Infallible> {
    let session = relay.session(req.headers());
    let method = req.method().clone();
    let (mut parts, body) = req.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    if let Ok(host) = HeaderValue::from_str(&relay.upstream.authority) {
        parts.headers.insert(header::HOST, host);
    }
    parts.uri = parts.uri.path_and_query().map_or_else(|| Uri::from_static("/"), |p| Uri::from(p.clone()));
    parts.version = hyper::Version::HTTP_11;
    let copies = (method == Method::POST).then(|| relay.copies(session, Direction::ToServer, BodyKind::Json));
    let upstream_req = Request::from_parts(parts, RelayBody::relayed(body, copies));
    let mut sender = match connection(&relay, &kept).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("necromap mcp-observe: upstream {} unreachable: {}", relay.upstream.shown, crate::text::error_text(&e));
            return Ok(answer(StatusCode::BAD_GATEWAY, "necromap mcp-observe: the upstream MCP server cannot be reached\n"));
        }
    };
    let answered = sender.send_request(upstream_req).await;
    *kept.lock().await = Some(sender);
    let resp = match answered {
        Ok(r) => r,
        Err(e) => {
            eprintln!("necromap mcp-observe: upstream {} failed: {}", relay.upstream.shown, crate::text::error_text(&e));
            return Ok(answer(StatusCode::BAD_GATEWAY, "necromap mcp-observe: the upstream MCP server did not answer\n"));
        }
    };
    if method == Method::DELETE && session != 0 && resp.status().is_success() {
        let _ = relay.tap.try_send(HttpTapped::SessionEnded(session));
    }
    let (mut parts, body) = resp.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    let kind = match parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_ascii_lowercase) {
        Some(t) if t.starts_with("text/event-stream") => Some(BodyKind::Sse),
        Some(t) if t.starts_with("application/json") => Some(BodyKind::Json),
        _ => None,
    };
    let copies = kind.map(|k| relay.copies(session, Direction::ToClient, k));
    Ok(Response::from_parts(parts, RelayBody::relayed(body, copies)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstreams_are_plain_http_urls_without_credentials() {
        let u = Upstream::parse("http://127.0.0.1:8080/mcp?x=1").expect("ok");
        assert_eq!(
            (u.host.as_str(), u.port, u.authority.as_str(), u.shown.as_str(), u.path.as_str()),
            ("127.0.0.1", 8080, "127.0.0.1:8080", "http://127.0.0.1:8080/mcp", "/mcp")
        );
        assert_eq!(Upstream::parse("http://[::1]/mcp").expect("v6").host, "::1");
        assert!(matches!(Upstream::parse("https://example.com/mcp"), Err(HttpObserveError::NotHttp(_))));
        assert!(matches!(Upstream::parse("http://u:secret@127.0.0.1/mcp"), Err(HttpObserveError::Credentials(s)) if !s.contains("secret")));
        assert!(matches!(Upstream::parse("127.0.0.1:80"), Err(HttpObserveError::BadUpstream(_))));
    }

    #[test]
    fn only_loopback_is_listened_on() {
        assert!(check_listen("127.0.0.1:0".parse().expect("addr")).is_ok());
        assert!(check_listen("[::1]:0".parse().expect("addr")).is_ok());
        let e = check_listen("0.0.0.0:8931".parse().expect("addr")).expect_err("refused");
        assert!(e.to_string().contains("not a loopback address"), "{e}");
    }

    #[test]
    fn connection_headers_are_stripped_and_the_rest_kept() {
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, HeaderValue::from_static("keep-alive, x-hop"));
        h.insert("x-hop", HeaderValue::from_static("1"));
        h.insert(header::TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer t"));
        h.insert("mcp-session-id", HeaderValue::from_static("abc"));
        strip_hop_by_hop(&mut h);
        let mut names: Vec<&str> = h.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["authorization", "mcp-session-id"]);
    }
}
