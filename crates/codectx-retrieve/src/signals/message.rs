//! Error-message hits: chunks that hold a message string the query quotes.

use super::*;

/// Words of a message that pin it down: at most this many, the rarest.
pub(super) const MESSAGE_TERMS: usize = 6;
/// Messages with fewer distinctive words than this are too generic to look up.
pub(super) const MIN_MESSAGE_TERMS: usize = 3;

/// Chunks containing every distinctive word of a quoted error message: where the
/// string literal that produces it lives. Words that occur nowhere in the code
/// (formatted values such as `'x'` or `42`) are dropped first.
pub(super) fn message_hits(
    snapshot: &IndexSnapshot,
    messages: &[String],
    accepts: &dyn Fn(u32) -> bool,
) -> Result<Vec<(ChunkRef, f32)>> {
    let stopwords: HashSet<&str> = STOPWORDS.iter().copied().collect();
    let mut out = Vec::new();
    for message in messages {
        let mut terms: Vec<(String, u64)> = Vec::new();
        for token in codectx_text::code_tokens(message) {
            if token.len() < 2 || stopwords.contains(token.as_str()) || token.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            if terms.iter().any(|(existing, _)| *existing == token) {
                continue;
            }
            let frequency = snapshot.text().doc_freq(&token);
            if frequency > 0 {
                terms.push((token, frequency));
            }
        }
        if terms.len() < MIN_MESSAGE_TERMS {
            continue;
        }
        terms.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        let words: Vec<String> = terms.into_iter().take(MESSAGE_TERMS).map(|(term, _)| term).collect();
        let hits = snapshot.text().search_all(&words, 20).map_err(codectx_core::Error::from)?;
        for hit in hits {
            if let Some((file, _)) = snapshot.file(&hit.path) {
                if accepts(file) {
                    out.push((ChunkRef { file, ordinal: hit.ordinal }, hit.score));
                }
            }
        }
    }
    Ok(out)
}
