//! The module layout (issue 9): the top-level modules of `src/` form one pipeline, and a
//! module only ever uses modules below it. This test reads every `crate::…` path in
//! `src/**/*.rs` (in `use` lines, `use crate::{a, b}` groups and inline paths, tests and
//! macros included), builds the edges between top-level modules, prints them, and fails on
//! any edge that runs up or sideways in [`LAYERS`] — which also rules out every cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The declared order, bottom first. A module may use modules of lower layers only.
const LAYERS: &[&[&str]] = &[
    // Leaves: no crate imports. `generate` shares no analyser code on purpose (a synthetic
    // region that borrowed the analyser's rules would test them against themselves).
    &[
        "error",
        "lang",
        "progress",
        "memory",
        "stats",
        "charts",
        "reference",
        "peers",
        "generate",
    ],
    // Checks on input paths (a pipe or device must not block a read).
    &["files"],
    &["schema", "config", "json"],
    &["catalog"],
    &["ingest"],
    // `Day` and the date parser live in `ingest::values`; `period` reads `--period` with it.
    &["period"],
    &["derive"],
    &["region"],
    &["cluster"],
    &["indicators"],
    &["compare"],
    &["rank"],
    &["leads"],
    &["audit"],
    &["published"],
    &["report"],
    &["evaluate"],
    &["cli"],
    &["cmd"],
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let p = entry.expect("dir entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The source without `//` comments (doc comments name modules in prose and links).
fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident_at(s: &str) -> &str {
    let s = s.trim_start();
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The top-level modules a file's code names through `crate::`.
fn targets(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let before = code[..i].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `drg_audit_crate::` and the like
        }
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a::X, b::{self, Y}}`: the first name of every top-level item.
            let mut depth = 0usize;
            let mut start = 0usize;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        out.insert(ident_at(&group[start..j]).to_string());
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.insert(ident_at(&group[start..j]).to_string());
                        start = j + 1;
                    }
                    _ => {}
                }
            }
        } else {
            out.insert(ident_at(rest).to_string());
        }
    }
    out.retain(|t| !t.is_empty() && t != "self");
    out
}

/// Edges `from → to` between top-level modules, each with the first file that makes it.
fn edges(src: &Path) -> BTreeMap<(String, String), String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut out = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(src).expect("under src");
        let first = rel.components().next().expect("a component");
        let top = first.as_os_str().to_string_lossy();
        let top = top.trim_end_matches(".rs").to_string();
        if top == "main" || top == "lib" {
            continue;
        }
        let code = strip_comments(&std::fs::read_to_string(&f).expect("read source"));
        for t in targets(&code) {
            if t != top {
                out.entry((top.clone(), t))
                    .or_insert_with(|| rel.display().to_string());
            }
        }
    }
    out
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

#[test]
fn top_level_modules_depend_only_downward() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).expect("read lib.rs");
    let declared: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';'))
        .collect();
    let unplaced: Vec<&&str> = declared.iter().filter(|m| layer_of(m).is_none()).collect();
    assert!(
        unplaced.is_empty(),
        "modules missing from LAYERS: {unplaced:?}"
    );
    let edges = edges(&root.join("src"));
    let mut wrong = Vec::new();
    for ((from, to), file) in &edges {
        let (Some(a), Some(b)) = (layer_of(from), layer_of(to)) else {
            wrong.push(format!("{from} -> {to} ({file}): not in LAYERS"));
            continue;
        };
        println!("{from} -> {to}");
        if b >= a {
            wrong.push(format!("{from} -> {to} ({file}) runs up or sideways"));
        }
    }
    assert!(edges.len() > 20, "the scan found too few edges: {edges:?}");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_scan_sees_groups_inline_paths_and_macros() {
    let code = "use crate::{audit::Audit, report::{self, X}};\nlet x = crate::region::Region::new();\n$crate::lang::Lang::Zh";
    let t: Vec<String> = targets(code).into_iter().collect();
    assert_eq!(t, ["audit", "lang", "region", "report"]);
    assert!(targets(&strip_comments("// see crate::cmd")).is_empty());
}
