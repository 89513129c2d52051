//! The run-time registry: `codectx serve --config` with a `[server]` storage root,
//! `codectx repo add|ls|status|rm` against it, and a restart (after SIGKILL) that
//! serves every registered repository from its index without re-indexing.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Child;

use codectx_proto::v1::code_context_client::CodeContextClient;
use codectx_proto::v1::GetContextRequest;

use crate::util::{self, run};

/// Starts `codectx serve --config <config>`: the process and where it listens.
fn start_server(config: &Path) -> (Child, SocketAddr) {
    let server = util::spawn_serve(config);
    (server.child, server.addr)
}

fn repo(addr: SocketAddr, args: &[&str]) -> util::Run {
    run(util::codectx().arg("repo").args(args).arg("--server").arg(addr.to_string()))
}

async fn first_file(addr: SocketAddr, repository: &str, query: &str) -> String {
    let mut client = CodeContextClient::connect(format!("http://{addr}")).await.expect("connect");
    let bundle = client
        .get_context(GetContextRequest {
            repository: repository.into(),
            query: query.into(),
            token_budget: 1000,
            ..Default::default()
        })
        .await
        .expect("GetContext")
        .into_inner();
    bundle.files[0].path.clone()
}

#[tokio::test]
async fn repositories_added_at_run_time_survive_a_killed_server() {
    let roots = util::temp_dir();
    let repo_dir = roots.path().join("fixture");
    util::copy_dir(&util::fixture_root(), &repo_dir);
    let storage = util::temp_dir();
    let config = storage.path().join("codectx.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\n\n[server]\nstorage_root = {:?}\nallowed_roots = [{:?}]\n",
            storage.path().join("data").display().to_string(),
            roots.path().display().to_string()
        ),
    )
    .unwrap();
    let (mut server, addr) = start_server(&config);

    // Add and index; outside the roots (or `/`) is refused without registering.
    let added = repo(addr, &["add", "fx", repo_dir.to_str().unwrap()]).success();
    assert!(added.stdout.contains("indexed fx:"), "{}", added.stdout);
    for outside in ["/", "/etc", &format!("{}/../..", repo_dir.display())] {
        let refused = repo(addr, &["add", "other", outside]);
        assert_ne!(refused.code, Some(0));
        assert!(refused.stderr.contains("permission denied"), "{outside}: {}", refused.stderr);
    }
    let duplicate = repo(addr, &["add", "fx", repo_dir.to_str().unwrap()]);
    assert!(duplicate.stderr.contains("already exists"), "{}", duplicate.stderr);
    let listed = repo(addr, &["ls"]).success();
    assert_eq!(listed.stdout.lines().count(), 1, "{}", listed.stdout);
    assert!(listed.stdout.starts_with("fx "), "{}", listed.stdout);
    let status = repo(addr, &["status", "fx"]).success();
    assert!(status.stdout.contains("generation 1,"), "{}", status.stdout);
    assert!(status.stdout.contains("last run:"), "{}", status.stdout);
    assert_eq!(first_file(addr, "fx", "where is the Go server started?").await, "goapp/server/server.go");

    // SIGKILL, restart: the repository is served at once, from the same generation.
    server.kill().unwrap();
    server.wait().unwrap();
    let (mut server, addr) = start_server(&config);
    let status = repo(addr, &["status", "fx"]).success();
    assert!(status.stdout.contains("generation 1,"), "not re-indexed: {}", status.stdout);
    assert!(!status.stdout.contains("last run:"), "no run in the new process: {}", status.stdout);
    assert_eq!(first_file(addr, "fx", "where is the Go server started?").await, "goapp/server/server.go");

    // Remove with its index: gone from the list, the index folder, and after a restart.
    repo(addr, &["rm", "fx", "--delete-index"]).success();
    assert!(repo(addr, &["ls"]).success().stdout.is_empty());
    assert!(!storage.path().join("data/indexes/fx").exists());
    let missing = repo(addr, &["status", "fx"]);
    assert!(missing.stderr.contains("unknown repository"), "{}", missing.stderr);
    server.kill().unwrap();
    server.wait().unwrap();
    let (mut server, addr) = start_server(&config);
    assert!(repo(addr, &["ls"]).success().stdout.is_empty());
    server.kill().unwrap();
    server.wait().unwrap();
}
