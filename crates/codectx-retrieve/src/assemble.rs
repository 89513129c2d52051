//! Context assembly under a token budget.

use std::collections::{HashMap, HashSet};

use codectx_core::{
    tokens, Block, BlockKind, ContextBundle, ContextRequest, RankedFile, Result, SignalHit, Symbol, SymbolKind,
};
use codectx_index::IndexSnapshot;

use crate::filter::PathMatcher;
use crate::signals::{rank_hybrid, ChunkRef, RankedChunk, RetrieveOptions};

/// Ranked files listed in a bundle (more than have blocks).
const LISTED_FILES: usize = 50;
/// Chunks considered for a bundle before giving up on filling the budget.
const MAX_CONSIDERED: usize = 400;
/// Budget left (tokens) below which assembly stops.
const MIN_USEFUL_TOKENS: usize = 24;
/// Lines between two chunks of one file up to which their blocks merge.
const MERGE_GAP_LINES: u32 = 2;

struct Selected {
    chunk: ChunkRef,
    start_line: u32,
    end_line: u32,
    symbol: String,
    kind: BlockKind,
    score: f32,
    signals: Vec<SignalHit>,
    text: String,
}

/// Assembles the context for `request`: the best chunks first until the budget
/// (`request.token_budget`, `o200k_base` tokens) is spent; a chunk too big for what
/// is left degrades to its symbol's signature and doc; adjacent or overlapping
/// spans of one file merge into one block; blocks are ordered by file (in rank
/// order of the files) and line. `tokens_used` counts the blocks' text and never
/// exceeds the budget.
///
/// Errors: [`codectx_core::Error::InvalidArgument`] for an invalid request (see
/// [`ContextRequest::validate`]) or glob; [`codectx_core::Error::CorruptIndex`] if
/// a chunk's text is missing from the index.
pub fn assemble(
    snapshot: &IndexSnapshot,
    request: &ContextRequest,
    options: &RetrieveOptions,
) -> Result<ContextBundle> {
    assemble_hybrid(snapshot, request, &[], options)
}

