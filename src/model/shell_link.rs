//! Shell links: how a shell's standard input or output reaches a process
//! that holds a network socket, hop by hop, through pipes, FIFOs, ptys and
//! socketpairs. The collector finds them (see `collect::plumbing`); the
//! socket-holding process carries them, so a reverse shell built from
//! `mkfifo … | sh -i | nc …` or `socat … EXEC:bash,pty` glows where the
//! connection is, with a trace that names every hop.
//!
//! ```text
//!  sh (40) fd 1 → pipe:[7781] ← nc (41) fd 0          output: one hop
//!  sh (40) fd 0 → pipe:[7780] ← cat (39) fd 1         input: two hops
//!  cat (39) fd 0 → fifo /tmp/f ← nc (41) fd 1
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::text::{bounded, escape_control};

/// What connects two processes' file descriptors.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Conduit {
    /// An anonymous pipe (`pipe:[inode]`).
    Pipe { inode: u32 },
    /// A named pipe, by path.
    Fifo { path: String },
    /// A pseudo-terminal: the shell holds `/dev/pts/<index>`, the other
    /// process holds the master (`/dev/ptmx`).
    Pty { index: u32 },
    /// A connected pair of Unix sockets (`socat … EXEC:`, `subprocess`).
    SocketPair { inode: u32 },
}

impl fmt::Display for Conduit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pipe { inode } => write!(f, "pipe:[{inode}]"),
            Self::Fifo { path } => write!(f, "fifo {}", bounded(&escape_control(path), 80)),
            Self::Pty { index } => write!(f, "/dev/pts/{index}"),
            Self::SocketPair { inode } => write!(f, "socketpair:[{inode}]"),
        }
    }
}

/// One hop: `from` holds one end of the conduit on `from_fd`, `to` holds
/// the other end (the pty master, the pipe's other side) on `to_fd`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    pub from_pid: u32,
    pub from_name: String,
    pub from_fd: u32,
    pub conduit: Conduit,
    pub to_pid: u32,
    pub to_name: String,
    pub to_fd: u32,
}

impl fmt::Display for Hop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let master = if matches!(self.conduit, Conduit::Pty { .. }) { " (master)" } else { "" };
        write!(
            f,
            "{} ({}) fd {} → {} ← {} ({}) fd {}{master}",
            escape_control(&self.from_name),
            self.from_pid,
            self.from_fd,
            self.conduit,
            escape_control(&self.to_name),
            self.to_pid,
            self.to_fd
        )
    }
}

/// A shell whose input or output leads to this process's sockets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShellLink {
    /// The shell (or an interpreter running one).
    pub pid: u32,
    pub name: String,
    /// Its command line, bounded.
    #[serde(default)]
    pub cmdline: String,
    /// Hops from the shell's fd 0 to a process holding a network socket;
    /// empty when its input does not lead to one.
    #[serde(default)]
    pub input: Vec<Hop>,
    /// Hops from the shell's fd 1 or 2; empty when its output does not.
    #[serde(default)]
    pub output: Vec<Hop>,
}

impl ShellLink {
    /// Both directions reach the network: someone types into it and reads it.
    pub fn is_both(&self) -> bool {
        !self.input.is_empty() && !self.output.is_empty()
    }

    /// The hops as one line: `input a → b; b → c · output a → d`.
    pub fn describe(&self) -> String {
        let path = |hops: &[Hop]| hops.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
        let mut parts = Vec::new();
        if !self.input.is_empty() {
            parts.push(format!("input {}", path(&self.input)));
        }
        if !self.output.is_empty() {
            parts.push(format!("output {}", path(&self.output)));
        }
        parts.join(" · ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(from: (u32, &str, u32), conduit: Conduit, to: (u32, &str, u32)) -> Hop {
        Hop { from_pid: from.0, from_name: from.1.into(), from_fd: from.2, conduit, to_pid: to.0, to_name: to.1.into(), to_fd: to.2 }
    }

    #[test]
    fn hops_read_like_the_plumbing() {
        let link = ShellLink {
            pid: 40,
            name: "sh".into(),
            cmdline: "sh -i".into(),
            input: vec![
                hop((40, "sh", 0), Conduit::Pipe { inode: 7780 }, (39, "cat", 1)),
                hop((39, "cat", 0), Conduit::Fifo { path: "/tmp/f".into() }, (41, "nc", 1)),
            ],
            output: vec![hop((40, "sh", 1), Conduit::Pipe { inode: 7781 }, (41, "nc", 0))],
        };
        assert!(link.is_both());
        assert_eq!(
            link.describe(),
            "input sh (40) fd 0 → pipe:[7780] ← cat (39) fd 1; cat (39) fd 0 → fifo /tmp/f ← nc (41) fd 1 · output sh (40) fd 1 → pipe:[7781] ← nc (41) fd 0"
        );
        let pty = hop((7, "bash", 0), Conduit::Pty { index: 3 }, (6, "socat\x1b[2J", 5));
        assert_eq!(pty.to_string(), "bash (7) fd 0 → /dev/pts/3 ← socat\\x1b[2J (6) fd 5 (master)");
    }
}
