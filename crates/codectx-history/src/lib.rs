//! A repository's git history as retrieval instances: each kept commit pairs its
//! message (the query) with the source files it modified and the functions its
//! diff touched (the answer), the self-supervised pairs that SWE-style training
//! and evaluation sets build from history (SWE-smith, arXiv 2504.21798; SweLoc,
//! arXiv 2505.07849). `codectx eval --from-history` measures retrieval on them,
//! so any user can score codectx on their own code without labelled data.
//!
//! The history is read with libgit2 ([`git2`]); nothing shells out to `git`.
//! Only commits reachable from the starting revision are read, so at a base
//! commit no later history leaks in. The rules match `training/history_pairs.py`
//! (which built the learned ranker's training pairs), with function labels for
//! every language codectx parses instead of Python only.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::LazyLock;

use codectx_core::{is_auxiliary_path, is_vendored_path, Error, Language, Result};

/// Which commits [`scan`] reads and which it keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryOptions {
    /// The revision to walk back from (default `HEAD`); anything git accepts.
    pub revision: String,
    /// Keep the newest `last` qualifying commits (default 100).
    pub last: usize,
    /// Read at most this many commits, newest first (default 20,000), so that a
    /// history of few qualifying commits is not read to its root.
    pub max_walk: usize,
    /// A commit modifying more source files than this is dropped as `huge` (default 8).
    pub max_files: usize,
    /// A commit changing more source lines (added + deleted, over source files of
    /// any status) than this is dropped as `huge` (default 400).
    pub max_changed_lines: usize,
    /// A message (without trailers) shorter than this many bytes is dropped as
    /// `short_message` (default 40).
    pub min_message_bytes: usize,
}

impl Default for HistoryOptions {
    fn default() -> Self {
        HistoryOptions {
            revision: "HEAD".into(),
            last: 100,
            max_walk: 20_000,
            max_files: 8,
            max_changed_lines: 400,
            min_message_bytes: 40,
        }
    }
}

/// One kept commit: its message and what it modified.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPair {
    /// The commit (40 hex digits).
    pub commit: String,
    /// Its only parent: the state the change was made on, the one to index.
    pub parent: String,
    /// Committer time, seconds since the Unix epoch (UTC).
    pub time: i64,
    /// The message: the subject (its lines joined by spaces, as git's `%s`), then
    /// a blank line and the body when there is one; `Signed-off-by:` and
    /// `Co-authored-by:` lines removed.
    pub message: String,
    /// Repository-relative paths of the source files the commit modified
    /// (status M; added and deleted files are not answers at the parent), in
    /// path order.
    pub files: Vec<String>,
    /// Per modified file, the qualified names of the innermost definitions
    /// (function, method, class, …) that hold a changed line of the parent's
    /// version, in line order. Files without a grammar or whose parent blob is
    /// not UTF-8 have no entry.
    pub functions: BTreeMap<String, Vec<String>>,
}

/// Why a commit was not kept, in the order the checks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dropped {
    /// No parent: nothing to diff against.
    Root,
    /// More than one parent.
    Merge,
    /// The author is a bot (`[bot]` in the name, or `bot` as a word in the
    /// email's local part: `dependabot@`, `sympy-bot@`, not `abbott@`).
    Bot,
    /// The subject starts with "Revert", or the message says "This reverts commit".
    Revert,
    /// The subject names formatting or housekeeping (reformat, black, isort, lint,
    /// typo, whitespace, pre-commit, version bump, release, changelog, merge branch).
    Mechanical,
    /// The message is shorter than [`HistoryOptions::min_message_bytes`].
    ShortMessage,
    /// Every path touched is a test, doc, example, benchmark, vendored or
    /// documentation (`.md`, `.rst`, `.txt`, `.adoc`) file.
    TestsDocsOnly,
    /// No modified source file: only configuration, data, or added/deleted files.
    NoSource,
    /// Too many source files or changed lines ([`HistoryOptions::max_files`],
    /// [`HistoryOptions::max_changed_lines`]).
    Huge,
    /// A blob the diff needs is missing from the clone (a partial snapshot).
    MissingBlob,
}

