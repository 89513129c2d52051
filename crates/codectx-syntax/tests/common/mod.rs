//! Helpers shared by the integration tests.
#![allow(dead_code)]

use codectx_core::{tokens, Chunk, ChunkKind, Language, ParsedFile, Symbol};
use codectx_syntax::{parse_file, ChunkOptions};

/// Parses with the default options and checks the chunk invariants.
pub fn parse(path: &str, language: Language, source: &str) -> ParsedFile {
    parse_with_cap(path, language, source, ChunkOptions::default().chunk_tokens)
}

/// Parses with a token cap and checks the chunk invariants.
pub fn parse_with_cap(path: &str, language: Language, source: &str, cap: usize) -> ParsedFile {
    let options = ChunkOptions { chunk_tokens: cap, ..ChunkOptions::default() };
    let parsed = parse_file(path, language, source, &options);
    check_invariants(source, &parsed, cap);
    parsed
}

/// The symbol with this qualified name.
pub fn symbol<'a>(parsed: &'a ParsedFile, qualified: &str) -> &'a Symbol {
    parsed.symbols.iter().find(|s| s.qualified_name == qualified).unwrap_or_else(|| {
        let names: Vec<_> = parsed.symbols.iter().map(|s| s.qualified_name.as_str()).collect();
        panic!("no symbol {qualified}; have {names:?}")
    })
}

/// The chunk whose symbol_path is `path` and kind `kind` (the first).
pub fn chunk<'a>(parsed: &'a ParsedFile, kind: ChunkKind, path: &str) -> &'a Chunk {
    parsed
        .chunks
        .iter()
        .find(|c| c.kind == kind && c.symbol_path == path)
        .unwrap_or_else(|| panic!("no {kind:?} chunk for {path:?}; have {:#?}", summary(parsed)))
}

/// `(kind, start_line, end_line, symbol_path)` of every chunk.
pub fn summary(parsed: &ParsedFile) -> Vec<(ChunkKind, u32, u32, String)> {
    parsed.chunks.iter().map(|c| (c.kind, c.span.start_line, c.span.end_line, c.symbol_path.clone())).collect()
}

/// Lines `(start, end)` of a symbol's span.
pub fn lines(symbol: &Symbol) -> (u32, u32) {
    (symbol.span.start_line, symbol.span.end_line)
}

/// Text of a chunk.
pub fn text<'a>(source: &'a str, chunk: &Chunk) -> &'a str {
    &source[chunk.span.start_byte as usize..chunk.span.end_byte as usize]
}

/// Chunks are in order, do not overlap, start and end on line boundaries, agree
/// with their line numbers, fit the cap (unless a single line), and cover every
/// non-blank line. Symbols are in source order with valid parents and spans.
pub fn check_invariants(source: &str, parsed: &ParsedFile, cap: usize) {
    let line_starts: Vec<usize> = std::iter::once(0).chain(source.match_indices('\n').map(|(i, _)| i + 1)).collect();
    let line_of = |byte: usize| line_starts.partition_point(|&s| s <= byte);
    let mut covered = vec![false; line_starts.len() + 1];
    let mut previous_end = 0usize;
    for chunk in &parsed.chunks {
        let (start, end) = (chunk.span.start_byte as usize, chunk.span.end_byte as usize);
        assert!(start <= end && end <= source.len(), "bad span {:?}", chunk.span);
        assert!(start >= previous_end, "chunks overlap or are out of order at {:?}", chunk.span);
        assert!(start == 0 || source.as_bytes()[start - 1] == b'\n', "chunk does not start a line: {:?}", chunk.span);
        assert!(
            end == source.len() || matches!(source.as_bytes()[end], b'\n' | b'\r'),
            "chunk does not end a line: {:?}",
            chunk.span
        );
        assert_eq!(line_of(start) as u32, chunk.span.start_line, "start line of {:?}", chunk.span);
        assert_eq!(
            line_of(end.saturating_sub(1).max(start)) as u32,
            chunk.span.end_line,
            "end line of {:?}",
            chunk.span
        );
        let text = &source[start..end];
        assert!(!text.trim().is_empty(), "blank chunk {:?}", chunk.span);
        if chunk.span.start_line != chunk.span.end_line {
            let count = tokens::count(text);
            assert!(count <= cap, "chunk {:?} has {count} tokens > {cap}", chunk.span);
        }
        for line in chunk.span.start_line..=chunk.span.end_line {
            covered[line as usize] = true;
        }
        assert!(chunk.references.len() <= 64);
        previous_end = end;
    }
    for (i, line) in source.lines().enumerate() {
        if !line.trim().is_empty() {
            assert!(covered[i + 1], "line {} ({line:?}) is in no chunk: {:#?}", i + 1, summary(parsed));
        }
    }
    for (i, symbol) in parsed.symbols.iter().enumerate() {
        assert!(symbol.span.end_byte as usize <= source.len());
        assert!(symbol.span.start_line <= symbol.span.end_line);
        assert!(
            symbol.name_span.start_byte >= symbol.span.start_byte && symbol.name_span.end_byte <= symbol.span.end_byte
        );
        if i > 0 {
            assert!(parsed.symbols[i - 1].span.start_byte <= symbol.span.start_byte, "symbols out of order");
        }
        if let Some(parent) = symbol.parent {
            let parent = &parsed.symbols[parent as usize];
            assert!(parent.span.start_byte <= symbol.span.start_byte && symbol.span.end_byte <= parent.span.end_byte);
        }
        assert!(symbol.signature.len() <= 300 + 3);
    }
}
