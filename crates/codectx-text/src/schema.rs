//! The tantivy schema: one document per chunk.

use tantivy::schema::{Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, FAST, STORED};

use crate::tokenizer::CODE_TOKENIZER;

pub(crate) const F_PATH: &str = "path";
pub(crate) const F_PATH_KEY: &str = "path_key";
pub(crate) const F_CHUNK_KEY: &str = "chunk_key";
pub(crate) const F_ORDINAL: &str = "ordinal";
pub(crate) const F_LANGUAGE: &str = "language";
pub(crate) const F_SYMBOLS: &str = "symbols";
pub(crate) const F_SYMBOL_EXACT: &str = "symbol_exact";
pub(crate) const F_QUALIFIED: &str = "qualified";
pub(crate) const F_SIGNATURE: &str = "signature";
pub(crate) const F_DOC: &str = "doc";
pub(crate) const F_CONTENT: &str = "content";

/// Handles of every field of the schema.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fields {
    /// Code-tokenized path, for path-word matching.
    pub path: Field,
    /// Raw path: delete-by-path, and (as a fast field) the path of a hit and the filter.
    pub path_key: Field,
    /// Raw `"{path}#{ordinal}"`, for direct lookup.
    pub chunk_key: Field,
    /// Chunk ordinal in its file (fast + stored).
    pub ordinal: Field,
    /// Raw language name.
    pub language: Field,
    /// Code-tokenized bare names of the symbols defined in the chunk.
    pub symbols: Field,
    /// Raw lowercased bare names, for exact and fuzzy symbol lookup.
    pub symbol_exact: Field,
    /// Code-tokenized qualified names.
    pub qualified: Field,
    /// Code-tokenized signature.
    pub signature: Field,
    /// Code-tokenized doc comment.
    pub doc: Field,
    /// Code-tokenized chunk text, stored: the text is served from the doc store.
    pub content: Field,
}

/// A code-tokenized field with term frequencies and field norms (what BM25 needs) but
/// no positions.
fn code_text() -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(CODE_TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqs)
            .set_fieldnorms(true),
    )
}

/// An untokenized key: doc ids only, no norms.
fn raw_key() -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("raw")
            .set_index_option(IndexRecordOption::Basic)
            .set_fieldnorms(false),
    )
}

/// Builds the schema and its field handles.
pub(crate) fn build() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let fields = Fields {
        path: builder.add_text_field(F_PATH, code_text()),
        path_key: builder.add_text_field(F_PATH_KEY, raw_key().set_fast("raw") | STORED),
        chunk_key: builder.add_text_field(F_CHUNK_KEY, raw_key()),
        ordinal: builder.add_u64_field(F_ORDINAL, NumericOptions::default() | FAST | STORED),
        language: builder.add_text_field(F_LANGUAGE, raw_key()),
        symbols: builder.add_text_field(F_SYMBOLS, code_text()),
        symbol_exact: builder.add_text_field(F_SYMBOL_EXACT, raw_key()),
        qualified: builder.add_text_field(F_QUALIFIED, code_text()),
        signature: builder.add_text_field(F_SIGNATURE, code_text()),
        doc: builder.add_text_field(F_DOC, code_text()),
        content: builder.add_text_field(F_CONTENT, code_text() | STORED),
    };
    (builder.build(), fields)
}
