//! BM25 over chunks (tantivy, `codectx-text`): the query's terms, stop words
//! dropped, as one ranked list of chunks.

use super::*;

/// English and issue-tracker words that carry no information about code.
pub(super) const STOPWORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "him",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "me",
    "more",
    "most",
    "my",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "out",
    "over",
    "own",
    "same",
    "she",
    "should",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "very",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    "yours",
    "like",
    "get",
    "got",
    "use",
    "used",
    "using",
    "want",
    "way",
    "think",
    "see",
    "seems",
    "following",
    "example",
    "issue",
    "problem",
    "bug",
    "expected",
    "actual",
    "result",
    "output",
    "please",
    "thanks",
    "however",
    "instead",
    "would",
    "since",
    "currently",
    "something",
    "anything",
    "one",
    "two",
    "make",
    "work",
    "works",
    "working",
    "http",
    "https",
    "www",
    "com",
    "github",
];

/// Query terms for BM25: code tokens of the whole query, stopwords dropped,
/// weighted by term frequency (sub-linearly) and doubled for tokens of
/// identifiers; the `max_terms` rarest (by document frequency) are kept.
pub fn bm25_terms(
    snapshot: &IndexSnapshot,
    query: &str,
    analyzed: &AnalyzedQuery,
    max_terms: usize,
) -> Vec<(String, f32)> {
    let stopwords: HashSet<&str> = STOPWORDS.iter().copied().collect();
    let mut frequency: HashMap<String, u32> = HashMap::new();
    for token in codectx_text::code_tokens(query) {
        if token.len() < 2 || stopwords.contains(token.as_str()) || token.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        *frequency.entry(token).or_default() += 1;
    }
    let identifier_tokens: HashSet<String> =
        analyzed.identifiers.iter().flat_map(|identifier| codectx_text::code_tokens(identifier)).collect();
    let total = snapshot.text().num_chunks().max(1) as f32;
    let mut terms: Vec<(String, f32, f32)> = frequency
        .into_iter()
        .filter_map(|(term, count)| {
            let document_frequency = snapshot.text().doc_freq(&term) as f32;
            if document_frequency == 0.0 {
                return None;
            }
            let idf = ((total - document_frequency + 0.5) / (document_frequency + 0.5) + 1.0).ln();
            let mut weight = 1.0 + (count as f32).ln();
            if identifier_tokens.contains(&term) {
                weight *= 2.0;
            }
            Some((term, weight, idf))
        })
        .collect();
    terms.sort_by(|a, b| (b.1 * b.2).total_cmp(&(a.1 * a.2)).then_with(|| a.0.cmp(&b.0)));
    terms.truncate(max_terms);
    terms.into_iter().map(|(term, weight, _)| (term, weight)).collect()
}

pub(super) fn bm25(
    snapshot: &IndexSnapshot,
    terms: &[(String, f32)],
    matcher: &PathMatcher,
    limit: usize,
) -> Result<Vec<(ChunkRef, f32)>> {
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    let accept = |path: &str| matcher.accepts(path);
    let filter: Option<&(dyn Fn(&str) -> bool + Sync)> = if matcher.is_all() { None } else { Some(&accept) };
    let hits = snapshot.text().search(terms, limit, filter).map_err(codectx_core::Error::from)?;
    Ok(hits
        .into_iter()
        .filter_map(|hit| {
            let (file, _) = snapshot.file(&hit.path)?;
            Some((ChunkRef { file, ordinal: hit.ordinal }, hit.score))
        })
        .collect())
}
