//! The interactive explorer. `App` holds UI state beside the latest
//! snapshot; `views` draw it (pure); `run` is the event loop; `keymap` maps
//! keys to actions; `filter` is the list filter language.

mod actions;
pub mod app;
mod commands;
pub mod derived;
pub mod deriving;
pub mod fleet_drill;
pub mod fleet_view;
mod input;
pub mod keymap;
pub mod layout;
pub mod naming;
pub mod outgoing;
pub mod placement;
pub mod prompt;
pub mod run;
pub mod state;
pub mod theme;
pub mod traffic;
pub mod views;

use std::io;

use crossterm::event::{DisableMouseCapture, EnableMouseCapture, EventStream};
use crossterm::execute;

pub use app::{App, Options};
pub use run::{Links, run_app, run_app_to};

use crate::collector::Collector;
use crate::spec::Spec;

/// Restores the terminal when dropped (normal exit and errors); ratatui's
/// panic hook restores it on a panic.
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = execute!(io::stdout(), DisableMouseCapture);
        ratatui::restore();
    }
}

/// Run the explorer on a real terminal until the user quits.
pub fn explore(collector: &Collector, spec: std::sync::Arc<Spec>, options: Options) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
    let mut terminal = ratatui::init();
    let _guard = TerminalGuard;
    execute!(io::stdout(), EnableMouseCapture)?;
    let size = terminal.size()?;
    let mut app = App::new(spec, collector.latest(), collector.status().borrow().clone(), options, (size.width, size.height));
    let links = Links { snapshots: collector.snapshots(), status: collector.status(), commands: Some(collector.commands()) };
    runtime.block_on(run_app_to(&mut terminal, &mut app, EventStream::new(), links, &mut io::stdout()))
}
