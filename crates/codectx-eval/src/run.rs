use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use std::sync::Arc;

use codectx_core::{BlockKind, ContextBundle, ContextRequest, EmbedConfig, Error, IndexConfig, Result};
use codectx_embed::Embedder;
use codectx_index::{IndexSnapshot, Indexer};
use codectx_retrieve::{ChunkRef, PathMatcher, RetrieveOptions};
use serde::{Deserialize, Serialize};

use crate::checkout::WorkTree;
use crate::dataset::Instance;
use crate::metrics::{rank_of, summarize, InstanceResult, Summary, BUDGETS};

/// A named retrieval configuration evaluated side by side with others.
#[derive(Debug, Clone)]
pub struct EvalConfig {
    /// Name shown in the table and used as the cache key (`bm25`, `lexical`).
    pub name: String,
    /// The retrieval options.
    pub options: RetrieveOptions,
}

/// What to evaluate.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// The instances.
    pub instances: Vec<Instance>,
    /// Folder of clones: `<repos>/<owner>/<name>` (bare or not).
    pub repos: PathBuf,
    /// Work folder: work trees, indexes and the result cache.
    pub work_dir: PathBuf,
    /// The configurations.
    pub configs: Vec<EvalConfig>,
    /// Index options.
    pub index: IndexConfig,
    /// Budgets for bundle recall (default [`BUDGETS`]).
    pub budgets: Vec<usize>,
    /// The embedder for configurations with the vector signal (semantic, hybrid):
    /// every commit's index is then embedded too, reusing cached vectors.
    pub embedder: Option<(Arc<dyn Embedder>, EmbedConfig)>,
    /// Write the file features of every instance × configuration here (JSON
    /// lines, see [`FeatureRow`]); the result cache is then bypassed, so that
    /// every instance is ranked and dumped.
    pub dump_features: Option<PathBuf>,
}

/// Files per instance whose features `--dump-features` writes: the reranking
/// window of the learned ranker.
pub const DUMPED_CANDIDATES: usize = codectx_retrieve::rerank::DEFAULT_RERANK_CANDIDATES;

/// One line of a `--dump-features` file: a candidate file of one instance under
/// one configuration, its label and its feature vector
/// ([`codectx_retrieve::rerank::FILE_FEATURES`], in that order), as the
/// fusion computed them before any reranking. `training/train_ranker.py` reads
/// these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureRow {
    /// The instance.
    pub instance_id: String,
    /// Its repository, `owner/name`.
    pub repo: String,
    /// The configuration's name (`lexical`, `hybrid`).
    pub config: String,
    /// The candidate's repository-relative path.
    pub file: String,
    /// 1 when the file is a gold file, else 0.
    pub label: u8,
    /// How many gold files the instance has (some may not be candidates).
    pub gold_files: usize,
    /// The fused rank of the candidate, 1-based.
    pub rank: usize,
    /// The features.
    pub features: Vec<f64>,
}

/// One line of a `--dump-features` file for a candidate definition of the
/// learned function ranker ([`codectx_retrieve::definitions::definition_features`]):
/// told apart from a [`FeatureRow`] by its `function` field. Its features are
/// named by [`codectx_retrieve::definitions::FUNCTION_FEATURES`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionFeatureRow {
    /// The instance.
    pub instance_id: String,
    /// Its repository, `owner/name`.
    pub repo: String,
    /// The configuration's name (`lexical`, `hybrid`).
    pub config: String,
    /// The candidate's file, repository-relative.
    pub file: String,
    /// The candidate's qualified name; empty for the file's module-level code.
    pub function: String,
    /// 1 when the candidate is a gold function, else 0.
    pub label: u8,
    /// How many gold functions the instance has (some may not be candidates).
    pub gold_functions: usize,
    /// The candidate's place in the candidate order, 1-based.
    pub rank: usize,
    /// The features.
    pub features: Vec<f64>,
}

