//! `necromap mcp-observe -- COMMAND [ARGS…]`: run a stdio MCP server as a
//! child and stand between it and the client. Bytes pass both ways
//! unchanged ([`super::relay`]); a copy goes to the tap
//! ([`super::tap`]), which records and judges. Signals that would end
//! the observer (INT, TERM, HUP) are passed to the child, and the child's
//! exit is the observer's (a child killed by a signal gives 128 + its
//! number, as shells report it).

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::sync_channel;

use super::jsonrpc::Direction;
use super::record::Recorder;
use super::relay::{Tapped, pump};
use super::tap::{Tap, TapReport};

#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    #[error("mcp-observe: give the server's command after `--`, e.g. necromap mcp-observe -- npx -y @modelcontextprotocol/server-filesystem ~/project")]
    NoCommand,
    #[error("mcp-observe: cannot run {command}: {source}")]
    Spawn { command: String, source: std::io::Error },
    #[error("mcp-observe: waiting for {command}: {source}")]
    Wait { command: String, source: std::io::Error },
}

/// Copies queued for the tap before new ones are dropped.
const TAP_QUEUE: usize = 4096;

/// The key a server's tool lists are versioned under: its command line,
/// as a client configuration gives it.
pub fn server_key(command: &[String]) -> String {
    command.join(" ")
}

/// How an observed run ended.
#[derive(Debug)]
pub struct Observed {
    pub status: ExitStatus,
    pub report: TapReport,
}

impl Observed {
    /// The exit code to leave with: the child's, or 128 + the signal that ended it.
    pub fn exit_code(&self) -> i32 {
        use std::os::unix::process::ExitStatusExt;
        self.status.code().or_else(|| self.status.signal().map(|s| 128 + s)).unwrap_or(1)
    }
}

/// Run `command`, relaying this process's stdin and stdout to it; record in
/// the store at `store` (none: judge only, record nothing).
pub fn observe(command: &[OsString], store: Option<PathBuf>) -> Result<Observed, ObserveError> {
    let (program, args) = command.split_first().ok_or(ObserveError::NoCommand)?;
    let words: Vec<String> = command.iter().map(|w| w.to_string_lossy().into_owned()).collect();
    let shown = crate::text::escape_control(&crate::text::bounded(&server_key(&words), 200));
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|source| ObserveError::Spawn { command: shown.clone(), source })?;
    forward_signals(child.id());
    let (tx, rx) = sync_channel::<Tapped>(TAP_QUEUE);
    let home = std::env::var("HOME").ok();
    let key = server_key(&words);
    let pid = child.id();
    let tap = std::thread::Builder::new().name("mcp-tap".into()).spawn(move || {
        let recorder = store.and_then(|path| match Recorder::start(&path, &key, &words, Some(pid), crate::collect::now_ms()) {
            Ok(r) => Some(r),
            Err(e) => {
                eprintln!("necromap mcp-observe: not recording (traffic still flows): {}", crate::text::error_text(&e));
                None
            }
        });
        Tap::new(recorder, home).run(&rx)
    });
    let mut child_in = child.stdin.take();
    let child_out = child.stdout.take();
    let up = tx.clone();
    // Not joined: it may sit in a read of our stdin after the child is gone.
    let _ = std::thread::Builder::new().name("mcp-relay-in".into()).spawn(move || {
        if let Some(to) = child_in.take() {
            pump(std::io::stdin().lock(), to, Direction::ToServer, Some(&up));
        }
    });
    let down = tx.clone();
    let out = std::thread::Builder::new().name("mcp-relay-out".into()).spawn(move || {
        if let Some(from) = child_out {
            pump(from, std::io::stdout().lock(), Direction::ToClient, Some(&down));
        }
    });
    let status = child.wait().map_err(|source| ObserveError::Wait { command: shown, source })?;
    if let Ok(h) = out {
        let _ = h.join();
    }
    let _ = tx.send(Tapped::End);
    let code = {
        use std::os::unix::process::ExitStatusExt;
        status.code().or_else(|| status.signal().map(|s| 128 + s))
    };
    let report = match tap {
        Ok(h) => match h.join() {
            Ok(mut t) => {
                t.finish(code);
                t.report
            }
            Err(_) => TapReport::default(),
        },
        Err(_) => TapReport::default(),
    };
    Ok(Observed { status, report })
}

/// INT, TERM and HUP sent to the observer go to the child too.
fn forward_signals(child: u32) {
    let _ = std::thread::Builder::new().name("mcp-signals".into()).spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
        rt.block_on(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()), signal(SignalKind::hangup()))
            else {
                return;
            };
            let Some(pid) = rustix::process::Pid::from_raw(child as i32) else { return };
            loop {
                let sig = tokio::select! {
                    _ = int.recv() => rustix::process::Signal::INT,
                    _ = term.recv() => rustix::process::Signal::TERM,
                    _ = hup.recv() => rustix::process::Signal::HUP,
                };
                if rustix::process::kill_process(pid, sig).is_err() {
                    return;
                }
            }
        });
    });
}
