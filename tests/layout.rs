//! The source tree keeps the shape `lib.rs` describes: no import loops between the files of
//! `src/`, no file much over 700 lines, and an `unsafe` block only with a `SAFETY:` line. And the
//! error kinds a record may carry are the same in the code, the JSON Schema and the README.
//!
//! An import is any `crate::…` or `super::…` path in a file, resolved to the deepest module file
//! it names. A module naming its own descendants (declaring them, re-exporting them) is structure,
//! not a dependency, so those edges are left out; every other edge counts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Longest file allowed in `src/`, in lines ("no file over ~700 lines").
const MAX_LINES: usize = 720;

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `src/` with its module path (`pipeline::store::dir`; `""` for the
/// crate root, which `lib.rs` is; `main.rs` is the binary and gets `main`).
fn modules() -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&src_dir(), &mut files);
    let mut modules = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(src_dir()).unwrap().with_extension("");
        let mut parts: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
            parts.pop();
        }
        modules.insert(parts.join("::"), file);
    }
    modules
}

/// The module paths a file's `crate::` and `super::` paths resolve to.
fn imports(module: &str, text: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let bytes = text.as_bytes();
    for (start, _) in text
        .match_indices("crate::")
        .chain(text.match_indices("super::"))
    {
        if start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
            continue;
        }
        let rest = &text[start..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        let path: Vec<&str> = rest[..end].split("::").filter(|s| !s.is_empty()).collect();
        let mut base: Vec<String> = Vec::new();
        let mut parts = path.as_slice();
        if parts.first() == Some(&"crate") {
            parts = &parts[1..];
        } else {
            // `super` is the parent of the module path (for `store/mod.rs`, module
            // `pipeline::store`, that is `pipeline`; for `store/dir.rs` it is `pipeline::store`).
            base = module
                .split("::")
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            let mut supers = 0;
            while parts.first() == Some(&"super") {
                supers += 1;
                parts = &parts[1..];
            }
            for _ in 0..supers {
                base.pop();
            }
        }
        let mut best = base.join("::");
        let mut current = base.clone();
        for part in parts {
            current.push(part.to_string());
            let name = current.join("::");
            if known.contains(&name) {
                best = name;
            } else {
                break;
            }
        }
        found.insert(best);
    }
    found
}

fn is_descendant(module: &str, of: &str) -> bool {
    of.is_empty() || module.starts_with(&format!("{of}::"))
}

