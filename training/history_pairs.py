#!/usr/bin/env python3
"""Build self-supervised retrieval instances from a repository's git history.

Each kept commit becomes one instance: the commit message (subject + body) is
the query, and the source files the commit *modifies* (plus, for Python, the
functions/methods its hunks touch) are the labels.  The JSON-lines format is
the one ``codectx eval`` reads for SWE-bench instances::

    {"instance_id": "<owner>__<name>-hist-<sha[:12]>", "repo": "<owner>/<name>",
     "base_commit": "<first parent sha>", "problem_statement": "<subject>\\n\\n<body>",
     "gold_files": [...], "gold_functions": {"path.py": ["Class.method", ...]},
     "commit": "<sha>", "date": "YYYY-MM-DD"}

``base_commit`` is the first (only) parent: the state the change was made on;
``date`` is the committer date in UTC.  The problem statement is the message
with ``Signed-off-by:`` / ``Co-authored-by:`` lines removed; the subject's
lines are joined with spaces (like git's ``%s``) and the body is kept as is.

Usage::

    python3 training/history_pairs.py --git-dir /work/.mirror/sympy+sympy/repo \\
        --repo sympy/sympy --before 2016-07-01 --max 400 --out /tmp/hist/sympy.jsonl

Which commits are looked at
---------------------------
* Only history reachable from ``--rev`` (default ``HEAD``).
* ``--before DATE``: only commits whose committer date is strictly before
  DATE 00:00:00 UTC.  By default the walk also starts from the *boundary*
  commit: the newest commit on REV's first-parent chain committed before the
  cutoff, i.e. the branch as it was at the cutoff.  This leaves out commits
  that were committed before the cutoff on a side branch but only merged
  later (a pull request merged after the cutoff could be part of an evaluation
  set that starts at the cutoff).  ``--literal-cutoff`` walks from REV itself
  and keeps every reachable commit with an early enough committer date.
  Nothing committed at or after the cutoff is ever read (no message, tree or
  blob of it).
* ``--max N`` (default 400, 0 = no limit): keep the N most recent qualifying
  commits (by committer date); they are written oldest first, so a tool that
  re-indexes from instance to instance moves by small steps.

Filters (each dropped commit is counted under the first filter that applies,
in this order; the counts are printed as one line on stderr)
------------------------------------------------------------------------------
``root``            commits without a parent (nothing to diff against).
``merge``           commits with more than one parent.
``bot``             author name contains ``[bot]``, or the local part of the
                    author email contains ``[bot]`` or the word-ish ``bot``
                    (``dependabot@``, ``sympy-bot@``, not ``abbott@``).
``revert``          subject starts with "Revert" (any case) or the message
                    contains "This reverts commit".
``mechanical``      the subject names formatting/mechanical work as a word
                    (case-insensitive): "format(s)" as the subject's first
                    word ("changed output format" is a real change),
                    reformat(ted/ting), formatted/formatting, black, isort,
                    flake8, (py)lint(ing), typo(s), whitespace, pre-commit,
                    bump ... version / version bump, release, changelog,
                    merge branch.  This is a deliberately blunt word match
                    and also drops e.g. "Fix LaTeX formatting of Integral".
``short_message``   subject + body (after removing ``Signed-off-by:`` and
                    ``Co-authored-by:`` lines) shorter than 40 characters.
``tests_docs_only`` the commit modifies no source file and every path it
                    touches is a test / doc / example / vendored file (see
                    "Source files") or a documentation file (.rst .md .txt
                    .adoc, or any file under such a folder).
``no_source``       any other commit without a modified (status M) source
                    file: only configuration, data, added or deleted files.
``huge``            more than 8 modified source files, or more than 400
                    changed lines (added + deleted, from ``--numstat``) summed
                    over the commit's source files of any status (added and
                    deleted source files count; tests and docs do not).
``beyond_max``      qualifying commits older than the ``--max`` newest ones.

Source files
------------
Extensions .py .rs .go .js .jsx .ts .tsx .java .c .h .cc .cpp .hpp .cxx
(case-sensitive), excluding paths with a component (folder) in {test, tests,
testing, doc, docs, example, examples, vendor, third_party, benchmarks}
(compared lower-cased) and file names starting with ``test_`` or ending with
``_test.py``, ``_tests.py``, ``conftest.py``, ``.test.js``, ``.test.jsx``,
``.test.ts``, ``.test.tsx``, ``_test.go`` or ``_test.rs``.
``gold_files`` are the source files with status M (rename detection is off,
so a rename is a delete plus an add and never a gold file).

gold_functions
--------------
Computed only for the kept commits and only for Python gold files, the way
SWE-bench-style localization datasets do it: the parent's version of the file
is parsed with ``ast``; the *old-side* line ranges of the hunks of
``git diff -U0 <parent> <commit> -- <path>`` are taken (removed or modified
lines; a pure insertion after old line L counts as line L, an insertion at the
top of the file as nothing); each line is mapped to its innermost enclosing
``def``/``class`` (decorator lines included), named ``function``,
``Class.method`` or ``Class`` (class-body lines outside methods), qualified
through nested classes (``Outer.Inner.method``); anything nested inside a
function maps to the outermost function.  Module-level lines are not listed.
Names are listed in line order without repeats.  A Python gold file whose
changes are all module-level gets an empty list.  When the parent version
does not parse with ``ast`` (mostly Python 2 code: ``except E, e:``,
``print x``), the same spans are computed from ``tokenize`` (block structure
from INDENT/DEDENT tokens; it gives exactly the ``ast`` spans on the Python 3
files of the four mirrors), counted as ``py2_fallback_files``; a file that
neither parses nor tokenizes is left out of gold_functions (counted as
``syntax_error_files``).  Non-Python files never appear in gold_functions.

Partial mirrors
---------------
Mirrors may be partial clones that lack a few blobs.  Every git call runs
with ``GIT_NO_LAZY_FETCH=1`` (nothing is fetched), blob existence is checked
with ``git cat-file --batch-check`` before any content diff, and a file whose
old or new blob is missing is left out of the line count and of
gold_functions (it stays in gold_files: its M status comes from the trees).
Such files (over all candidate commits, kept or not) are counted as
``missing_blob_files``.

Cost
----
One ``git log --raw`` pass over the history (trees only, no blob reads)
feeds the cheap filters; one ``git diff-tree --stdin --numstat`` pass over the
remaining candidates, restricted to source extensions, gives line counts;
per-commit ``git diff -U0`` and one ``git cat-file --batch`` run only for the
kept commits.  Standard library only; needs the ``git`` CLI (2.44+ for
``GIT_NO_LAZY_FETCH``; older versions work on complete repositories).
"""