impl Dropped {
    /// The reason's name: `root`, `merge`, `bot`, `revert`,
    /// `mechanical`, `short_message`, `tests_docs_only`, `no_source`, `huge`,
    /// `missing_blob`.
    pub fn name(self) -> &'static str {
        match self {
            Dropped::Root => "root",
            Dropped::Merge => "merge",
            Dropped::Bot => "bot",
            Dropped::Revert => "revert",
            Dropped::Mechanical => "mechanical",
            Dropped::ShortMessage => "short_message",
            Dropped::TestsDocsOnly => "tests_docs_only",
            Dropped::NoSource => "no_source",
            Dropped::Huge => "huge",
            Dropped::MissingBlob => "missing_blob",
        }
    }
}

/// What [`scan`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryScan {
    /// The kept commits, oldest first (so that an evaluation that re-indexes from
    /// one base commit to the next moves by small steps).
    pub pairs: Vec<HistoryPair>,
    /// Commits read.
    pub walked: usize,
    /// Commits dropped, per reason.
    pub dropped: BTreeMap<Dropped, usize>,
}

/// Reads the history of the repository at `repo` (a work tree or a bare git
/// folder) back from [`HistoryOptions::revision`], newest commit first (by
/// committer time), and keeps the newest [`HistoryOptions::last`] commits that
/// pass the filters of [`Dropped`].
///
/// Errors: [`Error::InvalidArgument`] if `repo` is not a git repository or the
/// revision does not name a commit; [`Error::Io`]-free otherwise: a commit whose
/// blobs are missing is dropped as [`Dropped::MissingBlob`], not an error.
pub fn scan(repo: &Path, options: &HistoryOptions) -> Result<HistoryScan> {
    let git = git2::Repository::open(repo).map_err(|error| {
        Error::InvalidArgument(format!("{}: not a git repository ({})", repo.display(), error.message()))
    })?;
    let tip = git.revparse_single(&options.revision).and_then(|object| object.peel_to_commit()).map_err(|error| {
        Error::InvalidArgument(format!(
            "{}: revision {} is not a commit ({})",
            repo.display(),
            codectx_core::quote(&options.revision),
            error.message()
        ))
    })?;
    let git_error = |error: git2::Error| Error::InvalidArgument(format!("{}: {}", repo.display(), error.message()));
    let mut walk = git.revwalk().map_err(git_error)?;
    walk.push(tip.id()).map_err(git_error)?;
    walk.set_sorting(git2::Sort::TIME).map_err(git_error)?;

    let mut out = HistoryScan::default();
    for oid in walk {
        if out.pairs.len() >= options.last || out.walked >= options.max_walk {
            break;
        }
        let commit = oid.and_then(|oid| git.find_commit(oid)).map_err(git_error)?;
        out.walked += 1;
        match examine(&git, &commit, options) {
            Ok(pair) => out.pairs.push(pair),
            Err(reason) => *out.dropped.entry(reason).or_default() += 1,
        }
    }
    out.pairs.reverse();
    Ok(out)
}

