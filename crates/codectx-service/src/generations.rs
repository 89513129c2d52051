//! Which index generation a request is served from: the current one (re-opened
//! when another process publishes a newer one), or one that satisfies the
//! request's freshness (`min_commit`, pending changes), waited for up to its
//! deadline; damage found in a served generation (a rebuild in the background);
//! and the file watchers that request new generations.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use codectx_core::{Error, Result};
use codectx_index::IndexSnapshot;

use crate::engine::{current_generation_number, run_blocking, Engine, Repository};
use crate::freshness;

impl Engine {
    /// The current snapshot of a repository, opened (or re-opened after a new
    /// generation was published) on a blocking thread.
    pub(crate) async fn snapshot(&self, name: &str) -> Result<Arc<IndexSnapshot>> {
        let repository = self.repository(name)?;
        let opened = run_blocking(move || repository.current_snapshot()).await;
        self.check_damage(name, opened)
    }

    /// Runs `work` on a blocking thread over the current snapshot of `name`;
    /// damage either step finds goes through [`Engine::check_damage`].
    pub(crate) async fn on_snapshot<T: Send + 'static>(
        &self,
        name: &str,
        work: impl FnOnce(Arc<IndexSnapshot>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let snapshot = self.snapshot(name).await?;
        let result = run_blocking(move || work(snapshot)).await;
        self.check_damage(name, result)
    }

