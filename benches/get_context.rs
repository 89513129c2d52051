//! `GetContext` latency through the domain service (what the gRPC adapter calls),
//! at an 8k-token budget, for identifier, natural-language and stack-trace queries.
//!
//! `CODECTX_BENCH_CORPUS=/src/sympy cargo bench --bench get_context`

mod common;

use std::sync::Arc;

use codectx_core::{Config, ContextRequest};
use codectx_service::{ContextService, Engine, RepositorySpec};
use criterion::{criterion_group, criterion_main, Criterion};

const QUERIES: &[(&str, &str)] = &[
    ("identifier", "the resolve function returns the wrong value when the config is missing"),
    ("natural_language", "where are files skipped because they are too large or binary?"),
    (
        "stack_trace",
        "Traceback (most recent call last):\n  File \"src/main.rs\", line 10, in main\nValueError: invalid literal",
    ),
];

fn get_context(c: &mut Criterion) {
    let corpus = common::corpus();
    let index_dir = tempfile::tempdir().expect("temp dir");
    codectx_index::Indexer::new(&corpus, Some(index_dir.path()), Default::default())
        .expect("indexer")
        .run(&|_| {})
        .expect("index");
    let spec =
        RepositorySpec { name: "bench".into(), root: corpus.clone(), index_dir: Some(index_dir.path().to_path_buf()) };
    let engine = Arc::new(Engine::new(vec![spec], Config::default()).expect("engine"));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    codectx_core::tokens::warm_up();
    let mut group = c.benchmark_group("get_context_8k");
    for (name, query) in QUERIES {
        group.bench_function(*name, |b| {
            b.iter(|| {
                let bundle =
                    runtime.block_on(engine.get_context("bench", ContextRequest::new(*query))).expect("context");
                assert!(bundle.tokens_used <= 8000);
                bundle
            })
        });
    }
    group.finish();
}

criterion_group!(benches, get_context);
criterion_main!(benches);
