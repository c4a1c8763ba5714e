//! The top-level modules of every library crate depend on each other one way: no cycles in
//! non-test code.
//!
//! The graph is read from the code of the sources (comments and string literals left out, and
//! a file's tests: all from its first `#[cfg(test)]`): every `crate::<name>` path, `super::`
//! paths that climb out of a folder, and names the crate root re-exports (`crate::Rows` is
//! `result`'s). A folder (`src/ipc/`) is one module; the crate root (`lib.rs`) is left out,
//! since it names every module. Doc links are not dependencies: rustdoc resolves them without
//! one, and a doc may point at the module that uses it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The library crates whose modules are checked.
const CRATES: [&str; 10] = [
    "cave-wire",
    "cave-schema",
    "cave-codegen",
    "cave-macros",
    "cave-runtime",
    "cave-cli",
    "cave-build",
    "cave-devserver",
    "cave-sql",
    "cave-distributed",
];

/// Where a module uses another, for the report.
type Edges = BTreeMap<(String, String), String>;

fn src(krate: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(krate)
        .join("src")
}

fn runtime() -> PathBuf {
    src("cave-runtime")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file: `src/ipc/buffers/pool.rs` is `ipc::buffers::pool`,
/// `src/ipc/mod.rs` is `ipc`, `src/lib.rs` the root.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

/// The code of a file before its tests: comments and the contents of string and character
/// literals blanked (newlines kept, so that line numbers stay).
fn non_test_code(text: &str) -> String {
    let text = text.find("#[cfg(test)]").map_or(text, |at| &text[..at]);
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if c == 'r' && matches!(next, Some('"' | '#')) && !ident_before(&chars, i) {
            // A raw string: r"...", r#"..."#.
            let hashes = chars[i + 1..].iter().take_while(|&&h| h == '#').count();
            if chars.get(i + 1 + hashes) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            i += hashes + 2;
            out.push('"');
            while i < chars.len() {
                let closes =
                    chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#'));
                if closes {
                    i += hashes + 1;
                    break;
                }
                out.push(blank(chars[i]));
                i += 1;
            }
            out.push('"');
        } else if c == '"' {
            out.push('"');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if let Some(&ch) = chars.get(i) {
                    out.push(blank(ch));
                }
                i += 1;
            }
            out.push('"');
            i += 1;
        } else if c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')) {
            // A character literal (not a lifetime).
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            out.push_str("' '");
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_before(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

fn ident_at(text: &str, at: usize) -> &str {
    let rest = &text[at..];
    let end = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    &rest[..end]
}

/// The names after `prefix` in `text` (a `crate::{a, b::c}` group gives `a` and `b`), with
/// the line each is on.
fn names_after<'t>(text: &'t str, prefix: &str) -> Vec<(&'t str, usize)> {
    let mut out = Vec::new();
    for (at, _) in text.match_indices(prefix) {
        let before = text[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let line = text[..at].matches('\n').count() + 1;
        let after = at + prefix.len();
        if text[after..].starts_with('{') {
            let group_end = text[after..].find('}').map_or(text.len(), |e| after + e);
            for item in text[after + 1..group_end].split(',') {
                let item = item.trim();
                let name = ident_at(item, 0);
                if !name.is_empty() {
                    out.push((name, line));
                }
            }
        } else {
            out.push((ident_at(text, after), line));
        }
    }
    out
}

/// The names the crate root re-exports, and the module each comes from
/// (`pub use result::{Batches, QueryInfo, Rows};`).
fn root_reexports(lib: &str, modules: &BTreeSet<String>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in lib.lines().filter(|l| l.starts_with("pub use ")) {
        let path = line["pub use ".len()..].trim_end_matches(';');
        let Some((module, names)) = path.split_once("::") else {
            continue;
        };
        if !modules.contains(module) {
            continue;
        }
        let names = names.trim_start_matches('{').trim_end_matches('}');
        for name in names.split(',') {
            let name = name.trim();
            if !name.is_empty() {
                out.insert(name.to_string(), module.to_string());
            }
        }
    }
    out
}

fn graph(src: &Path) -> (BTreeSet<String>, Edges) {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeSet<String> = files
        .iter()
        .filter_map(|f| module_path(src, f).first().cloned())
        .collect();
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let reexports = root_reexports(&lib, &modules);
    let mut edges = Edges::new();
    for file in &files {
        let path = module_path(src, file);
        let Some(from) = path.first() else {
            continue; // the crate root
        };
        let text = non_test_code(&std::fs::read_to_string(file).unwrap());
        let text = text.as_str();
        let rel = file.strip_prefix(src).unwrap().display().to_string();
        let mut uses: Vec<(String, usize)> = Vec::new();
        for (name, line) in names_after(text, "crate::") {
            let module = reexports.get(name).map_or(name, String::as_str);
            uses.push((module.to_string(), line));
        }
        // `super::` climbs from the file's module: out of the folder only from its top file
        // (`src/ipc.rs` or `src/ipc/mod.rs`), or with enough `super::`s.
        for (at, _) in text.match_indices("super::") {
            if text[..at].ends_with("super::") {
                continue;
            }
            let mut ups = 0;
            let mut rest = &text[at..];
            while let Some(r) = rest.strip_prefix("super::") {
                ups += 1;
                rest = r;
            }
            if ups >= path.len() {
                let line = text[..at].matches('\n').count() + 1;
                let name = ident_at(rest, 0);
                let module = reexports.get(name).map_or(name, String::as_str);
                uses.push((module.to_string(), line));
            }
        }
        for (to, line) in uses {
            if &to != from && modules.contains(&to) {
                edges
                    .entry((from.clone(), to))
                    .or_insert_with(|| format!("{rel}:{line}"));
            }
        }
    }
    (modules, edges)
}

/// Strongly connected components of more than one module (Tarjan's algorithm).
fn cycles(modules: &BTreeSet<String>, edges: &Edges) -> Vec<BTreeSet<String>> {
    struct State<'a> {
        next: &'a BTreeMap<&'a str, Vec<&'a str>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<BTreeSet<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        for &w in s.next.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = BTreeSet::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.insert(w.to_string());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                s.found.push(component);
            }
        }
    }
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, to) in edges.keys() {
        next.entry(from.as_str()).or_default().push(to.as_str());
    }
    let mut state = State {
        next: &next,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for m in modules {
        if !state.index.contains_key(m.as_str()) {
            visit(&mut state, m);
        }
    }
    state.found
}