/// [`assemble`] with the vector signal: `vector_hits` are the chunks nearest to
/// the query's embedding, nearest first (see [`crate::rank_hybrid`]).
pub fn assemble_hybrid(
    snapshot: &IndexSnapshot,
    request: &ContextRequest,
    vector_hits: &[(ChunkRef, f32)],
    options: &RetrieveOptions,
) -> Result<ContextBundle> {
    request.validate()?;
    let matcher = PathMatcher::new(&request.filter)?;
    let ranking = rank_hybrid(snapshot, &request.query, vector_hits, &matcher, options)?;
    let budget = request.token_budget;
    let chunk_budget = if request.expansion.enabled {
        budget - (budget as f32 * request.expansion.max_share.clamp(0.0, 1.0)) as usize
    } else {
        budget
    };

    let mut remaining = chunk_budget;
    let mut selected: Vec<Selected> = Vec::new();
    let mut files_used: HashSet<u32> = HashSet::new();
    // The chunks of the first definitions of the learned function ranking, then
    // the best chunk of each of the top files, then everything by score.
    let definition_chunks = leading_definition_chunks(snapshot, &ranking, options);
    let mut order: Vec<&RankedChunk> = Vec::with_capacity(ranking.chunks.len() + definition_chunks.len());
    let mut leading: HashSet<ChunkRef> = HashSet::new();
    for chunk in &definition_chunks {
        if leading.insert(chunk.chunk) {
            order.push(chunk);
        }
    }
    for (file, _) in ranking.files.iter().take(options.diverse_files) {
        if let Some(best) = ranking.chunks.iter().find(|candidate| candidate.chunk.file == *file) {
            if leading.insert(best.chunk) {
                order.push(best);
            }
        }
    }
    order.extend(ranking.chunks.iter().filter(|candidate| !leading.contains(&candidate.chunk)));
    for candidate in order.into_iter().take(MAX_CONSIDERED) {
        if remaining < MIN_USEFUL_TOKENS {
            break;
        }
        let file = candidate.chunk.file;
        if request.max_files > 0 && !files_used.contains(&file) && files_used.len() >= request.max_files {
            continue;
        }
        let Some(chunk) = snapshot.chunk(file, candidate.chunk.ordinal) else { continue };
        let text = snapshot.chunk_text(file, candidate.chunk.ordinal)?;
        // Each block costs its text plus about 12 tokens of header when rendered.
        if let Some(count) = tokens::count_within(&text, remaining.saturating_sub(BLOCK_OVERHEAD_TOKENS)) {
            remaining -= count;
            files_used.insert(file);
            selected.push(Selected {
                chunk: candidate.chunk,
                start_line: chunk.span.start_line,
                end_line: chunk.span.end_line,
                symbol: chunk.symbol_path.clone(),
                kind: BlockKind::Code,
                score: candidate.score,
                signals: candidate.signals.clone(),
                text,
            });
            continue;
        }
        // Too big for what is left: the signature and doc of its symbol.
        let entry = snapshot.file_at(file);
        let Some(symbol) = chunk.symbol.and_then(|index| entry.parsed.symbols.get(index as usize)) else { continue };
        let summary = symbol_summary(symbol, 8);
        if let Some(count) = tokens::count_within(&summary, remaining.saturating_sub(BLOCK_OVERHEAD_TOKENS)) {
            remaining -= count;
            files_used.insert(file);
            selected.push(Selected {
                chunk: candidate.chunk,
                start_line: symbol.span.start_line,
                end_line: symbol.span.start_line,
                symbol: symbol.qualified_name.clone(),
                kind: BlockKind::Signature,
                score: candidate.score,
                signals: candidate.signals.clone(),
                text: summary,
            });
        }
    }

    let chosen: Vec<ChunkRef> = selected
        .iter()
        .filter(|selection| selection.kind == BlockKind::Code)
        .map(|selection| selection.chunk)
        .collect();
    let mut blocks = merge_blocks(snapshot, selected);
    // Merging joins texts; recount exactly and drop the weakest blocks if the sum
    // went over (it can by a token per merge).
    let mut used: usize = blocks.iter().map(|block| block.tokens as usize).sum();
    while used > chunk_budget {
        let Some(weakest) =
            blocks.iter().enumerate().min_by(|a, b| a.1.score.total_cmp(&b.1.score)).map(|(index, _)| index)
        else {
            break;
        };
        used -= blocks.remove(weakest).tokens as usize;
    }

    if request.expansion.enabled {
        // Related signatures get at most 60% of what is left; the repo map the rest.
        // With a file limit, expansion stays within the files already chosen.
        let limited = request.max_files > 0;
        let chosen_paths: HashSet<String> = blocks.iter().map(|block| block.path.clone()).collect();
        let within = |path: &str| matcher.accepts(path) && (!limited || chosen_paths.contains(path));
        let left_total = budget.saturating_sub(used);
        let mut related_left = left_total * 3 / 5;
        let related = related_blocks(snapshot, &chosen, &blocks, &within, &mut related_left);
        let mut left = left_total - (left_total * 3 / 5 - related_left);
        blocks.extend(related);
        let maps = repo_map_blocks(snapshot, &ranking.files, &within, &mut left);
        blocks.extend(maps);
        used = budget - left;
    }

    let files = ranking
        .files
        .iter()
        .filter(|(file, _)| matcher.accepts(&snapshot.file_at(*file).record.path))
        .take(LISTED_FILES)
        .map(|&(file, score)| {
            let record = &snapshot.file_at(file).record;
            RankedFile { path: record.path.clone(), score, language: record.language }
        })
        .collect();
    let manifest = snapshot.manifest();
    Ok(ContextBundle {
        blocks,
        files,
        tokens_used: used as u32,
        token_budget: budget as u32,
        fingerprint: manifest.fingerprint.clone(),
        commit: manifest.commit.clone(),
        vector_coverage: snapshot.vector_coverage().filter(codectx_core::VectorCoverage::is_partial),
    })
}

