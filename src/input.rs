//! Reading the files we are given: every user-supplied file (spec, rule
//! pack, IOC list, scenario, recording, baseline, corpus manifest) goes
//! through here.
//!
//! - Only regular files: a FIFO, device, socket or directory is refused with
//!   a message naming the path and what it is. The path is checked before
//!   opening and the opened descriptor again (a FIFO swapped in between
//!   cannot hang the open: it is opened with `O_NONBLOCK`).
//! - A size cap per kind ([`Kind::cap`]), enforced while reading, so a file
//!   that lies about its size (or grows) is still bounded.
//! - For YAML/JSON text, a nesting-depth check ([`check_depth`]) before
//!   parsing: one linear pass, so a 100k-deep document is refused at once
//!   instead of taking the parser seconds (`serde_yaml`'s own recursion limit
//!   applies only after libyaml has loaded every event).

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Deepest nesting accepted in YAML/JSON text (our own files use under 10).
pub const MAX_DEPTH: usize = 64;

const MIB: u64 = 1024 * 1024;

/// What a file is meant to be: decides its size cap and the wording of errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Spec,
    RuleFile,
    IocList,
    Scenario,
    Recording,
    Baseline,
    CorpusManifest,
    /// The settings file (`config.toml`).
    Config,
    /// A file that is followed, not read whole (eve.json): type check only.
    Followed,
}

impl Kind {
    /// Largest size accepted, in bytes.
    ///
    /// - spec, rule file, scenario, corpus manifest: 4 MiB. Ours are
    ///   under 40 KiB; hand-written YAML a hundred times larger is a mistake.
    /// - config file: 1 MiB (a dozen settings).
    /// - IOC list: 64 MiB. Public feeds (Tor exits, AWS ranges, abuse lists)
    ///   run to a few MiB; room for a large merged feed.
    /// - baseline: 256 MiB (saved snapshots of big hosts).
    /// - recording: 1 GiB of text (after gunzip). Replay holds the frames in
    ///   memory, so this keeps a replay within a few GiB of RAM; an hour of a
    ///   busy host at one frame a second fits.
    pub fn cap(self) -> u64 {
        match self {
            Kind::Spec | Kind::RuleFile | Kind::Scenario | Kind::CorpusManifest => 4 * MIB,
            Kind::Config => MIB,
            Kind::IocList => 64 * MIB,
            Kind::Baseline => 256 * MIB,
            Kind::Recording => 1024 * MIB,
            Kind::Followed => u64::MAX,
        }
    }