/// Progress of a run, one event per instance.
#[derive(Debug, Clone)]
pub struct EvalProgress {
    /// Instances done.
    pub done: usize,
    /// Instances in all.
    pub total: usize,
    /// The instance just finished.
    pub instance_id: String,
    /// Whether its results came from the cache.
    pub cached: bool,
}

/// Indexing work across the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IndexTotals {
    /// Commits indexed.
    pub commits: usize,
    /// Files parsed (new or changed content).
    pub parsed: u64,
    /// Files reused from the previous generation (same content hash).
    pub reused: u64,
    /// Wall time spent checking out, milliseconds.
    pub checkout_ms: u64,
    /// Wall time spent indexing, milliseconds.
    pub index_ms: u64,
    /// Blobs missing from the clones (skipped).
    pub missing_blobs: u64,
    /// Of `index_ms`, the embedding phase.
    #[serde(default)]
    pub embed_ms: u64,
    /// Chunks whose vectors had to be (re)written across the commits.
    #[serde(default)]
    pub embed_chunks_updated: u64,
    /// Of those, vectors found in the embedding cache.
    #[serde(default)]
    pub embed_cache_hits: u64,
    /// Of those, chunks run through the model.
    #[serde(default)]
    pub embedded: u64,
    /// Time spent embedding queries (the model only), milliseconds.
    #[serde(default)]
    pub query_embed_ms: u64,
    /// Time spent opening each commit's vector table for search, milliseconds.
    #[serde(default)]
    pub vector_open_ms: u64,
    /// The vector signal's cost per query: the nearest-neighbour search of one
    /// query vector in that commit's table (k = the largest `vector_candidates`
    /// of the configurations) plus mapping the hits onto
    /// the snapshot, in milliseconds, one sample per instance.
    #[serde(default)]
    pub vector_search_ms: Vec<f64>,
}

/// The result of a run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EvalReport {
    /// One summary per configuration, in the order given.
    pub summaries: Vec<Summary>,
    /// Every instance × configuration result.
    pub results: Vec<InstanceResult>,
    /// Indexing work (instances answered from the cache cost none).
    pub index: IndexTotals,
    /// Instances that failed (checkout or index error), with the error.
    pub failures: Vec<(String, String)>,
}