/// Most chunks one leading definition contributes (a long function's first windows).
const CHUNKS_PER_DEFINITION: usize = 4;

/// The chunks of the first [`RetrieveOptions::leading_definitions`] definitions
/// of the learned function ranking ([`crate::ranked_definitions`]), in that
/// order, at most [`CHUNKS_PER_DEFINITION`] each; none without a function
/// ranker. A chunk the chunk ranking holds keeps its score and signals; one it
/// does not (the function ranker found the definition by other evidence) gets
/// its file's best chunk score.
fn leading_definition_chunks(
    snapshot: &IndexSnapshot,
    ranking: &crate::signals::Ranking,
    options: &RetrieveOptions,
) -> Vec<RankedChunk> {
    if options.leading_definitions == 0 || options.function_ranker.is_none() || options.function_files == 0 {
        return Vec::new();
    }
    let ranked: HashMap<ChunkRef, &RankedChunk> = ranking.chunks.iter().map(|chunk| (chunk.chunk, chunk)).collect();
    let mut file_best: HashMap<u32, f32> = HashMap::new();
    for chunk in &ranking.chunks {
        file_best.entry(chunk.chunk.file).or_insert(chunk.score);
    }
    let mut out = Vec::new();
    for definition in crate::ranked_definitions(snapshot, ranking, options).iter().take(options.leading_definitions) {
        let parsed = &snapshot.file_at(definition.file).parsed;
        for ordinal in
            crate::definitions::definition_chunks(parsed, definition.symbol).into_iter().take(CHUNKS_PER_DEFINITION)
        {
            let chunk = ChunkRef { file: definition.file, ordinal };
            out.push(match ranked.get(&chunk) {
                Some(ranked) => (*ranked).clone(),
                None => RankedChunk {
                    chunk,
                    score: file_best.get(&definition.file).copied().unwrap_or(0.0),
                    signals: Vec::new(),
                },
            });
        }
    }
    out
}

/// Groups selections by file, merges touching spans, orders files by their best
/// block's score and blocks by line.
fn merge_blocks(snapshot: &IndexSnapshot, selected: Vec<Selected>) -> Vec<Block> {
    let mut by_file: HashMap<u32, Vec<Selected>> = HashMap::new();
    let mut file_order: Vec<u32> = Vec::new();
    for selection in selected {
        let file = selection.chunk.file;
        if !by_file.contains_key(&file) {
            file_order.push(file);
        }
        by_file.entry(file).or_default().push(selection);
    }
    let mut blocks = Vec::new();
    for file in file_order {
        let mut parts = by_file.remove(&file).unwrap_or_default();
        // A signature whose line a code block of the file already shows (the head of
        // a function split into several chunks) would only repeat it.
        let code_spans: Vec<(u32, u32)> = parts
            .iter()
            .filter(|part| part.kind == BlockKind::Code)
            .map(|part| (part.start_line, part.end_line))
            .collect();
        parts.retain(|part| {
            part.kind != BlockKind::Signature
                || !code_spans.iter().any(|&(start, end)| start <= part.start_line && part.start_line <= end)
        });
        parts.sort_by_key(|part| (part.start_line, part.chunk.ordinal));
        let path = &snapshot.file_at(file).record.path;
        let mut current: Option<Block> = None;
        for part in parts {
            let mergeable = current.as_ref().is_some_and(|block| {
                block.kind == BlockKind::Code
                    && part.kind == BlockKind::Code
                    && part.start_line <= block.end_line + 1 + MERGE_GAP_LINES
            });
            if mergeable {
                let block = current.as_mut().expect("checked");
                if part.start_line > block.end_line {
                    let gap = part.start_line - block.end_line - 1;
                    if !block.text.ends_with('\n') {
                        block.text.push('\n');
                    }
                    for _ in 0..gap {
                        block.text.push('\n');
                    }
                    block.text.push_str(&part.text);
                    block.end_line = part.end_line;
                } else if part.end_line > block.end_line {
                    // Overlap (a signature block inside a code block never merges): keep the new lines only.
                    let skip = (block.end_line + 1 - part.start_line) as usize;
                    let rest: Vec<&str> = part.text.lines().skip(skip).collect();
                    if !block.text.ends_with('\n') {
                        block.text.push('\n');
                    }
                    block.text.push_str(&rest.join("\n"));
                    block.end_line = part.end_line;
                }
                if block.symbol.is_empty() {
                    block.symbol = part.symbol;
                }
                block.score = block.score.max(part.score);
                for hit in part.signals {
                    if !block.signals.iter().any(|existing| existing.signal == hit.signal && existing.rank <= hit.rank)
                    {
                        block.signals.retain(|existing| existing.signal != hit.signal);
                        block.signals.push(hit);
                    }
                }
                continue;
            }
            if let Some(block) = current.take() {
                blocks.push(finish(block));
            }
            current = Some(Block {
                path: path.clone(),
                start_line: part.start_line,
                end_line: part.end_line,
                symbol: part.symbol,
                kind: part.kind,
                score: part.score,
                signals: part.signals,
                tokens: 0,
                text: part.text,
            });
        }
        if let Some(block) = current.take() {
            blocks.push(finish(block));
        }
    }
    blocks
}

