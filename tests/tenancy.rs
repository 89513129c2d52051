//! Bearer-token tenancy over gRPC: every RPC with no token, a wrong token, and a
//! token for another repository, with the codes asserted; a token never learns
//! whether a repository it may not see exists.

use codectx_core::Config;
use codectx_proto::v1::code_context_client::CodeContextClient;
use codectx_proto::v1::{
    AddRepositoryRequest, GenerateRequest, GetContextRequest, GetFileDependenciesRequest, GetIndexStatusRequest,
    GetReferencesRequest, GetSymbolGraphRequest, GetSymbolsRequest, IndexRepositoryRequest, ListRepositoriesRequest,
    RefreshRepositoryRequest, RemoveRepositoryRequest, SearchRequest,
};
use codectx_service::{Engine, RepositorySpec};
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

use crate::util::{self, fixture_root, shared_index, TestServer};

const READER: &str = "reader-token-for-fixture-0001";
const ADMIN: &str = "admin-token-for-everything-0001";

fn request<T>(message: T, token: Option<&str>) -> Request<T> {
    let mut request = Request::new(message);
    if let Some(token) = token {
        request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    request
}

/// Calls repository RPC `rpc` on `repository` with `token`; `Ok` or the status.
async fn call(
    client: &mut CodeContextClient<Channel>,
    rpc: &str,
    repository: &str,
    token: Option<&str>,
) -> Result<(), Status> {
    let repository = repository.to_string();
    match rpc {
        "GetContext" => client
            .get_context(request(
                GetContextRequest { repository, query: "redirects".into(), ..Default::default() },
                token,
            ))
            .await
            .map(|_| ()),
        "Generate" => client
            .generate(request(GenerateRequest { repository, instruction: "x".into(), ..Default::default() }, token))
            .await
            .map(|_| ()),
        "Search" => client
            .search(request(SearchRequest { repository, query: "redirects".into(), ..Default::default() }, token))
            .await
            .map(|_| ()),
        "GetSymbols" => client
            .get_symbols(request(GetSymbolsRequest { repository, name: "Session".into(), limit: 0 }, token))
            .await
            .map(|_| ()),
        "GetReferences" => client
            .get_references(request(
                GetReferencesRequest { repository, name: "join_location".into(), ..Default::default() },
                token,
            ))
            .await
            .map(|_| ()),
        "GetSymbolGraph" => client
            .get_symbol_graph(request(
                GetSymbolGraphRequest { repository, name: "Session.send".into(), ..Default::default() },
                token,
            ))
            .await
            .map(|_| ()),
        "GetFileDependencies" => client
            .get_file_dependencies(request(
                GetFileDependenciesRequest { repository, path: "pyapp/sessions.py".into() },
                token,
            ))
            .await
            .map(|_| ()),
        "GetIndexStatus" => {
            client.get_index_status(request(GetIndexStatusRequest { repository }, token)).await.map(|_| ())
        }
        "IndexRepository" => {
            client.index_repository(request(IndexRepositoryRequest { repository }, token)).await.map(|_| ())
        }
        "RefreshRepository" => {
            client.refresh_repository(request(RefreshRepositoryRequest { repository }, token)).await.map(|_| ())
        }
        "AddRepository" => client
            .add_repository(request(AddRepositoryRequest { name: repository, path: "/".into() }, token))
            .await
            .map(|_| ()),
        "RemoveRepository" => client
            .remove_repository(request(RemoveRepositoryRequest { name: repository, delete_index: false }, token))
            .await
            .map(|_| ()),
        other => panic!("unknown rpc {other}"),
    }
}

const REPOSITORY_RPCS: &[&str] = &[
    "GetContext",
    "Generate",
    "Search",
    "GetSymbols",
    "GetReferences",
    "GetSymbolGraph",
    "GetFileDependencies",
    "GetIndexStatus",
];
const ADMIN_RPCS: &[&str] = &["IndexRepository", "RefreshRepository", "AddRepository", "RemoveRepository"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_checks_the_token_and_hides_other_repositories() {
    let index_dir = shared_index().index_dir.clone();
    let specs = ["fixture", "private"].map(|name| RepositorySpec {
        name: name.into(),
        root: fixture_root(),
        index_dir: Some(index_dir.clone()),
    });
    let engine = Engine::new(specs.to_vec(), Config { index: util::index_config(), ..Config::default() }).unwrap();
    let auth = util::reader_and_admin(READER, &["fixture"], ADMIN);
    let options = codectx_server::ServeOptions { auth, ..Default::default() };
    let server = TestServer::start_with(engine, options).await;
    let mut client = server.client().await;

    for rpc in REPOSITORY_RPCS.iter().chain(ADMIN_RPCS) {
        for token in [None, Some("not-a-configured-token-0001")] {
            let status = call(&mut client, rpc, "fixture", token).await.expect_err("refused");
            assert_eq!(status.code(), Code::Unauthenticated, "{rpc} with {token:?}: {status:?}");
        }
    }
    for rpc in REPOSITORY_RPCS {
        // The reader reaches its repository...
        if *rpc != "Generate" {
            call(&mut client, rpc, "fixture", Some(READER)).await.unwrap_or_else(|s| panic!("{rpc}: {s:?}"));
        }
        // ...and another one looks exactly like one that does not exist, to the
        // reader and to the admin.
        let hidden = call(&mut client, rpc, "private", Some(READER)).await.expect_err("hidden");
        let absent = call(&mut client, rpc, "no-such-repository", Some(READER)).await.expect_err("absent");
        assert_eq!(
            hidden.message().replace("private", "X"),
            absent.message().replace("no-such-repository", "X"),
            "{rpc}"
        );
        let missing = call(&mut client, rpc, "no-such-repository", Some(ADMIN)).await.expect_err("missing");
        assert_eq!(hidden.code(), Code::NotFound, "{rpc}: {hidden:?}");
        assert_eq!(missing.code(), Code::NotFound, "{rpc}: {missing:?}");
        assert_eq!(
            hidden.message().replace("private", "X"),
            missing.message().replace("no-such-repository", "X"),
            "{rpc}"
        );
        // The admin token reaches every repository.
        if *rpc != "Generate" {
            call(&mut client, rpc, "private", Some(ADMIN)).await.unwrap_or_else(|s| panic!("{rpc}: {s:?}"));
        }
    }
    for rpc in ADMIN_RPCS {
        let status = call(&mut client, rpc, "fixture", Some(READER)).await.expect_err("not an admin");
        assert_eq!(status.code(), Code::PermissionDenied, "{rpc}: {status:?}");
    }
    let names = |token| {
        let mut client = client.clone();
        async move {
            let listed = client.list_repositories(request(ListRepositoriesRequest {}, token)).await?.into_inner();
            Ok::<_, Status>(listed.repositories.into_iter().map(|repository| repository.name).collect::<Vec<_>>())
        }
    };
    assert_eq!(names(Some(READER)).await.unwrap(), ["fixture"]);
    assert_eq!(names(Some(ADMIN)).await.unwrap(), ["fixture", "private"]);
    assert_eq!(names(None).await.unwrap_err().code(), Code::Unauthenticated);

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_without_admin_read_no_server_paths() {
    // The reader reads neither the roots of its repositories nor the index folder
    // in an error; the admin reads both.
    let empty = util::temp_dir();
    let index_dir = empty.path().join("no-index-yet");
    let specs = vec![
        RepositorySpec {
            name: "fixture".into(),
            root: fixture_root(),
            index_dir: Some(shared_index().index_dir.clone()),
        },
        RepositorySpec { name: "empty".into(), root: empty.path().to_path_buf(), index_dir: Some(index_dir.clone()) },
    ];
    let engine = Engine::new(specs, Config { index: util::index_config(), ..Config::default() }).unwrap();
    let auth = util::reader_and_admin(READER, &["fixture", "empty"], ADMIN);
    let server = TestServer::start_with(engine, codectx_server::ServeOptions { auth, ..Default::default() }).await;
    let client = server.client().await;
    let root = fixture_root().display().to_string();

    let listed = |token| {
        let mut client = client.clone();
        async move { client.list_repositories(request(ListRepositoriesRequest {}, Some(token))).await.unwrap().into_inner() }
    };
    let roots = |listed: codectx_proto::v1::ListRepositoriesResponse| {
        listed.repositories.into_iter().map(|repository| (repository.name, repository.root)).collect::<Vec<_>>()
    };
    assert_eq!(roots(listed(READER).await), [("empty".to_string(), String::new()), ("fixture".into(), String::new())]);
    let admin_roots = roots(listed(ADMIN).await);
    assert_eq!(admin_roots[1], ("fixture".to_string(), root.clone()), "the admin reads the roots");

    let status = |token| {
        let mut client = client.clone();
        async move {
            let message = request(GetIndexStatusRequest { repository: "fixture".into() }, Some(token));
            client.get_index_status(message).await.unwrap().into_inner().repository.unwrap()
        }
    };
    assert_eq!(status(READER).await.root, "");
    assert_eq!(status(ADMIN).await.root, root);

    // A repository without an index: FAILED_PRECONDITION naming the index folder,
    // to the admin only.
    let no_index = |token| {
        let mut client = client.clone();
        async move {
            let message =
                GetContextRequest { repository: "empty".into(), query: "redirects".into(), ..Default::default() };
            client.get_context(request(message, Some(token))).await.unwrap_err()
        }
    };
    let reader = no_index(READER).await;
    assert_eq!(reader.code(), Code::FailedPrecondition);
    assert_eq!(reader.message(), "no index at <path>: run `codectx index` first");
    let admin = no_index(ADMIN).await;
    assert_eq!(admin.code(), Code::FailedPrecondition);
    assert!(admin.message().contains(&index_dir.display().to_string()), "{admin:?}");

    server.stop().await;
}
