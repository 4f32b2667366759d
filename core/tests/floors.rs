//! The core is built in floors, and no module imports one on a higher floor.
//!
//! This test reads every `crate::…` path in `core/src` (test code aside) and fails when a module
//! reaches up, or sideways into another module of its floor. The floors are written once, here;
//! ARCHITECTURE.md describes them. Imports that still run up would be listed in [`KNOWN_UPWARD`];
//! the test also fails when one of them is gone, so the list only ever shrinks, and it is empty.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

/// The core's top-level modules, from the ground up. A module may import any module on a lower
/// floor, none on its own floor but itself, and none above.
const FLOORS: &[&[&str]] = &[
    &["error"],
    &["clock", "crypto", "hlc", "ids", "time", "uniffi_support"],
    &["store"],
    &["record"],
    &["profile", "timeline", "meds", "vault"],
    &["sync"],
    &["open"],
    &["fuzzing"],
];

/// Imports that still run up a floor, each to be moved; none is left.
const KNOWN_UPWARD: &[(&str, &str)] = &[];

fn floor_of(module: &str) -> Option<usize> {
    FLOORS.iter().position(|floor| floor.contains(&module))
}

/// The source of `text` without its inline `#[cfg(test)] mod tests` block (by convention the
/// last item of a file).
fn without_tests(text: &str) -> &str {
    match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    }
}

/// Every `crate::name` in `text`.
fn crate_paths(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices("crate::").filter_map(|(at, _)| {
        let before = text[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            return None;
        }
        let rest = &text[at + "crate::".len()..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        Some(&rest[..end])
    })
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).expect("core/src is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Each (importing module, imported module) pair across two top-level modules.
fn imports() -> BTreeSet<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut pairs = BTreeSet::new();
    for file in files {
        let relative = file.strip_prefix(&src).expect("under src");
        let first = relative
            .components()
            .next()
            .expect("a path")
            .as_os_str()
            .to_string_lossy()
            .into_owned();
        let module = first.trim_end_matches(".rs").to_owned();
        let name = file.file_name().expect("a file name").to_string_lossy();
        if module == "lib" || name == "tests.rs" {
            continue;
        }
        let text = fs::read_to_string(&file).expect("a source file");
        for target in crate_paths(without_tests(&text)) {
            if target != module && floor_of(target).is_some() {
                pairs.insert((module.clone(), target.to_owned()));
            }
        }
    }
    pairs
}

#[test]
fn every_module_of_the_core_has_a_floor() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let declared: Vec<&str> = lib
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            l.strip_prefix("pub mod ")
                .or_else(|| l.strip_prefix("mod "))
        })
        .map(|l| l.trim_end_matches(';'))
        .collect();
    assert!(
        declared.len() >= 10,
        "lib.rs declares its modules: {declared:?}"
    );
    for module in declared {
        assert!(
            floor_of(module).is_some(),
            "`{module}` is declared in lib.rs but on no floor of tests/floors.rs"
        );
    }
}

#[test]
fn no_module_imports_one_on_its_floor_or_higher() {
    let imports = imports();
    let mut wrong = Vec::new();
    for (from, to) in &imports {
        let (f, t) = (floor_of(from), floor_of(to));
        let (Some(f), Some(t)) = (f, t) else {
            wrong.push(format!("{from} -> {to}: a module on no floor"));
            continue;
        };
        let known = KNOWN_UPWARD.contains(&(from.as_str(), to.as_str()));
        if t >= f && !known {
            wrong.push(format!("{from} (floor {f}) imports {to} (floor {t})"));
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that run up or sideways:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_known_upward_imports_are_still_there() {
    let imports = imports();
    for (from, to) in KNOWN_UPWARD {
        assert!(
            imports.contains(&((*from).to_owned(), (*to).to_owned())),
            "{from} no longer imports {to}: take it off KNOWN_UPWARD in tests/floors.rs"
        );
    }
}

#[test]
fn the_reader_finds_an_upward_import() {
    let text = "use crate::store::Store;\nfn f() { crate::vault::recover(); }\n\
                #[cfg(test)]\nmod tests { use crate::meds::x; }";
    let found: Vec<&str> = crate_paths(without_tests(text)).collect();
    assert_eq!(found, ["store", "vault"]);
    assert_eq!(crate_paths("ucrate::x").count(), 0);
}
