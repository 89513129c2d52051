//! Vector search in the LanceDB `chunks` table: exact (flat) search latency by
//! table size, and IVF-PQ latency and recall@10 against exact search. Chooses
//! `[embed] ann_threshold`.
//!
//! `cargo bench --bench vector_search` (sizes: `CODECTX_BENCH_SIZES=10000,50000,...`).
//!
//! On a real index: `CODECTX_BENCH_TABLE=<index dir> cargo bench --bench vector_search`
//! measures the query path's search (k = 10…200, refine factors) against exact
//! search on that table, with queries made from its own vectors (the normalised
//! midpoint of two chunks, about as far from any one chunk as a real question).
//!
//! The vectors are synthetic but shaped like chunk embeddings: 384 dimensions
//! (all-MiniLM-L6-v2), drawn around 256 cluster centres (code of one module
//! embeds close together), L2-normalised. Queries are perturbed table vectors.

use std::time::Instant;

use codectx_vector::{VectorRow, VectorStore};

const DIMENSION: usize = 384;
const CLUSTERS: usize = 256;
const QUERIES: usize = 50;
const K: usize = 10;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40;
        bits as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }
}

fn normalized(mut vector: Vec<f32>) -> Vec<f32> {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    vector.iter_mut().for_each(|x| *x /= norm);
    vector
}

fn dataset(rows: usize, rng: &mut Rng) -> Vec<Vec<f32>> {
    let centres: Vec<Vec<f32>> =
        (0..CLUSTERS).map(|_| normalized((0..DIMENSION).map(|_| rng.next()).collect())).collect();
    (0..rows)
        .map(|row| {
            let centre = &centres[row % CLUSTERS];
            normalized(centre.iter().map(|x| x + 0.6 * rng.next() / (DIMENSION as f32).sqrt() * 4.0).collect())
        })
        .collect()
}

fn percentile(sorted: &[f64], share: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * share).round() as usize]
}