#[test]
fn src_has_no_import_loops() {
    let modules = modules();
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, file) in &modules {
        if module == "main" {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        let targets = imports(module, &text, &known)
            .into_iter()
            .filter(|t| t != module && !is_descendant(t, module))
            .collect();
        edges.insert(module.clone(), targets);
    }
    // Depth-first search for a cycle, reporting the first one found in full.
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        stack.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            match state.get(next.as_str()).copied().unwrap_or(0) {
                1 => {
                    let from = stack.iter().position(|m| m == next).unwrap();
                    let mut cycle = stack[from..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(cycle) = visit(next, edges, state, stack) {
                        return Some(cycle);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for module in edges.keys() {
        if state.get(module.as_str()).copied().unwrap_or(0) == 0 {
            let mut stack = Vec::new();
            if let Some(cycle) = visit(module, &edges, &mut state, &mut stack) {
                panic!("import loop: {}", cycle.join(" → "));
            }
        }
    }
    // the CLI is a leaf: nothing in the library below it imports it
    for (module, targets) in &edges {
        if module.starts_with("pipeline") {
            for banned in ["cli", "config", "commands"] {
                assert!(
                    !targets
                        .iter()
                        .any(|t| t == banned || t.starts_with(&format!("{banned}::"))),
                    "{module} imports {banned}"
                );
            }
        }
    }
}

#[test]
fn the_checker_sees_a_loop() {
    // a checker that cannot fail is no check: two files that import each other are a loop
    let known: BTreeSet<String> = ["a", "b"].iter().map(|s| s.to_string()).collect();
    assert!(imports("a", "use crate::b::X;", &known).contains("b"));
    assert!(imports("b", "use super::a::Y;", &known).contains("a"));
    let nested: BTreeSet<String> = ["p", "p::q"].iter().map(|s| s.to_string()).collect();
    assert_eq!(
        imports("p::q", "use super::Thing;", &nested),
        ["p".to_string()].into_iter().collect()
    );
}

#[test]
fn no_file_is_much_over_700_lines() {
    for file in modules().values() {
        let lines = std::fs::read_to_string(file).unwrap().lines().count();
        assert!(lines <= MAX_LINES, "{} has {lines} lines", file.display());
    }
}

#[test]
fn every_unsafe_block_says_why_it_is_sound() {
    for file in modules().values() {
        let text = std::fs::read_to_string(file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if !(code.contains("unsafe {") || code.contains("unsafe{")) {
                continue;
            }
            let window = &lines[i.saturating_sub(4)..=i];
            assert!(
                window.iter().any(|l| l.contains("SAFETY:")),
                "{}:{}: unsafe without a SAFETY: line above it",
                file.display(),
                i + 1
            );
        }
    }
}

/// The snake_case names of `ErrorKind`'s variants, read from `src/error.rs`.
fn error_kinds_in_the_code() -> Vec<String> {
    let text = std::fs::read_to_string(src_dir().join("error.rs")).unwrap();
    let start = text
        .find("pub enum ErrorKind {")
        .expect("ErrorKind in src/error.rs");
    let body = &text[start..start + text[start..].find("\n}").unwrap()];
    let mut kinds = Vec::new();
    for line in body.lines().skip(1).map(str::trim) {
        let Some(variant) = line.strip_suffix(',') else {
            continue;
        };
        if variant.is_empty() || !variant.chars().all(|c| c.is_ascii_alphanumeric()) {
            continue;
        }
        let mut name = String::new();
        for (i, c) in variant.chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                name.push('_');
            }
            name.push(c.to_ascii_lowercase());
        }
        kinds.push(name);
    }
    kinds
}

#[test]
fn every_error_kind_is_in_the_schema_and_the_readme() {
    let kinds = error_kinds_in_the_code();
    assert!(kinds.len() > 20, "{kinds:?}");
    for kind in &kinds {
        // the name serde writes is the one read here
        let back: reelframe::ErrorKind = serde_json::from_value(kind.as_str().into())
            .unwrap_or_else(|_| panic!("{kind} is not how ErrorKind is written"));
        assert_eq!(&back.name(), kind);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("schema/record.schema.json")).unwrap(),
    )
    .unwrap();
    let mut in_schema = Vec::new();
    find_kind_enum(&schema, &mut in_schema);
    let mut sorted = kinds.clone();
    sorted.sort();
    in_schema.sort();
    assert_eq!(
        in_schema, sorted,
        "schema/record.schema.json's error.kind enum"
    );
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let start = readme
        .find("with one of these kinds:")
        .expect("the README lists the error kinds");
    let end = start + readme[start..].find("The JSON Schema is").unwrap();
    let mut in_readme: Vec<String> = readme[start..end]
        .split('`')
        .skip(1)
        .step_by(2)
        // names only, not the flags that explain them
        .filter(|word| word.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .map(str::to_string)
        .collect();
    in_readme.sort();
    assert_eq!(in_readme, sorted, "the README's list of error kinds");
}

/// The `enum` of every object property named `kind` in the schema.
fn find_kind_enum(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                if key == "kind" {
                    if let Some(names) = value.get("enum").and_then(|e| e.as_array()) {
                        out.extend(names.iter().map(|n| n.as_str().unwrap().to_string()));
                    }
                }
                find_kind_enum(value, out);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| find_kind_enum(v, out)),
        _ => {}
    }
}
