//! The house's layers, checked on the source tree: which top-level module
//! of the library may import which (`crate::X` paths outside test code),
//! and no import cycle between them. The layers are written in the
//! README's design section; this test is what keeps them true.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Modules that are the core: they know no screen and no protocol.
const CORE: &[&str] = &[
    "terms",
    "text",
    "duration",
    "both",
    "worker",
    "memory",
    "spare",
    "slots",
    "drop_beside",
    "input",
    "spec",
    "model",
    "names",
    "collect",
    "rules",
    "baseline",
    "store",
    "intel",
    "export",
    "collector",
    "config",
    "agents",
    "logins",
    "posture",
    "fleet",
];
/// Front ends: peers over the same snapshot.
const FRONT_ENDS: &[&str] = &["tui", "mcp"];

/// Imports a module must never make.
fn forbidden(from: &str, to: &str) -> Option<&'static str> {
    if CORE.contains(&from) && FRONT_ENDS.contains(&to) {
        return Some("the core never imports a front end");
    }
    if FRONT_ENDS.contains(&from) && FRONT_ENDS.contains(&to) && from != to {
        return Some("front ends never import each other");
    }
    if from == "model" && ["collect", "collector", "store", "names", "rules", "intel", "baseline", "export"].contains(&to) {
        return Some("the model imports no collector, store or engine");
    }
    if ["terms", "text", "duration", "both", "worker", "memory", "spare", "slots", "drop_beside"].contains(&from) {
        return Some("a leaf imports nothing of the crate");
    }
    None
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src").map_while(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The library module a file belongs to (`src/model/build.rs` → `model`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_string_lossy().into_owned();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_string();
    // The binary's own files are not the library.
    (!["main", "lib", "bin", "cmd"].contains(&name.as_str())).then_some(name)
}

/// The text of a file that is not test code: files named `*_tests.rs` or
/// `tests.rs` are tests, and so is everything from a `#[cfg(test)]` line on
/// (test modules sit at the end of a file: clippy's
/// `items_after_test_module` keeps it so).
fn non_test_text(file: &Path) -> String {
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if name.ends_with("_tests.rs") || name == "tests.rs" {
        return String::new();
    }
    let text = std::fs::read_to_string(file).expect("read source");
    let end = text.find("#[cfg(test)]").unwrap_or(text.len());
    text[..end].to_string()
}

/// `crate::X` references in code (comments skipped).
fn imports(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            let name: String = after.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            let preceded_by_ident = rest[..i].chars().last().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
            if !name.is_empty() && !preceded_by_ident {
                out.insert(name);
            }
            rest = after;
        }
    }
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let Some(from) = module_of(&src, &file) else { continue };
        let entry = edges.entry(from.clone()).or_default();
        for to in imports(&non_test_text(&file)) {
            if to != from {
                entry.insert(to);
            }
        }
    }
    edges
}

#[test]
fn no_module_imports_one_it_must_not() {
    let edges = graph();
    assert!(edges.contains_key("model") && edges.contains_key("tui"), "the scan found the modules: {:?}", edges.keys());
    let mut wrong = Vec::new();
    for (from, tos) in &edges {
        for to in tos {
            if let Some(rule) = forbidden(from, to) {
                wrong.push(format!("{from} imports {to}: {rule}"));
            }
        }
    }
    assert!(wrong.is_empty(), "layer violations:\n{}", wrong.join("\n"));
}

/// Depth-first search for back edges, each reported as its cycle.
fn visit(node: &str, edges: &BTreeMap<String, BTreeSet<String>>, path: &mut Vec<String>, done: &mut BTreeSet<String>, cycles: &mut Vec<String>) {
    if let Some(i) = path.iter().position(|p| p == node) {
        cycles.push(format!("{} → {node}", path[i..].join(" → ")));
        return;
    }
    if done.contains(node) {
        return;
    }
    path.push(node.to_string());
    for next in edges.get(node).into_iter().flatten() {
        if edges.contains_key(next) {
            visit(next, edges, path, done, cycles);
        }
    }
    path.pop();
    done.insert(node.to_string());
}

/// `unsafe` is denied by the crate's lints and allowed in one place: the
/// single `mallopt` call of `src/memory.rs`. Any other `unsafe` block, fn,
/// impl or extern anywhere under `src/` (tests included) fails here.
#[test]
fn unsafe_only_in_the_memory_module() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read source");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            let word = code.match_indices("unsafe").any(|(at, _)| {
                let before = code[..at].chars().next_back();
                let after = code[at + "unsafe".len()..].chars().next();
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '"' || c == '`')
                    && !after.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '"' || c == '`')
            });
            if word {
                found.push(format!("{}:{}: {}", file.strip_prefix(&src).unwrap_or(file).display(), n + 1, line.trim()));
            }
        }
    }
    let allowed: Vec<&String> = found.iter().filter(|f| f.starts_with("memory.rs:")).collect();
    let elsewhere: Vec<&String> = found.iter().filter(|f| !f.starts_with("memory.rs:")).collect();
    assert!(elsewhere.is_empty(), "unsafe outside src/memory.rs:\n{}", elsewhere.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n"));
    assert_eq!(allowed.len(), 1, "src/memory.rs should hold one unsafe call: {allowed:?}");
}

#[test]
fn no_import_cycle_between_modules() {
    let edges = graph();
    let (mut done, mut cycles) = (BTreeSet::new(), Vec::new());
    for node in edges.keys() {
        visit(node, &edges, &mut Vec::new(), &mut done, &mut cycles);
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_scanner_sees_imports_and_skips_tests_and_comments() {
    let text = "use crate::model::Snapshot;\n// crate::tui is only named here\nfn f() { crate::text::bounded(\"\", 1); }\n#[cfg(test)]\nmod tests { use crate::tui::App; }\n";
    let dir = std::env::temp_dir().join(format!("necromap-arch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let file = dir.join("x.rs");
    std::fs::write(&file, text).expect("write");
    let found = imports(&non_test_text(&file));
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(found, BTreeSet::from(["model".to_string(), "text".to_string()]));
    assert!(forbidden("model", "collect").is_some());
    assert!(forbidden("tui", "mcp").is_some());
    assert!(forbidden("rules", "model").is_none());
}
