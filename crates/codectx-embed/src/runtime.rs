//! Finding and loading onnxruntime.
//!
//! codectx does not link onnxruntime and never downloads it: fastembed is built
//! with ort's `load-dynamic`, and the library comes from the PyPI `onnxruntime`
//! wheel (`onnxruntime/capi/libonnxruntime.so.<version>`), which
//! `scripts/setup.sh` installs into `<data home>/onnxruntime`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use codectx_core::{Error, Result};
use ort::environment::Environment;

/// The fix printed whenever onnxruntime is missing.
pub const INSTALL_HINT: &str = "run `scripts/setup.sh --deps-only` (installs the PyPI onnxruntime wheel), or set \
     ORT_DYLIB_PATH (or [embed] ort_dylib_path) to libonnxruntime.so; `codectx index --no-embed` builds the lexical \
     index alone";

/// The onnxruntime shared library to load, in this order:
/// 1. `configured` (`[embed] ort_dylib_path`);
/// 2. the `ORT_DYLIB_PATH` environment variable;
/// 3. `<data home>/onnxruntime/onnxruntime/capi/libonnxruntime.so*` (what
///    `scripts/setup.sh` installs; the newest version when there are several).
///
/// Errors: [`Error::Embedding`] naming the fix when none of these is a file.
pub fn onnxruntime_library(configured: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = configured {
        return existing(path, "[embed] ort_dylib_path");
    }
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH").filter(|value| !value.is_empty()) {
        return existing(Path::new(&path), "ORT_DYLIB_PATH");
    }
    let capi = codectx_core::data_home().map(|home| home.join("onnxruntime/onnxruntime/capi"));
    if let Some(capi) = &capi {
        if let Some(found) = newest_library(capi) {
            return Ok(found);
        }
    }
    Err(Error::Embedding(format!(
        "onnxruntime not found (looked in {}): {INSTALL_HINT}",
        capi.map_or_else(|| "ORT_DYLIB_PATH".to_string(), |dir| format!("ORT_DYLIB_PATH and {}", dir.display()))
    )))
}

fn existing(path: &Path, source: &str) -> Result<PathBuf> {
    if path.is_file() {
        Ok(path.to_path_buf())
    } else {
        Err(Error::Embedding(format!("{source} names {}, which is not a file: {INSTALL_HINT}", path.display())))
    }
}

/// `libonnxruntime.so.1.31.1` over `libonnxruntime.so.1.9.0`: versions compared as numbers.
fn newest_library(dir: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir).ok()?;
    entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("libonnxruntime.so") || name.starts_with("libonnxruntime.dylib"))
        })
        .max_by_key(|path| {
            let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default();
            name.split('.').filter_map(|part| part.parse::<u32>().ok()).collect::<Vec<_>>()
        })
}

static ENVIRONMENT: OnceLock<std::result::Result<(PathBuf, Environment), String>> = OnceLock::new();

/// The process-wide ONNX Runtime environment, loading the library on first call
/// (the library cannot be changed afterwards; a later call with another path gets
/// the first one).
///
/// Errors: [`Error::Embedding`] when the library is missing or fails to load (a
/// wrong architecture, an ABI older than ort needs).
pub fn environment(configured: Option<&Path>) -> Result<Environment> {
    let loaded = ENVIRONMENT.get_or_init(|| {
        let path = onnxruntime_library(configured).map_err(message)?;
        let builder = ort::init_from(&path)
            .map_err(|error| format!("cannot load {}: {error}; {INSTALL_HINT}", path.display()))?;
        let environment = builder
            .with_name("codectx")
            .build()
            .map_err(|error| format!("onnxruntime {} failed to start: {error}", path.display()))?;
        tracing::debug!(library = %path.display(), "onnxruntime loaded");
        Ok((path, environment))
    });
    match loaded {
        Ok((_, environment)) => Ok(environment.clone()),
        Err(message) => Err(Error::Embedding(message.clone())),
    }
}

/// The text of an error without its `embeddings: ` heading when it is an
/// [`Error::Embedding`] (so that it can be wrapped in one again).
pub fn message(error: Error) -> String {
    match error {
        Error::Embedding(message) => message,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_newest_library_version() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["libonnxruntime.so.1.9.0", "libonnxruntime.so.1.31.1", "libonnxruntime_providers_shared.so"] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        let found = newest_library(dir.path()).unwrap();
        assert_eq!(found.file_name().unwrap(), "libonnxruntime.so.1.31.1");
    }

    #[test]
    fn a_configured_path_that_is_not_a_file_names_the_fix() {
        let error = onnxruntime_library(Some(Path::new("/nonexistent/libonnxruntime.so"))).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("/nonexistent/libonnxruntime.so"), "{message}");
        assert!(message.contains("scripts/setup.sh"), "{message}");
        assert!(message.contains("--no-embed"), "{message}");
    }
}
