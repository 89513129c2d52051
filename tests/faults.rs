//! Faults of a hosted server: `kill -9` in the middle of an index update, and a
//! write that fails (the file-size limit of the process, `RLIMIT_FSIZE`, makes the
//! kernel refuse writes past a size as a full disk refuses them all). In both the
//! previous generation keeps answering, nothing leaves the registry, and the
//! update completes once the fault is gone.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use codectx_proto::v1::{self as pb, code_context_client::CodeContextClient};

use crate::util::{self, ServeProcess};

const MARKER: &str = "fault_marker_function";

struct Hosted {
    _roots: tempfile::TempDir,
    storage: tempfile::TempDir,
    repo: PathBuf,
    config: PathBuf,
}

/// A storage root and a copy of the fixture under an allowed root, with the
/// config file of a server that hosts them.
fn hosted() -> Hosted {
    let roots = util::temp_dir();
    let repo = roots.path().join("fixture");
    util::copy_dir(&util::fixture_root(), &repo);
    let storage = util::temp_dir();
    let config = storage.path().join("codectx.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\n\n[server]\nstorage_root = {:?}\nallowed_roots = [{:?}]\n\n[index]\nmax_file_size = {}\n",
            storage.path().join("data").display().to_string(),
            roots.path().display().to_string(),
            util::MAX_FILE_SIZE,
        ),
    )
    .unwrap();
    Hosted { _roots: roots, storage, repo, config }
}

async fn client(addr: SocketAddr) -> CodeContextClient<tonic::transport::Channel> {
    CodeContextClient::connect(format!("http://{addr}")).await.expect("connect")
}

/// Runs RefreshRepository to its end: the final stats, or the error status.
async fn refresh(addr: SocketAddr) -> Result<pb::IndexStats, tonic::Status> {
    let mut client = client(addr).await;
    let mut stream =
        client.refresh_repository(pb::RefreshRepositoryRequest { repository: "fx".into() }).await?.into_inner();
    let mut done = None;
    while let Some(event) = stream.message().await? {
        if let Some(pb::index_event::Event::Done(stats)) = event.event {
            done = Some(stats);
        }
    }
    Ok(done.expect("a successful stream ends with the stats"))
}

/// Whether the marker function is in the served index (GetSymbols).
async fn marker_indexed(addr: SocketAddr) -> bool {
    let mut client = client(addr).await;
    let found = client
        .get_symbols(pb::GetSymbolsRequest { repository: "fx".into(), name: MARKER.into(), ..Default::default() })
        .await
        .expect("GetSymbols answers from the current generation")
        .into_inner();
    !found.symbols.is_empty()
}

async fn answers(addr: SocketAddr) {
    let mut client = client(addr).await;
    let bundle = client
        .get_context(pb::GetContextRequest {
            repository: "fx".into(),
            query: "where is the Go server started?".into(),
            token_budget: 1000,
            ..Default::default()
        })
        .await
        .expect("GetContext answers")
        .into_inner();
    assert_eq!(bundle.files[0].path, "goapp/server/server.go");
}

fn edit(repo: &Path) {
    let utils = repo.join("pyapp/utils.py");
    let mut text = std::fs::read_to_string(&utils).unwrap();
    text.push_str(&format!("\n\ndef {MARKER}(url):\n    return url.strip()\n"));
    std::fs::write(utils, text).unwrap();
}

fn serve(config: &Path, failpoint: Option<&str>) -> ServeProcess {
    let mut command = util::codectx();
    command.arg("serve").arg("--config").arg(config).arg("--no-watch");
    if let Some(failpoint) = failpoint {
        command.env("CODECTX_FAILPOINT", failpoint);
    }
    util::spawn_serve_command(command)
}

fn kill(mut server: ServeProcess) {
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
}

fn wait_for_line(server: &ServeProcess, needle: &str) {
    loop {
        let line = server.stderr.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| panic!("no {needle:?} line"));
        if line.contains(needle) {
            return;
        }
    }
}

async fn add_and_index(addr: SocketAddr, repo: &Path) {
    let mut client = client(addr).await;
    client
        .add_repository(pb::AddRepositoryRequest { name: "fx".into(), path: repo.display().to_string() })
        .await
        .expect("AddRepository");
    let stats = refresh(addr).await.expect("first index run");
    assert_eq!(stats.generation, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_update_serves_the_previous_generation_and_then_completes() {
    let hosted = hosted();
    let server = serve(&hosted.config, None);
    add_and_index(server.addr, &hosted.repo).await;
    kill(server);

    // The update stops after the new text index is committed, before the switch.
    edit(&hosted.repo);
    let server = serve(&hosted.config, Some("pause:after-text-commit"));
    let addr = server.addr;
    let update = tokio::spawn(refresh(addr));
    wait_for_line(&server, "failpoint after-text-commit: paused");
    // Mid-update, queries are served from the previous generation.
    answers(addr).await;
    assert!(!marker_indexed(addr).await, "half an update is never served");
    kill(server);
    assert!(update.await.unwrap().is_err(), "the client of the killed run sees the call fail");

    // Restarted: the previous generation answers at once, the registry is whole,
    // a leftover of the killed run is cleaned up, and the update then completes.
    let server = serve(&hosted.config, None);
    let addr = server.addr;
    answers(addr).await;
    assert!(!marker_indexed(addr).await);
    let listed = client(addr).await.list_repositories(pb::ListRepositoriesRequest {}).await.unwrap().into_inner();
    let names: Vec<&str> = listed.repositories.iter().map(|repository| repository.name.as_str()).collect();
    assert_eq!(names, ["fx"], "no repository lost from the registry");
    let stats = refresh(addr).await.expect("the update completes");
    assert_eq!((stats.generation, stats.parsed), (2, 1), "{stats:?}");
    assert!(marker_indexed(addr).await);
    let index_dir = hosted.storage.path().join("data/indexes/fx");
    let leftovers: Vec<String> = std::fs::read_dir(&index_dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "no half-written generation is left: {leftovers:?}");
    kill(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_write_is_reported_and_the_old_generation_keeps_serving() {
    let hosted = hosted();
    let server = serve(&hosted.config, None);
    add_and_index(server.addr, &hosted.repo).await;
    kill(server);
    edit(&hosted.repo);

    // Writes past 8 KiB fail with EFBIG (SIGXFSZ ignored, so the write returns
    // the error as a full disk's ENOSPC would).
    let mut command = util::clean_command("bash");
    command
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 8; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_codectx"))
        .arg("serve")
        .arg("--config")
        .arg(&hosted.config)
        .arg("--no-watch");
    let server = util::spawn_serve_command(command);
    let addr = server.addr;
    let status = refresh(addr).await.expect_err("the run fails");
    assert!(status.message().contains("too large") || status.message().contains("No space"), "{status:?}");
    assert!(!status.message().contains('\n'), "one line: {status:?}");
    let index_status = client(addr)
        .await
        .get_index_status(pb::GetIndexStatusRequest { repository: "fx".into() })
        .await
        .unwrap()
        .into_inner();
    assert!(!index_status.last_error.is_empty(), "GetIndexStatus reports it: {index_status:?}");
    assert_eq!(index_status.generation, 1, "{index_status:?}");
    answers(addr).await;
    assert!(!marker_indexed(addr).await);
    kill(server);

    // With room again, the same update goes through.
    let server = serve(&hosted.config, None);
    let stats = refresh(server.addr).await.expect("the update completes");
    assert_eq!(stats.generation, 2, "{stats:?}");
    assert!(marker_indexed(server.addr).await);
    kill(server);
}
