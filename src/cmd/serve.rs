//! The MCP modes of the binary: headless over stdio or HTTP (`--mcp`), and
//! the HTTP endpoint beside the explorer (`--serve-mcp`). Both run a
//! collector and hand its published states (snapshot and status) to the
//! server.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use necromap::mcp::http::{self, HttpOptions, TokenSource};
use necromap::mcp::{McpState, NecromapServer, serve_stdio};
use necromap::spec::{EMBEDDED_SPEC, Spec};
use tokio_util::sync::CancellationToken;

use crate::cmd::cli::Cli;
use crate::cmd::pipeline::Pipeline;

/// The server's view of a running collector.
pub fn state(cli: &Cli, spec: Arc<Spec>, pipeline: &Pipeline) -> Result<McpState> {
    let spec_text: Arc<str> = match &cli.spec {
        Some(path) => necromap::input::read_text(path, necromap::input::Kind::Spec)?.into(),
        None => EMBEDDED_SPEC.into(),
    };
    Ok(McpState {
        published: pipeline.collector.published(),
        spec,
        spec_text,
        rules: Arc::new(pipeline.rules.clone()),
        baseline: pipeline.baseline.clone().map(Arc::new),
        store: pipeline.store_path.clone(),
        login_rules: pipeline.login_rules.clone(),
    })
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name("necromap-mcp").enable_all().build().context("starting the MCP runtime")
}

/// Bind the HTTP endpoint and say where it is and where the token is.
/// Returns the bound server and a one-line note for the banner.
async fn bind_http(state: McpState, cli: &Cli, addr: SocketAddr, web: bool, cancel: CancellationToken) -> Result<(http::Bound, String)> {
    let factory = {
        let state = state.clone();
        move || Ok(NecromapServer::new(state.clone()))
    };
    // The web view's routes beside /mcp, behind the same gate.
    let beside = || if web { Ok(Some(necromap::web::mount(state, cancel.child_token())?)) } else { Ok(None) };
    bind_gated(factory, cli, addr, beside, cancel.clone()).await
}

/// Bind the MCP server that `factory` makes (one per session) behind the
/// gate, with the routes `beside` makes next to `/mcp`, and say where it is
/// and where the token is. Returns the bound server and a one-line note for
/// the banner.
async fn bind_gated<S, F>(
    factory: F,
    cli: &Cli,
    addr: SocketAddr,
    beside: impl FnOnce() -> Result<Option<http::Beside>>,
    cancel: CancellationToken,
) -> Result<(http::Bound, String)>
where
    S: rmcp::ServerHandler + Send + 'static,
    F: Fn() -> std::io::Result<S> + Send + Sync + 'static,
{
    let allow_remote = cli.mcp_allow_remote;
    if !addr.ip().is_loopback() && allow_remote {
        eprintln!("necromap: warning: serving MCP on {addr}, reachable from other hosts; the token is the only guard");
    }
    let (token, source) = http::obtain_token(None)?;
    // Connections never take the descriptors the collector needs.
    let (max_connections, lowered) = http::allowed_connections(cli.mcp_max_connections);
    if let Some(note) = lowered {
        eprintln!("necromap: warning: {note}");
    }
    let options = HttpOptions { addr, allow_remote, token, max_connections, max_sessions: cli.mcp_max_sessions };
    let bound = http::bind_service(factory, &options, cancel, beside()?).await?;
    let url = format!("http://{}/mcp", bound.local_addr);
    let token_note = match &source {
        TokenSource::Environment => "token from NECROMAP_MCP_TOKEN".to_string(),
        TokenSource::File(path) => format!("token in {}", path.display()),
    };
    eprintln!("necromap: MCP (Streamable HTTP) at {url}; {token_note}; send Authorization: Bearer <token>");
    let mut note = format!("MCP {url} ({token_note})");
    if let Some(link) = bound.login.as_ref().and_then(|l| l.link(bound.local_addr)) {
        eprintln!("necromap: web view at http://{}/ ; open this link once to log in: {link}", bound.local_addr);
        note = format!("web {link} · {note}");
    }
    Ok((bound, note))
}

/// `--mcp`: serve until stdin closes (stdio) or until interrupted (HTTP).
pub fn headless(cli: &Cli, state: McpState) -> Result<()> {
    let rt = runtime()?;
    match cli.http.flatten() {
        None => rt.block_on(serve_stdio(state)),
        Some(addr) => rt.block_on(async {
            let cancel = CancellationToken::new();
            let (bound, _) = bind_http(state, cli, addr, false, cancel.clone()).await?;
            serve_until_signal(bound, cancel).await.context("serving MCP over HTTP")
        }),
    }
}

/// `--mcp --http` for another MCP server (the fleet's, made by `factory`
/// once per session): the same gate, token and caps as the single-host
/// server's, until interrupted. Runs inside a tokio runtime.
pub async fn headless_http<S, F>(cli: &Cli, addr: SocketAddr, factory: F) -> Result<()>
where
    S: rmcp::ServerHandler + Send + 'static,
    F: Fn() -> std::io::Result<S> + Send + Sync + 'static,
{
    let cancel = CancellationToken::new();
    let (bound, _) = bind_gated(factory, cli, addr, || Ok(None), cancel.clone()).await?;
    serve_until_signal(bound, cancel).await.context("serving MCP over HTTP")
}

/// Serve until SIGINT or SIGTERM.
async fn serve_until_signal(bound: http::Bound, cancel: CancellationToken) -> std::io::Result<()> {
    let stop = cancel.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        stop.cancel();
    });
    bound.serve(cancel).await
}

async fn wait_for_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}

/// The HTTP endpoint running beside the explorer; stops when dropped.
#[derive(Debug)]
pub struct Beside {
    cancel: CancellationToken,
    thread: Option<std::thread::JoinHandle<()>>,
    pub note: String,
}

impl Drop for Beside {
    fn drop(&mut self) {
        self.cancel.cancel();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `--serve-mcp`: bind now (so a busy port is an error before the screen
/// changes), then serve on a thread of its own.
pub fn beside_tui(state: McpState, cli: &Cli, addr: SocketAddr) -> Result<Beside> {
    let rt = runtime()?;
    let cancel = CancellationToken::new();
    let (bound, note) = rt.block_on(bind_http(state, cli, addr, true, cancel.clone()))?;
    let serve_cancel = cancel.clone();
    let thread = std::thread::Builder::new()
        .name("necromap-mcp-http".into())
        .spawn(move || {
            if let Err(e) = rt.block_on(bound.serve(serve_cancel)) {
                eprintln!("necromap: MCP over HTTP stopped: {e}");
            }
        })
        .context("starting the MCP thread")?;
    Ok(Beside { cancel, thread: Some(thread), note })
}

/// `--web` without a terminal: the web view and MCP on one port, until
/// interrupted.
pub fn web_headless(cli: &Cli, state: McpState, addr: SocketAddr) -> Result<()> {
    let rt = runtime()?;
    rt.block_on(async {
        let cancel = CancellationToken::new();
        let (bound, _) = bind_http(state, cli, addr, true, cancel.clone()).await?;
        serve_until_signal(bound, cancel).await.context("serving the web view")
    })
}