from __future__ import annotations

import argparse
import ast
import datetime as _dt
import io
import json
import os
import re
import subprocess
import sys
import time
import tokenize
import warnings
from collections import Counter
from dataclasses import dataclass, field

SOURCE_EXTS = (".py", ".rs", ".go", ".js", ".jsx", ".ts", ".tsx", ".java",
               ".c", ".h", ".cc", ".cpp", ".hpp", ".cxx")
EXCLUDED_DIRS = frozenset({"test", "tests", "testing", "doc", "docs", "example",
                           "examples", "vendor", "third_party", "benchmarks"})
TEST_NAME_SUFFIXES = ("_test.py", "_tests.py", "conftest.py", ".test.js",
                      ".test.jsx", ".test.ts", ".test.tsx", "_test.go", "_test.rs")
DOC_EXTS = (".rst", ".md", ".txt", ".adoc")

MAX_GOLD_FILES = 8
MAX_CHANGED_LINES = 400
MIN_MESSAGE_CHARS = 40

FILTERS = ("root", "merge", "bot", "revert", "mechanical", "short_message",
           "tests_docs_only", "no_source", "huge", "beyond_max")

MECHANICAL_RE = re.compile(
    r"""(?ix)
    ^\W*format(?:s)?\b
    | \breformat(?:s|ted|ting)?\b
    | \bformat(?:ted|ting)\b
    | \bblack(?:en|ened)?\b
    | \bisort(?:ed)?\b
    | \bflake8\b
    | \b(?:py)?lint(?:s|ed|er|ing)?\b
    | \btypos?\b
    | \bwhite[-\ ]?spaces?\b
    | \bpre-?commit\b
    | \bbump(?:s|ed|ing)?\b.*\bversions?\b
    | \bversion\ bump
    | \breleas(?:e|es|ed|ing)\b
    | \bchange[-\ ]?logs?\b
    | \bmerge\ branch\b
    """)
