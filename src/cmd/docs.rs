//! `necromap completions SHELL` and `necromap man`: generated from the
//! same clap definition as `--help`, so they never drift from it.

use std::io::Write;

use anyhow::Result;
use clap::CommandFactory;
use clap_complete::Shell;

use crate::cmd::cli::{Cli, CompletionShell};

/// A completion script for `shell`, to stdout.
pub fn completions(shell: CompletionShell) -> Result<()> {
    let shell = match shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
    };
    // Into memory first: the generator panics on a write error (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "necromap", &mut script);
    let mut out = std::io::stdout().lock();
    out.write_all(&script)?;
    out.flush()?;
    Ok(())
}

/// The manual page (roff): the top-level page, then one section per subcommand.
pub fn man() -> Result<()> {
    let command = Cli::command();
    let mut out = std::io::stdout().lock();
    clap_mangen::Man::new(command.clone()).render(&mut out)?;
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("necromap-{}", sub.get_name());
        clap_mangen::Man::new(sub.clone().display_name(name)).render(&mut out)?;
    }
    out.flush()?;
    Ok(())
}
