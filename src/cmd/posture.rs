//! (binary) `necromap posture`: the read-only posture checks, as text or
//! JSON; exit status 1 when a check fails (for scripts).

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use necromap::posture::policy::Policy;
use necromap::posture::{Options, Status, run, text};

use crate::cmd::cli::DiffFormat;

pub fn posture(root: &Path, policy: Option<&Path>, format: DiffFormat) -> Result<()> {
    if !root.is_dir() {
        bail!("--root {}: not a directory", root.display());
    }
    let policy = policy.map(Policy::load).transpose().context("--policy")?;
    let live = root == Path::new("/");
    let opts = Options { root: root.to_path_buf(), policy, run_commands: live };
    let report = run(&opts);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match format {
        DiffFormat::Text => out.write_all(text(&report).as_bytes())?,
        DiffFormat::Json => {
            let json = serde_json::to_string_pretty(&report)?;
            out.write_all(necromap::text::json_escape_unsafe(&json).as_bytes())?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    if report.worst() == Status::Fail {
        std::process::exit(1);
    }
    Ok(())
}
