//! `codectx repo`: the registry RPCs (add, rm, ls, status, index) of a running
//! `codectx serve`, as a gRPC client.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use codectx_core::Config;

/// The arguments of `codectx repo` (its help text is the variant's in `Command`).
#[derive(Args)]
pub(crate) struct RegistryArgs {
    #[command(subcommand)]
    action: RepoAction,
    /// The server's address (default: `listen` in the config, else 127.0.0.1:50051);
    /// `https://HOST:PORT` for a TLS server (system roots, plus the PEM CA in
    /// CODECTX_CA_CERT).
    #[arg(long, global = true, value_name = "ADDR")]
    server: Option<String>,
}

#[derive(Subcommand)]
enum RepoAction {
    /// Register a folder (inside the server's `allowed_roots`) and index it.
    Add {
        /// Name clients will use.
        name: String,
        /// The repository's root folder.
        path: PathBuf,
        /// Register only; index later with `codectx repo index NAME`.
        #[arg(long)]
        no_index: bool,
    },
    /// Stop serving a registered repository.
    Rm {
        /// Its name.
        name: String,
        /// Also delete its index.
        #[arg(long)]
        delete_index: bool,
    },
    /// List the served repositories.
    Ls,
    /// Where a repository's index stands.
    Status {
        /// Its name.
        name: String,
    },
    /// (Re-)index a served repository, with progress.
    Index {
        /// Its name.
        name: String,
    },
}

/// `codectx repo ...`: the registry RPCs of a running server.
async fn repo_command(config_path: Option<&Path>, server: Option<String>, action: RepoAction) -> Result<()> {
    use codectx_proto::v1 as pb;
    let config = Config::discover(config_path, None)?;
    let address = server.or(config.listen.clone()).unwrap_or_else(|| "127.0.0.1:50051".to_string());
    let endpoint = if address.contains("://") { address.clone() } else { format!("http://{address}") };
    let mut endpoint = tonic::transport::Endpoint::from_shared(endpoint)
        .map_err(|_| codectx_core::Error::InvalidArgument(format!("--server {address:?} is not an address")))?;
    if address.starts_with("https://") {
        // The system's roots, plus the CA in CODECTX_CA_CERT (a self-signed server).
        codectx_server::install_crypto_provider();
        let mut tls = tonic::transport::ClientTlsConfig::new().with_native_roots();
        if let Some(path) = std::env::var_os("CODECTX_CA_CERT") {
            let pem = std::fs::read(&path).map_err(|error| codectx_core::Error::io(&path, error))?;
            tls = tls.ca_certificate(tonic::transport::Certificate::from_pem(pem));
        }
        endpoint = endpoint.tls_config(tls).context("TLS configuration")?;
    }
    let channel = endpoint.connect().await.with_context(|| format!("cannot reach codectx serve at {address}"))?;
    let token =
        match std::env::var("CODECTX_TOKEN") {
            Ok(token) if !token.is_empty() => Some(format!("Bearer {token}").parse().map_err(|_| {
                codectx_core::Error::InvalidArgument("CODECTX_TOKEN is not a valid header value".into())
            })?),
            _ => None,
        };
    let mut client = pb::code_context_client::CodeContextClient::with_interceptor(channel, Bearer(token));
    let status_error = |status: tonic::Status| anyhow::anyhow!("{}", status.message());
    let mut out = std::io::stdout().lock();
    match action {
        RepoAction::Add { name, path, no_index } => {
            let path = std::path::absolute(&path).with_context(|| format!("{}", path.display()))?;
            let added = client
                .add_repository(pb::AddRepositoryRequest { name: name.clone(), path: path.display().to_string() })
                .await
                .map_err(status_error)?
                .into_inner();
            writeln!(out, "added {} ({})", added.name, added.root)?;
            if !no_index {
                drop(out);
                return repo_index(&mut client, &name).await;
            }
        }
        RepoAction::Rm { name, delete_index } => {
            client
                .remove_repository(pb::RemoveRepositoryRequest { name: name.clone(), delete_index })
                .await
                .map_err(status_error)?;
            writeln!(out, "removed {name}{}", if delete_index { " and its index" } else { "" })?;
        }
        RepoAction::Ls => {
            let list =
                client.list_repositories(pb::ListRepositoriesRequest {}).await.map_err(status_error)?.into_inner();
            for repository in list.repositories {
                let state = if repository.indexed {
                    format!(
                        "{} files, {} chunks, commit {:.12}",
                        repository.files, repository.chunks, repository.commit
                    )
                } else {
                    "not indexed".to_string()
                };
                writeln!(out, "{:<24} {}  ({state})", repository.name, repository.root)?;
            }
        }
        RepoAction::Status { name } => {
            let status = client
                .get_index_status(pb::GetIndexStatusRequest { repository: name })
                .await
                .map_err(status_error)?
                .into_inner();
            let repository = status.repository.unwrap_or_default();
            writeln!(out, "{} ({})", repository.name, repository.root)?;
            writeln!(
                out,
                "generation {}, commit {}, fingerprint {}, {} files, {} chunks{}",
                status.generation,
                if repository.commit.is_empty() { "-" } else { &repository.commit },
                if repository.fingerprint.is_empty() { "-" } else { &repository.fingerprint },
                repository.files,
                repository.chunks,
                if status.indexing { "; indexing now" } else { "" }
            )?;
            if let Some(run) = status.last_run {
                writeln!(
                    out,
                    "last run: {} parsed, {} reused, {} removed in {:.2}s",
                    run.parsed,
                    run.reused,
                    run.removed,
                    run.elapsed_ms as f64 / 1000.0
                )?;
            }
            if let Some(coverage) = &status.vector_coverage {
                writeln!(
                    out,
                    "vectors: {} of {} chunks embedded{}",
                    coverage.embedded_chunks,
                    coverage.total_chunks,
                    if coverage.embedded_chunks < coverage.total_chunks { " (embedding in progress)" } else { "" }
                )?;
            }
            if !status.last_error.is_empty() {
                writeln!(out, "last error: {}", status.last_error)?;
            }
            if !status.damage.is_empty() {
                writeln!(out, "damaged, rebuilding from scratch: {}", status.damage)?;
            }
        }
        RepoAction::Index { name } => {
            drop(out);
            return repo_index(&mut client, &name).await;
        }
    }
    Ok(())
}

