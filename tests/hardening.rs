//! What a hostile or unlucky repository must not be able to do: lead the indexer
//! outside its root through symbolic links, take a server down with a damaged
//! index file, or keep an idle watched server re-indexing.

use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::{Duration, Instant};

use codectx_core::{Config, EmbedProvider};
use codectx_proto::v1::{self as pb, code_context_client::CodeContextClient};
use codectx_service::{ContextService, Engine, RepositorySpec};
use tonic::transport::Channel;

use crate::util::{self, TestServer};

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn indexed_paths(index_dir: &Path) -> Vec<String> {
    let snapshot = codectx_index::IndexSnapshot::open(index_dir).unwrap();
    snapshot.files().iter().map(|entry| entry.record.path.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symbolic_links_never_lead_the_index_outside_the_repository() {
    let outside = util::temp_dir();
    write(outside.path(), "passwd", "root:x:0:0:outside_secret_marker:/root:/bin/bash\n");
    write(outside.path(), "etc/shadow.py", "def outside_module_marker():\n    return 'outside_secret_marker'\n");

    let repo = util::temp_dir();
    let root = repo.path();
    write(root, "app/main.py", "def inside_marker():\n    return 1\n");
    write(root, "shared/real.py", "def shared_marker():\n    return 2\n");
    symlink(outside.path().join("passwd"), root.join("passwd.txt")).unwrap(); // a file outside
    symlink(outside.path().join("etc"), root.join("etcdir")).unwrap(); // a folder outside
    let sibling = format!("../{}", outside.path().file_name().unwrap().to_str().unwrap());
    symlink(&sibling, root.join("escape")).unwrap(); // relative, up and out
    symlink("..", root.join("app/up")).unwrap(); // a loop back to the root
    symlink("shared", root.join("alias")).unwrap(); // a folder inside: followed
    symlink("real.py", root.join("shared/same.py")).unwrap(); // a file inside: followed

    let index_dir = util::temp_dir();
    let stats = util::index_repo(root, index_dir.path());
    assert_eq!(stats.skipped_outside_root, 3, "passwd.txt, etcdir and escape are skipped and counted: {stats:?}");
    let paths = indexed_paths(index_dir.path());
    for inside in ["app/main.py", "shared/real.py", "shared/same.py", "alias/real.py"] {
        assert!(paths.iter().any(|path| path == inside), "{inside} is indexed: {paths:?}");
    }
    for path in &paths {
        assert!(
            !path.starts_with("passwd") && !path.starts_with("etcdir") && !path.starts_with("escape"),
            "nothing behind an outward link is indexed: {paths:?}"
        );
        assert!(!path.starts_with("app/up/"), "the loop is not followed: {paths:?}");
    }

    // What a client can ask for never holds the outside content.
    let mut config = Config::default();
    config.embed.provider = EmbedProvider::None;
    let spec =
        RepositorySpec { name: "r".into(), root: root.to_path_buf(), index_dir: Some(index_dir.path().to_path_buf()) };
    let engine = Engine::new(vec![spec], config).unwrap();
    let request = codectx_core::SearchRequest {
        query: "outside_secret_marker root".into(),
        limit: 20,
        filter: Default::default(),
        mode: None,
    };
    let hits = engine.search("r", request).await.unwrap();
    assert!(hits.iter().all(|hit| !hit.preview.contains("outside_secret_marker")), "{hits:?}");

    // Following links can be turned off: then even inside links are not followed.
    let no_links = codectx_core::IndexConfig { follow_links: false, ..util::index_config() };
    let index_dir = util::temp_dir();
    codectx_index::Indexer::new(root, Some(index_dir.path()), no_links).unwrap().run(&|_| {}).unwrap();
    let paths = indexed_paths(index_dir.path());
    assert!(paths.iter().all(|path| !path.starts_with("alias/")), "{paths:?}");
    assert!(paths.iter().any(|path| path == "shared/real.py"));
}

#[test]
fn a_file_swapped_for_an_outward_link_after_the_walk_is_not_read() {
    let outside = util::temp_dir();
    write(outside.path(), "secret.txt", "outside_secret_marker\n");
    let repo = util::temp_dir();
    write(repo.path(), "a.txt", "inside\n");
    let real_root = repo.path().canonicalize().unwrap();
    let swapped = repo.path().join("a.txt");
    assert_eq!(codectx_index::walk::read_confined(&swapped, &real_root).unwrap(), b"inside\n");
    std::fs::remove_file(&swapped).unwrap();
    symlink(outside.path().join("secret.txt"), &swapped).unwrap();
    let error = codectx_index::walk::read_confined(&swapped, &real_root).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::PermissionDenied, "{error}");
}

/// Two copies of the fixture, indexed, served with self-healing on.
async fn two_repositories() -> (tempfile::TempDir, tempfile::TempDir, TestServer) {
    let (a, b) = (util::fixture_copy(), util::fixture_copy());
    util::index_repo(a.path(), &a.path().join(".codectx"));
    util::index_repo(b.path(), &b.path().join(".codectx"));
    let mut config = Config::default();
    config.embed.provider = EmbedProvider::None;
    config.index = util::index_config();
    let specs = vec![
        RepositorySpec { name: "a".into(), root: a.path().to_path_buf(), index_dir: None },
        RepositorySpec { name: "b".into(), root: b.path().to_path_buf(), index_dir: None },
    ];
    let engine = Engine::new(specs, config).unwrap();
    engine.heal_damaged_indexes();
    (a, b, TestServer::start(engine).await)
}

fn context(repository: &str) -> pb::GetContextRequest {
    pb::GetContextRequest {
        repository: repository.into(),
        query: "how are redirects resolved and followed by the session".into(),
        token_budget: 4000,
        ..Default::default()
    }
}

async fn status(client: &mut CodeContextClient<Channel>, repository: &str) -> pb::IndexStatus {
    client
        .get_index_status(pb::GetIndexStatusRequest { repository: repository.into() })
        .await
        .expect("GetIndexStatus answers")
        .into_inner()
}

/// Cuts `file` to nothing, as a disk fault or a careless tool can: every read of
/// it past the new end (all of it) fails.
fn truncate(file: &Path) {
    std::fs::OpenOptions::new().write(true).open(file).unwrap().set_len(0).unwrap();
}

/// The kind of an index file: the extension of a tantivy segment file
/// (`<32 hex digits>.store`), else the file name.
fn kind_of(path: &Path) -> String {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    match name.split_once('.') {
        Some((stem, extension)) if stem.len() == 32 && stem.chars().all(|c| c.is_ascii_hexdigit()) => {
            extension.to_string()
        }
        _ => name,
    }
}

/// The files of each kind in the served generation of `index_dir` (every
/// segment's file of that kind: a query may read any of them).
fn files_by_kind(index_dir: &Path) -> std::collections::BTreeMap<String, Vec<std::path::PathBuf>> {
    let mut kinds = std::collections::BTreeMap::new();
    let mut visit = vec![index_dir.join(util::current_generation(index_dir))];
    while let Some(dir) = visit.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                visit.push(path);
            } else if !kind_of(&path).ends_with(".lock") {
                kinds.entry(kind_of(&path)).or_insert_with(Vec::new).push(path);
            }
        }
    }
    kinds
}