BOT_LOCAL_RE = re.compile(r"\[bot\]|bot(?![a-z])", re.I)
TRAILER_RE = re.compile(r"^\s*(?:signed-off-by|co-authored-by)\s*:", re.I)
HUNK_RE = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@")

ZERO_SHA = "0" * 40
RECORD_MARK = b"\x1eC\x00"
LOG_FORMAT = "%x1eC%x00%H%x00%P%x00%ct%x00%an%x00%ae%x00%B%x00"


# --------------------------------------------------------------------------
# path classification


def _path_parts(path: str) -> tuple[list[str], str]:
    parts = path.split("/")
    return [p.lower() for p in parts[:-1]], parts[-1]


def is_test_or_vendored(path: str) -> bool:
    """A path under a test/doc/example/vendor folder, or a test file name."""
    dirs, name = _path_parts(path)
    if any(d in EXCLUDED_DIRS for d in dirs):
        return True
    return name.startswith("test_") or name.endswith(TEST_NAME_SUFFIXES)


def has_source_ext(path: str) -> bool:
    return path.endswith(SOURCE_EXTS)


def is_source(path: str) -> bool:
    return has_source_ext(path) and not is_test_or_vendored(path)


def is_tests_or_docs(path: str) -> bool:
    return is_test_or_vendored(path) or path.endswith(DOC_EXTS)


# --------------------------------------------------------------------------
# messages


def clean_message(raw: str) -> tuple[str, str]:
    """Return (subject, problem_statement) from a raw commit message."""
    lines = [ln for ln in raw.replace("\r\n", "\n").split("\n")
             if not TRAILER_RE.match(ln)]
    text = "\n".join(lines).strip("\n")
    # The subject is the first paragraph, joined like git's %s.
    subject_lines: list[str] = []
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    while i < len(lines) and lines[i].strip():
        subject_lines.append(lines[i].strip())
        i += 1
    subject = " ".join(subject_lines)
    body = "\n".join(lines[i:]).strip("\n").rstrip()
    if not text.strip():
        return "", ""
    statement = subject if not body.strip() else f"{subject}\n\n{body}"
    return subject, statement


def is_bot(name: str, email: str) -> bool:
    if "[bot]" in name.lower():
        return True
    local = email.split("@", 1)[0]
    return bool(BOT_LOCAL_RE.search(local))


def is_revert(subject: str, raw: str) -> bool:
    return subject.lower().startswith("revert") or "This reverts commit" in raw


def is_mechanical(subject: str) -> bool:
    return bool(MECHANICAL_RE.search(subject))


# --------------------------------------------------------------------------
# git plumbing


