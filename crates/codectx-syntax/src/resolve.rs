//! Resolution of imports to repository files, and Rust module paths.

use std::collections::{HashMap, HashSet};

use codectx_core::{Import, Language};

/// The set of repository paths (`/`-separated, relative to the repository root),
/// indexed for import resolution.
///
/// Built once per indexing run in O(n log n) for n paths; each lookup of
/// [`resolve_imports`] is then a handful of hash probes (plus a scan of the files
/// sharing a file name, for suffix matches of C includes and Java imports).
#[derive(Debug, Default, Clone)]
pub struct FileSet {
    /// Sorted, deduplicated paths.
    paths: Vec<String>,
    files: HashSet<String>,
    /// File name -> indices into `paths`.
    by_name: HashMap<String, Vec<u32>>,
    /// Directory -> first (sorted) non-test `.go` file in it.
    go_dirs: HashMap<String, u32>,
    /// Last component of a Go package directory -> those directories.
    go_dirs_by_last: HashMap<String, Vec<String>>,
    /// Directory -> first (sorted) `.java` file in it.
    java_dirs: HashMap<String, u32>,
    /// Last component of a Java directory -> those directories.
    java_dirs_by_last: HashMap<String, Vec<String>>,
    /// Top-level Python package name -> directories holding it (`""` for the root).
    py_packages: HashMap<String, Vec<String>>,
    /// Rust crate name (`-` as `_`) -> its `src` directory (the one with `lib.rs`).
    rust_crates: HashMap<String, String>,
}

fn split_dir(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

fn join(dir: &str, rest: &str) -> String {
    if dir.is_empty() {
        rest.to_string()
    } else if rest.is_empty() {
        dir.to_string()
    } else {
        format!("{dir}/{rest}")
    }
}

/// Resolves `.` and `..` components; `None` if the path climbs above the root.
fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            _ => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

/// Number of leading directory components two paths share.
fn common_dir_prefix(a: &str, b: &str) -> usize {
    split_dir(a).0.split('/').zip(split_dir(b).0.split('/')).take_while(|(x, y)| x == y && !x.is_empty()).count()
}

impl FileSet {
    /// Indexes `paths` (repository-relative, `/`-separated; a leading `./` is ignored).
    pub fn new(paths: impl IntoIterator<Item = String>) -> Self {
        let mut paths: Vec<String> = paths
            .into_iter()
            .map(|path| match path.strip_prefix("./") {
                Some(rest) => rest.to_string(),
                None => path,
            })
            .filter(|path| !path.is_empty())
            .collect();
        paths.sort_unstable();
        paths.dedup();
        let mut set = FileSet { files: paths.iter().cloned().collect(), ..FileSet::default() };
        let mut init_dirs: HashSet<&str> = HashSet::new();
        for (index, path) in paths.iter().enumerate() {
            let index = index as u32;
            let (dir, name) = split_dir(path);
            set.by_name.entry(name.to_string()).or_default().push(index);
            if name.ends_with(".go") && !name.ends_with("_test.go") {
                set.go_dirs.entry(dir.to_string()).or_insert(index);
            } else if name.ends_with(".java") {
                set.java_dirs.entry(dir.to_string()).or_insert(index);
            } else if name == "__init__.py" {
                init_dirs.insert(dir);
            } else if name == "lib.rs" && (dir == "src" || dir.ends_with("/src")) {
                let crate_dir = split_dir(dir).0;
                let crate_name = split_dir(crate_dir).1.replace('-', "_");
                if !crate_name.is_empty() {
                    set.rust_crates.entry(crate_name).or_insert_with(|| dir.to_string());
                }
            }
        }
        for dir in &init_dirs {
            if dir.is_empty() {
                continue;
            }
            let (parent, name) = split_dir(dir);
            if !init_dirs.contains(parent) {
                set.py_packages.entry(name.to_string()).or_default().push(parent.to_string());
            }
        }
        for (dirs, by_last) in [(&set.go_dirs, &mut set.go_dirs_by_last), (&set.java_dirs, &mut set.java_dirs_by_last)]
        {
            for dir in dirs.keys() {
                by_last.entry(split_dir(dir).1.to_string()).or_default().push(dir.clone());
            }
            for list in by_last.values_mut() {
                list.sort_unstable();
            }
        }
        for list in set.py_packages.values_mut() {
            list.sort_unstable();
        }
        set.paths = paths;
        set
    }

    /// Whether the set holds this exact path.
    pub fn contains(&self, path: &str) -> bool {
        self.files.contains(path)
    }

    /// Number of paths.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    fn found(&self, path: &str) -> Option<String> {
        self.contains(path).then(|| path.to_string())
    }

    /// Files named like the last component of `suffix` whose path is `suffix` or ends
    /// with `/suffix`; the best for `from`: most leading directories in common, then
    /// shortest, then first in sort order.
    fn by_suffix(&self, suffix: &str, from: &str) -> Option<String> {
        let name = split_dir(suffix).1;
        let candidates = self.by_name.get(name)?;
        candidates
            .iter()
            .map(|&index| self.paths[index as usize].as_str())
            .filter(|path| {
                *path == suffix
                    || (path.len() > suffix.len()
                        && path.ends_with(suffix)
                        && path.as_bytes()[path.len() - suffix.len() - 1] == b'/')
            })
            .min_by_key(|path| (std::cmp::Reverse(common_dir_prefix(path, from)), path.len(), *path))
            .map(str::to_string)
    }
}