/// The pair of one commit, or why it is dropped.
fn examine(
    git: &git2::Repository,
    commit: &git2::Commit<'_>,
    options: &HistoryOptions,
) -> std::result::Result<HistoryPair, Dropped> {
    match commit.parent_count() {
        0 => return Err(Dropped::Root),
        1 => {}
        _ => return Err(Dropped::Merge),
    }
    let author = commit.author();
    if is_bot(&String::from_utf8_lossy(author.name_bytes()), &String::from_utf8_lossy(author.email_bytes())) {
        return Err(Dropped::Bot);
    }
    let raw = String::from_utf8_lossy(commit.message_bytes());
    let (subject, message) = clean_message(&raw);
    if subject.to_lowercase().starts_with("revert") || raw.contains("This reverts commit") {
        return Err(Dropped::Revert);
    }
    if MECHANICAL.is_match(&subject) {
        return Err(Dropped::Mechanical);
    }
    if message.trim().len() < options.min_message_bytes {
        return Err(Dropped::ShortMessage);
    }

    let parent = commit.parent(0).map_err(|_| Dropped::MissingBlob)?;
    let old_tree = parent.tree().map_err(|_| Dropped::MissingBlob)?;
    let new_tree = commit.tree().map_err(|_| Dropped::MissingBlob)?;
    let mut diff_options = git2::DiffOptions::new();
    diff_options.context_lines(0);
    let diff = git
        .diff_tree_to_tree(Some(&old_tree), Some(&new_tree), Some(&mut diff_options))
        .map_err(|_| Dropped::MissingBlob)?;

    // Source files modified (the answers), and every source file (for the size).
    let mut modified: Vec<(usize, String)> = Vec::new();
    let mut sources: Vec<usize> = Vec::new();
    let mut all_tests_or_docs = diff.deltas().len() > 0;
    for (index, delta) in diff.deltas().enumerate() {
        let file = if delta.status() == git2::Delta::Deleted { delta.old_file() } else { delta.new_file() };
        let path = String::from_utf8_lossy(file.path_bytes().unwrap_or_default()).into_owned();
        all_tests_or_docs &= is_tests_or_docs(&path);
        if is_source(&path) {
            sources.push(index);
            if delta.status() == git2::Delta::Modified {
                modified.push((index, path));
            }
        }
    }
    if modified.is_empty() {
        return Err(if all_tests_or_docs { Dropped::TestsDocsOnly } else { Dropped::NoSource });
    }
    if modified.len() > options.max_files {
        return Err(Dropped::Huge);
    }
    let mut changed_lines = 0usize;
    let mut old_lines: BTreeMap<usize, Vec<u32>> = BTreeMap::new();
    for &index in &sources {
        let Some(patch) = git2::Patch::from_diff(&diff, index).map_err(|_| Dropped::MissingBlob)? else {
            continue;
        };
        let (_, added, deleted) = patch.line_stats().map_err(|_| Dropped::MissingBlob)?;
        changed_lines += added + deleted;
        let lines = old_lines.entry(index).or_default();
        for hunk in 0..patch.num_hunks() {
            let (hunk, _) = patch.hunk(hunk).map_err(|_| Dropped::MissingBlob)?;
            if hunk.old_lines() == 0 {
                // A pure insertion after line `old_start`.
                if hunk.old_start() > 0 {
                    lines.push(hunk.old_start());
                }
            } else {
                lines.extend(hunk.old_start()..hunk.old_start() + hunk.old_lines());
            }
        }
    }
    if changed_lines > options.max_changed_lines {
        return Err(Dropped::Huge);
    }

    let mut functions = BTreeMap::new();
    for (index, path) in &modified {
        let Some(delta) = diff.get_delta(*index) else { continue };
        let blob = git.find_blob(delta.old_file().id()).map_err(|_| Dropped::MissingBlob)?;
        let Ok(source) = std::str::from_utf8(blob.content()) else { continue };
        if let Some(names) = touched_definitions(path, source, old_lines.get(index).map_or(&[][..], Vec::as_slice)) {
            functions.insert(path.clone(), names);
        }
    }
    let mut files: Vec<String> = modified.into_iter().map(|(_, path)| path).collect();
    files.sort();
    Ok(HistoryPair {
        commit: commit.id().to_string(),
        parent: parent.id().to_string(),
        time: commit.time().seconds(),
        message,
        files,
        functions,
    })
}

