//! What the secret filter keeps out of a repository (`codectx secrets scan`), and
//! which rules an index was built with.
//!
//! The filter itself is [`codectx_core::SecretRules`]: the walker ([`crate::walk`])
//! skips the files its path globs exclude, and [`crate::IndexSnapshot`] redacts
//! what its patterns match from the text it hands out.

use std::path::Path;

use codectx_core::{Error, IndexConfig, Result, SecretFinding, SecretRules, SecretsConfig};
use rayon::prelude::*;

use crate::walk;

/// Bytes sniffed for a NUL to call a file binary (as the indexer does).
const BINARY_SNIFF_BYTES: usize = 8 * 1024;

/// The files of the repository at `root` that `config.secrets` excludes, and the
/// spans its patterns redact in the files it leaves in, in path order (then line
/// order). The files are those an index run would read (ignore files,
/// include/exclude globs, hidden files and the size cap as configured; binary
/// files skipped). A finding never holds the matched text.
///
/// Errors: [`Error::InvalidArgument`] for an invalid glob or secret rule.
pub fn scan(root: &Path, index_dir: &Path, config: &IndexConfig) -> Result<Vec<SecretFinding>> {
    let rules = SecretRules::new(&config.secrets).map_err(Error::InvalidArgument)?;
    // Walk everything the indexer would read but for the filter, to report what it excludes.
    let mut unfiltered = config.clone();
    unfiltered.secrets.enabled = false;
    let (files, _) = walk::walk(root, index_dir, &unfiltered)?;
    let findings: Vec<Vec<SecretFinding>> = files
        .par_iter()
        .map(|file| {
            if let Some(glob) = rules.excluded_by(&file.rel_path) {
                return vec![SecretFinding {
                    path: file.rel_path.clone(),
                    start_line: 0,
                    end_line: 0,
                    rule: glob.to_string(),
                    excluded: true,
                }];
            }
            let Ok(bytes) = std::fs::read(&file.abs_path) else { return Vec::new() };
            if memchr::memchr(0, &bytes[..bytes.len().min(BINARY_SNIFF_BYTES)]).is_some() {
                return Vec::new();
            }
            let text = String::from_utf8_lossy(&bytes);
            rules
                .find(&text)
                .into_iter()
                .map(|found| SecretFinding {
                    path: file.rel_path.clone(),
                    start_line: found.start_line,
                    end_line: found.end_line,
                    rule: found.rule.to_string(),
                    excluded: false,
                })
                .collect()
        })
        .collect();
    Ok(findings.into_iter().flatten().collect())
}

/// The secret rules the current generation of the index in `index_dir` was built
/// with (and that its readers apply), or `None` when there is no readable index.
pub fn indexed_rules(index_dir: &Path) -> Option<SecretsConfig> {
    let (_, generation) = crate::store::current_generation(index_dir).ok()??;
    crate::store::read_manifest(index_dir, &generation).ok().map(|manifest| manifest.secrets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_lists_excluded_files_and_redacted_lines_without_the_secrets() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("deploy")).unwrap();
        std::fs::write(root.path().join("deploy/id_rsa"), "-----BEGIN RSA PRIVATE KEY-----\nabc\n").unwrap();
        std::fs::write(root.path().join("app.py"), "import os\n\nKEY = \"AKIAIOSFODNN7EXAMPLE\"\n").unwrap();
        std::fs::write(root.path().join("clean.py"), "x = 1\n").unwrap();
        let config = IndexConfig::default();
        let findings = scan(root.path(), &root.path().join(".codectx"), &config).unwrap();
        let lines: Vec<String> = findings.iter().map(ToString::to_string).collect();
        assert_eq!(lines, vec!["app.py:3  redacted (aws-access-key-id)", "deploy/id_rsa  excluded (id_rsa*)"]);
        let mut off = config.clone();
        off.secrets.enabled = false;
        assert!(scan(root.path(), &root.path().join(".codectx"), &off).unwrap().is_empty());
    }
}