/// Runs the evaluation. Instances are grouped by repository and ordered by commit
/// time, so that consecutive checkouts differ little and indexing stays
/// incremental. An instance whose repository or commit is unavailable is
/// reported in `failures` and excluded from the metrics.
///
/// Errors: [`Error::Io`] if the work folder cannot be written.
pub fn run(options: &EvalOptions, progress: &dyn Fn(&EvalProgress)) -> Result<EvalReport> {
    std::fs::create_dir_all(&options.work_dir).map_err(|error| Error::io(&options.work_dir, error))?;
    let budgets = if options.budgets.is_empty() { BUDGETS.to_vec() } else { options.budgets.clone() };
    let mut report = EvalReport::default();
    let mut dump = match &options.dump_features {
        Some(path) => {
            if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|error| Error::io(parent, error))?;
            }
            let file = std::fs::File::create(path).map_err(|error| Error::io(path, error))?;
            Some((path.clone(), std::io::BufWriter::new(file)))
        }
        None => None,
    };
    // Nearest chunks are fetched once per instance, at the largest depth any
    // configuration asks for; each configuration takes its own prefix.
    let vector_depth = options
        .configs
        .iter()
        .filter(|config| config.options.uses_vectors())
        .map(|config| config.options.vector_candidates)
        .max()
        .unwrap_or(0);

    let mut by_repo: BTreeMap<&str, Vec<&Instance>> = BTreeMap::new();
    for instance in &options.instances {
        by_repo.entry(instance.repo.as_str()).or_default().push(instance);
    }
    let total = options.instances.len();
    let mut done = 0;
    for (repo, mut instances) in by_repo {
        let slug = repo.replace('/', "__");
        let repo_dir = options.work_dir.join(&slug);
        let clone = options.repos.join(repo);
        let mut tree = match WorkTree::new(&clone, &repo_dir.join("tree")) {
            Ok(tree) => tree,
            Err(error) => {
                for instance in instances {
                    report.failures.push((instance.instance_id.clone(), format!("clone {}: {error}", clone.display())));
                    done += 1;
                    progress(&EvalProgress { done, total, instance_id: instance.instance_id.clone(), cached: false });
                }
                continue;
            }
        };
        let times: HashMap<&str, i64> = instances
            .iter()
            .map(|instance| {
                (instance.base_commit.as_str(), tree.commit_time(&instance.base_commit).unwrap_or(i64::MAX))
            })
            .collect();
        instances.sort_by(|a, b| {
            times[a.base_commit.as_str()].cmp(&times[b.base_commit.as_str()]).then(a.instance_id.cmp(&b.instance_id))
        });
        let index_dir = repo_dir.join("index");
        let mut current_commit: Option<String> = None;
        for instance in instances {
            let cached: Vec<Option<InstanceResult>> = options
                .configs
                .iter()
                .map(|config| {
                    if dump.is_some() {
                        return None;
                    }
                    read_cached(&options.work_dir, &config_key(config, &options.embedder), &instance.instance_id)
                })
                .collect();
            if cached.iter().all(Option::is_some) {
                report.results.extend(cached.into_iter().flatten());
                done += 1;
                progress(&EvalProgress { done, total, instance_id: instance.instance_id.clone(), cached: true });
                continue;
            }
            let outcome = (|| -> Result<Vec<InstanceResult>> {
                if current_commit.as_deref() != Some(instance.base_commit.as_str()) {
                    let started = Instant::now();
                    let stats = tree.checkout(&instance.base_commit)?;
                    report.index.checkout_ms += started.elapsed().as_millis() as u64;
                    report.index.missing_blobs += stats.missing;
                    let started = Instant::now();
                    let mut indexer = Indexer::new(tree.root(), Some(&index_dir), options.index.clone())?;
                    if let Some((embedder, embed_config)) = &options.embedder {
                        indexer = indexer.with_embedder(embedder.clone(), embed_config.clone());
                    }
                    let index_stats = indexer.run(&|_| {})?;
                    if let Some(embed) = &index_stats.embeddings {
                        if let Some(error) = &embed.error {
                            return Err(Error::Embedding(error.clone()));
                        }
                        report.index.embed_ms += embed.elapsed_ms;
                        report.index.embed_chunks_updated += embed.chunks_updated;
                        report.index.embed_cache_hits += embed.cache_hits;
                        report.index.embedded += embed.embedded;
                    }
                    report.index.index_ms += started.elapsed().as_millis() as u64;
                    report.index.commits += 1;
                    report.index.parsed += index_stats.parsed;
                    report.index.reused += index_stats.reused;
                    current_commit = Some(instance.base_commit.clone());
                }
                let snapshot = IndexSnapshot::open(&index_dir)?;
                // The query is embedded once, for every configuration that uses vectors.
                let needs_vectors = options
                    .configs
                    .iter()
                    .zip(&cached)
                    .any(|(config, cached)| cached.is_none() && config.options.uses_vectors());
                let vector_hits = match (&options.embedder, needs_vectors) {
                    (Some((embedder, _)), true) => {
                        let vectors = snapshot
                            .vectors()
                            .ok_or_else(|| Error::Embedding(format!("{} has no vector table", index_dir.display())))?;
                        let started = Instant::now();
                        vectors.prepare()?;
                        report.index.vector_open_ms += started.elapsed().as_millis() as u64;
                        let search = codectx_retrieve::plan::vector_search(
                            &snapshot,
                            embedder.as_ref(),
                            &instance.problem_statement,
                            vector_depth,
                        )?;
                        report.index.query_embed_ms += search.embed_ms as u64;
                        report.index.vector_search_ms.push(search.search_ms);
                        search.hits
                    }
                    _ => Vec::new(),
                };
                let mut results = Vec::new();
                for (config, cached) in options.configs.iter().zip(&cached) {
                    let result = match cached {
                        Some(result) => result.clone(),
                        None => {
                            let mut ranked = config.clone();
                            if dump.is_some() {
                                ranked.options.feature_candidates = DUMPED_CANDIDATES;
                                // The function ranker's candidates, whether or not it ranks.
                                if ranked.options.function_files == 0 {
                                    ranked.options.function_files =
                                        codectx_retrieve::definitions::DEFAULT_FUNCTION_FILES;
                                }
                            }
                            let (result, features) = evaluate(&snapshot, instance, &ranked, &vector_hits, &budgets)?;
                            if let Some((path, writer)) = &mut dump {
                                write_features(writer, instance, &config.name, &features)
                                    .map_err(|error| Error::io(path.as_path(), error))?;
                            }
                            write_cached(&options.work_dir, &config_key(config, &options.embedder), &result);
                            result
                        }
                    };
                    results.push(result);
                }
                Ok(results)
            })();
            match outcome {
                Ok(results) => report.results.extend(results),
                Err(error) => {
                    current_commit = None;
                    report.failures.push((instance.instance_id.clone(), error.to_string()));
                }
            }
            done += 1;
            progress(&EvalProgress { done, total, instance_id: instance.instance_id.clone(), cached: false });
        }
    }
    if let Some((path, mut writer)) = dump {
        std::io::Write::flush(&mut writer).map_err(|error| Error::io(&path, error))?;
    }
    for config in &options.configs {
        let results: Vec<&InstanceResult> =
            report.results.iter().filter(|result| result.config == config.name).collect();
        report.summaries.push(summarize(&config.name, &results));
    }
    Ok(report)
}

