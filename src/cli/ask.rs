//! `codectx ask`: the context bundle for a question, or, with a model configured,
//! the model's streamed answer with its sources.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use clap::Args;
use codectx_core::{ContextBundle, ContextRequest, GenerateEvent, GenerateRequest, ModelOverrides};
use codectx_service::{ContextService, Engine};
use futures::StreamExt;

use super::{open_engine_with, parse_mode, FilterArgs, RepoArgs, LOCAL_REPOSITORY};

/// The arguments of `codectx ask` (its help text is the variant's in `Command`).
#[derive(Args)]
pub(crate) struct AskArgs {
    /// The question or instruction.
    question: String,
    #[command(flatten)]
    repo: RepoArgs,
    /// Token budget of the context (o200k_base tokens).
    #[arg(long, value_name = "TOKENS")]
    budget: Option<usize>,
    /// Most distinct files in the context.
    #[arg(long, default_value_t = 0)]
    max_files: usize,
    /// No context expansion (related signatures, repo map): chunks only.
    #[arg(long)]
    no_expand: bool,
    /// `lexical`, `semantic` or `hybrid` (default: hybrid when the index has embeddings).
    #[arg(long, value_name = "MODE")]
    mode: Option<String>,
    #[command(flatten)]
    filter: FilterArgs,
    /// Model to call (OpenAI-compatible). Also CODECTX_MODEL or [model] in the config.
    #[arg(long)]
    model: Option<String>,
    /// Base URL of the model endpoint, up to /v1. Also CODECTX_BASE_URL.
    #[arg(long)]
    base_url: Option<String>,
    /// Most completion tokens.
    #[arg(long)]
    max_tokens: Option<u32>,
    /// Print JSON (the bundle, or the answer with its sources).
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(args: AskArgs, config_path: Option<&Path>) -> Result<()> {
    let AskArgs { question, repo, budget, max_files, no_expand, mode, filter, model, base_url, max_tokens, json } =
        args;
    let mode = parse_mode(mode.as_deref())?;
    let (engine, config) = open_engine_with(&repo, config_path, |config| {
        if base_url.is_some() {
            config.model.base_url = base_url.clone();
        }
        if model.is_some() {
            config.model.model = model.clone();
        }
    })?;
    let request = ContextRequest {
        query: question,
        token_budget: budget.unwrap_or(config.retrieval.default_budget),
        max_files,
        filter: filter.filter(),
        expansion: codectx_core::Expansion { enabled: !no_expand, ..Default::default() },
        mode,
        freshness: Default::default(),
    };
    let model_config = config.model.clone().with_env();
    if model_config.model.is_none() {
        let bundle = engine.get_context(LOCAL_REPOSITORY, request).await?;
        return print_context(&bundle, json);
    }
    let generate =
        GenerateRequest { context: request, model: ModelOverrides { model: None, max_tokens, temperature: None } };
    ask_model(&engine, generate, json).await
}

/// On stderr, when the bundle's vector signal covers only part of the index.
fn note_coverage(bundle: &ContextBundle) {
    if let Some(coverage) = bundle.vector_coverage.filter(codectx_core::VectorCoverage::is_partial) {
        eprintln!("codectx: note: {}", coverage.note());
    }
}

fn print_context(bundle: &ContextBundle, json: bool) -> Result<()> {
    note_coverage(bundle);
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, bundle)?;
        writeln!(out)?;
        return Ok(());
    }
    out.write_all(bundle.render().as_bytes())?;
    writeln!(out, "Ranked source files:")?;
    for (rank, file) in bundle.files.iter().take(15).enumerate() {
        writeln!(out, "{:>3}. {}  ({:.4})", rank + 1, file.path, file.score)?;
    }
    writeln!(
        out,
        "\n{} of {} tokens used in {} blocks.",
        bundle.tokens_used,
        bundle.token_budget,
        bundle.blocks.len()
    )?;
    writeln!(
        out,
        "No model is configured, so this is the assembled context. To get an answer, set one: `codectx ask --model gpt-4o-mini \"...\"` (key from CODECTX_API_KEY or OPENAI_API_KEY), or --base-url http://localhost:11434/v1 for a local server."
    )?;
    Ok(())
}

async fn ask_model(engine: &Engine, request: GenerateRequest, json: bool) -> Result<()> {
    let mut events = engine.generate(LOCAL_REPOSITORY, request).await?;
    let mut out = std::io::stdout();
    let mut answer = String::new();
    let mut bundle = None;
    while let Some(event) = events.next().await {
        match event? {
            GenerateEvent::Context(context) => {
                note_coverage(&context);
                bundle = Some(context)
            }
            GenerateEvent::Token(token) => {
                if !json {
                    out.write_all(token.as_bytes())?;
                    out.flush()?;
                }
                answer.push_str(&token);
            }
            GenerateEvent::Done { sources, usage } => {
                if json {
                    let value =
                        serde_json::json!({ "answer": answer, "sources": sources, "usage": usage, "context": bundle });
                    serde_json::to_writer_pretty(&mut out, &value)?;
                    writeln!(out)?;
                } else {
                    writeln!(out, "\n\nSources:")?;
                    for source in &sources {
                        writeln!(out, "  {source}")?;
                    }
                    writeln!(
                        out,
                        "({} context tokens, {} prompt tokens, {} completion tokens)",
                        usage.context_tokens, usage.prompt_tokens, usage.completion_tokens
                    )?;
                }
            }
        }
    }
    Ok(())
}
