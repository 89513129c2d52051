//! The file-level dependency graph of a snapshot.
//!
//! Nodes are the snapshot's files (same indexes as [`crate::IndexSnapshot::files`]).
//! A weighted edge `a → b` says that `a` depends on `b`:
//! * `a` imports `b` (a resolved import edge), weight 1;
//! * a chunk of `a` references a name defined in `b` — resolved with the import
//!   context: definitions in files `a` imports (or in `a` itself) win; otherwise a
//!   name defined in at most [`MAX_AMBIGUOUS_DEFINITIONS`] files links to each with
//!   weight split between them; names defined more widely are too generic to link;
//! * `a` is a test of `b` by naming convention (`test_x.py`/`x_test.py` → `x.py`,
//!   `x_test.go` → `x.go`, `XTest.java` → `X.java`, `x.test.ts`/`x.spec.ts` → `x.ts`),
//!   weight 1.
//!
//! Incremental: each file's out-edges are resolved at index time and stored with
//! the file ([`crate::FileEntry::dependencies`], by target path).
//! [`update_dependencies`] re-resolves only the files whose edges can have changed
//! (re-parsed files, files that use a name whose set of defining files changed,
//! files whose imports now resolve differently, files with an edge into a removed
//! file, tests of an added or removed file); every other file keeps its stored
//! edges. A snapshot assembles the sparse matrix from the stored edges on first
//! use, without resolving anything.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;

use crate::store::{FileEdge, FileEntry};

/// Names defined in more files than this are not linked by reference.
pub const MAX_AMBIGUOUS_DEFINITIONS: usize = 3;

/// Personalized PageRank (Page et al. 1999; Haveliwala, "Topic-sensitive
/// PageRank", WWW 2002) over `graph`'s walk matrix, with restart distribution `seeds` (`(file, weight)`,
/// weights ≥ 0, normalized here). Returns one score per file (summing to 1), or an
/// empty vector when there is no seed weight. Mass at files without edges returns
/// to the seeds.
pub fn personalized_pagerank(graph: &FileGraph, seeds: &[(u32, f32)], damping: f32, iterations: usize) -> Vec<f32> {
    let nodes = graph.node_count();
    let mut restart = vec![0.0f32; nodes];
    for &(file, weight) in seeds {
        if (file as usize) < nodes && weight > 0.0 {
            restart[file as usize] += weight;
        }
    }
    let total: f32 = restart.iter().sum();
    if total <= 0.0 {
        return Vec::new();
    }
    restart.iter_mut().for_each(|weight| *weight /= total);
    let mut rank = restart.clone();
    let mut next = vec![0.0f32; nodes];
    for _ in 0..iterations {
        next.iter_mut().for_each(|value| *value = 0.0);
        let mut dangling = 0.0f32;
        for (node, &mass) in rank.iter().enumerate() {
            if mass == 0.0 {
                continue;
            }
            let mut moved = false;
            for (target, probability) in graph.walk_steps(node as u32) {
                next[target as usize] += damping * mass * probability;
                moved = true;
            }
            if !moved {
                dangling += damping * mass;
            }
        }
        let teleport = 1.0 - damping + dangling;
        for (value, &weight) in next.iter_mut().zip(&restart) {
            *value += teleport * weight;
        }
        std::mem::swap(&mut rank, &mut next);
    }
    rank
}

/// A directed, weighted file graph in compressed sparse row form.
#[derive(Debug, Clone, Default)]
pub struct FileGraph {
    /// `offsets[i]..offsets[i + 1]` indexes the out-edges of file `i`.
    offsets: Vec<usize>,
    /// Edge targets.
    targets: Vec<u32>,
    /// Edge weights (> 0).
    weights: Vec<f32>,
    /// The random-walk matrix used for ranking, row-stochastic: from each file,
    /// follow its dependencies (weight 1) and, with [`REVERSE_WEIGHT`], its
    /// dependents, in proportion to edge weight. Same CSR layout.
    walk_offsets: Vec<usize>,
    walk_targets: Vec<u32>,
    walk_probabilities: Vec<f32>,
}

/// Relative weight of following an edge backwards (from a definition to its users)
/// in the ranking walk.
pub const REVERSE_WEIGHT: f32 = 0.3;