/// Resolves the imports of the file at `from_path` in place: sets
/// [`Import::resolved`] to the repository file an import refers to, or leaves it
/// `None` (external dependencies, system headers, unresolvable paths). An import
/// never resolves to the importing file itself. Languages without imports are left
/// untouched.
///
/// * Python: `a.b.c` -> `a/b/c.py` or `a/b/c/__init__.py` under the importing
///   file's source root, the repository root, `src/`, `lib/`, the directories
///   holding a top-level package named `a`, and the importing file's ancestors; for
///   `from a.b import c` the submodule `a/b/c.py` first. Relative imports (`.x`,
///   `..pkg.mod`) against the importing file's package. Falls back to the deepest
///   existing prefix module.
/// * JavaScript / TypeScript / TSX: relative specifiers only (`./util`, `../lib/b`):
///   exact, then with `.ts .tsx .js .jsx .mjs .cjs .d.ts`, then `/index.*`; a `.js`
///   specifier also tries `.ts`/`.tsx` (TypeScript ESM style).
/// * Rust: `mod foo;` -> `foo.rs` / `foo/mod.rs` in the module's directory; `use`
///   paths starting with `crate`, `self`, `super`, a workspace crate's name, or a
///   child module -> the file of the deepest module that exists.
/// * Go: the package directory sharing the longest path suffix with the import path
///   (a directory that is a suffix of it, or at least two components in common; a
///   path without a domain, like the standard library's, must match whole) -> its
///   first non-test `.go` file. The module's root package is not resolved (its
///   import path is in `go.mod`, which the file set does not read).
/// * Java: `com.foo.Bar` -> a file ending in `com/foo/Bar.java` (nested classes and
///   static members fall back to the enclosing file); `com.foo.*` -> the first file of
///   a directory ending in `com/foo`.
/// * C / C++: `"foo/bar.h"` relative to the including file, then any file ending in
///   `/foo/bar.h`; `<...>` system headers stay unresolved.
pub fn resolve_imports(language: Language, from_path: &str, imports: &mut [Import], files: &FileSet) {
    for import in imports.iter_mut() {
        let resolved = match language {
            Language::Python => resolve_python(from_path, &import.module, &import.names, files),
            Language::JavaScript | Language::TypeScript | Language::Tsx => resolve_js(from_path, &import.module, files),
            Language::Rust => resolve_rust(from_path, import, files),
            Language::Go => resolve_go(&import.module, files),
            Language::Java => resolve_java(from_path, &import.module, &import.names, files),
            Language::C | Language::Cpp => resolve_c(from_path, &import.module, files),
            Language::Markdown | Language::Config | Language::Text => continue,
        };
        import.resolved = resolved.filter(|path| path != from_path);
    }
}

// ---------------------------------------------------------------- Python

fn python_module_file(files: &FileSet, dir: &str) -> Option<String> {
    if dir.is_empty() {
        return None;
    }
    [format!("{dir}.py"), format!("{dir}/__init__.py"), format!("{dir}.pyi"), format!("{dir}/__init__.pyi")]
        .into_iter()
        .find(|candidate| files.contains(candidate))
}

