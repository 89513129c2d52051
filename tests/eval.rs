//! `codectx eval` end to end on a tiny dataset over a git repository the test
//! creates: two commits, two instances, incremental indexing across the commits,
//! metrics, the per-instance report and resuming from the cache.

use std::path::Path;

use crate::util::{codectx, git, run, temp_dir};

fn write(dir: &Path, path: &str, text: &str) {
    let full = dir.join(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(full, text).unwrap();
}

/// Builds `repos/acme/shop` with two commits; returns the two commit ids.
fn make_repository(repos: &Path) -> (String, String) {
    let repo = repos.join("acme/shop");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q"]);
    write(&repo, "shop/__init__.py", "");
    write(
        &repo,
        "shop/cart.py",
        "from .pricing import apply_discount\n\n\nclass Cart:\n    def __init__(self):\n        self.items = []\n\n    def add_item(self, item, quantity=1):\n        \"\"\"Adds an item to the cart.\"\"\"\n        self.items.append((item, quantity))\n\n    def total(self):\n        return apply_discount(sum(item.price * quantity for item, quantity in self.items))\n",
    );
    write(
        &repo,
        "shop/pricing.py",
        "def apply_discount(amount):\n    \"\"\"Ten percent off orders over one hundred.\"\"\"\n    if amount > 100:\n        return amount * 0.9\n    return amount\n",
    );
    for index in 0..8 {
        write(
            &repo,
            &format!("shop/extra_{index}.py"),
            &format!("def helper_{index}(value):\n    return value + {index}\n"),
        );
    }
    write(&repo, "README.md", "# shop\nA tiny shop.\n");
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "first"]);
    let first = git(&repo, &["rev-parse", "HEAD"]);
    write(
        &repo,
        "shop/pricing.py",
        "def apply_discount(amount):\n    \"\"\"Ten percent off orders over one hundred, five over fifty.\"\"\"\n    if amount > 100:\n        return amount * 0.9\n    if amount > 50:\n        return amount * 0.95\n    return amount\n",
    );
    git(&repo, &["commit", "-qam", "second"]);
    let second = git(&repo, &["rev-parse", "HEAD"]);
    (first, second)
}

#[test]
fn eval_measures_two_commits_and_resumes_from_its_cache() {
    let dir = temp_dir();
    let repos = dir.path().join("repos");
    let (first, second) = make_repository(&repos);
    let instances = [
        serde_json::json!({
            "instance_id": "acme__shop-1", "repo": "acme/shop", "base_commit": first,
            "problem_statement": "The discount in apply_discount is applied twice when the cart total is computed",
            "gold_files": ["shop/pricing.py"], "gold_functions": {"shop/pricing.py": ["apply_discount"]}
        }),
        serde_json::json!({
            "instance_id": "acme__shop-2", "repo": "acme/shop", "base_commit": second,
            "problem_statement": "Cart.add_item ignores the quantity argument",
            "gold_files": ["shop/cart.py"], "gold_functions": {"shop/cart.py": ["Cart.add_item"]}
        }),
    ];
    let dataset = dir.path().join("dev.jsonl");
    std::fs::write(&dataset, instances.iter().map(|value| value.to_string() + "\n").collect::<String>()).unwrap();
    let work = dir.path().join("work");
    let report_path = dir.path().join("report.json");
    let eval = |report: &Path| {
        run(codectx()
            .arg("eval")
            .arg("--dataset")
            .arg(&dataset)
            .arg("--repos")
            .arg(&repos)
            .arg("--work-dir")
            .arg(&work)
            .args(["--mode", "bm25,lexical", "--report"])
            .arg(report))
        .success()
    };

    let printed = eval(&report_path);
    assert!(printed.stdout.contains("Acc@5"), "{}", printed.stdout);
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    assert_eq!(report["failures"].as_array().unwrap().len(), 0, "{report}");
    let summaries = report["summaries"].as_array().unwrap();
    assert_eq!(summaries.len(), 2);
    let lexical = summaries.iter().find(|summary| summary["config"] == "lexical").unwrap();
    assert_eq!(lexical["instances"], 2);
    // Both gold files are named or described well enough to rank first.
    assert_eq!(lexical["file_acc"]["1"], 1.0, "{lexical}");
    assert_eq!(lexical["mrr"], 1.0);
    assert_eq!(lexical["function_acc"]["5"], 1.0, "{lexical}");
    assert_eq!(lexical["bundle_file_recall"]["8000"], 1.0);
    // Each result says where each gold file ranked.
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    let second_result = results.iter().find(|result| result["instance_id"] == "acme__shop-2").unwrap();
    assert_eq!(second_result["gold_file_ranks"]["shop/cart.py"], 1);
    // ... and where each gold function ranked, overall and within its file, and
    // what the first functions were.
    let rank = &second_result["gold_function_ranks"]["shop/cart.py::Cart.add_item"];
    assert!(rank.as_u64().is_some_and(|rank| (1..=5).contains(&rank)), "{second_result}");
    // The only file returned is the gold one, so its rank in the file is its rank.
    assert_eq!(second_result["top_files"].as_array().unwrap().len(), 1, "{second_result}");
    assert_eq!(second_result["gold_function_ranks_in_file"]["shop/cart.py::Cart.add_item"], *rank, "{second_result}");
    let top = second_result["top_functions"].as_array().unwrap();
    assert!(top.iter().any(|name| name == "shop/cart.py::Cart.add_item"), "{second_result}");

    // Incremental across commits: 12 files at the first commit, then only the
    // changed file at the second.
    assert_eq!(report["index"]["commits"], 2);
    assert_eq!(report["index"]["parsed"], 13, "{}", report["index"]);
    assert_eq!(report["index"]["reused"], 11);

    // A second run answers from the per-instance cache: no commit is indexed.
    let again_path = dir.path().join("again.json");
    eval(&again_path);
    let again: serde_json::Value = serde_json::from_slice(&std::fs::read(&again_path).unwrap()).unwrap();
    assert_eq!(again["index"]["commits"], 0);
    assert_eq!(again["summaries"], report["summaries"]);
}

