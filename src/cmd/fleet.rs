//! `necromap --mcp --fleet URL` (the fleet's MCP tools over stdio, or
//! Streamable HTTP with `--http`) and
//! `necromap fleet` (the fleet explorer: hosts, worst severity, edges;
//! Enter drills down into a host: processes → peers, recent events).
//! Without a terminal, `fleet` prints the map as text.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use crossterm::event::{self, Event, KeyCode, KeyEventKind};
use necromap::fleet::conn::FleetUrl;
use necromap::mcp::tools_fleet::FleetServer;
use necromap::tui::fleet_view::FleetScreen;
use necromap::tui::theme::{Look, Theme};

use super::agent::fleet_url;
use super::cli::Cli;

/// `--mcp --fleet URL`: the fleet tools over stdio, or over Streamable
/// HTTP with `--http` (the single-host server's gate, token and caps).
pub fn mcp(cli: &Cli, config: &necromap::config::Config) -> Result<()> {
    let url = fleet_url(config)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("necromap-fleet-mcp")
        .enable_all()
        .build()
        .context("starting the MCP runtime")?;
    match cli.http.flatten() {
        None => rt.block_on(necromap::mcp::tools_fleet::serve_fleet_stdio(url)),
        Some(addr) => {
            // Every session gets a clone of one server: they share its one
            // database connection, so the session cap bounds nothing on
            // the database side and a client cannot open connections there.
            let server = FleetServer::new(url);
            rt.block_on(super::serve::headless_http(cli, addr, move || Ok(server.clone())))
        }
    }
}

/// `necromap fleet`: the fleet explorer.
pub fn explore(cli: &Cli, config: &necromap::config::Config, group_by: Option<&str>) -> Result<()> {
    let group_by: Option<necromap::fleet::labels::GroupBy> = group_by.map(str::parse).transpose().map_err(anyhow::Error::msg)?;
    let url = fleet_url(config)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the fleet runtime")?;
    let client = rt.block_on(necromap::fleet::conn::connect(&url)).with_context(|| format!("connecting to {}", url.display))?;
    let map = rt.block_on(necromap::fleet::view::load(&client)).with_context(|| format!("reading the fleet from {}", url.display))?;
    let map = match &group_by {
        Some(by) => map.grouped(by.clone()),
        None => map,
    };
    if !std::io::stdout().is_terminal() {
        print!("{}", necromap::fleet::view::render_text(&map));
        return Ok(());
    }
    let plain = cli.ascii || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme = Theme { plain, glow: false, look: Look::default() };
    let mut screen = FleetScreen { map, ..FleetScreen::default() };
    let mut terminal = ratatui::init();
    let result = run(&mut terminal, &mut screen, theme, &rt, &client, &url);
    ratatui::restore();
    result
}

fn run(
    terminal: &mut ratatui::DefaultTerminal,
    screen: &mut FleetScreen,
    theme: Theme,
    rt: &tokio::runtime::Runtime,
    client: &tokio_postgres::Client,
    url: &FleetUrl,
) -> Result<()> {
    let mut loaded = Instant::now();
    loop {
        // Enter asked for the selected host's drill-down; drilled down,
        // every reload reads it again (and j/k move it to another host).
        let mut drilling = screen.drill.is_some();
        terminal.draw(|f| screen.render(theme, f.area(), f.buffer_mut()))?;
        let reload = if event::poll(Duration::from_millis(500))? {
            match event::read()? {
                Event::Key(k) if k.kind == KeyEventKind::Press => match k.code {
                    KeyCode::Char('q') => return Ok(()),
                    KeyCode::Char('j') | KeyCode::Down => {
                        screen.selected = (screen.selected + 1).min(screen.map.hosts.len().saturating_sub(1));
                        screen.drill.is_some()
                    }
                    KeyCode::Char('k') | KeyCode::Up => {
                        screen.selected = screen.selected.saturating_sub(1);
                        screen.drill.is_some()
                    }
                    KeyCode::Esc => {
                        screen.drill = None;
                        false
                    }
                    KeyCode::Enter => {
                        drilling = true;
                        true
                    }
                    KeyCode::Char('r') => true,
                    _ => false,
                },
                _ => false,
            }
        } else {
            loaded.elapsed() > Duration::from_secs(5)
        };
        if reload {
            loaded = Instant::now();
            match rt.block_on(necromap::fleet::view::load(client)) {
                Ok(map) => {
                    // The same grouping, and the same host selected, whatever the new order.
                    let was = screen.map.hosts.get(screen.selected).map(|h| h.host_id.clone());
                    screen.map = match screen.map.group_by.clone() {
                        Some(by) => map.grouped(by),
                        None => map,
                    };
                    let again = was.and_then(|id| screen.map.hosts.iter().position(|h| h.host_id == id));
                    screen.selected = again.unwrap_or(screen.selected).min(screen.map.hosts.len().saturating_sub(1));
                    screen.error = None;
                }
                Err(e) => screen.error = Some(format!("{}: {}", url.display, necromap::text::error_chain(&e))),
            }
            if drilling && let Some(h) = screen.map.hosts.get(screen.selected) {
                match rt.block_on(necromap::fleet::drill::host_map(client, &h.host_id, Duration::from_secs(86_400))) {
                    Ok(m) => screen.drill = Some(m),
                    Err(e) => screen.error = Some(format!("{}: {}", url.display, necromap::text::error_chain(&e))),
                }
            }
        }
    }
}
