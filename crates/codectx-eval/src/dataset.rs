//! SWE-bench-style instances (JSON lines).

use std::collections::BTreeMap;
use std::path::Path;

use codectx_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// One evaluation instance: a repository at a commit, an issue text, and the files
/// and functions its fixing patch touched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    /// Unique id, e.g. `psf__requests-863`.
    pub instance_id: String,
    /// GitHub `owner/name`; the clone is looked up at `<repos>/<owner>/<name>`.
    pub repo: String,
    /// The commit to index (40 hex digits, or any revision git accepts).
    pub base_commit: String,
    /// The query: the issue text.
    pub problem_statement: String,
    /// Repository-relative paths the fixing patch modifies.
    pub gold_files: Vec<String>,
    /// For each gold file, the functions/classes the patch touches
    /// (`Class.method`, `function`). May be empty.
    #[serde(default)]
    pub gold_functions: BTreeMap<String, Vec<String>>,
    /// For an instance from history (`--from-history`): the commit whose message
    /// is the query (`base_commit` is its parent). Absent in SWE-bench instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// Reads a JSON-lines file of instances. Blank lines are skipped.
///
/// Errors: [`Error::Io`] if unreadable; [`Error::InvalidArgument`] naming the line
/// of a malformed record or one without gold files.
pub fn load(path: &Path) -> Result<Vec<Instance>> {
    let text = std::fs::read_to_string(path).map_err(|error| Error::io(path, error))?;
    let mut instances = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let instance: Instance = serde_json::from_str(line)
            .map_err(|error| Error::InvalidArgument(format!("{}:{}: {error}", path.display(), number + 1)))?;
        if instance.gold_files.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "{}:{}: instance {} has no gold_files",
                path.display(),
                number + 1,
                instance.instance_id
            )));
        }
        instances.push(instance);
    }
    Ok(instances)
}

/// Evaluation instances from a repository's own history (`codectx eval
/// --from-history`): one per kept commit of `scan`, oldest first, with id
/// `<name>-hist-<first 12 hex digits>`, the commit's parent as `base_commit`,
/// its message as the query, its modified source files and touched definitions
/// as the gold. `name` is the repository's name under the clones folder.
pub fn from_history(name: &str, scan: &codectx_history::HistoryScan) -> Vec<Instance> {
    scan.pairs
        .iter()
        .map(|pair| Instance {
            instance_id: format!("{name}-hist-{}", &pair.commit[..pair.commit.len().min(12)]),
            repo: name.to_string(),
            base_commit: pair.parent.clone(),
            problem_statement: pair.message.clone(),
            gold_files: pair.files.clone(),
            gold_functions: pair.functions.clone(),
            commit: Some(pair.commit.clone()),
        })
        .collect()
}

/// Writes instances as JSON lines (the format [`load`] reads), through a
/// temporary file renamed into place.
///
/// Errors: [`Error::Io`] if the file cannot be written.
pub fn save(path: &Path, instances: &[Instance]) -> Result<()> {
    let mut text = String::new();
    for instance in instances {
        text.push_str(&serde_json::to_string(instance).map_err(|error| Error::InvalidArgument(error.to_string()))?);
        text.push('\n');
    }
    let partial = path.with_extension("jsonl.partial");
    std::fs::write(&partial, text).map_err(|error| Error::io(&partial, error))?;
    std::fs::rename(&partial, path).map_err(|error| Error::io(path, error))
}
