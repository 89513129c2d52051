//! Index throughput: a cold index (no previous generation) of a corpus, without
//! embeddings, in MB/s and files/s; and a no-change re-index (hash and compare only).
//!
//! `CODECTX_BENCH_CORPUS=/src/sympy cargo bench --bench index_throughput`

mod common;

use codectx_index::Indexer;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn index_throughput(c: &mut Criterion) {
    let corpus = common::corpus();
    let (files, bytes) = common::corpus_size(&corpus);
    let mut group = c.benchmark_group("index");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function(format!("cold/{files}_files"), |b| {
        b.iter_with_setup(
            || tempfile::tempdir().expect("temp dir"),
            |index_dir| {
                let indexer = Indexer::new(&corpus, Some(index_dir.path()), Default::default()).expect("indexer");
                let stats = indexer.run(&|_| {}).expect("index");
                // Every walked file is indexed or skipped as binary / invalid UTF-8.
                assert_eq!(stats.files + stats.skipped_binary, files);
                index_dir
            },
        )
    });
    group.throughput(Throughput::Elements(files));
    group.bench_function(format!("cold_files_per_sec/{files}_files"), |b| {
        b.iter_with_setup(
            || tempfile::tempdir().expect("temp dir"),
            |index_dir| {
                let indexer = Indexer::new(&corpus, Some(index_dir.path()), Default::default()).expect("indexer");
                indexer.run(&|_| {}).expect("index");
                index_dir
            },
        )
    });
    let index_dir = tempfile::tempdir().expect("temp dir");
    let indexer = Indexer::new(&corpus, Some(index_dir.path()), Default::default()).expect("indexer");
    indexer.run(&|_| {}).expect("index");
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("unchanged_reindex", |b| {
        b.iter(|| {
            let stats = indexer.run(&|_| {}).expect("index");
            assert_eq!(stats.parsed, 0);
        })
    });
    group.finish();
}

criterion_group!(benches, index_throughput);
criterion_main!(benches);