/// What resolving one file's edges needs to know about the whole generation: files
/// by path and by file name, and which files define each name. Built in one pass
/// over the symbols (no reference is resolved here).
struct Resolver<'a> {
    files: &'a [FileEntry],
    by_path: HashMap<&'a str, u32>,
    by_file_name: HashMap<&'a str, Vec<u32>>,
    definers: HashMap<&'a str, Vec<u32>>,
}

impl<'a> Resolver<'a> {
    fn new(files: &'a [FileEntry]) -> Resolver<'a> {
        let by_path: HashMap<&str, u32> =
            files.iter().enumerate().map(|(index, entry)| (entry.record.path.as_str(), index as u32)).collect();
        let mut by_file_name: HashMap<&str, Vec<u32>> = HashMap::new();
        for (index, entry) in files.iter().enumerate() {
            by_file_name.entry(file_name(&entry.record.path)).or_default().push(index as u32);
        }
        let mut definers: HashMap<&str, Vec<u32>> = HashMap::new();
        for (index, entry) in files.iter().enumerate() {
            for symbol in &entry.parsed.symbols {
                let list = definers.entry(symbol.name.as_str()).or_default();
                if list.last() != Some(&(index as u32)) {
                    list.push(index as u32);
                }
            }
        }
        Resolver { files, by_path, by_file_name, definers }
    }

    /// The out-edges of file `index`, by target path, in path order.
    fn edges_of(&self, index: usize) -> Vec<FileEdge> {
        let entry = &self.files[index];
        let source = index as u32;
        let mut edges: HashMap<u32, f32> = HashMap::new();
        let imported: HashSet<u32> = entry
            .parsed
            .imports
            .iter()
            .filter_map(|import| import.resolved.as_deref().and_then(|path| self.by_path.get(path).copied()))
            .collect();
        for &target in &imported {
            if target != source {
                *edges.entry(target).or_default() += 1.0;
            }
        }
        let mut seen_names: HashSet<&str> = HashSet::new();
        for chunk in &entry.parsed.chunks {
            for name in &chunk.references {
                if !seen_names.insert(name.as_str()) {
                    continue;
                }
                let Some(defined_in) = self.definers.get(name.as_str()) else { continue };
                let in_context: Vec<u32> = defined_in.iter().copied().filter(|file| imported.contains(file)).collect();
                if defined_in.contains(&source) && in_context.is_empty() {
                    continue; // a local name
                }
                let (targets, weight) = if !in_context.is_empty() {
                    (in_context, 1.0)
                } else if defined_in.len() <= MAX_AMBIGUOUS_DEFINITIONS {
                    (defined_in.clone(), 0.5)
                } else {
                    continue;
                };
                let share = weight / targets.len() as f32;
                for target in targets {
                    if target != source {
                        *edges.entry(target).or_default() += share;
                    }
                }
            }
        }
        if let Some(tested) = tested_file(&entry.record.path) {
            // The conventional path, else the one file of that name anywhere.
            let target = self.by_path.get(tested.as_str()).copied().or_else(|| {
                match self.by_file_name.get(file_name(&tested)).map(Vec::as_slice) {
                    Some([only]) => Some(*only),
                    _ => None,
                }
            });
            if let Some(target) = target.filter(|target| *target != source) {
                *edges.entry(target).or_default() += 1.0;
            }
        }
        let mut out: Vec<FileEdge> = edges
            .into_iter()
            .map(|(target, weight)| FileEdge { target: self.files[target as usize].record.path.clone(), weight })
            .collect();
        out.sort_by(|a, b| a.target.cmp(&b.target));
        out
    }
}

/// Brings every file's stored out-edges ([`FileEntry::dependencies`]) up to date
/// and returns how many files were re-resolved.
///
/// `files` is the new generation (sorted by path): reused files carry the edges of
/// the previous generation, `reparsed[i]` says whether `files[i]` was parsed in
/// this run. `previous` is the previous generation's files, empty for a first
/// run (then every file is resolved). A file keeps its stored edges unless
/// * it was re-parsed,
/// * it uses a name that a changed, added or removed file started or stopped
///   defining (the candidates of that name changed),
/// * one of its imports resolves differently now,
/// * one of its edges points at a removed file,
/// * it is a test whose tested file's name was added or removed.
///
/// The result is the same as resolving every file afresh (tested), at the cost of
/// the files listed.
pub fn update_dependencies(files: &mut [FileEntry], reparsed: &[bool], previous: &[FileEntry]) -> usize {
    let old_by_path: HashMap<&str, &FileEntry> =
        previous.iter().map(|entry| (entry.record.path.as_str(), entry)).collect();
    let new_paths: HashSet<&str> = files.iter().map(|entry| entry.record.path.as_str()).collect();
    let removed: HashSet<&str> = old_by_path.keys().copied().filter(|path| !new_paths.contains(path)).collect();
    let added_or_removed_names: HashSet<&str> = files
        .iter()
        .map(|entry| entry.record.path.as_str())
        .filter(|path| !old_by_path.contains_key(path))
        .chain(removed.iter().copied())
        .map(file_name)
        .collect();

    // Names whose set of defining files changed.
    let defined = |entry: &FileEntry| -> HashSet<String> {
        entry.parsed.symbols.iter().map(|symbol| symbol.name.clone()).collect()
    };
    let mut changed_names: HashSet<String> = HashSet::new();
    for (entry, _) in files.iter().zip(reparsed).filter(|(_, reparsed)| **reparsed) {
        let now = defined(entry);
        let before = old_by_path.get(entry.record.path.as_str()).map(|old| defined(old)).unwrap_or_default();
        changed_names.extend(now.symmetric_difference(&before).cloned());
    }
    for path in &removed {
        changed_names.extend(defined(old_by_path[path]));
    }

    let first_run = previous.is_empty();
    let dirty: Vec<bool> = files
        .par_iter()
        .zip(reparsed.par_iter())
        .map(|(entry, &reparsed)| {
            if first_run || reparsed {
                return true;
            }
            let Some(old) = old_by_path.get(entry.record.path.as_str()) else { return true };
            let resolved = |file: &FileEntry| -> Vec<Option<String>> {
                file.parsed.imports.iter().map(|import| import.resolved.clone()).collect()
            };
            resolved(entry) != resolved(old)
                || entry.dependencies.iter().any(|edge| removed.contains(edge.target.as_str()))
                || tested_file(&entry.record.path)
                    .is_some_and(|tested| added_or_removed_names.contains(file_name(&tested)))
                || (!changed_names.is_empty()
                    && entry
                        .parsed
                        .chunks
                        .iter()
                        .flat_map(|chunk| &chunk.references)
                        .any(|name| changed_names.contains(name.as_str())))
        })
        .collect();

    if !dirty.contains(&true) {
        return 0;
    }
    let resolver = Resolver::new(files);
    let updates: Vec<(usize, Vec<FileEdge>)> = dirty
        .par_iter()
        .enumerate()
        .filter(|(_, dirty)| **dirty)
        .map(|(index, _)| (index, resolver.edges_of(index)))
        .collect();
    let count = updates.len();
    for (index, edges) in updates {
        files[index].dependencies = edges;
    }
    count
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

impl FileGraph {
    /// Assembles the graph of `files` from their stored edges
    /// ([`FileEntry::dependencies`]); edges to paths not in `files` are ignored.
    /// Linear in the number of edges.
    pub fn build(files: &[FileEntry]) -> FileGraph {
        let by_path: HashMap<&str, u32> =
            files.iter().enumerate().map(|(index, entry)| (entry.record.path.as_str(), index as u32)).collect();
        let edges: Vec<Vec<(u32, f32)>> = files
            .iter()
            .map(|entry| {
                let mut out: Vec<(u32, f32)> = entry
                    .dependencies
                    .iter()
                    .filter_map(|edge| by_path.get(edge.target.as_str()).map(|&target| (target, edge.weight)))
                    .collect();
                out.sort_by_key(|(target, _)| *target);
                out
            })
            .collect();
        let mut walk: Vec<HashMap<u32, f32>> =
            edges.iter().map(|out| out.iter().copied().collect::<HashMap<u32, f32>>()).collect();
        for (source, out) in edges.iter().enumerate() {
            for &(target, weight) in out {
                *walk[target as usize].entry(source as u32).or_default() += REVERSE_WEIGHT * weight;
            }
        }
        let mut graph = FileGraph { offsets: Vec::with_capacity(files.len() + 1), ..FileGraph::default() };
        graph.walk_offsets.push(0);
        for out in walk {
            let total: f32 = out.values().sum();
            let mut out: Vec<(u32, f32)> = out.into_iter().collect();
            out.sort_by_key(|(target, _)| *target);
            for (target, weight) in out {
                graph.walk_targets.push(target);
                graph.walk_probabilities.push(weight / total);
            }
            graph.walk_offsets.push(graph.walk_targets.len());
        }
        graph.offsets.push(0);
        for out in edges {
            for (target, weight) in out {
                graph.targets.push(target);
                graph.weights.push(weight);
            }
            graph.offsets.push(graph.targets.len());
        }
        graph
    }

    /// Number of nodes (files).
    pub fn node_count(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Number of edges.
    pub fn edge_count(&self) -> usize {
        self.targets.len()
    }

    /// The ranking walk's steps from `file`: `(target, probability)`, summing to 1
    /// (or empty for an isolated file).
    pub fn walk_steps(&self, file: u32) -> impl Iterator<Item = (u32, f32)> + '_ {
        let range = self.walk_offsets.get(file as usize).copied().unwrap_or(0)
            ..self.walk_offsets.get(file as usize + 1).copied().unwrap_or(0);
        self.walk_targets[range.clone()].iter().copied().zip(self.walk_probabilities[range].iter().copied())
    }

    /// Out-edges of `file`: `(target, weight)`.
    pub fn out_edges(&self, file: u32) -> impl Iterator<Item = (u32, f32)> + '_ {
        let range = self.offsets.get(file as usize).copied().unwrap_or(0)
            ..self.offsets.get(file as usize + 1).copied().unwrap_or(0);
        self.targets[range.clone()].iter().copied().zip(self.weights[range].iter().copied())
    }
}

/// The file a test file tests, by naming convention, if the name follows one.
pub fn tested_file(path: &str) -> Option<String> {
    let (directory, name) = match path.rsplit_once('/') {
        Some((directory, name)) => (format!("{directory}/"), name),
        None => (String::new(), path),
    };
    let candidates: Vec<String> =
        if let Some(stem) = name.strip_prefix("test_").and_then(|rest| rest.strip_suffix(".py")) {
            vec![format!("{stem}.py")]
        } else if let Some(stem) = name.strip_suffix("_test.py") {
            vec![format!("{stem}.py")]
        } else if let Some(stem) = name.strip_suffix("_test.go") {
            vec![format!("{stem}.go")]
        } else if let Some(stem) = name.strip_suffix("Test.java").or_else(|| name.strip_suffix("Tests.java")) {
            vec![format!("{stem}.java")]
        } else {
            let mut found = Vec::new();
            for marker in [".test.", ".spec."] {
                if let Some((stem, extension)) = name.split_once(marker) {
                    found.push(format!("{stem}.{extension}"));
                }
            }
            found
        };
    let file = candidates.into_iter().next()?;
    // Tests often live in a parallel tree: `tests/test_x.py` tests `x.py` next to
    // the package, `src/test/java/...` mirrors `src/main/java/...`.
    let directory =
        directory.replace("src/test/java/", "src/main/java/").replace("/tests/", "/").replace("/test/", "/");
    let directory = directory.strip_prefix("tests/").or_else(|| directory.strip_prefix("test/")).unwrap_or(&directory);
    Some(format!("{directory}{file}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_test_files_to_the_files_they_test() {
        assert_eq!(tested_file("pkg/test_sessions.py").as_deref(), Some("pkg/sessions.py"));
        assert_eq!(tested_file("server/server_test.go").as_deref(), Some("server/server.go"));
        assert_eq!(
            tested_file("src/test/java/com/a/ParserTest.java").as_deref(),
            Some("src/main/java/com/a/Parser.java")
        );
        assert_eq!(tested_file("web/src/format.test.ts").as_deref(), Some("web/src/format.ts"));
        assert_eq!(tested_file("pkg/sessions.py"), None);
    }
}