/// `segments` under `root`: a submodule named in `names` first, then the module.
fn python_in_root(files: &FileSet, root: &str, segments: &[&str], names: &[String]) -> Option<String> {
    let dir = join(root, &segments.join("/"));
    for name in names {
        if name == "*" || name.is_empty() || name.contains(['/', '.']) {
            continue;
        }
        if let Some(found) = python_module_file(files, &join(&dir, name)) {
            return Some(found);
        }
    }
    if segments.is_empty() {
        return files.found(&join(root, "__init__.py"));
    }
    python_module_file(files, &dir)
}

fn resolve_python(from: &str, module: &str, names: &[String], files: &FileSet) -> Option<String> {
    let dots = module.bytes().take_while(|&b| b == b'.').count();
    let segments: Vec<&str> = module[dots..].split('.').filter(|s| !s.is_empty()).collect();
    let from_dir = split_dir(from).0;
    if dots > 0 {
        let mut base = from_dir;
        for _ in 1..dots {
            if base.is_empty() {
                return None;
            }
            base = split_dir(base).0;
        }
        return python_in_root(files, base, &segments, names);
    }
    if segments.is_empty() {
        return None;
    }
    let mut roots: Vec<String> = Vec::new();
    let mut add = |root: &str| {
        if !roots.iter().any(|r| r == root) {
            roots.push(root.to_string());
        }
    };
    // The source root of the importing file: above its outermost package.
    let mut package_root = from_dir;
    while !package_root.is_empty() && files.contains(&join(package_root, "__init__.py")) {
        package_root = split_dir(package_root).0;
    }
    add(package_root);
    add("");
    add("src");
    add("lib");
    if let Some(parents) = files.py_packages.get(segments[0]) {
        for parent in parents {
            add(parent);
        }
    }
    let mut ancestor = from_dir;
    while !ancestor.is_empty() {
        add(ancestor);
        ancestor = split_dir(ancestor).0;
    }
    for root in &roots {
        if let Some(found) = python_in_root(files, root, &segments, names) {
            return Some(found);
        }
    }
    for depth in (1..segments.len()).rev() {
        for root in &roots {
            if let Some(found) = python_module_file(files, &join(root, &segments[..depth].join("/"))) {
                return Some(found);
            }
        }
    }
    None
}

// ---------------------------------------------------------------- JavaScript / TypeScript

