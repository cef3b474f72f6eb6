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

mod sdk_venv;

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_necromap");

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
    let python = sdk_venv::sdk(version);
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
