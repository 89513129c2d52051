//! Path filters of a request.

use codectx_core::{quote, Error, PathFilter, Result};
use globset::{Glob, GlobSet, GlobSetBuilder};

/// Compiled include/exclude globs over repository-relative paths.
#[derive(Debug, Clone)]
pub struct PathMatcher {
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
}

impl PathMatcher {
    /// Compiles a filter. [`Error::InvalidArgument`] for too many or too long
    /// globs ([`PathFilter::validate`]) or an invalid one (quoted as
    /// [`codectx_core::quote`] does).
    pub fn new(filter: &PathFilter) -> Result<Self> {
        filter.validate()?;
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
        if glob.contains('\0') {
            return Err(Error::InvalidArgument(format!("invalid path glob \"{}\": it holds a NUL", quote(glob))));
        }
        // The error's kind, not its `Display`: that quotes the glob raw (line breaks
        // and all, whatever its length), and the glob is already quoted here.
        let compiled = Glob::new(glob).map_err(|error| {
            Error::InvalidArgument(format!(
                "invalid path glob \"{}\": {}",
                quote(glob),
                quote(&error.kind().to_string())
            ))
        })?;
        builder.add(compiled);
    }
    builder
        .build()
        .map(Some)
        .map_err(|error| Error::InvalidArgument(format!("invalid path globs: {}", quote(&error.to_string()))))
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