/// Whether a definition's qualified name names the gold function `wanted`: equal,
/// or a qualified suffix of it (`mod.Class.method` for `Class.method`). Nested
/// helpers already stand for the function around them
/// ([`codectx_retrieve::definitions`]), and a method does not stand for its class.
/// The dataset names module-level import edits `imports` (or `imports:N`); those
/// match module-level code (the empty name).
fn symbol_matches(symbol_path: &str, wanted: &str) -> bool {
    if wanted == "imports" || wanted.starts_with("imports:") {
        return symbol_path.is_empty();
    }
    if symbol_path.is_empty() {
        return false;
    }
    let normalized = symbol_path.replace("::", ".");
    let wanted = wanted.replace("::", ".");
    normalized == wanted || normalized.ends_with(&format!(".{wanted}"))
}

/// Writes one [`FeatureRow`] per candidate file and one [`FunctionFeatureRow`]
/// per candidate definition of `features`.
fn write_features(
    writer: &mut impl std::io::Write,
    instance: &Instance,
    config: &str,
    features: &Dumped,
) -> std::io::Result<()> {
    let gold_functions = instance.gold_functions.values().map(Vec::len).sum();
    for (index, (file, function, vector)) in features.functions.iter().enumerate() {
        let gold = instance
            .gold_functions
            .get(file)
            .is_some_and(|names| names.iter().any(|name| symbol_matches(function, name)));
        let row = FunctionFeatureRow {
            instance_id: instance.instance_id.clone(),
            repo: instance.repo.clone(),
            config: config.to_string(),
            file: file.clone(),
            function: function.clone(),
            label: u8::from(gold),
            gold_functions,
            rank: index + 1,
            features: vector.clone(),
        };
        serde_json::to_writer(&mut *writer, &row)?;
        writer.write_all(b"\n")?;
    }
    for (index, (file, vector)) in features.files.iter().enumerate() {
        let row = FeatureRow {
            instance_id: instance.instance_id.clone(),
            repo: instance.repo.clone(),
            config: config.to_string(),
            file: file.clone(),
            label: u8::from(instance.gold_files.contains(file)),
            gold_files: instance.gold_files.len(),
            rank: index + 1,
            features: vector.clone(),
        };
        serde_json::to_writer(&mut *writer, &row)?;
        writer.write_all(b"\n")?;
    }
    Ok(())
}