fn finish(mut block: Block) -> Block {
    block.signals.sort_by_key(|hit| (hit.signal, hit.rank));
    block.tokens = tokens::count(&block.text) as u32;
    block
}

/// Tokens a rendered block header costs besides its text (`path:a-b (symbol)`, fence).
const BLOCK_OVERHEAD_TOKENS: usize = 12;
/// Callees and callers added per chosen chunk.
const CALLEES_PER_CHUNK: usize = 4;
const CALLERS_PER_CHUNK: usize = 3;
/// Files given a repo-map skeleton, and lines per skeleton.
const REPO_MAP_FILES: usize = 5;
const REPO_MAP_LINES: usize = 60;

/// A definition's doc (first `doc_lines` lines) and signature.
fn symbol_summary(symbol: &Symbol, doc_lines: usize) -> String {
    let mut summary = String::new();
    if let Some(doc) = &symbol.doc {
        let doc: Vec<&str> = doc.lines().take(doc_lines).collect();
        if !doc.is_empty() {
            summary.push_str(&doc.join("\n"));
            summary.push('\n');
        }
    }
    summary.push_str(&symbol.signature);
    summary
}

/// Signatures and docs of what the chosen chunks call (their references,
/// resolved to definitions in the same file or imported files first) and of what
/// calls them, skipping what the code blocks already show.
fn related_blocks(
    snapshot: &IndexSnapshot,
    chosen: &[ChunkRef],
    shown: &[Block],
    within: &dyn Fn(&str) -> bool,
    left: &mut usize,
) -> Vec<Block> {
    let is_shown = |path: &str, line: u32| {
        shown.iter().any(|block| {
            block.path == path && block.kind == BlockKind::Code && block.start_line <= line && line <= block.end_line
        })
    };
    let mut seen: HashSet<(u32, u32)> = HashSet::new();
    let mut out = Vec::new();
    let mut push = |file: u32, symbol_index: u32, left: &mut usize, out: &mut Vec<Block>| -> bool {
        if !seen.insert((file, symbol_index)) {
            return false;
        }
        let entry = snapshot.file_at(file);
        let symbol = &entry.parsed.symbols[symbol_index as usize];
        if !within(&entry.record.path) || is_shown(&entry.record.path, symbol.name_span.start_line) {
            return false;
        }
        let text = symbol_summary(symbol, 3);
        let Some(count) = tokens::count_within(&text, left.saturating_sub(BLOCK_OVERHEAD_TOKENS)) else { return false };
        *left -= count;
        out.push(Block {
            path: entry.record.path.clone(),
            start_line: symbol.name_span.start_line,
            end_line: symbol.name_span.start_line,
            symbol: symbol.qualified_name.clone(),
            kind: BlockKind::Related,
            score: 0.0,
            signals: Vec::new(),
            tokens: count as u32,
            text,
        });
        true
    };
    for chunk_ref in chosen {
        if *left < MIN_USEFUL_TOKENS {
            break;
        }
        let entry = snapshot.file_at(chunk_ref.file);
        let Some(chunk) = entry.parsed.chunks.get(chunk_ref.ordinal as usize) else { continue };
        let imported = crate::references::imported_paths(entry);
        // Callees.
        let mut added = 0;
        for name in &chunk.references {
            if added >= CALLEES_PER_CHUNK {
                break;
            }
            let pick = crate::references::resolve_reference(snapshot, chunk_ref.file, &imported, name).first().copied();
            if let Some(reference) = pick {
                if push(reference.file, reference.symbol, left, &mut out) {
                    added += 1;
                }
            }
        }
        // Callers: chunks that reference this chunk's own definition.
        let Some(own) = chunk.symbol.and_then(|index| entry.parsed.symbols.get(index as usize)) else { continue };
        if !own.kind.is_callable() && !own.kind.is_container() {
            continue;
        }
        let mut callers = 0;
        for &(file, ordinal) in snapshot.chunks_referencing(&own.name).iter().take(50) {
            if callers >= CALLERS_PER_CHUNK {
                break;
            }
            if (file, ordinal) == (chunk_ref.file, chunk_ref.ordinal) {
                continue;
            }
            let Some(caller) = snapshot.chunk(file, ordinal).and_then(|caller| caller.symbol) else { continue };
            if push(file, caller, left, &mut out) {
                callers += 1;
            }
        }
    }
    out
}

