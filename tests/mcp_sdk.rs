//! The official MCP Python SDK as the client, over stdio and Streamable
//! HTTP (`tests/sdk/client.py`): the handshake, tools checked by the SDK's
//! own output-schema validation, a subscription told of a new finding
//! within 2 s, and a session closed with no warning.
//!
//! Two pinned SDK versions, one per protocol revision the server must
//! serve: mcp 1.22.0 asks for 2025-06-18, mcp 1.27.0 for 2025-11-25. Each
//! is installed from `PyPI` into a virtual environment under the target
//! directory, kept between runs; a failed install fails the test and says
//! why (it is never skipped).

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_necromap");

/// A virtual environment with `mcp==version`, made once and reused.
fn sdk(version: &str) -> PathBuf {
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

/// Run the client script over one transport; its output on success.
fn client(python: &Path, transport: &str, protocol: &str) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/client.py");
    let data = tempfile::tempdir().expect("tmp");
    let out = Command::new(python)
        .arg(&script)
        .args([transport, BIN, protocol])
        .env("XDG_DATA_HOME", data.path())
        .env("PYTHONUNBUFFERED", "1")
        .output()
        .expect("run the SDK client");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "the Python SDK client over {transport} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

fn both_transports(version: &str, protocol: &str) {
    let python = sdk(version);
    for transport in ["stdio", "http"] {
        let out = client(&python, transport, protocol);
        for step in ["handshake on", "pass the SDK's output-schema validation", "told of", "closed with no warning"] {
            assert!(out.contains(step), "{transport}: no `{step}` line:\n{out}");
        }
        eprint!("mcp {version} over {transport}:\n{out}");
    }
}

#[test]
fn python_sdk_1_22_on_protocol_2025_06_18() {
    both_transports("1.22.0", "2025-06-18");
}

#[test]
fn python_sdk_1_27_on_protocol_2025_11_25() {
    both_transports("1.27.0", "2025-11-25");
}
