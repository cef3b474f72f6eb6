//! Recording and replay: a round trip keeps every frame, the shipped demo
//! recording matches its scenario, and the CLI runs from recordings.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use necromap::collect::record::{RecordingHeader, RecordingWriter};
use necromap::collect::{ReplaySource, Source, SourceKind};
use necromap::export::SnapshotDocument;
use necromap::model::Snapshot;
use necromap::spec::Spec;
use serde_json::Value;

const DEMO_RECORDING: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo/crypt-01.ndjson");

fn run_all(mut src: ReplaySource) -> Snapshot {
    src.build_through(Arc::new(Spec::embedded()), None, None).0.expect("at least one frame")
}

fn doc(s: &Snapshot) -> Value {
    let mut v = serde_json::to_value(SnapshotDocument::new(s)).expect("json");
    // Timings and the source description differ by design between runs.
    v["health"]["timings"] = Value::Null;
    v["source"] = Value::Null;
    v
}

fn necromap(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_necromap")).args(args).output().expect("run necromap")
}

#[test]
fn a_recording_round_trip_keeps_every_frame_and_the_same_snapshot() {
    let scenario = ReplaySource::from_text(necromap::DEMO_SCENARIO, "demo").expect("scenario");
    let mut frames = Vec::new();
    let mut src = ReplaySource::from_text(necromap::DEMO_SCENARIO, "demo").expect("scenario");
    while let Ok(f) = src.collect() {
        frames.push(f);
    }
    let header = RecordingHeader::new("crypt-01".into(), 3000, SourceKind::Replay, String::new());
    let mut w = RecordingWriter::new(Vec::new(), &header).expect("header");
    for f in &frames {
        w.frame(f).expect("frame");
    }
    let bytes = w.into_inner();
    let text = String::from_utf8(bytes).expect("utf8");
    assert_eq!(text.lines().count(), frames.len() + 1);
    let replay = ReplaySource::from_text(&text, "mem.ndjson").expect("parses");
    assert_eq!(replay.len(), frames.len());
    assert_eq!(replay.header(), &header);
    assert_eq!(doc(&run_all(replay)), doc(&run_all(scenario)));
}

#[test]
fn the_shipped_demo_recording_is_the_demo_scenario() {
    let mut recorded = ReplaySource::open(Path::new(DEMO_RECORDING)).expect("demo recording");
    let mut expanded = ReplaySource::from_text(necromap::DEMO_SCENARIO, "demo").expect("scenario");
    assert_eq!(recorded.len(), expanded.len());
    for i in 0..recorded.len() {
        let (a, b) = (recorded.collect().expect("frame"), expanded.collect().expect("frame"));
        assert_eq!(a, b, "frame {} differs: regenerate with `necromap --demo record --out assets/demo/crypt-01.ndjson`", i + 1);
    }
}