const JS_EXTENSIONS: [&str; 7] = [".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".d.ts"];

fn resolve_js(from: &str, specifier: &str, files: &FileSet) -> Option<String> {
    let relative = specifier == "." || specifier == ".." || specifier.starts_with("./") || specifier.starts_with("../");
    if !relative {
        return None;
    }
    let specifier = specifier.split(['?', '#']).next().unwrap_or(specifier);
    let target = normalize(&join(split_dir(from).0, specifier))?;
    if !target.is_empty() {
        if let Some(found) = files.found(&target) {
            return Some(found);
        }
        for extension in JS_EXTENSIONS {
            if let Some(found) = files.found(&format!("{target}{extension}")) {
                return Some(found);
            }
        }
        for js in [".js", ".jsx", ".mjs", ".cjs"] {
            if let Some(stem) = target.strip_suffix(js) {
                for ts in [".ts", ".tsx", ".mts", ".cts"] {
                    if let Some(found) = files.found(&format!("{stem}{ts}")) {
                        return Some(found);
                    }
                }
            }
        }
    }
    for extension in JS_EXTENSIONS {
        if let Some(found) = files.found(&join(&target, &format!("index{extension}"))) {
            return Some(found);
        }
    }
    None
}

// ---------------------------------------------------------------- Rust

/// The crate source root directory of a Rust file and its module path within the
/// crate (see [`rust_module_path`]).
fn rust_location(path: &str) -> (String, Vec<String>) {
    let components: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let Some((file, dirs)) = components.split_last() else {
        return (String::new(), Vec::new());
    };
    let stem = file.strip_suffix(".rs").unwrap_or(file);
    let module_of = |rest: &[&str], at_root_names: &[&str]| -> Vec<String> {
        let mut module: Vec<String> = rest.iter().map(|c| c.to_string()).collect();
        if stem == "mod" || (rest.is_empty() && at_root_names.contains(&stem)) {
            return module;
        }
        module.push(stem.to_string());
        module
    };
    if let Some(src) = dirs.iter().rposition(|c| *c == "src") {
        let root = dirs[..=src].join("/");
        let rest = &dirs[src + 1..];
        if rest.first() == Some(&"bin") {
            if rest.len() == 1 {
                return (format!("{root}/bin"), Vec::new());
            }
            return (format!("{root}/bin/{}", rest[1]), module_of(&rest[2..], &["main"]));
        }
        return (root, module_of(rest, &["lib", "main"]));
    }
    let root = dirs.join("/");
    let crate_dir = dirs.last().is_some_and(|d| matches!(*d, "tests" | "examples" | "benches"));
    if crate_dir || matches!(stem, "lib" | "main" | "mod" | "build") {
        return (root, Vec::new());
    }
    (root, vec![stem.to_string()])
}

/// The Rust module path of a file, derived from its path: `src/walk.rs` -> `walk`,
/// `src/a/mod.rs` -> `a`, `src/lib.rs` and `src/main.rs` -> `` (the crate root),
/// `crates/x/src/y/z.rs` -> `y::z`, `src/bin/tool.rs` -> `` (a binary's root).
/// Files outside a `src` directory are crate roots when they are `lib.rs`,
/// `main.rs`, `mod.rs`, `build.rs` or directly in `tests/`, `examples/` or
/// `benches/`; others are named by their stem (`foo/bar.rs` -> `bar`).
pub fn rust_module_path(path: &str) -> String {
    rust_location(path).1.join("::")
}

/// The file of module `module` under crate source root `root`.
fn rust_module_file(files: &FileSet, root: &str, module: &[String]) -> Option<String> {
    if module.is_empty() {
        return ["lib.rs", "main.rs"].iter().find_map(|file| files.found(&join(root, file)));
    }
    let dir = join(root, &module.join("/"));
    files.found(&format!("{dir}.rs")).or_else(|| files.found(&format!("{dir}/mod.rs")))
}

fn resolve_rust(from: &str, import: &Import, files: &FileSet) -> Option<String> {
    let (root, current) = rust_location(from);
    let segments: Vec<&str> = import.module.split("::").filter(|s| !s.is_empty()).collect();
    let first = *segments.first()?;
    let names = &import.names;
    match first {
        "crate" => rust_deepest(files, &root, Vec::new(), &segments[1..], names, 0),
        "self" => rust_deepest(files, &root, current, &segments[1..], names, 0),
        "super" => {
            let supers = segments.iter().take_while(|s| **s == "super").count();
            let mut base = current;
            for _ in 0..supers {
                base.pop()?;
            }
            rust_deepest(files, &root, base, &segments[supers..], names, 0)
        }
        // A child module of the current module (`mod foo;`, `use foo::Bar`), else a
        // crate of the workspace (`use codectx_core::Span`).
        name => rust_deepest(files, &root, current, &segments, names, 1).or_else(|| {
            let crate_root = files.rust_crates.get(name)?;
            rust_deepest(files, crate_root, Vec::new(), &segments[1..], names, 0)
        }),
    }
}

/// The file of the deepest existing module among `base::rest::name` (for each
/// imported name, which may be a module), then `base::rest[..k]` for `k` down to
/// `shallowest`.
fn rust_deepest(
    files: &FileSet,
    root: &str,
    base: Vec<String>,
    rest: &[&str],
    names: &[String],
    shallowest: usize,
) -> Option<String> {
    let mut full = base.clone();
    full.extend(rest.iter().map(|s| s.to_string()));
    for name in names {
        if name == "*" || name == "self" || name.contains("::") {
            continue;
        }
        let mut candidate = full.clone();
        candidate.push(name.clone());
        if let Some(found) = rust_module_file(files, root, &candidate) {
            return Some(found);
        }
    }
    for depth in (shallowest..=rest.len()).rev() {
        let mut module = base.clone();
        module.extend(rest[..depth].iter().map(|s| s.to_string()));
        if let Some(found) = rust_module_file(files, root, &module) {
            return Some(found);
        }
    }
    None
}

// ---------------------------------------------------------------- Go

fn resolve_go(module: &str, files: &FileSet) -> Option<String> {
    let components: Vec<&str> = module.split('/').filter(|c| !c.is_empty()).collect();
    let last = *components.last()?;
    let candidates = files.go_dirs_by_last.get(last)?;
    // A path without a domain (`os`, `net/http`: the standard library) matches only a
    // directory that is the whole path, or the whole path under `src/` or `vendor/`
    // (the Go repository itself, vendored copies).
    let domain = components.len() > 1 && components[0].contains('.');
    let best = candidates
        .iter()
        .filter_map(|dir| {
            let dir_components: Vec<&str> = dir.split('/').collect();
            let common = dir_components.iter().rev().zip(components.iter().rev()).take_while(|(a, b)| a == b).count();
            let whole = dir_components.len() == common;
            let ok = if domain {
                // Two components in common, or the whole directory (`store/` for
                // `github.com/acme/shop/store`).
                common >= 2 || (whole && common >= 1)
            } else {
                common == components.len()
                    && (whole || matches!(dir_components[dir_components.len() - common - 1], "src" | "vendor"))
            };
            ok.then_some((common, whole, dir))
        })
        .min_by_key(|(common, whole, dir)| (std::cmp::Reverse(*common), !*whole, dir.len(), dir.as_str()))?;
    let index = *files.go_dirs.get(best.2)?;
    Some(files.paths[index as usize].clone())
}

// ---------------------------------------------------------------- Java

fn resolve_java(from: &str, module: &str, names: &[String], files: &FileSet) -> Option<String> {
    let segments: Vec<&str> = module.split('.').filter(|s| !s.is_empty()).collect();
    if segments.is_empty() {
        return None;
    }
    if names.iter().any(|name| name == "*") {
        // A package (or a class's nested members): a directory ending in the path.
        let suffix = segments.join("/");
        let last = *segments.last()?;
        if let Some(dirs) = files.java_dirs_by_last.get(last) {
            let best =
                dirs.iter().filter(|dir| **dir == suffix || dir.ends_with(&format!("/{suffix}"))).min_by_key(|dir| {
                    (std::cmp::Reverse(common_dir_prefix(&format!("{dir}/x"), from)), dir.len(), dir.as_str())
                });
            if let Some(dir) = best {
                let index = *files.java_dirs.get(dir)?;
                return Some(files.paths[index as usize].clone());
            }
        }
    }
    let shallowest = if segments.len() == 1 { 1 } else { 2 };
    for depth in (shallowest..=segments.len()).rev() {
        let suffix = format!("{}.java", segments[..depth].join("/"));
        if let Some(found) = files.by_suffix(&suffix, from) {
            return Some(found);
        }
    }
    None
}

// ---------------------------------------------------------------- C / C++

fn resolve_c(from: &str, module: &str, files: &FileSet) -> Option<String> {
    let inner = module.strip_prefix('"')?.strip_suffix('"')?.trim();
    if inner.is_empty() {
        return None;
    }
    if let Some(relative) = normalize(&join(split_dir(from).0, inner)) {
        if let Some(found) = files.found(&relative) {
            return Some(found);
        }
    }
    let suffix: Vec<&str> = inner.split('/').filter(|c| !c.is_empty() && *c != "." && *c != "..").collect();
    if suffix.is_empty() {
        return None;
    }
    files.by_suffix(&suffix.join("/"), from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_module_paths() {
        assert_eq!(rust_module_path("src/walk.rs"), "walk");
        assert_eq!(rust_module_path("src/a/mod.rs"), "a");
        assert_eq!(rust_module_path("src/lib.rs"), "");
        assert_eq!(rust_module_path("src/main.rs"), "");
        assert_eq!(rust_module_path("crates/x/src/y/z.rs"), "y::z");
        assert_eq!(rust_module_path("src/bin/tool.rs"), "");
        assert_eq!(rust_module_path("src/bin/tool/args.rs"), "args");
        assert_eq!(rust_module_path("tests/it.rs"), "");
        assert_eq!(rust_module_path("build.rs"), "");
    }

    #[test]
    fn normalizes_paths() {
        assert_eq!(normalize("a/./b/../c").as_deref(), Some("a/c"));
        assert_eq!(normalize("../x"), None);
        assert_eq!(common_dir_prefix("a/b/c.h", "a/b/d/e.c"), 2);
    }
}
