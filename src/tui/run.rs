//! The loop: `select!` over input events, new snapshots, collector status
//! and an animation tick; draw only when something changed, at most about
//! 30 frames a second. The UI never waits on the collector.

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::Duration;

use crossterm::event::Event;
use futures_util::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use super::app::{App, Effect};
use super::outgoing;
use super::views;
use crate::collector::{CollectorStatus, Command};
use crate::model::Snapshot;

/// Shortest time between two frames (about 30 fps).
pub const FRAME_GAP: Duration = Duration::from_millis(33);
/// Animation tick.
pub const TICK: Duration = Duration::from_millis(400);

/// Channels to the collector.
#[derive(Debug)]
pub struct Links {
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    pub status: watch::Receiver<CollectorStatus>,
    pub commands: Option<Sender<Command>>,
}

fn send(commands: Option<&Sender<Command>>, effect: Effect) {
    let Some(tx) = commands else { return };
    // Replies are not awaited: the status channel reports the outcome.
    let _ = match effect {
        Effect::Freeze(on) => tx.send(Command::Freeze(on, oneshot::channel().0)),
        Effect::SetInterval(d) => tx.send(Command::SetInterval(d, oneshot::channel().0)),
    };
}

/// Run until the user quits or `input` ends; the bell and clipboard
/// sequences go nowhere (see [`run_app_to`]).
pub async fn run_app<B, S>(terminal: &mut Terminal<B>, app: &mut App, input: S, links: Links) -> io::Result<()>
where
    B: Backend,
    S: Stream<Item = io::Result<Event>> + Unpin,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    run_app_to(terminal, app, input, links, &mut io::sink()).await
}

/// Run until the user quits or `input` ends, writing the bell and the
/// clipboard sequences the app queues to `out` (the terminal).
pub async fn run_app_to<B, S>(terminal: &mut Terminal<B>, app: &mut App, mut input: S, mut links: Links, out: &mut dyn Write) -> io::Result<()>
where
    B: Backend,
    S: Stream<Item = io::Result<Event>> + Unpin,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_draw = Instant::now() - FRAME_GAP;
    let mut snapshots_open = true;
    let mut status_open = true;
    // Large snapshots are derived on a thread of their own (see `deriving`).
    let mut answers = app.derive_in_background()?;
    let result = 'run: loop {
        if !app.outbox.is_empty() {
            outgoing::write_all(out, std::mem::take(&mut app.outbox))?;
        }
        if app.dirty && last_draw.elapsed() >= FRAME_GAP {
            terminal.draw(|f| views::render(app, f.area(), f.buffer_mut())).map_err(io::Error::other)?;
            app.dirty = false;
            last_draw = Instant::now();
        }
        if app.quit {
            break 'run Ok(());
        }
        let redraw_at = last_draw + FRAME_GAP;
        tokio::select! {
            event = input.next() => match event {
                Some(Ok(ev)) => {
                    for effect in app.on_event(&ev) {
                        send(links.commands.as_ref(), effect);
                    }
                }
                Some(Err(e)) => break 'run Err(e),
                None => {
                    // Input closed (a test's key script ended): wait for
                    // what is being derived, draw the last state and stop.
                    while app.deriving() {
                        match answers.recv().await {
                            Some(answer) => app.take_derived(answer),
                            None => app.derive_here_from_now(),
                        }
                    }
                    outgoing::write_all(out, std::mem::take(&mut app.outbox))?;
                    if app.dirty {
                        terminal.draw(|f| views::render(app, f.area(), f.buffer_mut())).map_err(io::Error::other)?;
                    }
                    break 'run Ok(());
                }
            },
            Some(answer) = answers.recv() => app.take_derived(answer),
            changed = links.snapshots.changed(), if snapshots_open => match changed {
                Ok(()) => {
                    let snap = links.snapshots.borrow_and_update().clone();
                    app.set_snapshot(snap);
                }
                Err(_) => snapshots_open = false,
            },
            changed = links.status.changed(), if status_open => match changed {
                Ok(()) => {
                    let st = links.status.borrow_and_update().clone();
                    app.set_status(st);
                }
                Err(_) => status_open = false,
            },
            _ = tick.tick() => {
                app.tick();
            },
            () = tokio::time::sleep_until(redraw_at), if app.dirty => {}
        }
    };
    // The thread ends with its channel; later changes are derived here.
    app.derive_here_from_now();
    result
}