/// Adds `authorization: Bearer $CODECTX_TOKEN` to each request when the
/// variable is set (servers with `[[server.tokens]]` require it).
#[derive(Clone)]
struct Bearer(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> std::result::Result<tonic::Request<()>, tonic::Status> {
        if let Some(token) = &self.0 {
            request.metadata_mut().insert("authorization", token.clone());
        }
        Ok(request)
    }
}

type RepoClient = codectx_proto::v1::code_context_client::CodeContextClient<
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, Bearer>,
>;

/// Streams `IndexRepository` for `name`, printing the phases and the stats.
async fn repo_index(client: &mut RepoClient, name: &str) -> Result<()> {
    use codectx_proto::v1 as pb;
    use futures::StreamExt;
    let mut stream = client
        .index_repository(pb::IndexRepositoryRequest { repository: name.to_string() })
        .await
        .map_err(|status| anyhow::anyhow!("{}", status.message()))?
        .into_inner();
    let mut phase = String::new();
    while let Some(event) = stream.next().await {
        let event = event.map_err(|status| anyhow::anyhow!("{}", status.message()))?;
        match event.event {
            Some(pb::index_event::Event::Progress(progress)) if progress.phase != phase => {
                eprintln!("{name}: {}", progress.phase);
                phase = progress.phase;
            }
            Some(pb::index_event::Event::Done(stats)) => {
                println!(
                    "indexed {name}: {} files ({} parsed, {} reused, {} removed), {} chunks, generation {} in {:.2}s",
                    stats.files,
                    stats.parsed,
                    stats.reused,
                    stats.removed,
                    stats.chunks,
                    stats.generation,
                    stats.elapsed_ms as f64 / 1000.0
                );
            }
            _ => {}
        }
    }
    Ok(())
}

pub(crate) async fn run(args: RegistryArgs, config_path: Option<&Path>) -> Result<()> {
    repo_command(config_path, args.server, args.action).await
}
