//! The core is built in floors, and no module imports one on a higher floor.
//!
//! This test reads every `crate::…` path in `core/src` (test code aside) and fails when a module
//! reaches up, or sideways into another module of its floor. The floors are written once, here;
//! ARCHITECTURE.md describes them. Imports that still run up would be listed in [`KNOWN_UPWARD`];
//! the test also fails when one of them is gone, so the list only ever shrinks, and it is empty.
//!
//! Inside a feature folder the same holds one level down: no two modules of the folder import
//! each other, directly or round a circle, and none imports from the folder's `mod.rs`, which
//! only declares the modules and re-exports their public names. A folder whose modules stand in
//! floors of their own has them written once, in [`FEATURE_FLOORS`]. Imports that would break
//! this are listed in [`KNOWN_INSIDE`]: none, and it may only stay so.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// The core's top-level modules, from the ground up. A module may import any module on a lower
/// floor, none on its own floor but itself, and none above.
const FLOORS: &[&[&str]] = &[
    &["error"],
    &[
        "clock",
        "crypto",
        "hlc",
        "ids",
        "text",
        "time",
        "uniffi_support",
    ],
    &["store"],
    &["record"],
    &["profile", "timeline", "meds", "vault"],
    &["sync"],
    &["open"],
    &["fuzzing"],
];

/// Imports that still run up a floor, each to be moved; none is left.
const KNOWN_UPWARD: &[(&str, &str)] = &[];

/// The floors inside a feature folder, from the ground up: a module of the folder imports only
/// modules of the folder on lower floors. Every module of the folder stands on one.
const FEATURE_FLOORS: &[(&str, &[&[&str]])] = &[(
    "meds",
    &[
        &["calendar", "regimen"],
        &["compiled"],
        &["occurrence"],
        &["compile"],
        &["medication", "rrule"],
        &["as_needed"],
        &["dose_log"],
        &["day", "adherence"],
        &["plan"],
    ],
)];

/// The folder's `mod.rs`, as an import target: "`module` imports from its parent".
const PARENT: &str = "mod";

/// Imports inside a feature folder that still close a circle or reach into the folder's
/// `mod.rs`, as (folder, importing module, imported module or [`PARENT`]); each to be moved.
const KNOWN_INSIDE: &[(&str, &str, &str)] = &[];

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

/// The first name of each path after `prefix` in `text`: `prefix` then `name`, or `prefix` then
/// a `{…}` group, whose items each give their first name (`self` and `*` included).
fn names_after<'t>(text: &'t str, prefix: &str) -> Vec<&'t str> {
    let ident_end = |rest: &str| {
        rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len())
    };
    let first_name = |item: &'t str| -> Option<&'t str> {
        let item = item.trim_start();
        if item.starts_with('*') {
            return Some(&item[..1]);
        }
        let end = ident_end(item);
        (end > 0).then(|| &item[..end])
    };
    let mut names = Vec::new();
    for (at, _) in text.match_indices(prefix) {
        let before = text[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let rest = &text[at + prefix.len()..];
        let Some(group) = rest.strip_prefix('{') else {
            names.extend(first_name(rest));
            continue;
        };
        let (mut depth, mut start) = (0, 0);
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    names.extend(first_name(&group[start..i]));
                    break;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    names.extend(first_name(&group[start..i]));
                    start = i + 1;
                }
                _ => {}
            }
        }
    }
    names
}

/// The feature folders: the modules on the features' floor that are folders.
fn feature_folders() -> Vec<(String, std::path::PathBuf)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let features = FLOORS
        .iter()
        .find(|floor| floor.contains(&"meds"))
        .expect("the features' floor");
    features
        .iter()
        .map(|f| ((*f).to_owned(), src.join(f)))
        .filter(|(_, dir)| dir.is_dir())
        .collect()
}

