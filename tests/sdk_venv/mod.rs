//! The official MCP Python SDK, pinned, in a virtual environment under the
//! target directory (made once, reused): for the tests that use it as a
//! real client. A failed install fails the test and says why.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A virtual environment with `mcp==version`, made once and reused.
pub fn sdk(version: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("mcp-sdk-{version}"));
    let python = dir.join("bin").join("python");
    let ready = |python: &Path| {
        Command::new(python)
            .args(["-c", &format!("import importlib.metadata as m, sys; sys.exit(m.version('mcp') != '{version}')")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if ready(&python) {
        return python;
    }
    // Tests run in parallel (threads of one binary, or binaries): one makes
    // the environment while the others wait on the lock, then find it ready.
    std::fs::create_dir_all(dir.parent().expect("a parent")).expect("make the target's tmp directory");
    let lock = std::fs::File::create(format!("{}.lock", dir.display())).expect("create the venv's lock file");
    lock.lock().expect("lock the venv's lock file");
    if ready(&python) {
        return python;
    }
    let _ = std::fs::remove_dir_all(&dir);
    let venv = Command::new("python3").args(["-m", "venv"]).arg(&dir).output().expect("run python3 -m venv (python3 must be installed)");
    assert!(venv.status.success(), "python3 -m venv {} failed (install python3-venv): {}", dir.display(), String::from_utf8_lossy(&venv.stderr));
    let pip = Command::new(dir.join("bin").join("pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", &format!("mcp=={version}")])
        .output()
        .expect("run pip");
    assert!(
        pip.status.success(),
        "could not install the MCP Python SDK (mcp=={version}) from PyPI into {}: these tests need it.\n{}\n{}",
        dir.display(),
        String::from_utf8_lossy(&pip.stdout),
        String::from_utf8_lossy(&pip.stderr)
    );
    assert!(ready(&python), "mcp=={version} installed but cannot be imported from {}", dir.display());
    python
}