/// The learned rankers' features of one ranking, for `--dump-features`.
#[derive(Default)]
struct Dumped {
    /// (repository-relative path, vector of [`codectx_retrieve::rerank::FILE_FEATURES`]).
    files: Vec<(String, Vec<f64>)>,
    /// (path, qualified name or empty for module level, vector of
    /// [`codectx_retrieve::definitions::FUNCTION_FEATURES`]).
    functions: Vec<(String, String, Vec<f64>)>,
}

/// Ranks one instance under one configuration and assembles its bundles; also
/// returns the file features the ranking computed, if any, and with
/// `feature_candidates` above 0 (`--dump-features`) the function ranker's
/// candidates and features.
fn evaluate(
    snapshot: &IndexSnapshot,
    instance: &Instance,
    config: &EvalConfig,
    vector_hits: &[(ChunkRef, f32)],
    budgets: &[usize],
) -> Result<(InstanceResult, Dumped)> {
    let matcher = PathMatcher::all();
    let started = Instant::now();
    let ranking =
        codectx_retrieve::rank_hybrid(snapshot, &instance.problem_statement, vector_hits, &matcher, &config.options)?;
    let files: Vec<String> =
        ranking.files.iter().map(|(file, _)| snapshot.file_at(*file).record.path.clone()).collect();
    // Functions in ranked order: each ranked chunk stands for its definition
    // (codectx_retrieve::definitions); module-level code is the empty name.
    let name_of = |file: u32, symbol: Option<u32>| {
        let entry = snapshot.file_at(file);
        let name =
            symbol.map_or_else(String::new, |symbol| entry.parsed.symbols[symbol as usize].qualified_name.clone());
        (entry.record.path.clone(), name)
    };
    let definitions = codectx_retrieve::ranked_definitions(snapshot, &ranking, &config.options);
    // Ranking time: files and functions (the learned rankers included).
    let rank_ms = started.elapsed().as_secs_f64() * 1000.0;
    let functions: Vec<(String, String)> =
        definitions.into_iter().map(|definition| name_of(definition.file, definition.symbol)).collect();

    let mut result = InstanceResult {
        instance_id: instance.instance_id.clone(),
        config: config.name.clone(),
        top_files: files.iter().take(10).cloned().collect(),
        top_functions: functions
            .iter()
            .take(10)
            .map(|(path, name)| format!("{path}::{}", if name.is_empty() { "<module>" } else { name }))
            .collect(),
        rank_ms,
        ..InstanceResult::default()
    };
    for gold in &instance.gold_files {
        result.gold_file_ranks.insert(gold.clone(), rank_of(&files, gold));
    }
    for (path, names) in &instance.gold_functions {
        for name in names {
            let rank = functions
                .iter()
                .position(|(file, symbol)| file == path && symbol_matches(symbol, name))
                .map(|index| index + 1);
            result.gold_function_ranks.insert(format!("{path}::{name}"), rank);
            let rank_in_file = functions
                .iter()
                .filter(|(file, _)| file == path)
                .position(|(_, symbol)| symbol_matches(symbol, name))
                .map(|index| index + 1);
            result.gold_function_ranks_in_file.insert(format!("{path}::{name}"), rank_in_file);
        }
    }

    for &budget in budgets {
        let request =
            ContextRequest { token_budget: budget, ..ContextRequest::new(instance.problem_statement.clone()) };
        let bundle = codectx_retrieve::assemble_hybrid(snapshot, &request, vector_hits, &config.options)?;
        // Only code counts: a repo-map skeleton or a related signature of a gold
        // file does not hold its code.
        let has_files = instance
            .gold_files
            .iter()
            .all(|gold| bundle.blocks.iter().any(|block| &block.path == gold && block.kind == BlockKind::Code));
        result.bundle_has_files.insert(budget, has_files);
        result.bundle_has_functions.insert(budget, functions_held(snapshot, instance, &bundle));
    }
    let mut dumped = Dumped::default();
    if config.options.feature_candidates > 0 {
        let fused = codectx_retrieve::definitions::fused_definitions(snapshot, &ranking, &config.options);
        dumped.functions =
            codectx_retrieve::definitions::definition_features(snapshot, &ranking, &config.options, &fused)
                .into_iter()
                .map(|(definition, vector)| {
                    let (path, name) = name_of(definition.file, definition.symbol);
                    (path, name, vector)
                })
                .collect();
    }
    dumped.files = ranking
        .file_features
        .into_iter()
        .map(|(file, vector)| (snapshot.file_at(file).record.path.clone(), vector))
        .collect();
    Ok((result, dumped))
}

