//! The secret filter as a user meets it: a repository with a `.env`, a private key
//! and a hard-coded AWS key id next to ordinary code. The credential files never
//! reach the index, the key id never reaches a bundle, a search preview, a symbol
//! answer or an embedder, the citations still point at the right lines, and the
//! rules are printed by `codectx secrets` and changed in `[secrets]`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use codectx_core::{EmbedConfig, Result};
use codectx_embed::Embedder;
use codectx_index::{IndexSnapshot, Indexer};

use crate::util::{self, codectx, run};

/// The fake AWS access key id of `src/config.py`.
const AWS_KEY_ID: &str = "AKIAZ7QX3EXAMPLE4KEY";
/// The API key of `.env`.
const ENV_API_KEY: &str = "envsecret-9f8e7d6c5b4a";
/// A line of the fake private key of `deploy/id_rsa`.
const KEY_BODY: &str = "MIIEpAIBAAKCAQEA3fakefakefakeFAKEFAKEFAKE0123456789abcdefghijklmn";

const CONFIG_PY: &str = r#""""Settings of the payment service."""
import os

AWS_ACCESS_KEY_ID = "AKIAZ7QX3EXAMPLE4KEY"
AWS_REGION = "eu-west-1"


def load_payment_settings(environ=os.environ):
    """Reads the payment settings: the AWS access key id and the region."""
    return {
        "key_id": environ.get("AWS_ACCESS_KEY_ID", AWS_ACCESS_KEY_ID),
        "region": environ.get("AWS_REGION", AWS_REGION),
    }
"#;