/// The qualified names of the innermost definitions holding each of `lines`
/// (1-based, of `source`), first occurrence order by line; `None` for a file
/// without a grammar.
fn touched_definitions(path: &str, source: &str, lines: &[u32]) -> Option<Vec<String>> {
    let language = Language::from_path(path);
    codectx_syntax::languages::grammar(language)?;
    let parsed = codectx_syntax::parse_file(path, language, source, &codectx_syntax::ChunkOptions::default());
    let definitions: Vec<&codectx_core::Symbol> =
        parsed.symbols.iter().filter(|symbol| symbol.kind.is_definition()).collect();
    let mut names = Vec::new();
    let mut seen = BTreeSet::new();
    let unique: BTreeSet<u32> = lines.iter().copied().collect();
    for line in unique {
        let innermost = definitions
            .iter()
            .filter(|symbol| symbol.span.start_line <= line && line <= symbol.span.end_line)
            .min_by_key(|symbol| symbol.span.end_line - symbol.span.start_line);
        if let Some(symbol) = innermost {
            if seen.insert(symbol.qualified_name.clone()) {
                names.push(symbol.qualified_name.clone());
            }
        }
    }
    Some(names)
}

/// A source file: a language codectx parses, not a test, doc, example,
/// benchmark or vendored file.
fn is_source(path: &str) -> bool {
    codectx_syntax::languages::grammar(Language::from_path(path)).is_some()
        && !is_auxiliary_path(path)
        && !is_vendored_path(path)
}

/// A test, doc, example, benchmark or vendored file, or prose documentation.
fn is_tests_or_docs(path: &str) -> bool {
    is_auxiliary_path(path)
        || is_vendored_path(path)
        || [".md", ".rst", ".txt", ".adoc"].iter().any(|extension| path.ends_with(extension))
}

/// Subject words of formatting and housekeeping commits (case-insensitive,
/// whole words), as `training/history_pairs.py`'s `MECHANICAL_RE`.
static MECHANICAL: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(concat!(
        r"(?i)^\W*formats?\b",
        r"|\breformat(?:s|ted|ting)?\b",
        r"|\bformat(?:ted|ting)\b",
        r"|\bblack(?:en|ened)?\b",
        r"|\bisort(?:ed)?\b",
        r"|\bflake8\b",
        r"|\b(?:py)?lint(?:s|ed|er|ing)?\b",
        r"|\btypos?\b",
        r"|\bwhite[- ]?spaces?\b",
        r"|\bpre-?commit\b",
        r"|\bbump(?:s|ed|ing)?\b.*\bversions?\b",
        r"|\bversion bump",
        r"|\breleas(?:e|es|ed|ing)\b",
        r"|\bchange[- ]?logs?\b",
        r"|\bmerge branch\b",
    ))
    .expect("a valid regex")
});

/// Whether an author is a bot: `[bot]` in the name, or in the email's local part
/// `[bot]` or `bot` not followed by a letter.
fn is_bot(name: &str, email: &str) -> bool {
    if name.to_lowercase().contains("[bot]") {
        return true;
    }
    let local = email.split('@').next().unwrap_or_default().to_lowercase();
    local.contains("[bot]")
        || local.match_indices("bot").any(|(at, _)| !local[at + 3..].starts_with(|c: char| c.is_ascii_lowercase()))
}