fn describe(component: &BTreeSet<String>, edges: &Edges) -> String {
    let mut out = format!(
        "cycle: {}\n",
        component.iter().cloned().collect::<Vec<_>>().join(" <-> ")
    );
    for ((from, to), at) in edges {
        if component.contains(from) && component.contains(to) {
            out += &format!("  {from} -> {to}  ({at})\n");
        }
    }
    out
}

#[test]
fn top_level_modules_of_every_library_have_no_cycles() {
    let mut failures = String::new();
    for krate in CRATES {
        let (modules, edges) = graph(&src(krate));
        for c in cycles(&modules, &edges) {
            failures += &format!("{krate}: {}", describe(&c, &edges));
        }
    }
    assert!(failures.is_empty(), "module cycles:\n{failures}");
}

/// The reader is below the answer: `response` uses `ipc`, and nothing `ipc` uses leads back.
#[test]
fn the_ipc_reader_does_not_reach_response() {
    let (_, edges) = graph(&runtime());
    let mut reached = BTreeSet::from(["ipc".to_string()]);
    let mut todo = vec!["ipc".to_string()];
    while let Some(m) = todo.pop() {
        for (from, to) in edges.keys() {
            if *from == m && reached.insert(to.clone()) {
                todo.push(to.clone());
            }
        }
    }
    assert!(
        !reached.contains("response"),
        "ipc reaches response through {reached:?}"
    );
}

/// The scan finds what it should: without these edges the test above would pass vacuously.
#[test]
fn the_scan_sees_known_dependencies() {
    let (modules, edges) = graph(&runtime());
    assert!(
        modules.contains("ipc") && modules.contains("response"),
        "{modules:?}"
    );
    for (from, to) in [
        ("response", "ipc"),
        ("stream", "response"),
        ("client", "http"),
    ] {
        assert!(
            edges.contains_key(&(from.to_string(), to.to_string())),
            "{from} -> {to} not found in {:?}",
            edges.keys().collect::<Vec<_>>()
        );
    }
}

#[test]
fn comments_strings_and_tests_are_not_code() {
    let code = non_test_code(
        "use crate::a; // crate::b\n/* crate::c /* crate::d */ */ let s = \"crate::e \\\" crate::f\";\n\
         let r = r#\"crate::g\"#; let c = '\"'; fn f<'x>(_: &'x crate::h::T) {}\n\
         #[cfg(test)]\nuse crate::i;",
    );
    let names: Vec<&str> = names_after(&code, "crate::")
        .iter()
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(names, ["a", "h"], "{code}");
    assert_eq!(code.lines().count(), 3);
}
