//! `codectx train-ranker` end to end: a repository whose history the test
//! writes (a dozen commits that each change one function, with a message that
//! says what changed), trained on with LightGBM (installed by
//! `scripts/setup.sh`), the model written and then used by `codectx eval`.

use std::path::Path;

use crate::util::{codectx, git, run, temp_dir};

/// `modules` Python files of `functions` functions each, then one commit per
/// (module, function) that changes that function, its message naming it.
fn repository_with_history(root: &Path, modules: usize, functions: usize) {
    std::fs::create_dir_all(root.join("pkg")).unwrap();
    git(root, &["init", "-q"]);
    let source = |module: usize, version: &[usize]| {
        (0..functions)
            .map(|function| {
                format!(
                    "def compute_{module}_{function}(value):\n    \"\"\"Step {function} of stage {module}.\"\"\"\n    return value * {} + {function}\n\n\n",
                    version[function]
                )
            })
            .collect::<String>()
    };
    let mut versions = vec![vec![1; functions]; modules];
    for (module, version) in versions.iter().enumerate() {
        std::fs::write(root.join(format!("pkg/stage_{module}.py")), source(module, version)).unwrap();
    }
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "Initial import of the staged computation package"]);
    for function in 0..functions {
        for (module, version) in versions.iter_mut().enumerate() {
            version[function] += 1;
            std::fs::write(root.join(format!("pkg/stage_{module}.py")), source(module, version)).unwrap();
            let message = format!(
                "compute_{module}_{function} scales its input wrongly\n\nStage {module}, step {function}: the factor was off by one."
            );
            git(root, &["commit", "-qam", &message]);
        }
    }
}