/// Refreshes `repository` after adding a file, so that a new generation is
/// published and opened (with nothing of it cached by a query yet).
async fn new_generation(client: &mut CodeContextClient<Channel>, root: &Path, round: usize) -> u64 {
    write(root, &format!("scratch/round_{round}.txt"), "filler text of no interest\n");
    let mut stream = client
        .refresh_repository(pb::RefreshRepositoryRequest { repository: "a".into() })
        .await
        .expect("RefreshRepository")
        .into_inner();
    while stream.message().await.expect("a clean refresh").is_some() {}
    status(client, "a").await.generation
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_index_file_fails_its_repository_alone_and_is_rebuilt() {
    let (a, _b, server) = two_repositories().await;
    let mut client = server.client().await;
    let healthy = client.get_context(context("a")).await.expect("a serves").into_inner();
    let top = healthy.blocks.first().expect("a bundle").path.clone();
    let index_dir = a.path().join(".codectx");
    let mut kinds: Vec<String> = files_by_kind(&index_dir).into_keys().collect();
    for expected in ["store", "idx", "term", "fast", "fieldnorm", "meta.json", "store.bin", "manifest.json"] {
        assert!(kinds.iter().any(|kind| kind == expected), "a {expected} file to damage: {kinds:?}");
    }
    kinds.push("CURRENT".into());

    let mut detected = Vec::new();
    for (round, kind) in kinds.iter().enumerate() {
        let generation = new_generation(&mut client, a.path(), round).await;
        let files = match kind.as_str() {
            "CURRENT" => vec![index_dir.join("CURRENT")],
            kind => files_by_kind(&index_dir).remove(kind).expect("the kind is in every generation"),
        };
        for file in &files {
            truncate(file);
        }
        // Whatever the damage does to "a", the server answers, and "b" serves on.
        for _ in 0..2 {
            if let Err(status) = client.get_context(context("a")).await {
                assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{kind}: {status:?}");
                assert!(status.message().len() < 1024, "{kind}: a bounded message");
            }
            let search = pb::SearchRequest { repository: "a".into(), query: "redirect".into(), ..Default::default() };
            if let Err(status) = client.search(search).await {
                assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{kind}: {status:?}");
            }
            let other = client.get_context(context("b")).await.expect("the other repository keeps serving");
            assert!(!other.into_inner().blocks.is_empty(), "{kind}");
        }
        let now = status(&mut client, "a").await;
        if now.damage.is_empty() && now.generation == generation && !now.indexing && !now.queued {
            // Read whole when the generation was opened (fast fields, the term
            // dictionary, store.bin): served from memory, unharmed.
            client.get_context(context("a")).await.expect("still serving what it read at open");
            continue;
        }
        detected.push(kind.clone());
        // The rebuild from scratch repairs it.
        let started = Instant::now();
        loop {
            let now = status(&mut client, "a").await;
            if now.damage.is_empty() && !now.indexing && !now.queued && now.generation > generation {
                assert!(now.last_error.is_empty(), "{kind}: {now:?}");
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "{kind}: not rebuilt: {now:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let bundle = client.get_context(context("a")).await.expect("a serves again after the rebuild").into_inner();
        assert!(bundle.blocks.iter().any(|block| block.path == top), "{kind}: the rebuilt index answers as before");
    }
    for kind in ["store", "CURRENT"] {
        assert!(detected.iter().any(|found| found == kind), "damage to {kind} is found and repaired: {detected:?}");
    }
    eprintln!("damage found while serving and repaired: {detected:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_watched_repository_is_not_reindexed_and_one_save_makes_one_run() {
    // The states that looped in the field: an index inside the tree besides the
    // one the server writes elsewhere, built with another configuration.
    let repo = util::fixture_copy();
    let root = repo.path();
    util::index_repo(root, &root.join(".codectx"));
    let storage = util::temp_dir();
    let mut config = Config::default();
    config.embed.provider = EmbedProvider::None;
    config.server.watch_debounce_ms = 100;
    config.index = util::index_config();
    let spec = RepositorySpec {
        name: "idle".into(),
        root: root.to_path_buf(),
        index_dir: Some(storage.path().join("indexes/idle")),
    };
    let engine = Engine::new(vec![spec], config).unwrap();
    let first = engine.index("idle").await.unwrap();
    drop_stream(first).await;
    engine.start_watching().await;

    // Settle: the catch-up run start_watching asks for, and nothing after it.
    let settled = wait_until_idle(&engine).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle = engine.index_status("idle").await.unwrap();
    assert_eq!(idle.index_runs, settled, "no index run on an idle tree: {idle:?}");
    assert_eq!(idle.pending_changes, 0, "{idle:?}");

    // Reads of every file (what an index run does) change nothing.
    for entry in std::fs::read_dir(root.join("pyapp")).unwrap().flatten() {
        let _ = std::fs::read(entry.path());
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(engine.index_status("idle").await.unwrap().index_runs, settled, "reading is not changing");

    // One saved file: exactly one run.
    let path = root.join("pyapp/sessions.py");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("\n\ndef saved_once_marker():\n    return 3\n");
    std::fs::write(&path, text).unwrap();
    let started = Instant::now();
    loop {
        let now = engine.index_status("idle").await.unwrap();
        if now.index_runs > settled && !now.indexing && !now.queued {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the save was not indexed: {now:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = engine.index_status("idle").await.unwrap();
    assert_eq!(after.index_runs, settled + 1, "one save, one run: {after:?}");
    assert_eq!(after.last_run.as_ref().map(|run| run.parsed), Some(1), "{after:?}");
}

async fn drop_stream(mut stream: codectx_service::ResultStream<codectx_core::IndexEvent>) {
    use futures::StreamExt;
    while let Some(event) = stream.next().await {
        event.expect("index run");
    }
}

/// Waits until no run is going or queued; returns the runs finished so far.
async fn wait_until_idle(engine: &Engine) -> u64 {
    let started = Instant::now();
    loop {
        let status = engine.index_status("idle").await.unwrap();
        if !status.indexing && !status.queued && status.pending_changes == 0 && status.index_runs >= 2 {
            return status.index_runs;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "never idle: {status:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
