//! Live freshness: a watched git working tree is re-indexed when files are edited,
//! added, deleted or renamed and when a commit moves `HEAD`; bundles say which
//! commit they come from; `min_commit` waits for it or fails by its deadline;
//! `wait_for_pending` and `RefreshRepository` bring an unwatched tree up to date.

use std::path::Path;
use std::time::{Duration, Instant};

use codectx_core::{Config, EmbedProvider};
use codectx_proto::v1::{self as pb, code_context_client::CodeContextClient};
use codectx_service::{Engine, RepositorySpec};
use tonic::transport::Channel;

use crate::util::{self, git, TestServer};

/// The bound this project states for "file saved → visible in a bundle" on a small
/// repository: the watcher's debounce plus one incremental index run, with a wide
/// margin for a loaded CI machine (measured figures are in the closing notes).
const VISIBLE_WITHIN: Duration = Duration::from_secs(30);
const REPO: &str = "live";

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A git repository with two Python modules, committed; returns (dir, HEAD).
fn git_repo() -> (tempfile::TempDir, String) {
    let dir = util::temp_dir();
    let root = dir.path();
    git(root, &["init", "-q", "-b", "main"]);
    write(root, ".gitignore", ".codectx/\nbuild/\n");
    write(root, "app/core.py", "def compute_total(items):\n    \"\"\"Sum of the item prices.\"\"\"\n    return sum(item.price for item in items)\n");
    write(root, "app/util.py", "def helper_alpha(value):\n    \"\"\"Doubles a value.\"\"\"\n    return value * 2\n");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "first"]);
    let head = git(root, &["rev-parse", "HEAD"]);
    (dir, head)
}

/// An engine over `root` with embeddings off and a short debounce, indexed once.
async fn engine(root: &Path) -> Engine {
    let mut config = Config::default();
    config.embed.provider = EmbedProvider::None;
    config.server.watch_debounce_ms = 100;
    config.index = util::index_config();
    let spec = RepositorySpec { name: REPO.into(), root: root.to_path_buf(), index_dir: None };
    let engine = Engine::new(vec![spec], config).unwrap();
    util::index_repo(root, &root.join(".codectx"));
    engine
}

fn context(query: &str, freshness: Option<pb::Freshness>) -> pb::GetContextRequest {
    pb::GetContextRequest { repository: REPO.into(), query: query.into(), freshness, ..Default::default() }
}

fn cites(bundle: &pb::ContextBundle, path: &str) -> bool {
    bundle.blocks.iter().any(|block| block.path == path)
}

fn contains(bundle: &pb::ContextBundle, path: &str, needle: &str) -> bool {
    bundle.blocks.iter().any(|block| block.path == path && block.text.contains(needle))
}