class Git:
    def __init__(self, git_dir: str):
        self.git_dir = git_dir
        self.env = dict(os.environ, GIT_NO_LAZY_FETCH="1", GIT_TERMINAL_PROMPT="0",
                        GIT_PAGER="cat", LC_ALL="C")

    def cmd(self, *args: str, literal: bool = False) -> list[str]:
        base = ["git", f"--git-dir={self.git_dir}", "-c", "core.quotepath=off",
                "-c", "diff.external=", "-c", "log.showSignature=false"]
        if literal:
            base.append("--literal-pathspecs")
        return base + list(args)

    def run(self, *args: str, stdin: bytes | None = None, literal: bool = False,
            check: bool = True) -> bytes:
        proc = subprocess.run(self.cmd(*args, literal=literal), input=stdin,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=self.env)
        if check and proc.returncode != 0:
            raise RuntimeError(f"git {' '.join(args[:3])} failed ({proc.returncode}): "
                               f"{proc.stderr.decode('utf-8', 'replace').strip()}")
        return proc.stdout

    def existing(self, oids: set[str]) -> set[str]:
        """The subset of object ids present locally (no lazy fetch)."""
        if not oids:
            return set()
        ordered = sorted(oids)
        out = self.run("cat-file", "--batch-check=%(objectname) %(objecttype)",
                       stdin=("\n".join(ordered) + "\n").encode())
        present = set()
        for line in out.decode("ascii", "replace").splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1] != "missing":
                present.add(parts[0])
        return present

    def blobs(self, oids: list[str]) -> dict[str, bytes]:
        """Contents of the given (present) blobs via one cat-file --batch."""
        if not oids:
            return {}
        out = self.run("cat-file", "--batch", stdin=("\n".join(oids) + "\n").encode())
        result: dict[str, bytes] = {}
        pos = 0
        while pos < len(out):
            nl = out.index(b"\n", pos)
            header = out[pos:nl].split()
            pos = nl + 1
            if len(header) < 3:  # "<oid> missing"
                continue
            size = int(header[2])
            result[header[0].decode()] = out[pos:pos + size]
            pos += size + 1
        return result


@dataclass
class Change:
    status: str
    path: str
    old: str
    new: str


@dataclass
class Commit:
    sha: str
    parents: list[str]
    ctime: int
    author: str
    email: str
    raw: str
    changes: list[Change] = field(default_factory=list)
    order: int = 0
    subject: str = ""
    statement: str = ""
    gold: list[str] = field(default_factory=list)
    lines: int = 0


