//! Crash safety: an index run that dies at any point leaves the previous generation
//! current and searchable, and the next run succeeds.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::util::{self, cli_index, cli_search, codectx, current_generation, MAX_FILE_SIZE};

const NEW_FUNCTION: &str =
    "\n\ndef crash_marker_function(url):\n    \"\"\"Added after the first index run.\"\"\"\n    return url.strip()\n";

/// `codectx index` with a failpoint; the process aborts (no core dump).
fn index_with_failpoint(root: &Path, index_dir: &Path, failpoint: &str) {
    // `ulimit -c 0` so that the abort does not write a core file.
    let mut command = util::clean_command("sh");
    command.arg("-c").arg("ulimit -c 0; exec \"$0\" \"$@\"").arg(env!("CARGO_BIN_EXE_codectx"));
    command
        .env("CODECTX_FAILPOINT", failpoint)
        .arg("index")
        .arg(root)
        .arg("--index-dir")
        .arg(index_dir)
        .args(["--max-file-size", &MAX_FILE_SIZE.to_string()]);
    let done = util::run(&mut command);
    assert_ne!(done.code, Some(0), "the run must die at failpoint {failpoint}: {}", done.stdout);
    assert!(done.stderr.contains(&format!("failpoint {failpoint}")), "stderr: {}", done.stderr);
}

fn has_symbol(hits: &[serde_json::Value], symbol: &str) -> bool {
    hits.iter().any(|hit| hit["symbol"] == symbol)
}

/// Indexes a copy of the fixture, edits pyapp/utils.py, dies at `failpoint`, and
/// checks the old generation is still served; then a normal run publishes the edit.
fn survives_failpoint(failpoint: &str) {
    let repo = util::fixture_copy();
    let index_dir = util::temp_dir();
    let first = cli_index(repo.path(), index_dir.path());
    assert_eq!(first.generation, 1);
    let utils = repo.path().join("pyapp/utils.py");
    let mut text = std::fs::read_to_string(&utils).unwrap();
    text.push_str(NEW_FUNCTION);
    std::fs::write(&utils, text).unwrap();

    index_with_failpoint(repo.path(), index_dir.path(), failpoint);
    assert_eq!(current_generation(index_dir.path()), "gen-000001", "CURRENT still names the previous generation");
    let hits = cli_search(repo.path(), index_dir.path(), "requote_uri");
    assert!(has_symbol(&hits, "requote_uri"), "the previous generation is searchable: {hits:?}");
    let hits = cli_search(repo.path(), index_dir.path(), "crash_marker_function");
    assert!(!has_symbol(&hits, "crash_marker_function"), "the unfinished generation is not served: {hits:?}");

    let second = cli_index(repo.path(), index_dir.path());
    assert_eq!(second.generation, 2, "{second:?}");
    assert_eq!(second.parsed, 1, "only the edited file is parsed: {second:?}");
    assert_eq!(current_generation(index_dir.path()), "gen-000002");
    let hits = cli_search(repo.path(), index_dir.path(), "crash_marker_function");
    assert!(has_symbol(&hits, "crash_marker_function"), "the new content is found: {hits:?}");
    let leftovers: Vec<String> = std::fs::read_dir(index_dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "interrupted runs' folders are cleaned up: {leftovers:?}");
}

#[test]
fn a_crash_after_the_text_commit_keeps_the_previous_generation() {
    survives_failpoint("after-text-commit");
}

#[test]
fn a_crash_before_the_switch_keeps_the_previous_generation() {
    survives_failpoint("before-switch");
}

/// A repository big enough that an index run takes a while.
fn generated_repo(root: &Path, files: usize, version: u32) {
    for index in 0..files {
        let dir = root.join(format!("pkg{}", index % 10));
        std::fs::create_dir_all(&dir).unwrap();
        let mut text = format!("\"\"\"Module {index}, version {version}.\"\"\"\n\nfrom . import helpers\n\n");
        for function in 0..12 {
            text.push_str(&format!(
                "\ndef handler_{index}_{function}_v{version}(request, retries=3):\n    \"\"\"Handle request kind {function} of module {index}.\"\"\"\n    total = 0\n    for attempt in range(retries):\n        total += helpers.backoff(attempt) * {function}\n    return request.reply(total)\n\n"
            ));
        }
        std::fs::write(dir.join(format!("module_{index}.py")), text).unwrap();
    }
}

#[test]
fn a_run_killed_mid_way_keeps_the_previous_generation() {
    let repo = util::temp_dir();
    generated_repo(repo.path(), 400, 1);
    let index_dir = util::temp_dir();
    let first = cli_index(repo.path(), index_dir.path());
    assert_eq!(first.files, 400);
    generated_repo(repo.path(), 400, 2);

    let mut child = codectx()
        .arg("index")
        .arg(repo.path())
        .arg("--index-dir")
        .arg(index_dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn codectx index");
    // Kill it once the new generation is being built.
    let building = index_dir.path().join("tmp-gen-000002");
    let started = Instant::now();
    let mut killed_mid_way = false;
    loop {
        if building.exists() {
            // Still running now means it is killed (just below) before its switch.
            killed_mid_way = child.try_wait().unwrap().is_none();
            break;
        }
        if child.try_wait().unwrap().is_some() || started.elapsed() > Duration::from_secs(60) {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().ok(); // SIGKILL
    let status = child.wait().unwrap();
    if !killed_mid_way {
        eprintln!("the run finished before it could be killed (status {status}); checking the result only");
    }
    assert!(killed_mid_way, "the index run was killed while building generation 2 (run too fast to interrupt?)");

    assert_eq!(current_generation(index_dir.path()), "gen-000001");
    let hits = cli_search(repo.path(), index_dir.path(), "handler_7_3_v1");
    assert!(has_symbol(&hits, "handler_7_3_v1"), "generation 1 is served: {:?}", &hits[..hits.len().min(3)]);

    let second = cli_index(repo.path(), index_dir.path());
    assert_eq!(second.generation, 2);
    assert_eq!(second.parsed, 400);
    let hits = cli_search(repo.path(), index_dir.path(), "handler_7_3_v2");
    assert!(has_symbol(&hits, "handler_7_3_v2"), "generation 2 is served after a clean run");
    let hits = cli_search(repo.path(), index_dir.path(), "handler_7_3_v1");
    assert!(!has_symbol(&hits, "handler_7_3_v1"), "old content is gone");
}
