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
        let compiled =
            Glob::new(glob).map_err(|error| Error::InvalidArgument(format!("invalid path glob {glob:?}: {error}")))?;
        builder.add(compiled);
    }
    builder.build().map(Some).map_err(|error| Error::InvalidArgument(format!("invalid path globs: {error}")))
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
}