/// Each (importing module, imported module or [`PARENT`]) pair inside the folder `dir` of
/// feature `feature`. A module is a file of the folder, or a folder in it read as one module;
/// `super::` is read in the folder's own files, `crate::feature::` everywhere.
fn imports_inside(feature: &str, dir: &Path) -> BTreeSet<(String, String)> {
    let mut modules = BTreeMap::new();
    for entry in fs::read_dir(dir).expect("a feature folder is readable") {
        let path = entry.expect("a directory entry").path();
        let stem = path
            .file_stem()
            .expect("a file name")
            .to_string_lossy()
            .into_owned();
        if stem == "mod" || stem == "tests" {
            continue;
        }
        let mut files = Vec::new();
        if path.is_dir() {
            rust_files(&path, &mut files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
        modules.insert(stem, files);
    }
    let own = format!("crate::{feature}::");
    let mut pairs = BTreeSet::new();
    for (module, files) in &modules {
        for file in files {
            if file.file_name().is_some_and(|n| n == "tests.rs") {
                continue;
            }
            let text = fs::read_to_string(file).expect("a source file");
            let text = without_tests(&text);
            let mut names = names_after(text, &own);
            if file.parent() == Some(dir) {
                names.extend(names_after(text, "super::"));
            }
            // `super::super::` leaves the folder.
            for name in names.into_iter().filter(|n| *n != "super") {
                let target = if modules.contains_key(name) {
                    name
                } else {
                    PARENT
                };
                if target != module {
                    pairs.insert((module.clone(), target.to_owned()));
                }
            }
        }
    }
    pairs
}

/// A circle through `imports` (a path that comes back to its start), if there is one.
fn circle(imports: &BTreeSet<(String, String)>) -> Option<Vec<String>> {
    fn visit(
        module: &str,
        imports: &BTreeSet<(String, String)>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|m| m == module) {
            let mut found = path[at..].to_vec();
            found.push(module.to_owned());
            return Some(found);
        }
        if done.contains(module) {
            return None;
        }
        path.push(module.to_owned());
        for (_, to) in imports.iter().filter(|(from, _)| from == module) {
            if let Some(found) = visit(to, imports, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(module.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    imports
        .iter()
        .find_map(|(from, _)| visit(from, imports, &mut Vec::new(), &mut done))
}

/// What is wrong with the imports inside folder `feature`, one line each.
fn wrong_inside(feature: &str, imports: &BTreeSet<(String, String)>) -> Vec<String> {
    let known = |from: &str, to: &str| KNOWN_INSIDE.contains(&(feature, from, to));
    let mut wrong = Vec::new();
    for (from, to) in imports {
        if to == PARENT && !known(from, to) {
            wrong.push(format!(
                "{feature}/{from} imports from {feature}/mod.rs: import from the module that \
                 defines it"
            ));
        }
    }
    let siblings: BTreeSet<(String, String)> = imports
        .iter()
        .filter(|(from, to)| to != PARENT && !known(from, to))
        .cloned()
        .collect();
    if let Some(found) = circle(&siblings) {
        wrong.push(format!("{feature}: a circle {}", found.join(" -> ")));
    }
    if let Some((_, floors)) = FEATURE_FLOORS.iter().find(|(f, _)| *f == feature) {
        let floor_of = |m: &str| floors.iter().position(|floor| floor.contains(&m));
        for (from, to) in &siblings {
            match (floor_of(from), floor_of(to)) {
                (Some(f), Some(t)) if t < f => {}
                (Some(f), Some(t)) => wrong.push(format!(
                    "{feature}/{from} (floor {f}) imports {feature}/{to} (floor {t})"
                )),
                _ => {}
            }
        }
    }
    wrong
}

#[test]
fn every_module_of_a_feature_folder_with_floors_has_one() {
    let folders = feature_folders();
    for (feature, floors) in FEATURE_FLOORS {
        let (_, dir) = folders
            .iter()
            .find(|(f, _)| f == feature)
            .unwrap_or_else(|| panic!("FEATURE_FLOORS names `{feature}`, not a feature folder"));
        let mut modules: BTreeSet<String> = BTreeSet::new();
        for entry in fs::read_dir(dir).expect("a feature folder") {
            let path = entry.expect("a directory entry").path();
            let stem = path.file_stem().expect("a name").to_string_lossy();
            if stem != "mod" && stem != "tests" {
                modules.insert(stem.into_owned());
            }
        }
        let placed: Vec<&str> = floors.iter().flat_map(|f| f.iter().copied()).collect();
        for module in &modules {
            let times = placed.iter().filter(|m| **m == module.as_str()).count();
            assert_eq!(
                times, 1,
                "`{feature}/{module}` stands on {times} floors of FEATURE_FLOORS, not one"
            );
        }
        for module in placed {
            assert!(
                modules.contains(module),
                "FEATURE_FLOORS places `{feature}/{module}`, which is no module"
            );
        }
    }
}

#[test]
fn no_module_of_a_feature_folder_imports_round_a_circle_or_from_its_face() {
    let mut wrong = Vec::new();
    for (feature, dir) in feature_folders() {
        wrong.extend(wrong_inside(&feature, &imports_inside(&feature, &dir)));
    }
    assert!(
        wrong.is_empty(),
        "imports inside feature folders:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_known_imports_inside_feature_folders_are_still_there() {
    let folders = feature_folders();
    for (feature, from, to) in KNOWN_INSIDE {
        let (_, dir) = folders
            .iter()
            .find(|(f, _)| f == feature)
            .expect("a feature folder");
        assert!(
            imports_inside(feature, dir).contains(&((*from).to_owned(), (*to).to_owned())),
            "{feature}/{from} no longer imports {to}: take it off KNOWN_INSIDE in tests/floors.rs"
        );
    }
}

#[test]
fn the_reader_finds_imports_inside_a_folder() {
    let text = "use super::calendar::add_days;\nuse super::{DOSE, dose_log::{DoseRows, Logged}};\n\
                fn f() { super::super::x(); crate::meds::plan::g(); use super::*; }";
    assert_eq!(
        names_after(text, "super::"),
        ["calendar", "DOSE", "dose_log", "super", "*"]
    );
    assert_eq!(names_after(text, "crate::meds::"), ["plan"]);
}

#[test]
fn a_circle_or_a_floor_run_backwards_inside_a_folder_is_found() {
    let pairs = |list: &[(&str, &str)]| -> BTreeSet<(String, String)> {
        list.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    };
    let round = pairs(&[("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")]);
    assert_eq!(
        circle(&round).map(|c| c.join(" -> ")).as_deref(),
        Some("a -> b -> c -> a")
    );
    assert_eq!(circle(&pairs(&[("a", "b"), ("b", "c"), ("a", "c")])), None);
    let wrong = wrong_inside(
        "meds",
        &pairs(&[("calendar", "plan"), ("plan", "calendar"), ("day", PARENT)]),
    );
    assert_eq!(wrong.len(), 3, "{wrong:?}");
    assert!(
        wrong[0].starts_with("meds/day imports from meds/mod.rs"),
        "{wrong:?}"
    );
    assert!(wrong[1].starts_with("meds: a circle"), "{wrong:?}");
    assert!(
        wrong[2].starts_with("meds/calendar (floor 0) imports meds/plan"),
        "{wrong:?}"
    );
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
