//! Path conventions shared by ranking and history: which files are tests, docs,
//! examples, benchmarks or vendored code, judged by their repository-relative
//! path (`/`-separated) alone.

/// Whether a path is a test file by common conventions: under a folder named
/// `test`, `tests`, `testing`, `__tests__` or `spec`, or a file named `test_*`,
/// `*_test.*`, `*Test.java`, `*Tests.java`, `*.test.*`, `*.spec.*` or
/// `conftest.py`.
pub fn is_test_path(path: &str) -> bool {
    let mut parts = path.split('/').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            let stem = part.split('.').next().unwrap_or(part);
            return part.starts_with("test_")
                || stem.ends_with("_test")
                || stem.ends_with("Test")
                || stem.ends_with("Tests")
                || part.contains(".test.")
                || part.contains(".spec.")
                || part == "conftest.py";
        }
        if matches!(part, "test" | "tests" | "testing" | "__tests__" | "spec") {
            return true;
        }
    }
    false
}

/// Whether a path is a test, doc, example or benchmark file by common conventions:
/// a test file ([`is_test_path`]), or one under a folder named `doc`, `docs`,
/// `example`, `examples`, `bench`, `benches` or `benchmarks`.
pub fn is_auxiliary_path(path: &str) -> bool {
    is_test_path(path)
        || path
            .split('/')
            .rev()
            .skip(1)
            .any(|part| matches!(part, "doc" | "docs" | "example" | "examples" | "bench" | "benches" | "benchmarks"))
}

/// Whether a path is vendored third-party code: under a folder named `vendor`,
/// `vendored`, `third_party`, `thirdparty`, `3rdparty` or `node_modules`
/// (compared lower-cased).
pub fn is_vendored_path(path: &str) -> bool {
    path.split('/').rev().skip(1).any(|part| {
        matches!(
            part.to_ascii_lowercase().as_str(),
            "vendor" | "vendored" | "third_party" | "thirdparty" | "3rdparty" | "node_modules"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tests_docs_and_vendored_code_are_told_apart() {
        for path in [
            "tests/test_x.py",
            "src/a_test.go",
            "x/conftest.py",
            "web/a.spec.ts",
            "testing/util.py",
            "src/FooTest.java",
        ] {
            assert!(is_test_path(path), "{path}");
            assert!(is_auxiliary_path(path), "{path}");
        }
        for path in ["src/testament.py", "sympy/core/basic.py", "contest.py", "docs.py"] {
            assert!(!is_test_path(path), "{path}");
            assert!(!is_auxiliary_path(path), "{path}");
        }
        for path in ["docs/conf.py", "examples/demo.rs", "benches/fuse.rs"] {
            assert!(!is_test_path(path), "{path}");
            assert!(is_auxiliary_path(path), "{path}");
        }
        assert!(is_vendored_path("third_party/zlib/inflate.c"));
        assert!(is_vendored_path("web/node_modules/x/index.js"));
        assert!(!is_vendored_path("src/vendor.py"));
    }
}
