//! Throughput measurements; ignored by default. Run in release:
//! `cargo test --release -p codectx-text --test perf -- --ignored --nocapture`
//! (set `CODECTX_PERF_DIR` to a source tree to measure on real code).

use std::time::Instant;

use codectx_core::Language;
use codectx_text::{ChunkDoc, CodeTokenizer, TextIndex};
use tantivy::tokenizer::{TokenStream, Tokenizer};

/// Source text: the `.rs`/`.py`/... files under `CODECTX_PERF_DIR`, or synthetic code.
fn corpus(min_bytes: usize) -> Vec<String> {
    let mut files = Vec::new();
    if let Ok(dir) = std::env::var("CODECTX_PERF_DIR") {
        let mut stack = vec![std::path::PathBuf::from(dir)];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if Language::from_path(&path.to_string_lossy()).has_grammar() {
                    if let Ok(text) = std::fs::read_to_string(&path) {
                        files.push(text);
                    }
                }
            }
        }
    }
    if files.is_empty() {
        let unit = "    pub fn getHTTPResponse2(&self, request_id: u64) -> Result<HttpResponse, Error> {\n        let resolved = self.session.resolve_redirects(request_id)?; // follow redirects\n        Ok(HttpResponse::from_parts(resolved.status_code, resolved.body.to_vec()))\n    }\n";
        files.push(unit.repeat(2000));
    }
    let total: usize = files.iter().map(String::len).sum();
    let mut out = Vec::new();
    let mut bytes = 0;
    while bytes < min_bytes && total > 0 {
        for file in &files {
            out.push(file.clone());
            bytes += file.len();
        }
    }
    out
}

#[test]
#[ignore]
fn tokenizer_throughput() {
    let files = corpus(100_000_000);
    let bytes: usize = files.iter().map(String::len).sum();
    let mut tokenizer = CodeTokenizer::default();
    let start = Instant::now();
    let mut tokens = 0usize;
    for file in &files {
        let mut stream = tokenizer.token_stream(file);
        while stream.advance() {
            tokens += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "tokenizer: {:.1} MB in {secs:.2}s = {:.0} MB/s, {tokens} tokens",
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / secs
    );
}

#[test]
#[ignore]
fn indexing_throughput() {
    let files = corpus(100_000_000);
    let tmp = tempfile::tempdir().unwrap();
    let index = TextIndex::create(tmp.path()).unwrap();
    let writer = index.writer(200_000_000, 2).unwrap();
    let start = Instant::now();
    let mut bytes = 0usize;
    let mut chunks = 0u64;
    let symbols = vec!["resolve_redirects".to_string()];
    for (f, file) in files.iter().enumerate() {
        let path = format!("src/file_{f}.rs");
        // ~40-line chunks.
        let lines: Vec<&str> = file.lines().collect();
        for (ordinal, window) in lines.chunks(40).enumerate() {
            let content = window.join("\n");
            bytes += content.len();
            chunks += 1;
            writer
                .add(&ChunkDoc {
                    path: &path,
                    ordinal: ordinal as u32,
                    language: Language::Rust,
                    symbols: &symbols,
                    qualified: &symbols,
                    signature: window.first().copied().unwrap_or(""),
                    doc: "",
                    content: &content,
                })
                .unwrap();
        }
    }
    let queued = start.elapsed().as_secs_f64();
    writer.commit().unwrap();
    let secs = start.elapsed().as_secs_f64();
    let size: u64 = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.metadata().unwrap().len())
        .sum();
    eprintln!(
        "indexing: {:.1} MB, {chunks} chunks, queued in {queued:.1}s, committed in {secs:.1}s = {:.1} MB/s; index {:.1} MB",
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / secs,
        size as f64 / 1e6
    );
    let start = Instant::now();
    let terms: Vec<(String, f32)> =
        codectx_text::code_tokens("resolve redirects http response status")
            .into_iter()
            .map(|t| (t, 1.0))
            .collect();
    for _ in 0..100 {
        let hits = index.search(&terms, 20, None).unwrap();
        assert!(!hits.is_empty());
    }
    eprintln!("search: {:.2} ms/query", start.elapsed().as_secs_f64() * 10.0);
}
