//! [`ContextService`] for [`Engine`]: each operation validates its request, takes
//! the generation it may be served from ([`crate::generations`]) and runs the
//! retrieval, the model call or the registry change.

use std::path::PathBuf;
use std::time::Duration;

use codectx_core::{
    quote, ContextBundle, ContextRequest, Error, FieldKind, FileDependencies, GenerateEvent, GenerateRequest,
    IndexEvent, IndexProgress, References, RepositoryInfo, Result, SearchHit, SearchRequest, SymbolInfo, Usage,
};
use codectx_index::IndexSnapshot;
use codectx_model::{build_messages, ChatClient, ChatDelta};
use futures::StreamExt;
use tokio::sync::mpsc;

use crate::engine::{run_blocking, Engine, Repository, RepositorySpec};
use crate::freshness;
use crate::{BoxFuture, ContextService, ResultStream};

impl ContextService for Engine {
    fn get_context(&self, repository: &str, mut request: ContextRequest) -> BoxFuture<'_, Result<ContextBundle>> {
        let repository = repository.to_string();
        Box::pin(async move {
            self.default_budget(&mut request);
            request.validate()?;
            let snapshot = self.fresh_snapshot(&repository, &request.freshness).await?;
            let planner = self.planner.clone();
            let bundle = run_blocking(move || {
                let plan = planner.plan(&snapshot, &request.query, request.mode)?;
                codectx_retrieve::assemble_hybrid(&snapshot, &request, &plan.vector_hits, &plan.options)
            })
            .await;
            self.check_damage(&repository, bundle)
        })
    }

    fn generate(
        &self,
        repository: &str,
        mut request: GenerateRequest,
    ) -> BoxFuture<'_, Result<ResultStream<GenerateEvent>>> {
        let repository = repository.to_string();
        Box::pin(async move {
            // An unknown repository is reported as such, whatever the model setup.
            self.repository(&repository)?;
            let model_config = self.config.model.clone().with_env();
            let model = request.model.model.clone().or(model_config.model.clone()).ok_or(Error::NoModel)?;
            let base_url = model_config
                .base_url
                .clone()
                .unwrap_or_else(|| codectx_core::ModelConfig::DEFAULT_BASE_URL.to_string());
            let timeout = Duration::from_secs(model_config.timeout_secs.unwrap_or(300));
            let client = ChatClient::new(&base_url, codectx_core::ModelConfig::api_key(), timeout)?;
            self.default_budget(&mut request.context);
            let question = request.context.query.clone();
            let bundle = self.get_context(&repository, request.context.clone()).await?;
            let messages = build_messages(&bundle, &question);
            let prompt_text: String = messages.iter().map(|message| message.content.as_str()).collect();
            let max_tokens = request.model.max_tokens.or(model_config.max_tokens);
            let temperature = request.model.temperature.or(model_config.temperature).or(Some(0.2));
            let stream = client.stream_chat(&model, messages, max_tokens, temperature).await?;

            let sources: Vec<String> = bundle
                .blocks
                .iter()
                .map(|block| format!("{}:{}-{}", block.path, block.start_line, block.end_line))
                .collect();
            let context_tokens = bundle.tokens_used;
            let (sender, receiver) = mpsc::channel::<Result<GenerateEvent>>(64);
            tokio::spawn(async move {
                if sender.send(Ok(GenerateEvent::Context(bundle))).await.is_err() {
                    return;
                }
                let mut stream = stream;
                let mut answer = String::new();
                let mut reported: Option<(u32, u32)> = None;
                while let Some(item) = stream.next().await {
                    match item {
                        Ok(ChatDelta::Token(token)) => {
                            answer.push_str(&token);
                            if sender.send(Ok(GenerateEvent::Token(token))).await.is_err() {
                                return; // the client went away
                            }
                        }
                        Ok(ChatDelta::Usage { prompt_tokens, completion_tokens }) => {
                            reported = Some((prompt_tokens, completion_tokens));
                        }
                        Err(error) => {
                            let _ = sender.send(Err(error)).await;
                            return;
                        }
                    }
                }
                let (prompt_tokens, completion_tokens) = reported.unwrap_or_else(|| {
                    (codectx_core::tokens::count(&prompt_text) as u32, codectx_core::tokens::count(&answer) as u32)
                });
                let usage = Usage { context_tokens, prompt_tokens, completion_tokens };
                let _ = sender.send(Ok(GenerateEvent::Done { sources, usage })).await;
            });
            Ok(tokio_stream_from(receiver))
        })
    }

    fn search(&self, repository: &str, request: SearchRequest) -> BoxFuture<'_, Result<Vec<SearchHit>>> {
        let repository = repository.to_string();
        Box::pin(async move {
            request.validate()?;
            let planner = self.planner.clone();
            self.on_snapshot(&repository, move |snapshot| {
                let plan = planner.plan(&snapshot, &request.query, request.mode)?;
                codectx_retrieve::search_hybrid(&snapshot, &request, &plan.vector_hits, &plan.options)
            })
            .await
        })
    }

    fn symbols(&self, repository: &str, name: &str, limit: usize) -> BoxFuture<'_, Result<Vec<SymbolInfo>>> {
        let repository = repository.to_string();
        let name = name.trim().to_string();
        Box::pin(async move {
            codectx_core::validate_symbol_name(&name)?;
            let snapshot = self.snapshot(&repository).await?;
            let mut found = snapshot.find_symbols(&name);
            found.sort_by_key(|reference| (reference.file, reference.symbol));
            Ok(found
                .into_iter()
                .take(limit.max(1))
                .map(|reference| codectx_retrieve::references::symbol_info(&snapshot, reference))
                .collect())
        })
    }

    fn references(
        &self,
        repository: &str,
        name: &str,
        page_size: usize,
        page_token: &str,
    ) -> BoxFuture<'_, Result<References>> {
        let repository = repository.to_string();
        let (name, page_token) = (name.to_string(), page_token.to_string());
        Box::pin(async move {
            codectx_core::validate_symbol_name(&name)?;
            codectx_core::validate_field(FieldKind::Name, "page token", &page_token)?;
            self.on_snapshot(&repository, move |snapshot| {
                codectx_retrieve::references::references(&snapshot, &name, page_size, &page_token)
            })
            .await
        })
    }

    fn symbol_graph(
        &self,
        repository: &str,
        request: codectx_core::SymbolGraphRequest,
    ) -> BoxFuture<'_, Result<codectx_core::SymbolGraph>> {
        let repository = repository.to_string();
        Box::pin(async move {
            request.validate()?;
            self.on_snapshot(&repository, move |snapshot| {
                codectx_retrieve::references::symbol_graph(&snapshot, &request)
            })
            .await
        })
    }

    fn file_dependencies(&self, repository: &str, path: &str) -> BoxFuture<'_, Result<FileDependencies>> {
        let repository = repository.to_string();
        let path = path.trim_start_matches("./").to_string();
        Box::pin(async move {
            codectx_core::validate_field(FieldKind::Path, "path", &path)?;
            if path.trim().is_empty() {
                return Err(Error::InvalidArgument("the path is empty".into()));
            }
            let snapshot = self.snapshot(&repository).await?;
            let (file, entry) = snapshot.file(&path).ok_or_else(|| {
                Error::NotFound(format!("{} is not in the index of {}", quote(&path), quote(&repository)))
            })?;
            let imports = entry
                .parsed
                .imports
                .iter()
                .map(|import| codectx_core::DependencyEdge {
                    from_path: path.clone(),
                    to_path: import.resolved.clone().unwrap_or_default(),
                    module: import.module.clone(),
                    line: import.line,
                })
                .collect();
            let imported_by = snapshot
                .imported_by(file)
                .iter()
                .map(|&(from, import_index)| {
                    let from_entry = snapshot.file_at(from);
                    let import = &from_entry.parsed.imports[import_index as usize];
                    codectx_core::DependencyEdge {
                        from_path: from_entry.record.path.clone(),
                        to_path: path.clone(),
                        module: import.module.clone(),
                        line: import.line,
                    }
                })
                .collect();
            Ok(FileDependencies { path, imports, imported_by })
        })
    }

    fn index(&self, repository: &str) -> BoxFuture<'_, Result<ResultStream<IndexEvent>>> {
        let repository = repository.to_string();
        Box::pin(async move {
            let repository = self.repository(&repository)?;
            // Subscribe before requesting, so that no progress of the run is missed.
            let mut progress = repository.fresh().progress();
            let ticket = freshness::request(&repository.queue, &self.runner);
            let queue = repository.queue.clone();
            let (sender, receiver) = mpsc::channel::<Result<IndexEvent>>(256);
            tokio::spawn(async move {
                let fresh = &queue.fresh;
                if fresh.state().completed < ticket {
                    let queued = IndexProgress { phase: "queued".into(), done: 0, total: 0 };
                    let _ = sender.try_send(Ok(IndexEvent::Progress(queued)));
                }
                let done = freshness::outcome(fresh, ticket);
                tokio::pin!(done);
                loop {
                    tokio::select! {
                        step = progress.recv() => match step {
                            Ok((covers, step)) if covers >= ticket => {
                                // Advisory: dropped when the client reads slowly.
                                let _ = sender.try_send(Ok(IndexEvent::Progress(step)));
                            }
                            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                            Err(tokio::sync::broadcast::error::RecvError::Closed) => {}
                        },
                        outcome = &mut done => {
                            let _ = sender.send(outcome.map(|stats| IndexEvent::Done(Box::new(stats)))).await;
                            return;
                        }
                    }
                }
            });
            Ok(tokio_stream_from(receiver))
        })
    }

    fn list_repositories(&self) -> BoxFuture<'_, Result<Vec<RepositoryInfo>>> {
        Box::pin(async move {
            let mut out = Vec::new();
            for (name, repository) in self.all_repositories() {
                let snapshot = {
                    let repository = repository.clone();
                    let opened = run_blocking(move || repository.current_snapshot()).await;
                    self.check_damage(&name, opened).ok()
                };
                out.push(repository_info(&name, &repository, snapshot.as_deref()));
            }
            Ok(out)
        })
    }

    fn add_repository(&self, name: &str, path: &str) -> BoxFuture<'_, Result<RepositoryInfo>> {
        let (name, path) = (name.trim().to_string(), path.trim().to_string());
        Box::pin(async move {
            crate::registry::validate_name(&name)?;
            codectx_core::validate_field(FieldKind::Path, "repository path", &path)?;
            let path = PathBuf::from(path);
            let Some(registry) = &self.registry else {
                return Err(Error::PermissionDenied(
                    "this server has no [server] storage_root, so repositories cannot be added at run time".into(),
                ));
            };
            let allowed = self.config.server.allowed_roots.clone();
            let root = run_blocking(move || crate::registry::confine(&path, &allowed)).await?;
            if self.repositories.read().expect("repositories lock").contains_key(&name) {
                return Err(Error::AlreadyExists(format!("repository {name}")));
            }
            // The registry file is written (and fsynced) on a blocking thread; the
            // registry refuses a name it already has, so concurrent adds of one
            // name cannot both succeed.
            let entry = {
                let (registry, name) = (registry.clone(), name.clone());
                run_blocking(move || {
                    let mut registry = registry.lock().expect("registry lock");
                    let entry = crate::registry::RegistryEntry { index_dir: registry.index_dir_for(&name), name, root };
                    registry.add(entry.clone())?;
                    Ok(entry)
                })
                .await?
            };
            let spec = RepositorySpec { name: name.clone(), root: entry.root, index_dir: Some(entry.index_dir) };
            let repository = Repository::new(spec, true);
            self.repositories.write().expect("repositories lock").insert(name.clone(), repository.clone());
            if self.watching.load(std::sync::atomic::Ordering::SeqCst) {
                self.watch_repository(&name, &repository).await;
            }
            Ok(repository_info(&name, &repository, None))
        })
    }

    fn remove_repository(&self, name: &str, delete_index: bool) -> BoxFuture<'_, Result<()>> {
        let name = name.trim().to_string();
        Box::pin(async move {
            let repository = self.repository(&name)?;
            if !repository.registered {
                return Err(Error::InvalidArgument(format!(
                    "repository {name} comes from the configuration or the command line, not the registry"
                )));
            }
            let registry = self.registry.as_ref().ok_or_else(|| Error::UnknownRepository(name.clone()))?;
            // Wait for an index run in progress to finish before the folder goes.
            let _running = repository.queue.indexing.lock().await;
            {
                let (registry, name) = (registry.clone(), name.clone());
                run_blocking(move || registry.lock().expect("registry lock").remove(&name).map(|_| ())).await?;
            }
            self.repositories.write().expect("repositories lock").remove(&name);
            repository.fresh().close();
            if delete_index {
                let index_dir = repository.spec.index_dir();
                run_blocking(move || match std::fs::remove_dir_all(&index_dir) {
                    Ok(()) => Ok(()),
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(error) => Err(Error::io(&index_dir, error)),
                })
                .await?;
            }
            Ok(())
        })
    }

    fn index_status(&self, repository: &str) -> BoxFuture<'_, Result<codectx_core::IndexStatus>> {
        let name = repository.trim().to_string();
        Box::pin(async move {
            let repository = self.repository(&name)?;
            let (snapshot, head_commit) = {
                let repository = repository.clone();
                run_blocking(move || {
                    let head = codectx_index::git_head(&repository.spec.root).unwrap_or_default();
                    Ok((repository.current_snapshot(), head))
                })
                .await?
            };
            let snapshot = self.check_damage(&name, snapshot).ok();
            let fresh = repository.fresh();
            let state = fresh.state();
            let (last_run, last_error) = match state.last {
                Some(Ok(stats)) => (Some(stats), None),
                Some(Err(error)) => (None, Some(error.to_string())),
                None => (None, None),
            };
            let requested = fresh.requested();
            Ok(codectx_core::IndexStatus {
                repository: repository_info(&name, &repository, snapshot.as_deref()),
                generation: snapshot.as_ref().map_or(0, |snapshot| snapshot.generation()),
                indexed_unix: snapshot.as_ref().map_or(0, |snapshot| snapshot.manifest().created_unix),
                indexing: state.running > 0,
                last_run,
                last_error,
                watching: fresh.watching(),
                pending_changes: fresh.pending_changes(),
                queued: requested > state.completed.max(state.running),
                head_commit,
                last_run_unix: state.finished_unix,
                index_runs: fresh.runs(),
                damage: fresh.damage(),
                vector_coverage: snapshot.as_ref().and_then(|snapshot| snapshot.vector_coverage()),
            })
        })
    }
}

/// What [`RepositoryInfo`] says of a repository and its current snapshot, if any.
fn repository_info(name: &str, repository: &Repository, snapshot: Option<&IndexSnapshot>) -> RepositoryInfo {
    match snapshot {
        Some(snapshot) => {
            let stats = &snapshot.manifest().stats;
            RepositoryInfo {
                name: name.to_string(),
                root: repository.spec.root.display().to_string(),
                indexed: true,
                fingerprint: snapshot.manifest().fingerprint.clone(),
                commit: snapshot.manifest().commit.clone(),
                files: stats.files,
                chunks: stats.chunks,
                symbols: stats.symbols,
            }
        }
        None => RepositoryInfo {
            name: name.to_string(),
            root: repository.spec.root.display().to_string(),
            indexed: false,
            fingerprint: String::new(),
            commit: String::new(),
            files: 0,
            chunks: 0,
            symbols: 0,
        },
    }
}

fn tokio_stream_from<T: Send + 'static>(mut receiver: mpsc::Receiver<T>) -> futures::stream::BoxStream<'static, T> {
    futures::stream::poll_fn(move |context| receiver.poll_recv(context)).boxed()
}
