//! `codectx ask` against an OpenAI-compatible endpoint: a stub server on 127.0.0.1
//! that streams server-sent events, and checks the request it gets.

use crate::util::{self, codectx, fixture_root, run, shared_index, ModelStub, StubReply};

const QUESTION: &str = "How does Session.resolve_redirects handle a 303 response?";

fn answer_pieces() -> Vec<String> {
    ["A 303 ", "turns the ", "redirect into a GET ", "without a body (pyapp/sessions.py)."]
        .iter()
        .map(|piece| piece.to_string())
        .collect()
}

fn ask(extra: &[&str], envs: &[(&str, &str)]) -> util::Run {
    let mut cmd = codectx();
    cmd.arg("ask")
        .args(extra)
        .arg(QUESTION)
        .arg("-C")
        .arg(fixture_root())
        .arg("--index-dir")
        .arg(&shared_index().index_dir);
    for (name, value) in envs {
        cmd.env(name, value);
    }
    run(&mut cmd)
}

fn check_request(stub: &ModelStub, model: &str) {
    let request = stub.next_request();
    assert!(request.request_line.starts_with("POST /v1/chat/completions "), "{}", request.request_line);
    let content_type = request.headers.iter().find(|(name, _)| name == "content-type").map(|(_, value)| value.as_str());
    assert!(content_type.is_some_and(|value| value.starts_with("application/json")), "{:?}", request.headers);
    assert_eq!(request.body["model"], model, "{}", request.body);
    assert_eq!(request.body["stream"], true, "{}", request.body);
    let user = request.messages_of("user");
    assert!(user.contains(QUESTION), "the user message holds the question: {user}");
    assert!(user.contains("pyapp/sessions.py:"), "the user message holds the cited context: {user}");
    assert!(user.contains("def resolve_redirects(self, response):"), "and the code: {user}");
}

#[test]
fn ask_streams_the_answer_then_lists_the_sources() {
    let stub = ModelStub::start(StubReply::Stream(answer_pieces()));
    let done = ask(&["--model", "test-model", "--base-url", &stub.base_url], &[]).success();
    check_request(&stub, "test-model");

    let out = &done.stdout;
    let answer = answer_pieces().concat();
    let at_answer = out.find(&answer).unwrap_or_else(|| panic!("the streamed answer in stdout: {out}"));
    let at_sources = out.find("Sources:").unwrap_or_else(|| panic!("a Sources: section: {out}"));
    assert!(at_answer < at_sources, "the answer comes before its sources: {out}");
    let sources: Vec<&str> = out[at_sources..]
        .lines()
        .skip(1)
        .map(str::trim)
        .take_while(|line| !line.is_empty() && !line.starts_with('('))
        .collect();
    assert!(sources.iter().any(|source| source.starts_with("pyapp/sessions.py:")), "sources: {sources:?}");
    for source in &sources {
        let (_, range) = source.rsplit_once(':').expect("path:start-end");
        let (start, end) = range.split_once('-').expect("start-end");
        assert!(start.parse::<u32>().unwrap() <= end.parse::<u32>().unwrap(), "{source}");
    }
    assert!(out.contains("context tokens"), "token counts are reported: {out}");
    assert!(!out.contains("No model is configured"), "no hint when a model answered");
}

#[test]
fn ask_json_with_a_model_returns_answer_sources_and_usage() {
    let stub = ModelStub::start(StubReply::Stream(answer_pieces()));
    let done = ask(&["--json", "--model", "test-model", "--base-url", &stub.base_url], &[]).success();
    check_request(&stub, "test-model");
    let value = done.json();
    assert_eq!(value["answer"], answer_pieces().concat());
    let sources = value["sources"].as_array().expect("sources");
    assert!(
        sources.iter().any(|source| source.as_str().is_some_and(|s| s.starts_with("pyapp/sessions.py:"))),
        "{value}"
    );
    assert!(value["usage"]["context_tokens"].as_u64().unwrap() > 0, "{value}");
    assert!(value["usage"]["completion_tokens"].as_u64().unwrap() > 0, "{value}");
    assert_eq!(value["context"]["blocks"].as_array().map(Vec::len), Some(sources.len()), "one source per block");
}

#[test]
fn ask_takes_the_model_from_the_environment() {
    let stub = ModelStub::start(StubReply::Stream(answer_pieces()));
    let done = ask(&[], &[("CODECTX_MODEL", "env-model"), ("CODECTX_BASE_URL", &stub.base_url)]).success();
    check_request(&stub, "env-model");
    assert!(done.stdout.contains(&answer_pieces().concat()), "{}", done.stdout);
}

#[test]
fn a_model_endpoint_error_status_is_a_one_line_error() {
    let stub = ModelStub::start(StubReply::Status(500));
    let done = ask(&["--model", "test-model", "--base-url", &stub.base_url], &[]);
    done.assert_user_error(&["model endpoint", &stub.base_url, "500"]);
}
