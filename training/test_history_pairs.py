"""Tests for training/history_pairs.py.

Run from the repository root:  python3 -m unittest training/test_history_pairs.py
Builds a small git repository in a temporary folder; needs the git CLI.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest
from contextlib import redirect_stderr, redirect_stdout

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import history_pairs as hp  # noqa: E402

CORE_V1 = textwrap.dedent('''\
    """Core module."""
    import os

    LIMIT = 10


    class Calc:
        """A calculator."""

        scale = 1

        def add(self, a, b):
            total = a + b
            return total * self.scale

        def sub(self, a, b):
            return a - b

        class Inner:
            def deep(self):
                return 1


    def helper(x):
        def nested(y):
            return y * 2
        return nested(x) + 1


    @staticmethod
    def decorated():
        return 0
    ''')


@unittest.skipUnless(shutil.which("git"), "git CLI not available")
class HistoryRepoTest(unittest.TestCase):
    """One repository shared by all tests (built once)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="history_pairs_test_")
        cls.work = os.path.join(cls.tmp, "repo")
        os.makedirs(cls.work)
        cls.day = 0
        cls.git("init", "-q", "-b", "main")
        cls.git("config", "commit.gpgsign", "false")
        cls.sha = {}

        # 1 root commit
        cls.write("pkg/core.py", CORE_V1)
        cls.write("pkg/other.py", "def one():\n    return 1\n\n\ndef two():\n    return 2\n")
        cls.write("tests/test_core.py", "def test_add():\n    assert True\n")
        cls.write("src/lib.rs", "pub fn f() -> u32 {\n    1\n}\n")
        cls.write("pkg/legacy.py", "print 'hello'\n\ndef f():\n    return 1\n")
        cls.write("pkg/broken.py", "X = 1\n\ndef f(:\n    return 1\n")
        cls.commit("root", "Initial import of the calculator package and its tests")

        # 2 change inside Calc.add, with a trailer
        cls.edit("pkg/core.py", "        total = a + b\n", "        total = b + a\n")
        cls.commit("add", "Make Calc.add commutative in the other order\n\n"
                   "The order matters for symbolic arguments.\nFixes #12\n\n"
                   "Signed-off-by: Alice <alice@example.com>\n"
                   "Co-authored-by: Bob <bob@example.com>\n")

        # 3 class body line + nested function in helper + decorator line
        cls.edit("pkg/core.py", "    scale = 1\n", "    scale = 2\n")
        cls.edit("pkg/core.py", "        return y * 2\n", "        return y * 3\n")
        cls.edit("pkg/core.py", "@staticmethod\n", "@classmethod\n")
        cls.commit("multi", "Change the default scale and the helper's nested factor")

        # 4 nested class method + rust file
        cls.edit("pkg/core.py", "            return 1\n", "            return 11\n")
        cls.edit("src/lib.rs", "    1\n", "    2\n")
        cls.commit("inner", "Inner.deep returns eleven now; the rust side returns two")

        # 5 pure insertion inside Calc.sub (after its def line)
        cls.edit("pkg/core.py", "    def sub(self, a, b):\n",
                 "    def sub(self, a, b):\n        # subtract b from a\n")
        cls.commit("insert", "Document what Calc.sub does with an inline comment")

        # 6 module-level only change
        cls.edit("pkg/core.py", "LIMIT = 10\n", "LIMIT = 20\n")
        cls.commit("module", "Raise the LIMIT constant so larger inputs are accepted")

        # 7 tests/docs only
        cls.edit("tests/test_core.py", "assert True", "assert 1 + 1 == 2")
        cls.write("docs/index.rst", "Docs\n====\n")
        cls.commit("testonly", "Strengthen the addition test and start the documentation")

        # 8 formatting
        cls.edit("pkg/core.py", "import os\n", "import os  # noqa\n")
        cls.commit("format", "Reformat the core module with black and isort")

        # 9 revert of commit 6
        cls.git("revert", "--no-edit", cls.sha["module"], env=cls.env())
        cls.sha["revert"] = cls.head()
        cls.day += 1

        # 10 short message
        cls.edit("pkg/core.py", "return a - b\n", "return a - b  # diff\n")
        cls.commit("short", "tweak sub")

        # 11 bot author
        cls.edit("pkg/other.py", "return 2\n", "return 22\n")
        cls.commit("bot", "Automated update of the second helper value by the bot",
                   author=("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com"))

        # 12 huge: 500 lines of new source
        cls.write("pkg/big.py", "".join(f"X{i} = {i}\n" for i in range(500)))
        cls.edit("pkg/other.py", "return 1\n", "return 111\n")
        cls.commit("huge", "Add a large table of constants used by the other helper")

        # 13 no source: config only; and added source only
        cls.write("setup.cfg", "[metadata]\nname = pkg\n")
        cls.commit("config", "Add packaging metadata so the project can be installed")
        cls.write("pkg/new.py", "def brand_new():\n    return 0\n")
        cls.commit("added", "Introduce a brand new module with a single function")

        # 14 branch + merge
        cls.git("checkout", "-q", "-b", "feature")
        cls.edit("pkg/core.py", "    return nested(x) + 1\n", "    return nested(x) + 2\n")
        cls.commit("feature", "Helper adds two instead of one to the nested result")
        cls.git("checkout", "-q", "main")
        cls.git("merge", "-q", "--no-ff", "-m", "Merge the feature branch with helper changes",
                "feature", env=cls.env())
        cls.sha["merge"] = cls.head()
        cls.day += 1

        # 15 python file that does not parse (py2) + missing blob for other.py
        cls.edit("pkg/legacy.py", "    return 1\n", "    return 2\n")
        cls.edit("pkg/broken.py", "    return 1\n", "    return 2\n")
        cls.edit("pkg/other.py", "    return 22\n", "    return 3\n")
        cls.commit("legacy", "Change the legacy function and the other helper values")

        # 16 commit after the cutoff
        cls.edit("pkg/core.py", "        return a - b  # diff\n", "        return a - b\n")
        cls.commit("late", "Remove the stray comment in Calc.sub after the code freeze")
        cls.cutoff_date = cls.date_of("late")

        # Remove the old blob of pkg/other.py for commit "legacy" (partial mirror).
        old = cls.git("rev-parse", cls.sha["legacy"] + "^:pkg/other.py").strip()
        os.remove(os.path.join(cls.work, ".git", "objects", old[:2], old[2:]))
        cls.removed_blob = old

        cls.git_dir = os.path.join(cls.work, ".git")
        cls.rows, cls.counts = hp.build(hp.Git(cls.git_dir), "acme/calc",
                                        before=cls.cutoff_date, max_n=400)
        cls.by_sha = {r["commit"]: r for r in cls.rows}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # -- helpers ---------------------------------------------------------

    @classmethod
    def env(cls, author=("Dev One", "dev@example.com")):
        date = f"2020-01-{cls.day + 1:02d}T12:00:00+00:00"
        return dict(os.environ, GIT_AUTHOR_NAME=author[0], GIT_AUTHOR_EMAIL=author[1],
                    GIT_COMMITTER_NAME="Dev One", GIT_COMMITTER_EMAIL="dev@example.com",
                    GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date,
                    GIT_CONFIG_NOSYSTEM="1", HOME=cls.tmp)

    @classmethod
    def git(cls, *args, env=None):
        return subprocess.run(["git", *args], cwd=cls.work, env=env or cls.env(),
                               check=True, capture_output=True, text=True).stdout

    @classmethod
    def head(cls):
        return cls.git("rev-parse", "HEAD").strip()

    @classmethod
    def write(cls, path, text):
        full = os.path.join(cls.work, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)

    @classmethod
    def edit(cls, path, old, new):
        full = os.path.join(cls.work, path)
        with open(full) as f:
            text = f.read()
        assert old in text, (path, old)
        with open(full, "w") as f:
            f.write(text.replace(old, new, 1))

    @classmethod
    def commit(cls, key, message, author=("Dev One", "dev@example.com")):
        cls.git("add", "-A")
        cls.git("commit", "-q", "-m", message, env=cls.env(author))
        cls.sha[key] = cls.head()
        cls.day += 1

    @classmethod
    def date_of(cls, key):
        return cls.git("log", "-1", "--format=%cd", "--date=format:%Y-%m-%d", cls.sha[key]).strip()

    def row(self, key):
        self.assertIn(self.sha[key], self.by_sha, f"commit {key!r} not kept")
        return self.by_sha[self.sha[key]]

    # -- tests -----------------------------------------------------------

    def test_filter_counts(self):
        c = self.counts
        self.assertEqual(c["root"], 1)
        self.assertEqual(c["merge"], 1)
        self.assertEqual(c["bot"], 1)
        self.assertEqual(c["revert"], 1)
        self.assertEqual(c["mechanical"], 1)
        self.assertEqual(c["short_message"], 1)
        self.assertEqual(c["tests_docs_only"], 1)
        self.assertEqual(c["no_source"], 2)
        self.assertEqual(c["huge"], 1)
        # the removed blob is the new side of "huge" and the old side of "legacy"
        self.assertEqual(c["missing_blob_files"], 2)
        self.assertEqual(c["syntax_error_files"], 1)  # pkg/broken.py
        self.assertEqual(c["py2_fallback_files"], 1)  # pkg/legacy.py
        kept = {k for k, s in self.sha.items() if s in self.by_sha}
        self.assertEqual(kept, {"add", "multi", "inner", "insert", "module", "feature", "legacy"})
        self.assertEqual(c["kept"], 7)
        self.assertEqual(c["scanned"], sum(c[f] for f in hp.FILTERS) + c["kept"])

    def test_cutoff_excludes_later_commits(self):
        self.assertNotIn(self.sha["late"], self.by_sha)
        self.assertTrue(all(r["date"] < self.cutoff_date for r in self.rows))

    def test_method_change(self):
        r = self.row("add")
        self.assertEqual(r["gold_files"], ["pkg/core.py"])
        self.assertEqual(r["gold_functions"], {"pkg/core.py": ["Calc.add"]})
        self.assertEqual(r["base_commit"], self.sha["root"])
        self.assertEqual(r["instance_id"], f"acme__calc-hist-{self.sha['add'][:12]}")
        self.assertEqual(r["repo"], "acme/calc")
        self.assertEqual(r["date"], "2020-01-02")

    def test_message_trailers_stripped(self):
        r = self.row("add")
        self.assertEqual(r["problem_statement"],
                         "Make Calc.add commutative in the other order\n\n"
                         "The order matters for symbolic arguments.\nFixes #12")

    def test_class_body_nested_function_and_decorator(self):
        r = self.row("multi")
        self.assertEqual(r["gold_functions"], {"pkg/core.py": ["Calc", "helper", "decorated"]})

    def test_nested_class_and_non_python(self):
        r = self.row("inner")
        self.assertEqual(sorted(r["gold_files"]), ["pkg/core.py", "src/lib.rs"])
        self.assertEqual(r["gold_functions"], {"pkg/core.py": ["Calc.Inner.deep"]})

    def test_pure_insertion(self):
        self.assertEqual(self.row("insert")["gold_functions"], {"pkg/core.py": ["Calc.sub"]})

    def test_module_level_change(self):
        self.assertEqual(self.row("module")["gold_functions"], {"pkg/core.py": []})

    def test_branch_commit_kept(self):
        self.assertEqual(self.row("feature")["gold_functions"], {"pkg/core.py": ["helper"]})

    def test_syntax_error_and_missing_blob(self):
        r = self.row("legacy")
        self.assertEqual(sorted(r["gold_files"]), ["pkg/broken.py", "pkg/legacy.py", "pkg/other.py"])
        # legacy.py is Python 2 (tokenize fallback); broken.py does not tokenize;
        # the old blob of other.py is missing.
        self.assertEqual(r["gold_functions"], {"pkg/legacy.py": ["f"]})

    def test_output_order_and_max(self):
        dates = [(r["date"]) for r in self.rows]
        self.assertEqual(dates, sorted(dates))
        rows, counts = hp.build(hp.Git(self.git_dir), "acme/calc", before=self.cutoff_date,
                                max_n=2)
        self.assertEqual([r["commit"] for r in rows], [self.sha["feature"], self.sha["legacy"]])
        self.assertEqual(counts["beyond_max"], 5)

    def test_cli(self):
        out = os.path.join(self.tmp, "out", "calc.jsonl")
        err = io.StringIO()
        with redirect_stderr(err), redirect_stdout(io.StringIO()):
            rc = hp.main(["--git-dir", self.git_dir, "--repo", "acme/calc",
                          "--before", self.cutoff_date, "--max", "3", "--out", out])
        self.assertEqual(rc, 0)
        with open(out, encoding="utf-8") as f:
            rows = [json.loads(line) for line in f]
        self.assertEqual(len(rows), 3)
        self.assertEqual(set(rows[0]), {"instance_id", "repo", "base_commit", "problem_statement",
                                        "gold_files", "gold_functions", "commit", "date"})
        self.assertIn("kept=3", err.getvalue())
        self.assertIn("merge=1", err.getvalue())

    def test_no_cutoff_sees_everything(self):
        rows, counts = hp.build(hp.Git(self.git_dir), "acme/calc", max_n=0)
        self.assertIn(self.sha["late"], {r["commit"] for r in rows})


