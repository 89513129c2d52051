//! The embedders an engine loads on first use: one for queries, one for index runs.

use std::sync::{Arc, OnceLock};

use codectx_core::{EmbedConfig, Error, Result};
use codectx_embed::Embedder;

/// An embedder loaded on first use; `Err` keeps why embeddings are unavailable.
pub(crate) type EmbedderSlot = Arc<OnceLock<std::result::Result<Arc<dyn Embedder>, String>>>;

pub(crate) fn load_embedder(slot: &EmbedderSlot, config: &EmbedConfig) -> Result<Arc<dyn Embedder>> {
    slot.get_or_init(|| match codectx_embed::from_config(config) {
        Ok(Some(embedder)) => Ok(Arc::from(embedder)),
        Ok(None) => Err("embeddings are off ([embed] provider = \"none\")".to_string()),
        Err(error) => Err(codectx_embed::runtime::message(error)),
    })
    .clone()
    .map_err(Error::Embedding)
}