/// Skeletons of the top-ranked files: each definition's first signature line,
/// indented by nesting and prefixed by its line number, bodies elided.
fn repo_map_blocks(
    snapshot: &IndexSnapshot,
    files: &[(u32, f32)],
    within: &dyn Fn(&str) -> bool,
    left: &mut usize,
) -> Vec<Block> {
    let mut out = Vec::new();
    for &(file, score) in
        files.iter().filter(|(file, _)| within(&snapshot.file_at(*file).record.path)).take(REPO_MAP_FILES)
    {
        if *left < MIN_USEFUL_TOKENS {
            break;
        }
        let entry = snapshot.file_at(file);
        let symbols = &entry.parsed.symbols;
        let mut lines: Vec<String> = Vec::new();
        for symbol in symbols.iter().filter(|symbol| symbol.kind != SymbolKind::Variable).take(REPO_MAP_LINES) {
            let mut depth = 0;
            let mut parent = symbol.parent;
            while let Some(index) = parent {
                depth += 1;
                parent = symbols.get(index as usize).and_then(|symbol| symbol.parent);
            }
            let head = symbol.signature.lines().next().unwrap_or(&symbol.name);
            lines.push(format!("{:>5}: {}{}", symbol.name_span.start_line, "  ".repeat(depth), head));
        }
        if lines.is_empty() {
            continue;
        }
        // The longest prefix of the skeleton that fits.
        let budget = left.saturating_sub(BLOCK_OVERHEAD_TOKENS);
        let mut keep = lines.len();
        let mut text = lines.join("\n");
        let mut count = tokens::count(&text);
        while count > budget && keep > 1 {
            keep = (keep * budget / count.max(1)).min(keep - 1).max(1);
            text = lines[..keep].join("\n");
            count = tokens::count(&text);
        }
        if count > budget {
            break;
        }
        *left -= count;
        let end_line = symbols.iter().map(|symbol| symbol.span.end_line).max().unwrap_or(1);
        out.push(Block {
            path: entry.record.path.clone(),
            start_line: 1,
            end_line,
            symbol: String::new(),
            kind: BlockKind::RepoMap,
            score,
            signals: Vec::new(),
            tokens: count as u32,
            text,
        });
    }
    out
}