class UnitTest(unittest.TestCase):
    def test_source_paths(self):
        self.assertTrue(hp.is_source("sympy/core/basic.py"))
        self.assertTrue(hp.is_source("src/_pytest/python.py"))
        self.assertTrue(hp.is_source("crates/a/src/lib.rs"))
        for p in ["sympy/core/tests/test_basic.py", "testing/test_x.py", "doc/conf.py",
                  "examples/a.py", "vendor/x.go", "pkg/conftest.py", "a/b_test.go",
                  "web/app.test.ts", "lib/x_tests.py", "third_party/z.c", "Docs/x.py",
                  "README.md", "setup.cfg"]:
            self.assertFalse(hp.is_source(p), p)
        self.assertTrue(hp.is_tests_or_docs("CHANGES.rst"))
        self.assertFalse(hp.is_tests_or_docs("setup.cfg"))

    def test_mechanical(self):
        for s in ["Run black", "Reformat with isort", "fix typo", "Fix typos in docstring",
                  "flake8 fixes", "Fix lint", "remove trailing whitespace", "Bump version to 1.2",
                  "Release 2.0", "Update changelog", "Merge branch 'master' into x",
                  "pre-commit autoupdate", "Update CHANGELOG", "Format CHANGELOG",
                  "Formatting fixes in docstrings"]:
            self.assertTrue(hp.is_mechanical(s), s)
        for s in ["Fix blacklist handling", "Handle flint polynomials", "Improve informational output",
                  "Support typology", "Changed output format to be [-bb, d1]"]:
            self.assertFalse(hp.is_mechanical(s), s)

    def test_bot(self):
        self.assertTrue(hp.is_bot("dependabot[bot]", "x@users.noreply.github.com"))
        self.assertTrue(hp.is_bot("SymPy Bot", "sympy-bot@example.com"))
        self.assertFalse(hp.is_bot("Abbott", "abbott@example.com"))

    def test_revert(self):
        self.assertTrue(hp.is_revert("Revert \"x\"", "Revert \"x\""))
        self.assertTrue(hp.is_revert("Undo x", "Undo x\n\nThis reverts commit abc."))
        self.assertFalse(hp.is_revert("Fix reverting", "Fix reverting"))

    def test_clean_message(self):
        subj, st = hp.clean_message("Subject line\n  continues\n\n  Body indented\n\n"
                                    "Signed-off-by: A <a@b>\n")
        self.assertEqual(subj, "Subject line continues")
        self.assertEqual(st, "Subject line continues\n\n  Body indented")
        self.assertEqual(hp.clean_message("Only subject\n")[1], "Only subject")

    def test_diff_parsing(self):
        diff = (b"diff --git a/x y.py b/x y.py\n--- a/x y.py\n+++ b/x y.py\n"
                b"@@ -3 +3 @@\n-a\n+b\n@@ -10,2 +10,0 @@\n-c\n-d\n@@ -20,0 +19,1 @@\n+e\n"
                b"@@ -0,0 +1 @@\n+top\n"
                b'diff --git "a/t\\tab\\303\\251.py" "b/t\\tab\\303\\251.py"\n@@ -5,2 +5,1 @@\n')
        got = hp.parse_diff_old_lines(diff)
        self.assertEqual(got, {"x y.py": [3, 10, 11, 20], "t\tab\u00e9.py": [5, 6]})

    def test_function_spans(self):
        spans = hp.function_spans(CORE_V1.encode())
        names = {n for _, _, n in spans}
        self.assertEqual(names, {"Calc", "Calc.add", "Calc.sub", "Calc.Inner",
                                 "Calc.Inner.deep", "helper", "decorated"})
        self.assertEqual(hp.function_spans(b"print 'x'\n"), [])
        # line 13 is "total = a + b" in Calc.add; line 4 is module level
        self.assertEqual(hp.enclosing_names(spans, [13, 4]), ["Calc.add"])

    def test_token_spans_match_ast(self):
        src = CORE_V1 + textwrap.dedent('''\
            if True:
                class Cond:
                    def one(self): return 1
                    @property
                    def two(self):
                        x = (1,
                             2)
                        return x
            async def coro():
                async def inner():
                    pass
                return 1
            class Empty: pass
            def last():
                \'\'\'doc
                string\'\'\'
                # trailing comment
            ''')
        self.assertEqual(hp.token_spans(src.encode()), hp.ast_spans(src.encode()))
        py2 = b"def f(x):\n    try:\n        pass\n    except E, e:\n        print e\n\nclass A:\n    def m(self): print 1\n    def n(self):\n        return `1`\n"
        self.assertIsNone(hp.ast_spans(py2))
        self.assertEqual(hp.token_spans(py2), [(1, 5, "f"), (7, 10, "A"), (8, 8, "A.m"), (9, 10, "A.n")])
        self.assertIsNone(hp.function_spans(b"def f(:\n    pass\n"))


if __name__ == "__main__":
    unittest.main()
