//! `codectx secrets [scan [PATH]]`: the secret filter's rules in force, or what
//! they keep out of a repository.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, Subcommand};
use codectx_core::Config;

use super::{check_dir, RepoArgs};

/// The arguments of `codectx secrets` (its help text is the variant's in `Command`).
#[derive(Args)]
pub(crate) struct SecretsArgs {
    #[command(subcommand)]
    action: Option<SecretsAction>,
    #[command(flatten)]
    repo: RepoArgs,
    /// Print JSON.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum SecretsAction {
    /// List what the rules keep out of a repository: the files they exclude, and the
    /// `path:line` of each span they redact with the pattern's name (never the secret).
    Scan {
        /// Repository root (default: the --repo folder).
        path: Option<PathBuf>,
    },
}

/// `codectx secrets [scan [PATH]]`: the rules of the discovered config, or what
/// they find in a repository.
fn secrets_command(config: Option<&Path>, action: Option<SecretsAction>, repo: &RepoArgs, json: bool) -> Result<()> {
    let path = match &action {
        Some(SecretsAction::Scan { path: Some(path) }) => path.as_path(),
        _ => repo.path.as_path(),
    };
    let root = check_dir(path)?;
    let config = Config::discover(config, Some(&root))?;
    let index_dir = repo.index_dir.clone().unwrap_or_else(|| root.join(codectx_core::DEFAULT_INDEX_DIR));
    let mut out = std::io::stdout().lock();
    let Some(SecretsAction::Scan { .. }) = action else {
        let rules =
            codectx_core::SecretRules::new(&config.index.secrets).map_err(codectx_core::Error::InvalidArgument)?;
        if json {
            serde_json::to_writer_pretty(&mut out, &rules.active())?;
            writeln!(out)?;
            return Ok(());
        }
        out.write_all(rules.active().render().as_bytes())?;
        if codectx_index::secrets::indexed_rules(&index_dir).is_some_and(|indexed| indexed != config.index.secrets) {
            writeln!(
                out,
                "\nnote: the index at {} was built with other rules, which its answers still apply: run `codectx index`",
                index_dir.display()
            )?;
        }
        return Ok(());
    };
    let findings = codectx_index::secrets::scan(&root, &index_dir, &config.index)?;
    if json {
        serde_json::to_writer_pretty(&mut out, &findings)?;
        writeln!(out)?;
        return Ok(());
    }
    for finding in &findings {
        writeln!(out, "{finding}")?;
    }
    let excluded = findings.iter().filter(|finding| finding.excluded).count();
    let mut redacted_files: Vec<&str> =
        findings.iter().filter(|finding| !finding.excluded).map(|finding| finding.path.as_str()).collect();
    redacted_files.dedup();
    writeln!(
        out,
        "{excluded} files excluded; {} spans redacted in {} files",
        findings.len() - excluded,
        redacted_files.len()
    )?;
    Ok(())
}

pub(crate) fn run(args: SecretsArgs, config_path: Option<&Path>) -> Result<()> {
    secrets_command(config_path, args.action, &args.repo, args.json)
}