/// Whether the bundle's code blocks cover every gold function's whole line span.
/// `None` when no gold function can be found in the index.
fn functions_held(snapshot: &IndexSnapshot, instance: &Instance, bundle: &ContextBundle) -> Option<bool> {
    let mut judged = false;
    for (path, names) in &instance.gold_functions {
        let Some((_, entry)) = snapshot.file(path) else { continue };
        for name in names {
            let spans: Vec<(u32, u32)> = entry
                .parsed
                .symbols
                .iter()
                .filter(|symbol| symbol_matches(&symbol.qualified_name, name))
                .map(|symbol| (symbol.span.start_line, symbol.span.end_line))
                .collect();
            if spans.is_empty() {
                continue;
            }
            judged = true;
            let covered = spans.iter().any(|&(start, end)| {
                (start..=end).all(|line| {
                    bundle.blocks.iter().any(|block| {
                        block.path == *path
                            && block.kind == BlockKind::Code
                            && block.start_line <= line
                            && line <= block.end_line
                    })
                })
            });
            if !covered {
                return Some(false);
            }
        }
    }
    judged.then_some(true)
}

/// The cache folder of a configuration: its name plus a hash of its options and of
/// the running build (the executable's size and modification time), so that
/// neither tuning a configuration nor rebuilding codectx reads stale results.
/// The cache key of a configuration: its name, a hash of its options, this build,
/// and (with the vector signal) the embedding model.
fn config_key(config: &EvalConfig, embedder: &Option<(Arc<dyn Embedder>, EmbedConfig)>) -> String {
    use std::hash::{Hash, Hasher};
    let build = std::env::current_exe()
        .and_then(std::fs::metadata)
        .map(|metadata| format!("{} {:?}", metadata.len(), metadata.modified().ok()))
        .unwrap_or_default();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let model = match embedder {
        Some((embedder, _)) if config.options.uses_vectors() => embedder.model_id().to_string(),
        _ => String::new(),
    };
    format!("{:?} {} {build} {model}", config.options, env!("CARGO_PKG_VERSION")).hash(&mut hasher);
    format!("{}-{:08x}", config.name, hasher.finish() as u32)
}

fn cache_path(work_dir: &Path, config: &str, instance_id: &str) -> PathBuf {
    let safe: String = instance_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '_' })
        .collect();
    work_dir.join("results").join(config).join(format!("{safe}.json"))
}

fn read_cached(work_dir: &Path, config: &str, instance_id: &str) -> Option<InstanceResult> {
    let bytes = std::fs::read(cache_path(work_dir, config, instance_id)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn write_cached(work_dir: &Path, config: &str, result: &InstanceResult) {
    let path = cache_path(work_dir, config, &result.instance_id);
    if let Some(parent) = path.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    if let Ok(bytes) = serde_json::to_vec_pretty(result) {
        // Write then rename, so an interrupted run never leaves half a result.
        let tmp = path.with_extension("json.tmp");
        if std::fs::write(&tmp, bytes).is_ok() {
            let _ = std::fs::rename(&tmp, &path);
        }
    }
}
