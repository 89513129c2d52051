//! Token counting with a real BPE tokenizer.
//!
//! Budgets in codectx are in tokens of OpenAI's `o200k_base` encoding (GPT-4o and
//! later; via [`tiktoken_rs`]). Other models' tokenizers differ by a few percent, so
//! leave a margin in the budget you ask for. The encoder is built once per process
//! (≈100 ms) and shared.

use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;

fn encoder() -> &'static CoreBPE {
    static ENCODER: OnceLock<CoreBPE> = OnceLock::new();
    ENCODER.get_or_init(|| tiktoken_rs::o200k_base().expect("the o200k_base vocabulary is embedded in tiktoken-rs"))
}

/// Number of `o200k_base` tokens in `text`.
pub fn count(text: &str) -> usize {
    encoder().encode_ordinary(text).len()
}

/// Number of tokens in `text`, or `None` as soon as it is known to exceed `limit`.
///
/// Cheap for short texts: a byte-level BPE token covers at least one byte, so any
/// text of at most `limit` bytes fits without encoding.
pub fn count_within(text: &str, limit: usize) -> Option<usize> {
    if text.len() <= limit {
        return Some(count(text));
    }
    let tokens = count(text);
    (tokens <= limit).then_some(tokens)
}

/// Whether `text` has at most `limit` tokens. Free (no encoding) when `text` has at
/// most `limit` bytes.
pub fn fits(text: &str, limit: usize) -> bool {
    text.len() <= limit || count(text) <= limit
}

/// Warms the encoder so the first request does not pay for building it.
pub fn warm_up() {
    let _ = encoder();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_tokens_with_o200k() {
        assert_eq!(count(""), 0);
        assert_eq!(count("hello world"), 2);
        assert!(fits("def f(): pass", 100));
        assert!(!fits(&"word ".repeat(500), 100));
        assert_eq!(count_within("abc", 10), Some(1));
    }
}