/// `(subject, message)` of a raw commit message: trailer lines
/// (`Signed-off-by:`, `Co-authored-by:`) removed, the subject is the first
/// paragraph with its lines joined by spaces, the message is the subject plus
/// `\n\n` and the body when there is one.
fn clean_message(raw: &str) -> (String, String) {
    let lines: Vec<&str> = raw
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .filter(|line| {
            let lower = line.trim_start().to_lowercase();
            !(lower.starts_with("signed-off-by:") || lower.starts_with("co-authored-by:"))
        })
        .collect();
    let mut index = 0;
    while index < lines.len() && lines[index].trim().is_empty() {
        index += 1;
    }
    let mut subject = Vec::new();
    while index < lines.len() && !lines[index].trim().is_empty() {
        subject.push(lines[index].trim());
        index += 1;
    }
    let subject = subject.join(" ");
    let body = lines[index..].join("\n");
    let body = body.trim_matches('\n').trim_end();
    let message = if body.trim().is_empty() { subject.clone() } else { format!("{subject}\n\n{body}") };
    (subject, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_lose_trailers_and_join_the_subject() {
        let (subject, message) = clean_message(
            "Fix the parser\nfor nested lists\n\nThe body.\n\nSigned-off-by: A <a@b>\nCo-authored-by: B <b@c>\n",
        );
        assert_eq!(subject, "Fix the parser for nested lists");
        assert_eq!(message, "Fix the parser for nested lists\n\nThe body.");
        assert_eq!(clean_message("one line\r\n").1, "one line");
    }

    #[test]
    fn bots_and_mechanical_subjects_are_recognised() {
        assert!(is_bot("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com"));
        assert!(is_bot("SymPy Bot", "sympy-bot@example.org"));
        assert!(!is_bot("Jane Abbott", "abbott@example.org"));
        for subject in
            ["Reformat with black", "Fix typo in docstring", "Bump version to 1.2", "Release 2.0", "format code"]
        {
            assert!(MECHANICAL.is_match(subject), "{subject}");
        }
        for subject in
            ["Changed output format of repr", "Fix blackbox test of parser", "Handle empty input in the tokenizer"]
        {
            assert!(!MECHANICAL.is_match(subject), "{subject}");
        }
    }

    /// Commits `files` (path → new content, `None` deletes) on HEAD of `repo`,
    /// by `author` (`name <email>`) at `time` seconds.
    fn commit(
        repo: &git2::Repository,
        files: &[(&str, Option<&str>)],
        message: &str,
        author: &str,
        time: i64,
    ) -> String {
        let root = repo.workdir().expect("a work tree").to_path_buf();
        let mut index = repo.index().unwrap();
        for (path, content) in files {
            match content {
                Some(content) => {
                    let full = root.join(path);
                    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
                    std::fs::write(&full, content).unwrap();
                    index.add_path(Path::new(path)).unwrap();
                }
                None => {
                    std::fs::remove_file(root.join(path)).unwrap();
                    index.remove_path(Path::new(path)).unwrap();
                }
            }
        }
        index.write().unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let (name, email) = author.split_once(" <").unwrap();
        let signature = git2::Signature::new(name, email.trim_end_matches('>'), &git2::Time::new(time, 0)).unwrap();
        let parent = repo.head().ok().map(|head| head.peel_to_commit().unwrap());
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        repo.commit(Some("HEAD"), &signature, &signature, message, &tree, &parents).unwrap().to_string()
    }

    const CALC: &str = "def add(a, b):\n    return a + b\n\n\nclass Stack:\n    def push(self, item):\n        self.items.append(item)\n\n    def pop(self):\n        return self.items.pop()\n";
    const HUMAN: &str = "Ada Lovelace <ada@example.org>";
    const LONG: &str = "\n\nThe old code returned the wrong value when the input was empty; handle it.";

    #[test]
    fn a_history_becomes_pairs_and_the_rest_is_counted_by_reason() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        let mut time = 1_700_000_000;
        let mut next = || {
            time += 60;
            time
        };
        commit(
            &repo,
            &[("pkg/calc.py", Some(CALC)), ("tests/test_calc.py", Some("def test(): pass\n"))],
            "Initial import of the calculator package",
            HUMAN,
            next(),
        );
        let pop_fix = CALC.replace(
            "        return self.items.pop()",
            "        if not self.items:\n            return None\n        return self.items.pop()",
        );
        let first = commit(
            &repo,
            &[("pkg/calc.py", Some(&pop_fix))],
            &format!("Stack.pop fails on an empty stack{LONG}\n\nSigned-off-by: Ada <ada@example.org>"),
            HUMAN,
            next(),
        );
        commit(&repo, &[("README.md", Some("# calc\n"))], "Fix typo in the readme of the calculator", HUMAN, next());
        commit(
            &repo,
            &[("tests/test_calc.py", Some("def test(): assert True\n"))],
            &format!("Test the stack more thoroughly{LONG}"),
            HUMAN,
            next(),
        );
        commit(
            &repo,
            &[("pkg/calc.py", Some(CALC))],
            &format!("Revert \"Stack.pop fails on an empty stack\"{LONG}"),
            HUMAN,
            next(),
        );
        commit(&repo, &[("pkg/calc.py", Some(&pop_fix))], "fix pop", HUMAN, next());
        let add_fix = pop_fix.replace("    return a + b", "    return int(a) + int(b)");
        commit(
            &repo,
            &[("pkg/calc.py", Some(&add_fix))],
            &format!("Coerce the operands of add{LONG}"),
            "dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>",
            next(),
        );
        let many: Vec<(String, String)> =
            (0..9).map(|n| (format!("pkg/m{n}.py"), format!("def f{n}():\n    return {n}\n"))).collect();
        let added: Vec<(&str, Option<&str>)> =
            many.iter().map(|(path, text)| (path.as_str(), Some(text.as_str()))).collect();
        commit(&repo, &added, "Add nine modules of helpers for the calculator", HUMAN, next());
        let changed: Vec<(String, String)> =
            many.iter().map(|(path, text)| (path.clone(), text.replace("return", "return 1 +"))).collect();
        let changed: Vec<(&str, Option<&str>)> =
            changed.iter().map(|(path, text)| (path.as_str(), Some(text.as_str()))).collect();
        commit(&repo, &changed, &format!("Shift every helper by one{LONG}"), HUMAN, next());
        let last = commit(
            &repo,
            &[("pkg/calc.py", Some(&add_fix.replace("int(", "float(")))],
            &format!("add() must accept numeric strings{LONG}"),
            HUMAN,
            next(),
        );

        let scan = scan(dir.path(), &HistoryOptions::default()).unwrap();
        assert_eq!(scan.walked, 10);
        let kept: Vec<&str> = scan.pairs.iter().map(|pair| pair.commit.as_str()).collect();
        assert_eq!(kept, [first.as_str(), last.as_str()], "oldest first; dropped {:?}", scan.dropped);
        let pop = &scan.pairs[0];
        assert_eq!(pop.files, ["pkg/calc.py"]);
        assert_eq!(pop.functions["pkg/calc.py"], ["Stack.pop"]);
        assert!(pop.message.starts_with("Stack.pop fails on an empty stack\n\nThe old code"), "{}", pop.message);
        assert!(!pop.message.contains("Signed-off-by"));
        assert_eq!(scan.pairs[1].functions["pkg/calc.py"], ["add"]);
        assert_eq!(pop.parent.len(), 40);
        let expected = BTreeMap::from([
            (Dropped::Root, 1),
            (Dropped::Bot, 1),
            (Dropped::Revert, 1),
            (Dropped::Mechanical, 1),
            (Dropped::ShortMessage, 1),
            (Dropped::TestsDocsOnly, 1),
            (Dropped::NoSource, 1),
            (Dropped::Huge, 1),
        ]);
        assert_eq!(scan.dropped, expected);

        // `last` keeps the newest; a bad path or revision is a one-line error.
        let newest = super::scan(dir.path(), &HistoryOptions { last: 1, ..HistoryOptions::default() }).unwrap();
        assert_eq!(newest.pairs.len(), 1);
        assert_eq!(newest.pairs[0].commit, last);
        assert_eq!(newest.walked, 1);
        let error = super::scan(&dir.path().join("pkg"), &HistoryOptions::default()).unwrap_err().to_string();
        assert!(error.contains("not a git repository") && !error.contains('\n'), "{error}");
        let error = super::scan(dir.path(), &HistoryOptions { revision: "nope".into(), ..HistoryOptions::default() })
            .unwrap_err()
            .to_string();
        assert!(error.contains("is not a commit"), "{error}");
    }
}