    /// From now on, damage that a request finds in a repository's served index
    /// (a truncated or corrupt file: [`Error::CorruptIndex`]) starts a rebuild
    /// from scratch of that repository in the background, while the others keep
    /// serving; [`ContextService::index_status`] reports the damage until the
    /// rebuild succeeds. `codectx serve` turns this on; a one-shot CLI command
    /// leaves it off and tells the user to run `codectx index --rebuild`.
    pub fn heal_damaged_indexes(&self) {
        self.heal.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Makes the next index run of `repository` a rebuild from scratch
    /// ([`codectx_index::Indexer::rebuild`]): `codectx index --rebuild`.
    ///
    /// Errors: [`Error::UnknownRepository`].
    pub fn request_rebuild(&self, repository: &str) -> Result<()> {
        self.repository(repository)?.fresh().request_rebuild();
        Ok(())
    }

    /// Passes `result` through; when it is [`Error::CorruptIndex`], the
    /// repository's cached snapshot is dropped, the damage recorded, and (with
    /// [`Engine::heal_damaged_indexes`]) one rebuild requested.
    pub(crate) fn check_damage<T>(&self, name: &str, result: Result<T>) -> Result<T> {
        if let Err(error @ Error::CorruptIndex { .. }) = &result {
            if let Ok(repository) = self.repository(name) {
                *repository.snapshot.write().expect("snapshot lock") = None;
                let new = repository.fresh().record_damage(error.to_string());
                if new {
                    if self.heal.load(std::sync::atomic::Ordering::SeqCst) {
                        tracing::error!(repository = %name, %error, "the served index is damaged; rebuilding it");
                        freshness::request(&repository.queue, &self.runner);
                    } else {
                        // A one-shot command: the error itself tells the user what to do.
                        tracing::debug!(repository = %name, %error, "the index is damaged");
                    }
                }
            }
        }
        result
    }

    /// Starts a file watcher on every served repository (and on repositories
    /// added later), and requests a catch-up run for each one already indexed,
    /// so that changes made while the server was down are picked up. Called by
    /// `codectx serve` unless `[server] watch = false`; needs a Tokio runtime.
    ///
    /// A repository whose watcher cannot start (inotify limit, folder gone) is
    /// logged and served without one; the others are watched.
    pub async fn start_watching(&self) {
        self.watching.store(true, std::sync::atomic::Ordering::SeqCst);
        for (name, repository) in self.all_repositories() {
            self.watch_repository(&name, &repository).await;
        }
    }

    pub(crate) async fn watch_repository(&self, name: &str, repository: &Arc<Repository>) {
        let debounce = Duration::from_millis(self.config.server.watch_debounce_ms.max(1));
        if let Err(error) = freshness::watch(repository.queue.clone(), self.runner.clone(), debounce).await {
            tracing::error!(repository = %name, %error, "not watching this repository");
            return;
        }
        if current_generation_number(&repository.spec.index_dir()).is_some() {
            freshness::request(&repository.queue, &self.runner);
        }
        tracing::info!(repository = %name, root = %repository.spec.root.display(), "watching for changes");
    }

    /// The snapshot a request may be served from under `freshness`: the current
    /// one at once when it asks for nothing; otherwise waits (see
    /// [`codectx_core::Freshness`]) until a generation satisfies it, or fails with
    /// [`Error::DeadlineExceeded`] at the deadline, or with the index run's error
    /// when the run it waited for failed.
    pub(crate) async fn fresh_snapshot(
        &self,
        name: &str,
        freshness: &codectx_core::Freshness,
    ) -> Result<Arc<IndexSnapshot>> {
        let snapshot = self.wait_for_snapshot(name, freshness).await;
        self.check_damage(name, snapshot)
    }

    pub(crate) async fn wait_for_snapshot(
        &self,
        name: &str,
        freshness: &codectx_core::Freshness,
    ) -> Result<Arc<IndexSnapshot>> {
        let repository = self.repository(name)?;
        if !freshness.waits() {
            return run_blocking(move || repository.current_snapshot()).await;
        }
        let max_wait = self.config.server.max_wait_ms.max(1);
        let wait_ms = match freshness.wait_timeout_ms {
            0 => max_wait,
            ms => ms.min(max_wait),
        };
        let deadline = std::time::Instant::now() + Duration::from_millis(wait_ms);
        let fresh = repository.fresh();

        if freshness.wait_for_pending {
            let state = fresh.state();
            let ticket = if fresh.watching() {
                // The watcher has requested a run for every change it saw.
                fresh.requested().max(state.running)
            } else {
                freshness::request(&repository.queue, &self.runner)
            };
            if ticket > state.completed {
                match freshness::wait_for(fresh, ticket, deadline).await {
                    None => {
                        return Err(Error::DeadlineExceeded(format!(
                            "pending changes of {name} were not indexed within {wait_ms} ms"
                        )))
                    }
                    Some(Err(error)) => return Err(error),
                    Some(Ok(_)) => {}
                }
            }
        }

        let Some(min_commit) = freshness.min_commit.clone() else {
            return run_blocking(move || repository.current_snapshot()).await;
        };
        let mut state = fresh.subscribe();
        loop {
            state.borrow_and_update();
            let (repo, min) = (repository.clone(), min_commit.clone());
            let (snapshot, reached, head) = run_blocking(move || {
                let snapshot = repo.current_snapshot()?;
                let reached = commit_reaches(&repo.spec.root, &snapshot.manifest().commit, &min);
                let head = codectx_index::git_head(&repo.spec.root).unwrap_or_default();
                Ok((snapshot, reached, head))
            })
            .await?;
            if reached {
                return Ok(snapshot);
            }
            let indexed = snapshot.manifest().commit.clone();
            // The working tree is at another commit than the index and no run is
            // coming (unwatched, or the event was missed): ask for one.
            let pending = fresh.requested() > fresh.state().completed;
            if !head.is_empty() && head != indexed && !pending {
                freshness::request(&repository.queue, &self.runner);
            }
            // Unwatched trees are polled for HEAD moves.
            let poll = Duration::from_millis(if fresh.watching() { 5_000 } else { 250 });
            let wake = (std::time::Instant::now() + poll).min(deadline);
            let _ = tokio::time::timeout_at(wake.into(), state.changed()).await;
            if std::time::Instant::now() >= deadline {
                return Err(Error::DeadlineExceeded(format!(
                    "{name} is indexed at commit {} (working tree at {}); min_commit {min_commit} not reached within {wait_ms} ms",
                    short(&indexed),
                    short(&head)
                )));
            }
        }
    }
}

/// Whether the indexed commit `served` satisfies `min_commit`: it starts with
/// those digits, or `git merge-base --is-ancestor` says `min_commit` is an
/// ancestor of it. Without a `git` program, or for a commit git does not know,
/// only the first test counts.
fn commit_reaches(root: &Path, served: &str, min_commit: &str) -> bool {
    if served.is_empty() {
        return false;
    }
    if served.starts_with(&min_commit.to_ascii_lowercase()) {
        return true;
    }
    std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["merge-base", "--is-ancestor", min_commit, served])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The first 12 digits of a commit, or `none`.
fn short(commit: &str) -> &str {
    if commit.is_empty() {
        "none"
    } else {
        &commit[..commit.len().min(12)]
    }
}
