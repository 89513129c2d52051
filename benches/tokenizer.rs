//! Code tokenizer throughput (MB/s) over the corpus's source files: the analyzer
//! every chunk and query goes through.
//!
//! `CODECTX_BENCH_CORPUS=/src/sympy cargo bench --bench tokenizer`

mod common;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn tokenizer(c: &mut Criterion) {
    let corpus = common::corpus();
    let scratch = std::env::temp_dir().join("codectx-bench-walk");
    let (files, _) = codectx_index::walk::walk(&corpus, &scratch, &Default::default()).expect("walk the corpus");
    let texts: Vec<String> = files
        .iter()
        .filter(|file| codectx_core::Language::from_path(&file.rel_path).has_grammar())
        .filter_map(|file| std::fs::read_to_string(&file.abs_path).ok())
        .take(2_000)
        .collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    let mut group = c.benchmark_group("code_tokenizer");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("code_tokens", |b| {
        b.iter(|| texts.iter().map(|text| codectx_text::code_tokens(text).len()).sum::<usize>())
    });
    group.finish();
}

criterion_group!(benches, tokenizer);
criterion_main!(benches);