#[test]
fn eval_reports_a_missing_clone_as_a_failure_not_a_crash() {
    let dir = temp_dir();
    let dataset = dir.path().join("dev.jsonl");
    let instance = serde_json::json!({
        "instance_id": "ghost-1", "repo": "nobody/ghost", "base_commit": "0123456789abcdef0123456789abcdef01234567",
        "problem_statement": "anything", "gold_files": ["a.py"], "gold_functions": {}
    });
    std::fs::write(&dataset, instance.to_string() + "\n").unwrap();
    let printed = run(codectx()
        .arg("eval")
        .arg("--dataset")
        .arg(&dataset)
        .arg("--repos")
        .arg(dir.path())
        .arg("--work-dir")
        .arg(dir.path().join("work")))
    .success();
    assert!(printed.stdout.contains("failed: ghost-1"), "{}", printed.stdout);

    // A malformed dataset line is a one-line user error naming the line.
    std::fs::write(&dataset, "{\"instance_id\": 1}\n").unwrap();
    run(codectx().arg("eval").arg("--dataset").arg(&dataset).arg("--repos").arg(dir.path()))
        .assert_user_error(&["dev.jsonl:1"]);
}

#[test]
fn eval_from_history_scores_the_repositorys_own_commits() {
    let dir = temp_dir();
    let repos = dir.path().join("repos");
    let (_, second) = make_repository(&repos);
    let repo = repos.join("acme/shop");
    let cart = std::fs::read_to_string(repo.join("shop/cart.py")).unwrap();
    write(
        &repo,
        "shop/cart.py",
        &cart.replace(
            "        self.items.append((item, quantity))",
            "        for index, (existing, count) in enumerate(self.items):\n            if existing == item:\n                self.items[index] = (item, count + quantity)\n                return\n        self.items.append((item, quantity))",
        ),
    );
    git(
        &repo,
        &["commit", "-qam", "Cart.add_item: adding an item twice keeps two entries\n\nMerge the quantities instead."],
    );
    let third = git(&repo, &["rev-parse", "HEAD"]);

    let work = dir.path().join("work");
    let report_path = dir.path().join("report.json");
    let printed = run(codectx()
        .args(["eval", "--from-history", "--last", "5", "--mode", "lexical", "-C"])
        .arg(&repo)
        .arg("--work-dir")
        .arg(&work)
        .arg("--report")
        .arg(&report_path))
    .success();
    // "first" has no parent and "second" is too short to be a query.
    assert!(
        printed.stderr.contains("from history: 1 instances from 3 commits read (dropped: root 1, short_message 1)"),
        "{}",
        printed.stderr
    );
    let saved = std::fs::read_to_string(work.join("history.jsonl")).unwrap();
    let instance: serde_json::Value = serde_json::from_str(saved.trim()).unwrap();
    assert_eq!(instance["instance_id"], format!("shop-hist-{}", &third[..12]));
    assert_eq!(instance["base_commit"], second);
    assert_eq!(instance["commit"], third);
    assert_eq!(instance["gold_files"], serde_json::json!(["shop/cart.py"]));
    assert_eq!(instance["gold_functions"], serde_json::json!({"shop/cart.py": ["Cart.add_item"]}));
    assert!(instance["problem_statement"].as_str().unwrap().ends_with("Merge the quantities instead."));

    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    assert_eq!(report["failures"].as_array().unwrap().len(), 0, "{report}");
    let result = &report["results"][0];
    assert_eq!(result["gold_file_ranks"]["shop/cart.py"], 1, "{result}");
    assert_eq!(report["summaries"][0]["instances"], 1);

    // Not a repository: one line that says so.
    let failed =
        run(codectx().args(["eval", "--from-history", "-C"]).arg(repos.join("acme")).arg("--work-dir").arg(&work));
    assert_ne!(failed.code, Some(0));
    let message = failed.stderr.trim();
    assert!(message.contains("not a git repository") && message.lines().count() == 1, "{message}");
}
