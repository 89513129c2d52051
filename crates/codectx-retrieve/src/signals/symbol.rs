//! Symbol hits: definitions whose names are identifiers of the query.

use super::*;

/// The chunk that holds a symbol: the chunk whose symbol it is, else the chunk
/// whose span contains its name.
pub fn chunk_of_symbol(snapshot: &IndexSnapshot, reference: SymbolRef) -> Option<ChunkRef> {
    let entry = snapshot.file_at(reference.file);
    let chunks = &entry.parsed.chunks;
    if let Some(ordinal) = chunks.iter().position(|chunk| chunk.symbol == Some(reference.symbol)) {
        return Some(ChunkRef { file: reference.file, ordinal: ordinal as u32 });
    }
    let at = entry.parsed.symbols[reference.symbol as usize].name_span.start_byte;
    chunks
        .iter()
        .position(|chunk| chunk.span.start_byte <= at && at < chunk.span.end_byte)
        .map(|ordinal| ChunkRef { file: reference.file, ordinal: ordinal as u32 })
}

pub(super) fn symbol_hits(
    snapshot: &IndexSnapshot,
    analyzed: &AnalyzedQuery,
    accepts: &dyn Fn(u32) -> bool,
    options: &RetrieveOptions,
) -> Result<Vec<(ChunkRef, f32)>> {
    let mut scored: Vec<(ChunkRef, f32)> = Vec::new();
    for (position, identifier) in analyzed.identifiers.iter().enumerate() {
        // Earlier mentions (titles, first sentences) weigh a little more.
        let mention = 1.0 / (1.0 + position as f32 * 0.05);
        let segments: Vec<&str> = identifier.split(['.', ':']).filter(|part| !part.is_empty()).collect();
        let mut found = Vec::new();
        let mut matched_segments = 0;
        // Longest qualified suffix that names a symbol: `pkg.Session.send` → `Session.send` → `send`.
        for start in 0..segments.len() {
            let candidate = segments[start..].join(".");
            found = snapshot.find_symbols(&candidate);
            if !found.is_empty() {
                matched_segments = segments.len() - start;
                break;
            }
        }
        if !found.is_empty() {
            let specificity = 1.0 / (found.len() as f32).sqrt();
            let qualified_bonus = 1.0 + 0.5 * (matched_segments as f32 - 1.0);
            for reference in found.into_iter().take(options.candidates) {
                if !accepts(reference.file) {
                    continue;
                }
                if let Some(chunk) = chunk_of_symbol(snapshot, reference) {
                    scored.push((chunk, mention * specificity * qualified_bonus));
                }
            }
            continue;
        }
        // No exact hit: a fuzzy one (typos, other spellings) for longer names.
        let last = segments.last().copied().unwrap_or("");
        if last.len() >= 6 {
            let hits = snapshot.text().symbol_hits(last, 1, 20).map_err(codectx_core::Error::from)?;
            for hit in hits {
                if let Some((file, _)) = snapshot.file(&hit.path) {
                    if accepts(file) {
                        scored.push((ChunkRef { file, ordinal: hit.ordinal }, 0.3 * mention));
                    }
                }
            }
        }
    }
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.truncate(options.candidates);
    Ok(scored)
}