/// Writes the repository.
fn write_repo(root: &Path) {
    let write = |path: &str, text: &str| {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(".env", &format!("API_KEY={ENV_API_KEY}\nDEBUG=false\n"));
    write(".env.example", "API_KEY=<your API key>\nDEBUG=false\n");
    write(
        "deploy/id_rsa",
        &format!("-----BEGIN RSA PRIVATE KEY-----\n{KEY_BODY}\n{KEY_BODY}\n-----END RSA PRIVATE KEY-----\n"),
    );
    write("deploy/deploy.sh", "#!/bin/sh\nscp -i deploy/id_rsa build.tar host:/srv\n");
    write("src/config.py", CONFIG_PY);
    write(
        "src/payments.py",
        "from config import load_payment_settings\n\n\ndef charge(amount):\n    \"\"\"Charges a payment with the configured settings.\"\"\"\n    settings = load_payment_settings()\n    return amount, settings[\"region\"]\n",
    );
}

/// Writes a configuration file (outside the repository, so that editing it changes
/// no indexed file) with hidden files indexed, so that `.env` is kept out by the
/// secret filter alone, and `secrets` appended.
fn write_config(dir: &Path, secrets: &str) -> PathBuf {
    let path = dir.join("codectx.toml");
    std::fs::write(&path, format!("[index]\nhidden = true\n{secrets}")).unwrap();
    path
}

/// `codectx --config <config> index <root> --index-dir <dir> --json`.
fn cli_index(config: &Path, root: &Path, index_dir: &Path) -> codectx_core::IndexStats {
    let done = run(codectx()
        .arg("--config")
        .arg(config)
        .arg("index")
        .arg(root)
        .arg("--index-dir")
        .arg(index_dir)
        .arg("--json"))
    .success();
    serde_json::from_str(&done.stdout).unwrap_or_else(|error| panic!("index --json ({error}): {}", done.stdout))
}

/// `codectx <command> <args> -C <root> --index-dir <dir>` (no configuration: the
/// index applies the rules it was built with), checked.
fn cli(command: &str, args: &[&str], root: &Path, index_dir: &Path) -> util::Run {
    run(codectx().arg(command).args(args).arg("-C").arg(root).arg("--index-dir").arg(index_dir)).success()
}

const QUESTION: &str = "load_payment_settings AWS_ACCESS_KEY_ID payment settings";

fn assert_no_secret(output: &str, what: &str) {
    for secret in [AWS_KEY_ID, ENV_API_KEY, KEY_BODY, "PRIVATE KEY"] {
        assert!(!output.contains(secret), "{what} leaks {secret:?}:\n{output}");
    }
}

#[test]
fn secret_files_stay_out_of_the_index_and_secret_values_out_of_every_answer() {
    let (repo, index_dir, settings) = (util::temp_dir(), util::temp_dir(), util::temp_dir());
    write_repo(repo.path());
    let config = write_config(settings.path(), "");
    let stats = cli_index(&config, repo.path(), index_dir.path());
    assert_eq!(stats.skipped_secret, 2, ".env and deploy/id_rsa are skipped and counted: {stats:?}");

    let snapshot = IndexSnapshot::open(index_dir.path()).unwrap();
    let paths: Vec<&str> = snapshot.files().iter().map(|entry| entry.record.path.as_str()).collect();
    assert!(!paths.contains(&".env") && !paths.contains(&"deploy/id_rsa"), "indexed: {paths:?}");
    assert!(paths.contains(&".env.example"), ".env.example is allowed: {paths:?}");
    assert!(paths.contains(&"src/config.py") && paths.contains(&"deploy/deploy.sh"), "{paths:?}");

    // The bundle `ask` prints (and would send to a model), as JSON.
    let bundle = cli("ask", &["--json", QUESTION], repo.path(), index_dir.path()).json();
    assert_no_secret(&bundle.to_string(), "the bundle");
    let blocks = bundle["blocks"].as_array().unwrap();
    let source: Vec<&str> = CONFIG_PY.lines().collect();
    let key_line = source.iter().position(|line| line.contains(AWS_KEY_ID)).unwrap() as u64 + 1;
    let mut marker_seen = false;
    for block in blocks {
        let path = block["path"].as_str().unwrap();
        assert!(path != ".env" && path != "deploy/id_rsa", "a block of {path}");
        if path != "src/config.py" || block["kind"] != "code" {
            continue;
        }
        // Citations still match the file: every line of the block is the file's
        // line of that number, or that line with a secret redacted.
        let start = block["start_line"].as_u64().unwrap();
        for (offset, line) in block["text"].as_str().unwrap().lines().enumerate() {
            let number = start + offset as u64;
            let original = source[number as usize - 1];
            if number == key_line {
                assert_eq!(line, "AWS_ACCESS_KEY_ID = \"[REDACTED aws-access-key-id]\"");
                marker_seen = true;
            } else {
                assert_eq!(line, original, "src/config.py:{number}");
            }
        }
    }
    assert!(marker_seen, "a code block of src/config.py shows line {key_line}, redacted: {bundle:#}");
    let files: Vec<&str> =
        bundle["files"].as_array().unwrap().iter().map(|file| file["path"].as_str().unwrap()).collect();
    assert!(!files.contains(&".env") && !files.contains(&"deploy/id_rsa"), "ranked files: {files:?}");

    // The same through every other way text leaves the index.
    let text = cli("ask", &[QUESTION], repo.path(), index_dir.path()).stdout;
    assert!(text.contains("[REDACTED aws-access-key-id]"), "{text}");
    assert_no_secret(&text, "ask");
    for query in [AWS_KEY_ID, "AWS_ACCESS_KEY_ID", "API_KEY", "RSA PRIVATE KEY"] {
        let hits = cli("search", &["--json", query], repo.path(), index_dir.path()).stdout;
        assert_no_secret(&hits, "search");
    }
    let hits = cli("search", &["--json", "AWS_ACCESS_KEY_ID"], repo.path(), index_dir.path()).json();
    assert!(hits.as_array().unwrap().iter().any(|hit| hit["path"] == "src/config.py"), "{hits:#}");
    let symbols = run(codectx()
        .args(["symbols", "AWS_ACCESS_KEY_ID", "--json", "-C"])
        .arg(repo.path())
        .arg("--index-dir")
        .arg(index_dir.path()));
    assert_no_secret(&symbols.stdout, "symbols");
    let refs = run(codectx()
        .args(["refs", "load_payment_settings", "-C"])
        .arg(repo.path())
        .arg("--index-dir")
        .arg(index_dir.path()));
    assert_no_secret(&refs.stdout, "refs");
}

#[test]
fn changed_rules_apply_from_the_next_index_run() {
    let (repo, index_dir, settings) = (util::temp_dir(), util::temp_dir(), util::temp_dir());
    write_repo(repo.path());
    let config = write_config(settings.path(), "");
    let first = cli_index(&config, repo.path(), index_dir.path());
    let before = cli("ask", &[QUESTION], repo.path(), index_dir.path()).stdout;
    assert!(!before.contains(AWS_KEY_ID), "{before}");

    // Disabling the rule: no file changed, yet the run publishes a generation
    // with the new rules, and the key id is shown.
    write_config(settings.path(), "[secrets]\ndisable = [\"aws-access-key-id\"]\n");
    let second = cli_index(&config, repo.path(), index_dir.path());
    assert_eq!(second.generation, first.generation + 1, "{second:?}");
    assert_eq!(second.parsed, 0, "a rule change does not re-parse: {second:?}");
    let after = cli("ask", &[QUESTION], repo.path(), index_dir.path()).stdout;
    assert!(after.contains(AWS_KEY_ID), "the disabled rule lets the key id through:\n{after}");
    assert!(!after.contains(ENV_API_KEY) && !after.contains(KEY_BODY), "{after}");

    // An allowed path is indexed; a configured exclusion removes a file.
    write_config(
        settings.path(),
        "[secrets]\nallow_paths = [\"deploy/id_rsa\"]\nexclude_paths = [\"src/payments.py\"]\n",
    );
    let third = cli_index(&config, repo.path(), index_dir.path());
    assert_eq!(third.skipped_secret, 2, ".env and src/payments.py: {third:?}");
    let snapshot = IndexSnapshot::open(index_dir.path()).unwrap();
    assert!(snapshot.file("deploy/id_rsa").is_some() && snapshot.file("src/payments.py").is_none());
    // Its content is still redacted, line for line.
    let (file, _) = snapshot.file("deploy/id_rsa").unwrap();
    let text = snapshot.chunk_text(file, 0).unwrap();
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(text.lines().all(|line| line == "[REDACTED private-key]"), "{text}");
}

#[test]
fn codectx_secrets_prints_the_rules_and_scan_lists_findings_without_secrets() {
    let (repo, settings) = (util::temp_dir(), util::temp_dir());
    write_repo(repo.path());
    // Here the configuration is the repository's own `.codectx.toml`.
    std::fs::rename(
        write_config(settings.path(), "[secrets]\ndisable = [\"jwt\"]\nexclude_paths = [\"*.vault\"]\n"),
        repo.path().join(".codectx.toml"),
    )
    .unwrap();
    let rules = run(codectx().arg("secrets").arg("-C").arg(repo.path())).success().stdout;
    for expected in ["id_rsa*", ".env.example", "*.vault", "private-key", "aws-access-key-id", "regex:"] {
        assert!(rules.contains(expected), "{expected} in:\n{rules}");
    }
    assert!(rules.contains("disabled built-in patterns: jwt"), "{rules}");
    let json = run(codectx().args(["secrets", "--json", "-C"]).arg(repo.path())).success().json();
    assert!(json["patterns"].as_array().unwrap().iter().all(|pattern| pattern["name"] != "jwt"), "{json:#}");

    let scan = run(codectx().args(["secrets", "scan"]).arg(repo.path())).success().stdout;
    let key_line = CONFIG_PY.lines().position(|line| line.contains(AWS_KEY_ID)).unwrap() + 1;
    for expected in [
        ".env  excluded (.env)".to_string(),
        "deploy/id_rsa  excluded (id_rsa*)".to_string(),
        format!("src/config.py:{key_line}  redacted (aws-access-key-id)"),
        "2 files excluded; 1 spans redacted in 1 files".to_string(),
    ] {
        assert!(scan.lines().any(|line| line == expected), "{expected:?} in:\n{scan}");
    }
    assert!(!scan.contains(".env.example"), "{scan}");
    assert_no_secret(&scan, "secrets scan");
}

#[test]
fn an_invalid_rule_is_a_one_line_config_error() {
    let (repo, index_dir, settings) = (util::temp_dir(), util::temp_dir(), util::temp_dir());
    write_repo(repo.path());
    let config = write_config(settings.path(), "[[secrets.pattern]]\nname = \"internal-token\"\nregex = 'itk_(['\n");
    let index = || {
        run(codectx()
            .arg("--config")
            .arg(&config)
            .arg("index")
            .arg(repo.path())
            .arg("--index-dir")
            .arg(index_dir.path()))
    };
    index().assert_user_error(&["codectx.toml", "[secrets] pattern \"internal-token\": invalid regex"]);
    let done = run(codectx().arg("--config").arg(&config).arg("secrets").arg("-C").arg(repo.path()));
    done.assert_user_error(&["[secrets] pattern \"internal-token\": invalid regex"]);

    write_config(settings.path(), "[secrets]\nexclude_paths = [\"conf/[prod\"]\n");
    index().assert_user_error(&["[secrets] exclude_paths \"conf/[prod\""]);
}

/// An embedder that records what it is given (as a remote endpoint would receive it).
#[derive(Debug, Default)]
struct Recorder {
    texts: Mutex<Vec<String>>,
}

impl Embedder for Recorder {
    fn model_id(&self) -> &str {
        "recorder"
    }
    fn dimension(&self) -> usize {
        4
    }
    fn batch_size(&self) -> usize {
        16
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.texts.lock().unwrap().extend(texts.iter().map(|text| text.to_string()));
        Ok(texts.iter().map(|_| vec![0.5, 0.5, 0.5, 0.5]).collect())
    }
}

#[test]
fn text_sent_to_an_embedder_is_redacted() {
    let (repo, index_dir, settings) = (util::temp_dir(), util::temp_dir(), util::temp_dir());
    write_repo(repo.path());
    let recorder = Arc::new(Recorder::default());
    let config = codectx_core::Config::load(&write_config(settings.path(), "")).unwrap();
    Indexer::new(repo.path(), Some(index_dir.path()), config.index)
        .unwrap()
        .with_embedder(recorder.clone(), EmbedConfig::default())
        .run(&|_| {})
        .unwrap();
    let texts = recorder.texts.lock().unwrap();
    let config_text = texts.iter().find(|text| text.contains("AWS_ACCESS_KEY_ID = ")).expect("config.py is embedded");
    assert!(config_text.contains("[REDACTED aws-access-key-id]"), "{config_text}");
    assert_no_secret(&texts.join("\n"), "the embedder's input");
}