/// Asks for `query` until `done` holds for the bundle (no waiting flags: this is
/// what a client sees on its own), within [`VISIBLE_WITHIN`]; returns the bundle
/// and how long it took.
async fn until_visible(
    client: &mut CodeContextClient<Channel>,
    query: &str,
    what: &str,
    done: impl Fn(&pb::ContextBundle) -> bool,
) -> (pb::ContextBundle, Duration) {
    let started = Instant::now();
    loop {
        let bundle = client.get_context(context(query, None)).await.expect("GetContext").into_inner();
        if done(&bundle) {
            return (bundle, started.elapsed());
        }
        assert!(started.elapsed() < VISIBLE_WITHIN, "{what}: not visible within {VISIBLE_WITHIN:?}: {bundle:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watched_tree_is_reindexed_on_edit_add_delete_rename_and_commit() {
    let (dir, first_commit) = git_repo();
    let root = dir.path();
    let engine = engine(root).await;
    engine.start_watching().await;
    let server = TestServer::start(engine).await;
    let mut client = server.client().await;

    let bundle = client.get_context(context("compute_total", None)).await.unwrap().into_inner();
    assert_eq!(bundle.commit, first_commit, "the bundle names the commit it was indexed at");
    assert!(cites(&bundle, "app/core.py"));

    // Edit.
    let mut core = std::fs::read_to_string(root.join("app/core.py")).unwrap();
    core.push_str("\n\ndef freshness_marker_edit(order):\n    return order.id\n");
    std::fs::write(root.join("app/core.py"), &core).unwrap();
    let (_, edit_latency) = until_visible(&mut client, "freshness_marker_edit", "an edited file", |bundle| {
        contains(bundle, "app/core.py", "def freshness_marker_edit")
    })
    .await;

    // Add.
    write(root, "app/added.py", "def freshness_marker_added(cart):\n    return len(cart)\n");
    until_visible(&mut client, "freshness_marker_added", "an added file", |bundle| {
        contains(bundle, "app/added.py", "def freshness_marker_added")
    })
    .await;

    // Ignored files never trigger nor enter the index.
    write(root, "build/generated.py", "def freshness_marker_ignored():\n    pass\n");

    // Delete.
    std::fs::remove_file(root.join("app/util.py")).unwrap();
    until_visible(&mut client, "helper_alpha doubles a value", "a deleted file", |bundle| {
        !cites(bundle, "app/util.py")
    })
    .await;

    // Rename.
    std::fs::rename(root.join("app/added.py"), root.join("app/renamed.py")).unwrap();
    let (bundle, _) = until_visible(&mut client, "freshness_marker_added", "a renamed file", |bundle| {
        contains(bundle, "app/renamed.py", "def freshness_marker_added")
    })
    .await;
    assert!(!cites(&bundle, "app/added.py"), "the old path left the index: {bundle:?}");

    // Commit: min_commit waits for the run the ref change triggers.
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "second"]);
    let second_commit = git(root, &["rev-parse", "HEAD"]);
    let fresh = pb::Freshness { min_commit: second_commit.clone(), wait_timeout_ms: 20_000, ..Default::default() };
    let bundle =
        client.get_context(context("compute_total", Some(fresh))).await.expect("min_commit reached").into_inner();
    assert_eq!(bundle.commit, second_commit, "served at the awaited commit");
    // An abbreviated commit that is an ancestor is satisfied at once.
    let fresh = pb::Freshness { min_commit: first_commit[..10].to_string(), wait_timeout_ms: 1, ..Default::default() };
    let bundle = client.get_context(context("compute_total", Some(fresh))).await.expect("ancestor").into_inner();
    assert_eq!(bundle.commit, second_commit);

    // A commit the tree never reaches fails by its deadline, saying where the index is.
    let fresh = pb::Freshness {
        min_commit: "0123456789abcdef0123456789abcdef01234567".into(),
        wait_timeout_ms: 300,
        ..Default::default()
    };
    let started = Instant::now();
    let status = client.get_context(context("compute_total", Some(fresh))).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::DeadlineExceeded, "{status:?}");
    assert!(status.message().contains(&second_commit[..12]), "names the indexed commit: {}", status.message());
    assert!(started.elapsed() < Duration::from_secs(10), "gave up at its deadline, not later");
    // A malformed one is refused at once.
    let fresh = pb::Freshness { min_commit: "not-a-commit".into(), ..Default::default() };
    let status = client.get_context(context("compute_total", Some(fresh))).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");

    let status =
        client.get_index_status(pb::GetIndexStatusRequest { repository: REPO.into() }).await.unwrap().into_inner();
    assert!(status.watching, "{status:?}");
    assert_eq!(status.head_commit, second_commit);
    assert_eq!(status.repository.unwrap().commit, second_commit);
    let bundle = client.get_context(context("freshness_marker_ignored", None)).await.unwrap().into_inner();
    assert!(!cites(&bundle, "build/generated.py"), "ignored files stay out: {bundle:?}");
    eprintln!("freshness: edit visible after {edit_latency:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_pending_and_refresh_bring_an_unwatched_tree_up_to_date() {
    let (dir, _) = git_repo();
    let root = dir.path();
    let engine = engine(root).await;
    let server = TestServer::start(engine).await;
    let mut client = server.client().await;

    // Unwatched: an edit is not seen until asked for.
    write(
        root,
        "app/util.py",
        "def helper_alpha(value):\n    return value * 2\n\n\ndef pending_marker_one():\n    pass\n",
    );
    let bundle = client.get_context(context("pending_marker_one", None)).await.unwrap().into_inner();
    assert!(!contains(&bundle, "app/util.py", "pending_marker_one"), "not indexed yet: {bundle:?}");
    let fresh = pb::Freshness { wait_for_pending: true, wait_timeout_ms: 30_000, ..Default::default() };
    let bundle = client.get_context(context("pending_marker_one", Some(fresh))).await.unwrap().into_inner();
    assert!(
        contains(&bundle, "app/util.py", "def pending_marker_one"),
        "the waiting request sees the edit: {bundle:?}"
    );

    // RefreshRepository streams the run and ends with its stats.
    write(root, "app/more.py", "def refresh_marker():\n    pass\n");
    let mut stream =
        client.refresh_repository(pb::RefreshRepositoryRequest { repository: REPO.into() }).await.unwrap().into_inner();
    let mut phases = Vec::new();
    let mut done = None;
    while let Some(event) = stream.message().await.expect("a clean stream") {
        match event.event.unwrap() {
            pb::index_event::Event::Progress(progress) => phases.push(progress.phase),
            pb::index_event::Event::Done(stats) => done = Some(stats),
        }
    }
    let stats = done.expect("the last event carries the stats");
    assert_eq!(stats.parsed, 1, "only the new file is parsed: {stats:?}");
    assert!(phases.iter().any(|phase| phase == "parse"), "progress was streamed: {phases:?}");
    let bundle = client.get_context(context("refresh_marker", None)).await.unwrap().into_inner();
    assert!(cites(&bundle, "app/more.py"), "{bundle:?}");

    // Unknown repositories are NOT_FOUND for refresh too.
    let status =
        client.refresh_repository(pb::RefreshRepositoryRequest { repository: "nope".into() }).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
    server.stop().await;
}

#[test]
fn a_commit_that_changes_no_file_still_moves_the_indexed_commit() {
    let (dir, first) = git_repo();
    let root = dir.path();
    let index_dir = root.join(".codectx");
    let stats = util::index_repo(root, &index_dir);
    git(root, &["commit", "-q", "--allow-empty", "-m", "empty"]);
    let second = git(root, &["rev-parse", "HEAD"]);
    assert_ne!(first, second);
    let again = util::index_repo(root, &index_dir);
    assert_eq!(again.parsed, 0, "no file is parsed: {again:?}");
    assert_eq!(again.generation, stats.generation + 1, "a generation under the new commit: {again:?}");
    let snapshot = codectx_index::IndexSnapshot::open(&index_dir).unwrap();
    assert_eq!(snapshot.manifest().commit, second);
    let unchanged = util::index_repo(root, &index_dir);
    assert_eq!(unchanged.generation, again.generation, "nothing moved: no new generation");
}