    /// What it is, with its article ("a spec", "an IOC list").
    pub fn name(self) -> &'static str {
        match self {
            Kind::Spec => "a spec",
            Kind::RuleFile => "a rule file",
            Kind::IocList => "an IOC list",
            Kind::Scenario => "a scenario",
            Kind::Recording => "a recording",
            Kind::Baseline => "a baseline",
            Kind::CorpusManifest => "a corpus manifest",
            Kind::Config => "a config file",
            Kind::Followed => "a followed log file",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{file}: cannot read {kind}")]
    Io { file: String, kind: &'static str, source: std::io::Error },
    #[error("{file}: is {what}; expected {kind} as a regular file")]
    NotRegular { file: String, kind: &'static str, what: &'static str },
    #[error("{file}: larger than the {cap} bytes allowed for {kind}")]
    TooLarge { file: String, kind: &'static str, cap: u64 },
    #[error("{file}:{line}: nested deeper than {max} levels; expected {kind} of at most {max} levels")]
    TooDeep { file: String, line: usize, kind: &'static str, max: usize },
    #[error("{file}: not UTF-8 text; expected {kind}")]
    NotUtf8 { file: String, kind: &'static str, source: std::string::FromUtf8Error },
}

impl InputError {
    /// The I/O error kind, when this is one (e.g. `NotFound`).
    pub fn io_kind(&self) -> Option<std::io::ErrorKind> {
        match self {
            InputError::Io { source, .. } => Some(source.kind()),
            _ => None,
        }
    }
}

fn describe(t: std::fs::FileType) -> &'static str {
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

/// Open `path` for reading if it is a regular file (symbolic links are
/// followed), without ever blocking on a FIFO.
pub fn open(path: &Path, kind: Kind) -> Result<File, InputError> {
    let file = path.display().to_string();
    let io = |source| InputError::Io { file: file.clone(), kind: kind.name(), source };
    let not_regular = |t: std::fs::FileType| InputError::NotRegular { file: file.clone(), kind: kind.name(), what: describe(t) };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.file_type().is_file() {
        return Err(not_regular(meta.file_type()));
    }
    // O_NONBLOCK: if a FIFO replaced the file since the check, the open
    // returns at once instead of waiting for a writer. No effect on a
    // regular file's reads.
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32 | rustix::fs::OFlags::NOCTTY.bits() as i32)
        .open(path)
        .map_err(io)?;
    let meta = f.metadata().map_err(io)?;
    if !meta.file_type().is_file() {
        return Err(not_regular(meta.file_type()));
    }
    if meta.len() > kind.cap() {
        return Err(InputError::TooLarge { file, kind: kind.name(), cap: kind.cap() });
    }
    Ok(f)
}

/// Read at most `cap` bytes from `reader`; more is an error.
pub fn read_capped(reader: impl Read, file: &str, kind: Kind) -> Result<Vec<u8>, InputError> {
    let cap = kind.cap();
    let mut bytes = Vec::new();
    reader.take(cap.saturating_add(1)).read_to_end(&mut bytes).map_err(|source| InputError::Io { file: file.to_string(), kind: kind.name(), source })?;
    if bytes.len() as u64 > cap {
        return Err(InputError::TooLarge { file: file.to_string(), kind: kind.name(), cap });
    }
    Ok(bytes)
}

/// The whole of a regular file, within the kind's cap.
pub fn read_bytes(path: &Path, kind: Kind) -> Result<Vec<u8>, InputError> {
    let f = open(path, kind)?;
    read_capped(f, &path.display().to_string(), kind)
}

/// UTF-8 text of a regular file, within the kind's cap. No depth check: see
/// [`read_structured`].
pub fn read_text(path: &Path, kind: Kind) -> Result<String, InputError> {
    let bytes = read_bytes(path, kind)?;
    String::from_utf8(bytes).map_err(|source| InputError::NotUtf8 { file: path.display().to_string(), kind: kind.name(), source })
}

/// UTF-8 YAML or JSON text of a regular file, within the kind's cap and
/// [`MAX_DEPTH`] levels of nesting.
pub fn read_structured(path: &Path, kind: Kind) -> Result<String, InputError> {
    let text = read_text(path, kind)?;
    check_depth(&text, &path.display().to_string(), kind)?;
    Ok(text)
}

/// `- - - x`: each marker opens a sequence. Where the content starts after
/// them and how many there are.
fn sequence_markers(bytes: &[u8], indent: usize) -> (usize, usize) {
    let (mut at, mut block) = (indent, 0);
    while at + 1 < bytes.len() && bytes[at] == b'-' && bytes[at + 1] == b' ' {
        block += 1;
        at += 2;
        while at < bytes.len() && bytes[at] == b' ' {
            at += 1;
        }
    }
    if at + 1 == bytes.len() && bytes[at] == b'-' {
        block += 1;
    }
    (at, block)
}

/// `key: |` or `- >-`: a block scalar follows this line.
fn opens_block_scalar(line: &str) -> bool {
    let code = line.split(" #").next().unwrap_or("").trim_end();
    let tail = code.rsplit([' ', ':']).next().unwrap_or("");
    (code.ends_with(&format!(": {tail}")) || code.ends_with(&format!("- {tail}")) || code.trim_start() == tail)
        && tail.starts_with(['|', '>'])
        && tail[1..].chars().all(|c| matches!(c, '-' | '+' | '0'..='9'))
}

/// Refuse YAML (or JSON) nested deeper than [`MAX_DEPTH`], in one pass.
///
/// An estimate that grows with the real nesting (at least half of it, with
/// compact sequences under keys at the same indentation): block levels come
/// from indentation (a stack of indents) plus `- ` markers at a line's
/// start, flow levels from `[`/`{` outside quotes and comments. Block
/// scalars (`|`, `>`) are skipped. A quote is only taken as one where YAML
/// would open a quoted scalar, so a stray `"` cannot hide brackets after it.
pub fn check_depth(text: &str, file: &str, kind: Kind) -> Result<(), InputError> {
    let too_deep = |line: usize| InputError::TooDeep { file: file.to_string(), line, kind: kind.name(), max: MAX_DEPTH };
    let mut indents: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    // Inside a block scalar: lines indented more than this belong to it.
    let mut scalar_of: Option<usize> = None;
    // An open quote carried to the next line (multi-line quoted scalars).
    let mut quote: Option<u8> = None;
    // The last non-blank character, carried across lines inside a flow.
    let mut last_sig: Option<u8> = None;
    // `"key":` (JSON style): a quote may follow the colon directly.
    let mut colon_after_quote = false;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let bytes = line.as_bytes();
        let indent = bytes.iter().take_while(|&&b| b == b' ').count();
        let blank = bytes[indent..].iter().all(u8::is_ascii_whitespace);
        if let Some(parent) = scalar_of {
            if blank || indent > parent {
                continue;
            }
            scalar_of = None;
        }
        if blank {
            continue;
        }
        let mut at = indent;
        let mut block = 0;
        if flow == 0 && quote.is_none() {
            if bytes[indent] == b'#' {
                continue;
            }
            while indents.last().is_some_and(|&top| top >= indent) {
                indents.pop();
            }
            indents.push(indent);
            (at, block) = sequence_markers(bytes, indent);
        }
        let base = indents.len() + block;
        if base > MAX_DEPTH {
            return Err(too_deep(n));
        }
        // Flow brackets, quotes and comments on the rest of the line.
        let mut prev_blank = true;
        if flow == 0 {
            last_sig = None;
        }
        let mut j = at;
        let mut prev_quote_closed = false;
        while j < bytes.len() {
            let b = bytes[j];
            let quote_was_open = quote.is_some();
            match quote {
                Some(b'"') => {
                    if b == b'\\' {
                        j += 1;
                    } else if b == b'"' {
                        quote = None;
                    }
                }
                Some(_) => {
                    if b == b'\'' {
                        if bytes.get(j + 1) == Some(&b'\'') {
                            j += 1; // '' is an escaped quote
                        } else {
                            quote = None;
                        }
                    }
                }
                None => match b {
                    b'#' if prev_blank => break,
                    b'"' | b'\''
                        if match last_sig {
                            None | Some(b'[' | b'{' | b',') => true,
                            Some(b':' | b'-' | b'?') => prev_blank || colon_after_quote,
                            Some(_) => false,
                        } =>
                    {
                        quote = Some(b);
                    }
                    b'[' | b'{' if flow > 0 || last_sig.is_none_or(|s| matches!(s, b':' | b'-' | b'?')) => {
                        flow += 1;
                        if base + flow > MAX_DEPTH {
                            return Err(too_deep(n));
                        }
                    }
                    b']' | b'}' if flow > 0 => flow -= 1,
                    _ => {}
                },
            }
            if !b.is_ascii_whitespace() {
                colon_after_quote = b == b':' && quote.is_none() && matches!(last_sig, Some(b'"' | b'\'')) && prev_quote_closed;
                prev_quote_closed = quote_was_open && quote.is_none();
                last_sig = Some(b);
            }
            prev_blank = b.is_ascii_whitespace();
            j += 1;
        }
        if flow == 0 && quote.is_none() && opens_block_scalar(line) {
            scalar_of = Some(indent);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_ok(text: &str) -> bool {
        check_depth(text, "t.yaml", Kind::Spec).is_ok()
    }

    #[test]
    fn ordinary_yaml_passes_the_depth_check() {
        assert!(depth_ok(crate::spec::EMBEDDED_SPEC));
        assert!(depth_ok(crate::DEMO_SCENARIO));
        assert!(depth_ok("a:\n  b: [1, {c: \"[[[[\"}]\n  d: 'x{{{'\n  e: |\n    [[[[[[\n      {{{{{\n  f: a[1 # [[[[\n"));
        let nested_64 = format!("{}{}", "[".repeat(63), "]".repeat(63));
        assert!(depth_ok(&nested_64));
    }

    #[test]
    fn deep_flow_and_block_nesting_are_refused_with_a_line() {
        let flow = format!("a: 1\nb: {}", "[".repeat(100_000));
        let e = check_depth(&flow, "deep.yaml", Kind::Spec).expect_err("too deep");
        assert!(e.to_string().starts_with("deep.yaml:2: nested deeper than 64"), "{e}");
        let block = (0..100).map(|i| format!("{}k{i}:", " ".repeat(i))).collect::<Vec<_>>().join("\n");
        let e = check_depth(&block, "deep.yaml", Kind::RuleFile).expect_err("too deep");
        assert!(e.to_string().starts_with("deep.yaml:65:"), "{e}");
        let dashes = format!("{}x\n", "- ".repeat(100));
        assert!(!depth_ok(&dashes));
        let json = format!("{}{}", "{\"a\":".repeat(100), "}".repeat(100));
        assert!(!depth_ok(&json));
        // A stray quote (part of a plain scalar to YAML) hides nothing.
        let deep = "[".repeat(100);
        assert!(!depth_ok(&format!("a: [x\", {deep}")));
        assert!(!depth_ok(&format!("a: [x\n \"b, {deep}")));
        assert!(!depth_ok(&format!("a: [-\", {deep}")));
        assert!(!depth_ok(&format!("a: b \"c\n{deep}")));
        // Real quotes are skipped, JSON style and YAML escapes included.
        let quoted = "[".repeat(100);
        assert!(depth_ok(&format!("{{\"a\":\"{quoted}\", 'b': 'it''s {quoted}', \"c\": [\"{quoted}\"]}}")));
        assert!(depth_ok(&format!("a:\n  - \"{quoted}\n    {quoted}\"\n  - b\n")));
    }

    #[test]
    fn devices_directories_and_fifos_are_refused_by_name() {
        let e = read_text(Path::new("/dev/zero"), Kind::Recording).expect_err("device");
        assert_eq!(e.to_string(), "/dev/zero: is a character device; expected a recording as a regular file");
        let dir = tempfile::tempdir().expect("tempdir");
        let e = read_text(dir.path(), Kind::Spec).expect_err("dir");
        assert!(e.to_string().contains("is a directory"), "{e}");
        let fifo = dir.path().join("x.yaml");
        rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, rustix::fs::Mode::from_raw_mode(0o600)).expect("mkfifo");
        let e = read_text(&fifo, Kind::RuleFile).expect_err("fifo");
        assert!(e.to_string().contains("is a FIFO"), "{e}");
    }

    #[test]
    fn sizes_are_capped_while_reading() {
        let e = read_capped(std::io::repeat(b'a'), "big.yaml", Kind::Scenario).expect_err("cap");
        assert!(matches!(e, InputError::TooLarge { cap, .. } if cap == 4 * MIB), "{e}");
        let dir = tempfile::tempdir().expect("tempdir");
        let big = dir.path().join("big.yaml");
        let f = File::create(&big).expect("create");
        f.set_len(5 * MIB).expect("sparse");
        assert!(matches!(read_text(&big, Kind::Spec), Err(InputError::TooLarge { .. })));
        assert_eq!(read_bytes(&big, Kind::IocList).map(|b| b.len()).ok(), Some(5 * MIB as usize));
    }

    // Every kind of file we are given, hostile: refused, never read
    // forever, never hanging, never panicking.

    fn mkfifo(path: &Path) {
        rustix::fs::mkfifoat(rustix::fs::CWD, path, rustix::fs::Mode::from_raw_mode(0o600)).expect("mkfifo");
    }

    /// Run `f` on a thread; fail if it has not returned within `secs`
    /// (a hang fails the test instead of hanging the suite).
    fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(std::time::Duration::from_secs(secs)).expect("returned within the deadline")
    }

    #[test]
    fn dev_zero_is_refused_as_spec_rules_ioc_and_replay() {
        let zero = Path::new("/dev/zero");
        let e = within(10, || crate::spec::Spec::from_file(Path::new("/dev/zero")).map(|_| ()).map_err(|e| e.to_string())).expect_err("spec");
        assert_eq!(e, "/dev/zero: is a character device; expected a spec as a regular file");
        let e = within(10, || crate::collect::ReplaySource::open(Path::new("/dev/zero")).map(|_| ()).map_err(|e| e.to_string())).expect_err("replay");
        assert!(e.contains("is a character device; expected a recording"), "{e}");
        let e = crate::rules::IocSet::new().load_file(zero, None).expect_err("ioc");
        assert_eq!(e.to_string(), "/dev/zero: is a character device; expected an IOC list as a regular file");
        // A rules folder holding a symlink named x.yaml to /dev/zero.
        let dir = tempfile::tempdir().expect("tempdir");
        std::os::unix::fs::symlink(zero, dir.path().join("x.yaml")).expect("symlink");
        let d = dir.path().to_path_buf();
        let e = within(10, move || crate::rules::RuleSet::load(Some(&d), true).map(|_| ()).map_err(|e| e.to_string())).expect_err("rules");
        assert!(e.contains("x.yaml: is a character device; expected a rule file"), "{e}");
        // A gzip recording that is /dev/zero.
        let gz = dir.path().join("r.ndjson.gz");
        std::os::unix::fs::symlink(zero, &gz).expect("symlink");
        assert!(crate::collect::ReplaySource::open(&gz).is_err());
    }

    #[test]
    fn a_fifo_in_a_rules_folder_is_refused_not_waited_on() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a.yaml"), "version: 1\nrules: []\n").expect("write");
        mkfifo(&dir.path().join("x.yaml"));
        let d = dir.path().to_path_buf();
        let e = within(10, move || crate::rules::RuleSet::load(Some(&d), true).map(|_| ()).map_err(|e| e.to_string())).expect_err("fifo");
        assert!(e.ends_with("x.yaml: is a FIFO (named pipe); expected a rule file as a regular file"), "{e}");
        // The same FIFO as spec, IOC list, replay and eve file.
        let fifo = dir.path().join("x.yaml");
        let f = fifo.clone();
        assert!(within(10, move || crate::spec::Spec::from_file(&f).is_err()));
        let f = fifo.clone();
        assert!(within(10, move || crate::rules::IocSet::new().load_file(&f, None).is_err()));
        let f = fifo.clone();
        assert!(within(10, move || crate::collect::ReplaySource::open(&f).is_err()));
        let f = fifo.clone();
        assert!(within(10, move || open(&f, Kind::Followed).is_err()));
    }

    #[test]
    fn a_deep_rule_file_or_spec_is_refused_quickly() {
        let deep = format!("version: 1\nrules: {}", "[".repeat(100_000));
        let e = within(10, move || crate::rules::RuleSet::empty().add_text(&deep, "deep.yaml").map_err(|e| e.to_string())).expect_err("deep");
        assert!(e.starts_with("deep.yaml:2: nested deeper than 64 levels"), "{e}");
        let deep = (1..100_000).fold(String::from("a:\n"), |mut text, i| {
            text.push_str(&" ".repeat(i % 200 + 1));
            text.push_str("k:\n");
            text
        });
        assert!(within(10, move || crate::spec::Spec::parse(&deep, "deep.yaml").is_err()));
    }

    #[test]
    fn shipped_files_pass_the_checks() {
        for dir in ["rules", "specs", "assets/demo", "assets/corpus"] {
            let Ok(entries) = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)) else { continue };
            for entry in entries.filter_map(Result::ok) {
                let path = entry.path();
                if path.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                    read_structured(&path, Kind::RuleFile).unwrap_or_else(|e| panic!("{e}"));
                }
            }
        }
    }

    fn recording_header() -> String {
        let header = crate::collect::record::RecordingHeader::new("h".into(), 1000, crate::collect::SourceKind::Replay, "t".into());
        serde_json::to_string(&header).expect("header")
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        #[test]
        fn the_filter_language_never_panics(text in "(?s).{0,200}") {
            let _ = crate::filter::Filter::parse(&text);
        }

        #[test]
        fn filter_like_text_never_panics(text in "[a-z:!=<>~()\"' .0-9/&|-]{0,80}") {
            let _ = crate::filter::Filter::parse(&text);
        }

        #[test]
        fn the_recording_reader_never_panics(text in "(?s).{0,400}") {
            let _ = crate::collect::ReplaySource::from_text(&text, "p.ndjson");
            let _ = crate::collect::ReplaySource::from_text(&format!("{}\n{text}", recording_header()), "p.ndjson");
        }

        #[test]
        fn arbitrary_gzip_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("p.ndjson.gz");
            std::fs::write(&path, &bytes).expect("write");
            let _ = crate::collect::ReplaySource::open(&path);
        }

        #[test]
        fn the_ioc_loader_never_panics(text in "(?s).{0,400}") {
            let _ = crate::rules::IocSet::new().load_text(&text, "p.txt", None, "ioc");
        }

        #[test]
        fn ioc_like_text_never_panics(text in "(\\{\"prefixes\":|ExitAddress |# tag: |[0-9a-f.:/]{0,20}\n){0,20}") {
            let _ = crate::rules::IocSet::new().load_text(&text, "p.txt", None, "ioc");
        }

        #[test]
        fn the_depth_check_never_panics(text in "(?s).{0,300}") {
            let _ = check_depth(&text, "p.yaml", Kind::Spec);
        }
    }
}