/// The real-table mode: latency and recall@k of the search the query path runs.
fn bench_table(index_dir: &std::path::Path) {
    let store = VectorStore::open(index_dir).expect("open the vector table");
    println!("before: {:?}", store.health().expect("health"));
    if std::env::var_os("CODECTX_BENCH_OPTIMIZE").is_some() {
        let started = Instant::now();
        store.optimize(20_000).expect("optimize");
        println!("optimized in {:.1}s: {:?}", started.elapsed().as_secs_f64(), store.health().expect("health"));
    }
    let rows = store.len().expect("rows");
    let samples = store.sample_vectors(2 * QUERIES).expect("sample vectors");
    assert!(samples.len() >= 2, "{} has no vectors", index_dir.display());
    let queries: Vec<Vec<f32>> = samples
        .chunks(2)
        .filter(|pair| pair.len() == 2)
        .map(|pair| normalized(pair[0].iter().zip(&pair[1]).map(|(a, b)| a + b).collect()))
        .collect();
    let ann = store.has_ann_index().expect("indices");
    // A fresh handle, as after a re-index: the whole index warmed, then one query.
    let dimension = queries[0].len();
    let mut warm_ms = Vec::new();
    let mut first_ms = Vec::new();
    for query in queries.iter().take(10) {
        let fresh = VectorStore::open(index_dir).expect("reopen");
        let searcher = fresh.searcher().expect("searcher").expect("table");
        let started = Instant::now();
        searcher.warm(dimension).expect("warm");
        warm_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        let started = Instant::now();
        searcher.search(query, 200).expect("search");
        first_ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    warm_ms.sort_by(f64::total_cmp);
    first_ms.sort_by(f64::total_cmp);
    println!(
        "fresh handle: warm-up p50 {:.1} ms, then first query (k = 200) p50 {:.1} ms, max {:.1} ms",
        percentile(&warm_ms, 0.5),
        percentile(&first_ms, 0.5),
        first_ms[first_ms.len() - 1]
    );
    println!("{}: {rows} rows, IVF-PQ index: {ann}", index_dir.display());
    println!("k   | refine | p50 ms | p95 ms | recall@k vs exact");
    let exact = store.searcher().expect("searcher").expect("table").exact();
    for k in [10, 50, 100, 200] {
        let truth: Vec<Vec<(String, u32)>> = queries
            .iter()
            .map(|query| {
                exact.search(query, k).expect("exact").into_iter().map(|hit| (hit.path, hit.ordinal)).collect()
            })
            .collect();
        let variants: Vec<(String, codectx_vector::Searcher)> = if ann {
            [0, 2, codectx_vector::REFINE_FACTOR]
                .into_iter()
                .map(|refine| {
                    let searcher = store.searcher().expect("searcher").expect("table");
                    let nprobes = searcher.nprobes();
                    (refine.to_string(), searcher.with_parameters(nprobes, refine))
                })
                .collect()
        } else {
            vec![("exact".to_string(), store.searcher().expect("searcher").expect("table"))]
        };
        for (label, searcher) in variants {
            let _ = searcher.search(&queries[0], k);
            let mut times = Vec::new();
            let mut found = 0;
            for (query, truth) in queries.iter().zip(&truth) {
                let started = Instant::now();
                let hits = searcher.search(query, k).expect("search");
                times.push(started.elapsed().as_secs_f64() * 1000.0);
                found += hits.iter().filter(|hit| truth.contains(&(hit.path.clone(), hit.ordinal))).count();
            }
            times.sort_by(f64::total_cmp);
            let total: usize = truth.iter().map(Vec::len).sum();
            println!(
                "{k:<3} | {label:>6} | {:>6.1} | {:>6.1} | {:.3}",
                percentile(&times, 0.5),
                percentile(&times, 0.95),
                found as f64 / total.max(1) as f64
            );
        }
    }
}

fn main() {
    if let Ok(index_dir) = std::env::var("CODECTX_BENCH_TABLE") {
        bench_table(std::path::Path::new(&index_dir));
        return;
    }
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this as a smoke test on one small table.
    let benchmarking = std::env::args().any(|arg| arg == "--bench");
    let sizes: Vec<usize> = match std::env::var("CODECTX_BENCH_SIZES") {
        Ok(value) => value.split(',').filter_map(|part| part.trim().parse().ok()).collect(),
        Err(_) if benchmarking => vec![10_000, 50_000, 100_000, 200_000],
        Err(_) => vec![3_000],
    };
    println!("rows     | exact p50 ms | exact p99 ms | IVF-PQ build s | IVF-PQ p50 ms | IVF-PQ p99 ms | recall@{K}");
    for rows in sizes {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ rows as u64);
        let vectors = dataset(rows, &mut rng);
        let dir = tempfile::tempdir().expect("temp dir");
        let store = VectorStore::open(dir.path()).expect("open");
        let table_rows: Vec<VectorRow> = vectors
            .iter()
            .enumerate()
            .map(|(index, vector)| VectorRow {
                path: format!("src/file{}.py", index / 20),
                ordinal: (index % 20) as u32,
                start_byte: 0,
                end_byte: 1,
                start_line: 1,
                end_line: 1,
                symbol_path: String::new(),
                language: "python".into(),
                file_hash: "h".into(),
                content_hash: index as u64,
                vector: vector.clone(),
            })
            .collect();
        store.replace_files("bench", DIMENSION, &[], &table_rows).expect("write");
        store.optimize(usize::MAX).expect("compact");
        let queries: Vec<Vec<f32>> = (0..QUERIES)
            .map(|query| {
                let base = &vectors[(query * 7919) % rows];
                normalized(base.iter().map(|x| x + 0.05 * rng.next()).collect())
            })
            .collect();

        let searcher = store.searcher().expect("searcher").expect("table");
        let _ = searcher.search(&queries[0], K); // warm the file cache
        let mut exact_ms = Vec::new();
        let mut exact_hits = Vec::new();
        for query in &queries {
            let started = Instant::now();
            let hits = searcher.search(query, K).expect("exact search");
            exact_ms.push(started.elapsed().as_secs_f64() * 1000.0);
            exact_hits.push(hits.into_iter().map(|hit| (hit.path, hit.ordinal)).collect::<Vec<_>>());
        }
        exact_ms.sort_by(f64::total_cmp);

        let started = Instant::now();
        store.optimize(0).expect("build IVF-PQ");
        let build_s = started.elapsed().as_secs_f64();
        let store = VectorStore::open(dir.path()).expect("reopen");
        let searcher = store.searcher().expect("searcher").expect("table");
        let _ = searcher.search(&queries[0], K);
        let mut ann_ms = Vec::new();
        let mut found = 0;
        for (query, exact) in queries.iter().zip(&exact_hits) {
            let started = Instant::now();
            let hits = searcher.search(query, K).expect("ANN search");
            ann_ms.push(started.elapsed().as_secs_f64() * 1000.0);
            found += hits.iter().filter(|hit| exact.contains(&(hit.path.clone(), hit.ordinal))).count();
        }
        ann_ms.sort_by(f64::total_cmp);
        let recall = found as f64 / (QUERIES * K) as f64;
        assert!(recall > 0.5, "IVF-PQ recall@{K} {recall} against exact search");
        assert!(exact_hits.iter().all(|hits| hits.len() == K), "exact search returns k hits");
        println!(
            "{rows:>8} | {:>12.1} | {:>12.1} | {build_s:>14.1} | {:>13.1} | {:>13.1} | {:.3}",
            percentile(&exact_ms, 0.5),
            percentile(&exact_ms, 0.99),
            percentile(&ann_ms, 0.5),
            percentile(&ann_ms, 0.99),
            recall
        );
    }
}
