//! Path filters of a request.

use codectx_core::{Error, PathFilter, Result};
use globset::{Glob, GlobSet, GlobSetBuilder};

/// Compiled include/exclude globs over repository-relative paths.
#[derive(Debug, Clone)]
pub struct PathMatcher {
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
}

impl PathMatcher {
    /// Compiles a filter. [`Error::InvalidArgument`] names an invalid glob.
    pub fn new(filter: &PathFilter) -> Result<Self> {
        Ok(PathMatcher { include: compile(&filter.include)?, exclude: compile(&filter.exclude)? })
    }

    /// A matcher that accepts every path.
    pub fn all() -> Self {
        PathMatcher { include: None, exclude: None }
    }

    /// Whether `path` passes: matches an include glob (or there are none) and no
    /// exclude glob.
    pub fn accepts(&self, path: &str) -> bool {
        self.include.as_ref().is_none_or(|set| set.is_match(path))
            && !self.exclude.as_ref().is_some_and(|set| set.is_match(path))
    }

    /// Whether the matcher accepts everything.
    pub fn is_all(&self) -> bool {
        self.include.is_none() && self.exclude.is_none()
    }
}

fn compile(globs: &[String]) -> Result<Option<GlobSet>> {
    if globs.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        if glob.len() > 1024 || glob.contains('\0') {
            return Err(Error::InvalidArgument(format!("invalid path glob {:?}", truncate(glob))));
        }
        // The error's kind, not its `Display`: that quotes the glob raw (line breaks
        // and all), and the glob is already quoted, escaped, here.
        let compiled = Glob::new(glob).map_err(|error| {
            Error::InvalidArgument(format!("invalid path glob {glob:?}: {}", one_line(&error.kind().to_string())))
        })?;
        builder.add(compiled);
    }
    builder
        .build()
        .map(Some)
        .map_err(|error| Error::InvalidArgument(format!("invalid path globs: {}", one_line(&error.to_string()))))
}

/// `text` with control characters (line breaks included) escaped, so that an
/// error message quoting it stays on one line.
fn one_line(text: &str) -> String {
    text.chars().fold(String::with_capacity(text.len()), |mut out, c| {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
        out
    })
}

fn truncate(text: &str) -> String {
    text.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_and_exclude() {
        let matcher =
            PathMatcher::new(&PathFilter { include: vec!["src/**".into()], exclude: vec!["**/*_test.go".into()] })
                .unwrap();
        assert!(matcher.accepts("src/a/b.go"));
        assert!(!matcher.accepts("src/a/b_test.go"));
        assert!(!matcher.accepts("docs/a.md"));
        assert!(PathMatcher::new(&PathFilter { include: vec!["a[".into()], exclude: vec![] }).is_err());
    }

    #[test]
    fn glob_errors_are_one_line() {
        // globset's `Display` quotes the glob raw, and a reversed range its chars:
        // both could hold a line break. Found by tests/prop_query.rs.
        for glob in ["\n[z-a]", "x\n[", "[z-\n]", "{a,\r\n"] {
            let error = PathMatcher::new(&PathFilter { include: vec![glob.into()], exclude: vec![] }).unwrap_err();
            let message = error.to_string();
            assert!(matches!(error, Error::InvalidArgument(_)), "{glob:?}: {error:?}");
            assert!(message.starts_with("invalid argument: invalid path glob"), "{message:?}");
            assert!(!message.contains(['\n', '\r']), "{glob:?} gives {message:?}");
        }
    }
}
