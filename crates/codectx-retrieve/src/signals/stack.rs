//! Stack-trace hits: the files and functions of a trace's frames, innermost first.

use super::*;

/// Ranked chunks and ranked files, each with a raw score.
pub(super) type ChunkAndFileHits = (Vec<(ChunkRef, f32)>, Vec<(u32, f32)>);

/// Chunk and file hits of stack-trace frames. The frame nearest the error (the
/// last printed in Python traces, the first in Java traces) ranks first; frames
/// outside the repository match nothing. Each frame's chunk is found by
/// [`frame_chunk`].
///
/// Errors: [`codectx_core::Error::CorruptIndex`] when a chunk's text is missing
/// from the full-text index.
pub(super) fn stack_frames(
    snapshot: &IndexSnapshot,
    frames: &[Frame],
    accepts: &dyn Fn(u32) -> bool,
) -> Result<ChunkAndFileHits> {
    let mut chunks = Vec::new();
    let mut files = Vec::new();
    let python_like = frames.iter().any(|frame| frame.path.ends_with(".py"));
    let mut ordered: Vec<&Frame> = frames.iter().collect();
    if python_like {
        ordered.reverse();
    }
    for (position, frame) in ordered.into_iter().enumerate() {
        let matches = files_matching_path(snapshot, &frame.path);
        if matches.len() > 3 {
            continue; // a bare file name that many files share says little
        }
        let score = 1.0 / (1.0 + position as f32);
        for (file, _) in matches {
            if !accepts(file) {
                continue;
            }
            files.push((file, score));
            if let Some(ordinal) = frame_chunk(snapshot, file, frame)? {
                chunks.push((ChunkRef { file, ordinal }, score));
            }
        }
    }
    Ok((chunks, files))
}

/// The chunk of `file` that a stack-trace frame points at. The reporter's
/// version of the file is often not the indexed one, so the line number alone
/// can land in the wrong function; in order of trust:
/// 1. a chunk holding the source line the trace printed (Python), preferring
///    one of the frame's function, then the one nearest the line;
/// 2. the chunk at the line, when it belongs to the frame's function (or the
///    frame names none);
/// 3. the frame's function (a callable of that name; the one nearest the line
///    when several, as `eval` in a module of many classes);
/// 4. the chunk at the line.
pub(super) fn frame_chunk(snapshot: &IndexSnapshot, file: u32, frame: &Frame) -> Result<Option<u32>> {
    let entry = snapshot.file_at(file);
    let chunks = &entry.parsed.chunks;
    let function = frame.function.as_deref();
    // The chunk's own symbol is the frame's function (its qualified name's last part).
    let of_function = |chunk: &codectx_core::Chunk| {
        function.is_some_and(|function| {
            chunk.symbol.is_some_and(|symbol| entry.parsed.symbols[symbol as usize].name == function)
        })
    };
    let distance = |chunk: &codectx_core::Chunk| {
        frame.line.map_or(0, |line| {
            if line < chunk.span.start_line {
                chunk.span.start_line - line
            } else {
                line.saturating_sub(chunk.span.end_line)
            }
        })
    };
    let nearest = |ordinals: &[usize]| {
        ordinals
            .iter()
            .copied()
            .min_by_key(|&ordinal| (!of_function(&chunks[ordinal]), distance(&chunks[ordinal]), ordinal))
            .map(|ordinal| ordinal as u32)
    };
    let by_line = frame
        .line
        .and_then(|line| chunks.iter().position(|chunk| chunk.span.start_line <= line && line <= chunk.span.end_line));
    let named: Vec<usize> = function.map_or_else(Vec::new, |function| {
        entry
            .parsed
            .symbols
            .iter()
            .enumerate()
            .filter(|(_, symbol)| symbol.name == function && symbol.kind.is_callable())
            .filter_map(|(symbol, _)| chunk_of_symbol(snapshot, SymbolRef { file, symbol: symbol as u32 }))
            .map(|chunk| chunk.ordinal as usize)
            .collect()
    });
    if let Some(source) = frame.source.as_deref() {
        let holds = |ordinal: usize| -> Result<bool> {
            Ok(snapshot.chunk_text(file, ordinal as u32)?.lines().any(|line| line.trim() == source))
        };
        // The likely chunks first (the function's, the line's); every chunk of the
        // file only when none of them holds the line (a long function split into
        // windows, a renamed function).
        let mut likely: Vec<usize> = named.iter().copied().chain(by_line).collect();
        likely.sort_unstable();
        likely.dedup();
        let mut holding = Vec::new();
        for &ordinal in &likely {
            if holds(ordinal)? {
                holding.push(ordinal);
            }
        }
        if holding.is_empty() {
            for ordinal in (0..chunks.len()).filter(|ordinal| likely.binary_search(ordinal).is_err()) {
                if holds(ordinal)? {
                    holding.push(ordinal);
                }
            }
        }
        if let Some(ordinal) = nearest(&holding) {
            return Ok(Some(ordinal));
        }
    }
    if let Some(ordinal) = by_line {
        if function.is_none() || of_function(&chunks[ordinal]) {
            return Ok(Some(ordinal as u32));
        }
    }
    if let Some(ordinal) = nearest(&named) {
        return Ok(Some(ordinal));
    }
    Ok(by_line.map(|ordinal| ordinal as u32))
}