#[test]
fn train_ranker_learns_from_history_and_eval_uses_the_model() {
    let dir = temp_dir();
    let repo = dir.path().join("staged");
    repository_with_history(&repo, 4, 4);
    let model = dir.path().join("models/staged-ranker.txt");
    let trained = run(codectx()
        .args(["train-ranker", "--from-history", "--last", "16", "--rounds", "5", "--holdout", "0.25", "-C"])
        .arg(&repo)
        .arg("--work-dir")
        .arg(dir.path().join("work"))
        .arg("--out")
        .arg(&model))
    .success();
    assert!(trained.stdout.contains("file ranker, held out 4 instances: shipped model Acc@1"), "{}", trained.stdout);
    assert!(trained.stdout.contains("ranker_model = "), "{}", trained.stdout);
    // The model is the shipped one plus 5 boosted trees, with its manifest and held-out scores.
    let text = std::fs::read_to_string(&model).unwrap();
    assert!(text.starts_with("tree\n") && text.contains("end of trees"));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(model.with_extension("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["held_out"], 4, "{manifest}");
    assert_eq!(manifest["sources"]["staged"]["history_commits"].as_array().unwrap().len(), 12, "{manifest}");
    assert!(model.with_extension("holdout.json").is_file());

    // The model ranks with `eval --ranker-model`.
    let report = dir.path().join("report.json");
    run(codectx()
        .args(["eval", "--from-history", "--last", "4", "--mode", "lexical", "-C"])
        .arg(&repo)
        .arg("--work-dir")
        .arg(dir.path().join("eval"))
        .arg("--ranker-model")
        .arg(&model)
        .arg("--report")
        .arg(&report))
    .success();
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(report["summaries"][0]["instances"], 4, "{report}");
    assert_eq!(report["failures"].as_array().unwrap().len(), 0, "{report}");

    // The function ranker trains the same way, on the functions each commit changed,
    // and `eval --function-ranker-model` ranks with it.
    let functions = dir.path().join("models/staged-function-ranker.txt");
    let trained = run(codectx()
        .args(["train-ranker", "--unit", "function", "--from-history", "--last", "16", "--rounds", "5"])
        .args(["--holdout", "0.25", "-C"])
        .arg(&repo)
        .arg("--work-dir")
        .arg(dir.path().join("work"))
        .arg("--out")
        .arg(&functions))
    .success();
    assert!(trained.stdout.contains("function ranker, held out 4 instances"), "{}", trained.stdout);
    assert!(trained.stdout.contains("function_ranker_model = "), "{}", trained.stdout);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(functions.with_extension("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["features"].as_array().unwrap().len(), codectx_retrieve::definitions::FUNCTION_FEATURES.len());
    run(codectx()
        .args(["eval", "--from-history", "--last", "4", "--mode", "lexical", "-C"])
        .arg(&repo)
        .arg("--work-dir")
        .arg(dir.path().join("eval"))
        .arg("--function-ranker-model")
        .arg(&functions))
    .success();
    // A file ranker is not a function ranker: refused in one line naming the file.
    let refused = run(codectx()
        .args(["eval", "--from-history", "--last", "4", "--mode", "lexical", "-C"])
        .arg(&repo)
        .arg("--work-dir")
        .arg(dir.path().join("eval"))
        .arg("--function-ranker-model")
        .arg(&model));
    assert_ne!(refused.code, Some(0));
    assert!(
        refused.stderr.contains("staged-ranker.txt") && refused.stderr.contains("function features"),
        "{}",
        refused.stderr
    );
}

#[test]
fn tune_keeps_its_model_only_when_the_held_out_commits_rank_better() {
    let dir = temp_dir();
    let repo = dir.path().join("staged");
    repository_with_history(&repo, 4, 4);
    let tuned =
        run(codectx().args(["tune", "--last", "16", "--rounds", "5", "--holdout", "0.25", "-C"]).arg(&repo)).success();
    assert!(tuned.stdout.contains("file ranker, held out 4 instances: shipped model"), "{}", tuned.stdout);
    let model = repo.join(".codectx/ranker.txt");
    // Kept (and said so) or not kept (and said so), never half of each.
    if tuned.stdout.contains("not kept") {
        assert!(!model.exists(), "{}", tuned.stdout);
    } else {
        assert!(tuned.stdout.contains(&format!("wrote {}", model.display())), "{}", tuned.stdout);
        assert!(std::fs::read_to_string(&model).unwrap().contains("end of trees"));
    }
}

#[test]
fn train_ranker_without_python_or_data_is_a_one_line_error() {
    let dir = temp_dir();
    let repo = dir.path().join("staged");
    repository_with_history(&repo, 3, 4);
    let failed = run(codectx()
        .args(["train-ranker", "--from-history", "--python", "/nonexistent/python3", "-C"])
        .arg(&repo)
        .arg("--work-dir")
        .arg(dir.path().join("work")));
    assert_ne!(failed.code, Some(0));
    let message = failed.stderr.trim().lines().last().unwrap_or_default().to_string();
    assert!(message.contains("training needs Python 3 with lightgbm and numpy"), "{}", failed.stderr);

    // Too little history to hold some out: said before anything is indexed.
    let small = dir.path().join("small");
    repository_with_history(&small, 1, 3);
    let failed = run(codectx()
        .args(["train-ranker", "--from-history", "-C"])
        .arg(&small)
        .arg("--work-dir")
        .arg(dir.path().join("w2")));
    assert_ne!(failed.code, Some(0));
    assert!(failed.stderr.contains("3 instances are too few"), "{}", failed.stderr);
}

#[test]
fn a_configured_ranker_model_that_does_not_load_is_a_one_line_error_naming_it() {
    let dir = temp_dir();
    let repo = dir.path().join("staged");
    repository_with_history(&repo, 1, 2);
    std::fs::write(repo.join(".codectx.toml"), "[retrieval]\nranker_model = \"no-such-ranker.txt\"\n").unwrap();
    let failed = run(codectx().arg("index").arg(&repo));
    assert_ne!(failed.code, Some(0));
    let message = failed.stderr.trim();
    assert!(message.contains("no-such-ranker.txt") && message.lines().count() == 1, "{message}");

    // The same for a function ranker, once rank_functions turns it on.
    std::fs::write(
        repo.join(".codectx.toml"),
        "[retrieval]\nrank_functions = true\nfunction_ranker_model = \"no-such-function-ranker.txt\"\n",
    )
    .unwrap();
    let failed = run(codectx().arg("index").arg(&repo));
    assert_ne!(failed.code, Some(0));
    let message = failed.stderr.trim();
    assert!(message.contains("no-such-function-ranker.txt") && message.lines().count() == 1, "{message}");

    // With the rankers turned off, the same repository answers; with the shipped
    // function ranker on, too.
    for config in ["[retrieval]\nrerank = false\n", "[retrieval]\nrank_functions = true\n"] {
        std::fs::write(repo.join(".codectx.toml"), config).unwrap();
        run(codectx().arg("index").arg(&repo)).success();
        let found = run(codectx().args(["search", "compute_0_1", "-C"]).arg(&repo)).success();
        assert!(found.stdout.contains("pkg/stage_0.py"), "{config}: {}", found.stdout);
    }
}
