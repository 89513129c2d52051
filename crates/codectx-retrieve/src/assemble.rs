//! Context assembly under a token budget.

use std::collections::{HashMap, HashSet};

use codectx_core::{tokens, Block, BlockKind, ContextBundle, ContextRequest, RankedFile, Result, SignalHit};
use codectx_index::IndexSnapshot;

use crate::filter::PathMatcher;
use crate::signals::{rank, ChunkRef, RankedChunk, RetrieveOptions};

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
pub fn assemble(snapshot: &IndexSnapshot, request: &ContextRequest, options: &RetrieveOptions) -> Result<ContextBundle> {
    request.validate()?;
    let matcher = PathMatcher::new(&request.filter)?;
    let ranking = rank(snapshot, &request.query, &matcher, options)?;
    let budget = request.token_budget;

    let mut remaining = budget;
    let mut selected: Vec<Selected> = Vec::new();
    let mut files_used: HashSet<u32> = HashSet::new();
    // The best chunk of each of the top files first, then everything by score.
    let mut order: Vec<&RankedChunk> = Vec::with_capacity(ranking.chunks.len());
    let mut leading: HashSet<ChunkRef> = HashSet::new();
    for (file, _) in ranking.files.iter().take(options.diverse_files) {
        if let Some(best) = ranking.chunks.iter().find(|candidate| candidate.chunk.file == *file) {
            leading.insert(best.chunk);
            order.push(best);
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
        if let Some(count) = tokens::count_within(&text, remaining.saturating_sub(12)) {
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
        let mut summary = String::new();
        if let Some(doc) = &symbol.doc {
            let doc: String = doc.lines().take(8).collect::<Vec<_>>().join("\n");
            summary.push_str(&doc);
            summary.push('\n');
        }
        summary.push_str(&symbol.signature);
        if let Some(count) = tokens::count_within(&summary, remaining.saturating_sub(12)) {
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

    let mut blocks = merge_blocks(snapshot, selected);
    // Merging joins texts; recount exactly and drop the weakest blocks if the sum
    // went over (it can by a token per merge).
    let mut used: usize = blocks.iter().map(|block| block.tokens as usize).sum();
    while used > budget {
        let Some(weakest) = blocks
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.score.total_cmp(&b.1.score))
            .map(|(index, _)| index)
        else {
            break;
        };
        used -= blocks.remove(weakest).tokens as usize;
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
    })
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
                    if !block.signals.iter().any(|existing| existing.signal == hit.signal && existing.rank <= hit.rank) {
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