#[test]
fn snapshot_json_from_the_demo_recording_shows_the_odd_connections() {
    let out = necromap(&["--replay", DEMO_RECORDING, "snapshot", "--format", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["format"], "necromap-snapshot");
    assert_eq!(v["generation"], 60);
    assert_eq!(v["source"]["kind"], "replay");
    assert_eq!(v["summary"]["by_state"]["CLOSE_WAIT"], 48);
    let sockets = v["sockets"].as_array().expect("sockets");
    let updater = sockets.iter().find(|s| s["remote_port"] == 50050).expect("long-lived connection");
    assert_eq!(updater["process"], "updater");
    assert_eq!(updater["age_ms"], 59 * 3000, "seen since the first frame");
    assert_eq!(updater["zone"], "public");
    assert!(updater["bytes_sent"].as_u64().expect("bytes") > 0);
    let odd = v["listeners"].as_array().expect("listeners").iter().find(|l| l["port"] == 31337).expect("odd listener");
    assert_eq!(odd["process_name"], "kworkerd");
    let kworkerd = v["processes"].as_array().expect("processes").iter().find(|p| p["pid"] == 3317).expect("process");
    assert_eq!(kworkerd["exe_deleted"], true);
    let shell = v["processes"].as_array().expect("processes").iter().find(|p| p["pid"] == 3401).expect("shell");
    assert_eq!(shell["stdio_sockets"], serde_json::json!([0, 1, 2]));
    let messages = v["health"]["messages"].to_string();
    assert!(messages.contains("held by the kernel"), "{messages}");
}

#[test]
fn frame_selection_and_csv_work_on_recordings() {
    let out = necromap(&["--replay", DEMO_RECORDING, "snapshot", "--format", "json", "--frame", "1"]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["generation"], 1);
    assert_eq!(v["summary"]["by_state"]["CLOSE_WAIT"], Value::Null, "no CLOSE_WAIT yet at frame 1");
    let out = necromap(&["--replay", DEMO_RECORDING, "snapshot", "--format", "json", "--frame", "61"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("only 60 frames"));
    let out = necromap(&["--demo", "snapshot", "--format", "csv", "--table", "listeners"]);
    let text = String::from_utf8(out.stdout).expect("utf8");
    assert!(text.starts_with("protocol,address,port,wildcard,pid,process_name,inode,inbound_count\n"));
    assert!(text.contains("tcp,0.0.0.0,31337,true,3317,kworkerd,"));
}

#[test]
fn a_live_recording_replays() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("live.ndjson");
    let f = file.to_str().expect("path");
    let out = necromap(&["record", "--out", f, "--duration", "1s", "--interval", "300ms"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let replay = ReplaySource::open(&file).expect("recording");
    assert!(replay.len() >= 2, "{} frames", replay.len());
    assert_eq!(replay.header().source, SourceKind::Netlink);
    let out = necromap(&["--replay", f, "snapshot"]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(v["sockets"].as_array().expect("sockets").iter().any(|s| s["local_port"] == port && s["state"] == "LISTEN"));
    drop(listener);
}

#[test]
fn bad_recordings_are_refused_with_file_and_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("bad.ndjson");
    let good = std::fs::read_to_string(DEMO_RECORDING).expect("demo");
    let mut lines: Vec<&str> = good.lines().take(4).collect();
    lines[2] = "{\"taken_at_ms\": \"yesterday\"}";
    std::fs::write(&file, lines.join("\n")).expect("write");
    let err = ReplaySource::open(&file).expect_err("refused").to_string();
    assert!(err.contains("bad.ndjson:3:"), "{err}");
    std::fs::write(&file, "{\"hello\": 1}\n").expect("write");
    let err = ReplaySource::open(&file).expect_err("refused").to_string();
    assert!(err.contains(":1:") && err.contains("header"), "{err}");
    let out = necromap(&["--replay", file.to_str().expect("path"), "snapshot"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("necromap: "));
}

#[test]
fn views_from_the_spec_filter_the_output() {
    let out = necromap(&["--demo", "--view", "cleanup_states", "snapshot", "--format", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let states: std::collections::BTreeSet<String> =
        v["sockets"].as_array().expect("sockets").iter().map(|s| s["state"].as_str().expect("state").to_string()).collect();
    assert_eq!(states, ["CLOSE_WAIT", "TIME_WAIT"].iter().map(ToString::to_string).collect());
    let out = necromap(&["--demo", "--view", "everything", "snapshot"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such view; the spec has default, suspicious_only"));
}

#[test]
fn a_gzip_recording_replays_even_when_cut_short() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("demo.ndjson.gz");
    let f = file.to_str().expect("path");
    let out = necromap(&["--demo", "record", "--out", f]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let whole = ReplaySource::open(&file).expect("gzip recording");
    let plain = ReplaySource::open(std::path::Path::new(DEMO_RECORDING)).expect("demo");
    assert_eq!(whole.len(), plain.len());
    assert!(std::fs::metadata(&file).expect("size").len() * 5 < std::fs::metadata(DEMO_RECORDING).expect("size").len(), "compressed");
    // necromap stopped mid-recording: no gzip trailer, a frame cut in two.
    let bytes = std::fs::read(&file).expect("read");
    let cut = dir.path().join("cut.ndjson.gz");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).expect("write");
    let partial = ReplaySource::open(&cut).expect("a cut recording replays");
    assert!(!partial.is_empty() && partial.len() < whole.len(), "{} of {} frames", partial.len(), whole.len());
}