def _dec(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def parse_log(data: bytes) -> list[Commit]:
    commits: list[Commit] = []
    for rec in data.split(RECORD_MARK):
        if not rec.strip(b"\x00\n"):
            continue
        toks = rec.split(b"\x00")
        if len(toks) < 6:
            continue
        sha, parents, ctime, author, email, raw = toks[:6]
        c = Commit(sha=sha.decode(), parents=parents.decode().split(),
                   ctime=int(ctime), author=author.decode("utf-8", "replace"),
                   email=email.decode("utf-8", "replace"),
                   raw=raw.decode("utf-8", "replace"), order=len(commits))
        rest = toks[6:]
        i = 0
        while i < len(rest):
            t = rest[i].lstrip(b"\n")
            if t.startswith(b":") and i + 1 < len(rest):
                meta = t[1:].split()
                # :oldmode newmode oldsha newsha status
                if len(meta) >= 5:
                    c.changes.append(Change(status=meta[4][:1].decode(),
                                            path=_dec(rest[i + 1]),
                                            old=meta[2].decode(), new=meta[3].decode()))
                i += 2
            else:
                i += 1
        commits.append(c)
    return commits


def parse_numstat_stream(data: bytes) -> dict[str, dict[str, int]]:
    """Parse `diff-tree --stdin -z --numstat` output: sha -> path -> lines."""
    result: dict[str, dict[str, int]] = {}
    cur: dict[str, int] | None = None
    for tok in data.split(b"\x00"):
        tok = tok.strip(b"\n")
        if not tok:
            continue
        if b"\t" not in tok:
            if re.fullmatch(rb"[0-9a-f]{40,64}", tok):
                cur = result.setdefault(tok.decode(), {})
            continue
        if cur is None:
            continue
        added, deleted, path = tok.split(b"\t", 2)
        n = (int(added) if added.isdigit() else 0) + (int(deleted) if deleted.isdigit() else 0)
        cur[_dec(path)] = n
    return result


def c_unquote(s: bytes) -> bytes:
    """Undo git's C-style path quoting ("a\\tb" -> a<TAB>b)."""
    if not (s.startswith(b'"') and s.endswith(b'"')):
        return s
    s = s[1:-1]
    out = bytearray()
    esc = {ord("a"): 7, ord("b"): 8, ord("t"): 9, ord("n"): 10, ord("v"): 11,
           ord("f"): 12, ord("r"): 13, ord('"'): 34, ord("\\"): 92}
    i = 0
    while i < len(s):
        ch = s[i]
        if ch == 92 and i + 1 < len(s):
            nxt = s[i + 1]
            if re.fullmatch(rb"[0-7]{3}", s[i + 1:i + 4]):
                out.append(int(s[i + 1:i + 4], 8))
                i += 4
                continue
            out.append(esc.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return bytes(out)


def parse_diff_old_lines(data: bytes) -> dict[str, list[int]]:
    """Old-side changed lines per path from `git diff -U0` output."""
    result: dict[str, list[int]] = {}
    cur: list[int] | None = None
    for line in data.split(b"\n"):
        if line.startswith(b"diff --git "):
            rest = line[len(b"diff --git "):]
            if rest.startswith(b'"'):
                end = 1
                while end < len(rest):
                    if rest[end] == 92:
                        end += 2
                        continue
                    if rest[end] == 34:
                        break
                    end += 1
                path = c_unquote(rest[:end + 1])
            else:
                # "a/P b/P" with identical P (no renames)
                path = rest[:(len(rest) - 1) // 2]
            if path.startswith(b"a/"):
                path = path[2:]
            cur = result.setdefault(_dec(path), [])
            continue
        if cur is None:
            continue
        m = HUNK_RE.match(line)
        if m:
            start = int(m.group(1))
            count = 1 if m.group(2) is None else int(m.group(2))
            if count == 0:
                if start > 0:
                    cur.append(start)
            else:
                cur.extend(range(start, start + count))
    return result


# --------------------------------------------------------------------------
# functions


def function_spans(source: bytes) -> list[tuple[int, int, str]] | None:
    """(start, end, name) of each def/class, outer before inner, or None.

    Uses ``ast``; when the file does not parse (mostly Python 2 code such as
    ``except E, e:`` or ``print x``) falls back to :func:`token_spans`.
    """
    spans = ast_spans(source)
    if spans is None:
        spans = token_spans(source)
    return spans


def ast_spans(source: bytes) -> list[tuple[int, int, str]] | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    spans: list[tuple[int, int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                start = min([child.lineno] + [d.lineno for d in child.decorator_list])
                end = child.end_lineno or child.lineno
                name = prefix + child.name
                spans.append((start, end, name))
                if isinstance(child, ast.ClassDef):
                    visit(child, name + ".")
                # functions: anything nested maps to the outermost function
            elif isinstance(child, (ast.stmt, ast.excepthandler, ast.match_case)):
                visit(child, prefix)

    visit(tree, "")
    return spans


def token_spans(source: bytes) -> list[tuple[int, int, str]] | None:
    """Same spans as :func:`ast_spans`, from ``tokenize`` (block structure
    from INDENT/DEDENT), for code ``ast`` rejects but that tokenizes, such as
    Python 2.  Returns None when tokenizing fails too."""
    try:
        tokens = list(tokenize.tokenize(io.BytesIO(source).readline))
    except (tokenize.TokenError, SyntaxError, ValueError, UnicodeDecodeError):
        return None
    spans: list[tuple[int, int, str]] = []
    # open blocks: (index into spans, depth at the def/class line, is_class)
    stack: list[tuple[int, int, bool]] = []
    depth = 0
    at_line_start = True
    last_code_line = 0
    pending_deco: int | None = None
    want: tuple[str, int] | None = None       # ("def"/"class"/"async", start line)
    header_open: tuple[int, int, bool] | None = None  # block whose header line is being read
    awaiting_body: tuple[int, int, bool] | None = None

    def close() -> None:
        idx, _, _ = stack.pop()
        start, _, name = spans[idx]
        spans[idx] = (start, max(last_code_line, start), name)

    for tok in tokens:
        tt = tok.type
        if tt in (tokenize.ENCODING, tokenize.COMMENT, tokenize.NL):
            continue
        if awaiting_body is not None:
            if tt != tokenize.INDENT and stack and stack[-1] is awaiting_body:
                close()  # one-line body: "def f(): return 1"
            awaiting_body = None
        if tt == tokenize.NEWLINE:
            at_line_start = True
            want = None
            if header_open is not None:
                awaiting_body, header_open = header_open, None
            continue
        if tt == tokenize.INDENT:
            depth += 1
            at_line_start = True
            continue
        if tt == tokenize.DEDENT:
            depth -= 1
            while stack and stack[-1][1] >= depth:
                close()
            continue
        if tt == tokenize.ENDMARKER:
            break
        if at_line_start:
            at_line_start = False
            if tt == tokenize.OP and tok.string == "@":
                if pending_deco is None:
                    pending_deco = tok.start[0]
            else:
                if tt == tokenize.NAME and tok.string in ("def", "class", "async"):
                    want = (tok.string, pending_deco or tok.start[0])
                pending_deco = None
        elif want is not None and tt == tokenize.NAME:
            kind, start = want
            if kind == "async":
                want = ("def", start) if tok.string == "def" else None
            else:
                want = None
                if all(is_class for _, _, is_class in stack):  # not inside a function
                    prefix = spans[stack[-1][0]][2] + "." if stack else ""
                    spans.append((start, start, prefix + tok.string))
                    header_open = (len(spans) - 1, depth, kind == "class")
                    stack.append(header_open)
        last_code_line = tok.end[0]
    while stack:
        close()
    return spans


def enclosing_names(spans: list[tuple[int, int, str]], lines: list[int]) -> list[str]:
    names: list[str] = []
    seen = set()
    for ln in sorted(set(lines)):
        best = None
        for start, end, name in spans:  # outer before inner: last match wins
            if start <= ln <= end:
                best = name
        if best is not None and best not in seen:
            seen.add(best)
            names.append(best)
    return names


# --------------------------------------------------------------------------
# main pipeline


def cutoff_epoch(date: str) -> int:
    d = _dt.datetime.strptime(date, "%Y-%m-%d").replace(tzinfo=_dt.timezone.utc)
    return int(d.timestamp())


def build(git: Git, repo: str, rev: str = "HEAD", before: str | None = None,
          max_n: int = 400, literal_cutoff: bool = False) -> tuple[list[dict], Counter]:
    counts: Counter = Counter()
    tip = git.run("rev-parse", "--verify", "--end-of-options", f"{rev}^{{commit}}").decode().strip()
    until_args: list[str] = []
    cutoff = None
    if before:
        cutoff = cutoff_epoch(before)
        until_args = [f"--until=@{cutoff - 1}"]
        if not literal_cutoff:
            tip = git.run("rev-list", "--first-parent", "-1", *until_args, tip).decode().strip()
            if not tip:
                return [], counts

    data = git.run("log", "--no-renames", "--raw", "--no-abbrev", "-z", "--no-color",
                   "--encoding=UTF-8", f"--format={LOG_FORMAT}", *until_args, tip, "--")
    commits = parse_log(data)
    if cutoff is not None:
        commits = [c for c in commits if c.ctime < cutoff]
    counts["scanned"] = len(commits)

    candidates: list[Commit] = []
    for c in commits:
        reason = None
        c.subject, c.statement = clean_message(c.raw)
        if not c.parents:
            reason = "root"
        elif len(c.parents) > 1:
            reason = "merge"
        elif is_bot(c.author, c.email):
            reason = "bot"
        elif is_revert(c.subject, c.raw):
            reason = "revert"
        elif is_mechanical(c.subject):
            reason = "mechanical"
        elif len(c.statement.strip()) < MIN_MESSAGE_CHARS:
            reason = "short_message"
        else:
            c.gold = [ch.path for ch in c.changes if ch.status == "M" and is_source(ch.path)]
            if not c.gold:
                if c.changes and all(is_tests_or_docs(ch.path) for ch in c.changes):
                    reason = "tests_docs_only"
                else:
                    reason = "no_source"
            elif len(c.gold) > MAX_GOLD_FILES:
                reason = "huge"
        if reason:
            counts[reason] += 1
        else:
            candidates.append(c)

    # Line counts: check blob presence first (a missing blob is fatal to git diff).
    oids = set()
    for c in candidates:
        for ch in c.changes:
            if has_source_ext(ch.path):
                oids.update(o for o in (ch.old, ch.new) if o != ZERO_SHA)
    present = git.existing(oids)

    def blobs_ok(ch: Change) -> bool:
        return all(o == ZERO_SHA or o in present for o in (ch.old, ch.new))

    clean: list[Commit] = []
    partial: list[Commit] = []
    for c in candidates:
        ok = all(blobs_ok(ch) for ch in c.changes if has_source_ext(ch.path))
        (clean if ok else partial).append(c)
    globs = ["*" + e for e in SOURCE_EXTS]
    numstat: dict[str, dict[str, int]] = {}
    if clean:
        numstat = parse_numstat_stream(git.run(
            "diff-tree", "--stdin", "-r", "-z", "--numstat", "--no-renames",
            "--no-ext-diff", "--no-textconv", "--", *globs,
            stdin=("\n".join(c.sha for c in clean) + "\n").encode()))
    missing_files: set[tuple[str, str]] = set()
    for c in partial:
        ok_paths = []
        for ch in c.changes:
            if not is_source(ch.path):
                continue
            if blobs_ok(ch):
                ok_paths.append(ch.path)
            else:
                missing_files.add((c.sha, ch.path))
        stats: dict[str, int] = {}
        if ok_paths:
            out = git.run("diff", "--numstat", "-z", "--no-renames", "--no-ext-diff",
                          "--no-textconv", c.parents[0], c.sha, "--", *ok_paths, literal=True)
            for tok in out.split(b"\x00"):
                if tok.count(b"\t") >= 2:
                    a, d, p = tok.split(b"\t", 2)
                    stats[_dec(p)] = (int(a) if a.isdigit() else 0) + (int(d) if d.isdigit() else 0)
        numstat[c.sha] = stats

    qualifying: list[Commit] = []
    for c in candidates:
        stats = numstat.get(c.sha, {})
        c.lines = sum(n for p, n in stats.items() if is_source(p))
        if c.lines > MAX_CHANGED_LINES:
            counts["huge"] += 1
        else:
            qualifying.append(c)

    # N most recent (git log order breaks ties), written oldest first.
    qualifying.sort(key=lambda c: (-c.ctime, c.order))
    if max_n and len(qualifying) > max_n:
        counts["beyond_max"] = len(qualifying) - max_n
        qualifying = qualifying[:max_n]
    qualifying.reverse()
    counts["kept"] = len(qualifying)

    # gold_functions for the kept commits.
    py_changes: dict[str, list[Change]] = {}
    for c in qualifying:
        for ch in c.changes:
            if ch.status != "M" or ch.path not in c.gold or not ch.path.endswith(".py"):
                continue
            if (c.sha, ch.path) in missing_files or not blobs_ok(ch):
                missing_files.add((c.sha, ch.path))
                continue
            py_changes.setdefault(c.sha, []).append(ch)
    contents = git.blobs(sorted({ch.old for chs in py_changes.values() for ch in chs}))
    spans_cache: dict[str, tuple[list | None, bool]] = {}  # old blob -> (spans, fallback)

    out_rows: list[dict] = []
    owner, _, name = repo.partition("/")
    for c in qualifying:
        gold_functions: dict[str, list[str]] = {}
        chs = py_changes.get(c.sha, [])
        if chs:
            diff = git.run("diff", "-U0", "--no-color", "--no-renames", "--no-ext-diff",
                           "--no-textconv", c.parents[0], c.sha, "--",
                           *[ch.path for ch in chs], literal=True)
            old_lines = parse_diff_old_lines(diff)
            for ch in chs:
                if ch.old not in contents:
                    missing_files.add((c.sha, ch.path))
                    continue
                if ch.old not in spans_cache:
                    spans = ast_spans(contents[ch.old])
                    fallback = spans is None
                    if fallback:
                        spans = token_spans(contents[ch.old])
                    spans_cache[ch.old] = (spans, fallback)
                spans, fallback = spans_cache[ch.old]
                if fallback and spans is not None:
                    counts["py2_fallback_files"] += 1
                if spans is None:
                    counts["syntax_error_files"] += 1
                    continue
                gold_functions[ch.path] = enclosing_names(spans, old_lines.get(ch.path, []))
        out_rows.append({
            "instance_id": f"{owner}__{name}-hist-{c.sha[:12]}",
            "repo": repo,
            "base_commit": c.parents[0],
            "problem_statement": c.statement,
            "gold_files": c.gold,
            "gold_functions": gold_functions,
            "commit": c.sha,
            "date": _dt.datetime.fromtimestamp(c.ctime, _dt.timezone.utc).strftime("%Y-%m-%d"),
        })
    counts["missing_blob_files"] = len(missing_files)
    return out_rows, counts


def _clean_str(obj):
    if isinstance(obj, str):
        return obj.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    if isinstance(obj, list):
        return [_clean_str(x) for x in obj]
    if isinstance(obj, dict):
        return {_clean_str(k): _clean_str(v) for k, v in obj.items()}
    return obj


def summary_line(repo: str, counts: Counter, seconds: float) -> str:
    keys = ["scanned", "kept", *FILTERS, "missing_blob_files", "py2_fallback_files",
            "syntax_error_files"]
    return (f"history_pairs {repo}: "
            + " ".join(f"{k}={counts.get(k, 0)}" for k in keys)
            + f" time={seconds:.1f}s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--git-dir", required=True, help="(bare) git directory")
    ap.add_argument("--repo", required=True, help="owner/name")
    ap.add_argument("--rev", default="HEAD")
    ap.add_argument("--before", help="YYYY-MM-DD: only commits committed strictly before (UTC)")
    ap.add_argument("--max", type=int, default=400, dest="max_n",
                    help="keep the N most recent qualifying commits (0 = all)")
    ap.add_argument("--literal-cutoff", action="store_true",
                    help="with --before, also keep pre-cutoff commits merged into REV after the cutoff")
    ap.add_argument("--out", help="output file (default stdout)")
    args = ap.parse_args(argv)
    if "/" not in args.repo:
        ap.error("--repo must be owner/name")
    if args.before:
        try:
            cutoff_epoch(args.before)
        except ValueError:
            ap.error("--before must be YYYY-MM-DD")

    t0 = time.monotonic()
    try:
        rows, counts = build(Git(args.git_dir), args.repo, args.rev, args.before,
                             args.max_n, args.literal_cutoff)
    except RuntimeError as e:
        print(f"history_pairs: {e}", file=sys.stderr)
        return 1
    text = "".join(json.dumps(_clean_str(r), ensure_ascii=False) + "\n" for r in rows)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    print(summary_line(args.repo, counts, time.monotonic() - t0), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
