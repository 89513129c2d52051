//! `codectx serve`: the gRPC server (with health, reflection, optional TLS, bearer
//! tokens and Prometheus metrics) over the repositories of the config and the flags.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use codectx_core::Config;
use codectx_service::{ContextService, Engine, RepositorySpec};

use super::check_dir;

/// The arguments of `codectx serve` (its help text is the variant's in `Command`).
#[derive(Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:50051, or `listen` in the config).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// A repository to serve, as NAME=PATH (repeatable; also [[repos]] in the config).
    #[arg(long = "repo", value_name = "NAME=PATH")]
    repos: Vec<String>,
    /// Serve Prometheus metrics at http://ADDR/metrics (default: `[server] metrics_addr`
    /// in the config, else off). No authentication: bind it to loopback or a private network.
    #[arg(long, value_name = "ADDR")]
    metrics_addr: Option<String>,
    /// Do not watch the repositories for changes (`[server] watch = false`): they
    /// are then re-indexed only by RefreshRepository / `codectx repo index`.
    #[arg(long)]
    no_watch: bool,
}

async fn serve(
    config_path: Option<&Path>,
    listen: Option<String>,
    repos: Vec<String>,
    metrics_addr: Option<String>,
    no_watch: bool,
) -> Result<()> {
    let config = Config::discover(config_path, None)?;
    let watch = config.server.watch && !no_watch;
    let mut specs: Vec<RepositorySpec> = config
        .repos
        .iter()
        .map(|entry| RepositorySpec {
            name: entry.name.clone(),
            root: entry.path.clone(),
            index_dir: entry.index_dir.clone(),
        })
        .collect();
    for repo in repos {
        let (name, path) = repo
            .split_once('=')
            .ok_or_else(|| codectx_core::Error::InvalidArgument(format!("--repo {repo:?} is not NAME=PATH")))?;
        specs.push(RepositorySpec { name: name.to_string(), root: check_dir(Path::new(path))?, index_dir: None });
    }
    if specs.is_empty() && config.server.storage_root.is_none() {
        return Err(codectx_core::Error::InvalidArgument(
            "no repository to serve: give --repo NAME=PATH, [[repos]] in --config, or a [server] storage_root \
             to add repositories at run time"
                .into(),
        )
        .into());
    }
    let address = listen.or(config.listen.clone()).unwrap_or_else(|| "127.0.0.1:50051".to_string());
    let address: SocketAddr = address.parse().map_err(|_| {
        codectx_core::Error::InvalidArgument(format!("--listen {address:?} is not an address like 127.0.0.1:50051"))
    })?;
    let metrics_addr: Option<SocketAddr> = match metrics_addr.or(config.server.metrics_addr.clone()) {
        None => None,
        Some(address) => Some(address.parse().map_err(|_| {
            codectx_core::Error::InvalidArgument(format!(
                "--metrics-addr {address:?} is not an address like 127.0.0.1:9464"
            ))
        })?),
    };
    if metrics_addr.is_some() {
        // Before the engine starts, so that index runs at start-up are counted.
        codectx_server::metrics_endpoint::install_recorder()?;
    }
    let auth = Arc::new(codectx_server::auth::Auth::from_config(&config.server.tokens)?);
    let max_in_flight = config.server.max_in_flight;
    let tls = match (&config.server.tls_cert, &config.server.tls_key) {
        (Some(cert), Some(key)) => Some((
            std::fs::read(cert).map_err(|error| codectx_core::Error::io(cert, error))?,
            std::fs::read(key).map_err(|error| codectx_core::Error::io(key, error))?,
        )),
        (None, None) => None,
        _ => {
            return Err(codectx_core::Error::InvalidArgument(
                "[server] needs both tls_cert and tls_key, or neither".into(),
            )
            .into())
        }
    };
    let engine = Arc::new(Engine::new(specs, config)?);
    // A damaged index of one repository is rebuilt in the background; the others keep serving.
    engine.heal_damaged_indexes();
    // Warm the tokenizer so the first request does not pay for it.
    tokio::task::spawn_blocking(codectx_core::tokens::warm_up);
    let listener =
        tokio::net::TcpListener::bind(address).await.with_context(|| format!("cannot listen on {address}"))?;
    let bound = listener.local_addr()?;
    eprintln!("codectx: serving {} repositories on {bound}", engine.list_repositories().await?.len());
    if auth.enabled() {
        eprintln!("codectx: bearer tokens required ([[server.tokens]])");
    }
    if watch {
        // Watches every repository and catches up on changes made while it was down.
        engine.start_watching().await;
        eprintln!("codectx: watching repositories for changes");
    }
    let metrics = match metrics_addr {
        None => None,
        Some(address) => {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen on {address} for metrics"))?;
            eprintln!("codectx: metrics on http://{}/metrics", listener.local_addr()?);
            Some(listener)
        }
    };
    let options = codectx_server::ServeOptions { auth, max_in_flight, tls, metrics };
    codectx_server::serve_with(engine, listener, codectx_server::shutdown_signal(), options).await?;
    eprintln!("codectx: shut down");
    Ok(())
}

pub(crate) async fn run(args: ServeArgs, config_path: Option<&Path>) -> Result<()> {
    serve(config_path, args.listen, args.repos, args.metrics_addr, args.no_watch).await
}
