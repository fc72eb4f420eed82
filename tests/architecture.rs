//! The module layering of `docs/architecture.md`, checked: every top-level module of `src/`
//! sits in a layer and imports (`crate::<module>`) only modules of lower layers, so the modules
//! form no cycle. Test code (`#[cfg(test)]` and `tests.rs` files) and comments are exempt.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Lowest layer first; a module may import only modules of a lower layer.
const LAYERS: &[&[&str]] = &[
    &["spec", "progress", "backend", "files", "host", "plot"],
    &["cache", "data"],
    &["graph", "metrics", "models"],
    &["exec", "prune"],
    &["weights", "train"],
    &["pool"],
    &["stages", "analysis"],
    &["attribution", "lost", "ha"],
    &["verdict"],
    &["pipeline"],
    &["report"],
    &["cli"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The top-level modules of `src/` (folders and files, but the crate roots).
fn top_level_modules(src: &Path) -> Vec<String> {
    let mut modules = BTreeSet::new();
    for entry in fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir()
            || (path.extension().is_some_and(|e| e == "rs") && name != "lib" && name != "main")
        {
            modules.insert(name);
        }
    }
    modules.into_iter().collect()
}

/// The non-test source files of `module`.
fn source_files(src: &Path, module: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let file = src.join(format!("{module}.rs"));
    if file.is_file() {
        files.push(file);
    }
    let mut stack = vec![src.join(module)];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                stack.push(path);
            } else if name.ends_with(".rs") && !name.contains("test") {
                files.push(path);
            }
        }
    }
    files
}

/// The top-level modules a source text names as `crate::<module>`, outside comments and test
/// code.
fn imported_modules(text: &str) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    let mut found = BTreeSet::new();
    for line in code.lines() {
        let line = line.split("//").next().unwrap_or("");
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            found.insert(name);
        }
    }
    found
}

/// `module -> modules it imports`, for every top-level module.
fn dependencies(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let modules = top_level_modules(src);
    modules
        .iter()
        .map(|module| {
            let imports = source_files(src, module)
                .iter()
                .flat_map(|file| imported_modules(&fs::read_to_string(file).unwrap()))
                .filter(|other| other != module && modules.contains(other))
                .collect();
            (module.clone(), imports)
        })
        .collect()
}

#[test]
fn every_module_imports_only_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut problems = Vec::new();
    for (module, imports) in dependencies(&src) {
        let Some(layer) = layer_of(&module) else {
            problems.push(format!(
                "`{module}` is in no layer: add it to LAYERS here and to docs/architecture.md"
            ));
            continue;
        };
        for import in imports {
            match layer_of(&import) {
                Some(other) if other < layer => {}
                _ => problems.push(format!(
                    "`{module}` (layer {layer}) imports `{import}` (layer {:?}): layers point down only",
                    layer_of(&import)
                )),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_check_sees_imports_and_skips_comments_and_tests() {
    let text = "use crate::graph::Stage;\n// see crate::cli\nfn f() { crate::data::open(); }\n#[cfg(test)]\nmod tests { use crate::exec; }\n";
    let found: Vec<String> = imported_modules(text).into_iter().collect();
    assert_eq!(found, ["data", "graph"]);
}
