use serde::{Deserialize, Serialize};

/// The language of a file, detected from its name.
///
/// Languages with a tree-sitter grammar ([`Language::has_grammar`]) are parsed into
/// symbols, syntax-aligned chunks and imports; the others are indexed as text in
/// line-window chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Python (`.py`, `.pyi`).
    Python,
    /// Rust (`.rs`).
    Rust,
    /// JavaScript (`.js`, `.mjs`, `.cjs`, `.jsx`).
    JavaScript,
    /// TypeScript (`.ts`, `.mts`, `.cts`).
    TypeScript,
    /// TypeScript with JSX (`.tsx`).
    Tsx,
    /// Go (`.go`).
    Go,
    /// Java (`.java`).
    Java,
    /// C (`.c`, `.h`).
    C,
    /// C++ (`.cc`, `.cpp`, `.cxx`, `.hpp`, `.hh`, `.hxx`, `.ipp`).
    Cpp,
    /// Markdown and reStructuredText documentation.
    Markdown,
    /// Configuration and data: TOML, YAML, JSON, INI, XML.
    Config,
    /// Any other text file.
    Text,
}

impl Language {
    /// Every language, in a stable order.
    pub const ALL: [Language; 12] = [
        Language::Python,
        Language::Rust,
        Language::JavaScript,
        Language::TypeScript,
        Language::Tsx,
        Language::Go,
        Language::Java,
        Language::C,
        Language::Cpp,
        Language::Markdown,
        Language::Config,
        Language::Text,
    ];

    /// Detects the language from a path's extension (case-insensitive). Unknown
    /// extensions are [`Language::Text`].
    pub fn from_path(path: &str) -> Language {
        let name = path.rsplit('/').next().unwrap_or(path);
        let ext = match name.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
            _ => return Language::Text,
        };
        match ext.as_str() {
            "py" | "pyi" => Language::Python,
            "rs" => Language::Rust,
            "js" | "mjs" | "cjs" | "jsx" => Language::JavaScript,
            "ts" | "mts" | "cts" => Language::TypeScript,
            "tsx" => Language::Tsx,
            "go" => Language::Go,
            "java" => Language::Java,
            "c" | "h" => Language::C,
            "cc" | "cpp" | "cxx" | "c++" | "hpp" | "hh" | "hxx" | "h++" | "ipp" | "inl" => Language::Cpp,
            "md" | "markdown" | "rst" | "txt" | "adoc" => Language::Markdown,
            "toml" | "yaml" | "yml" | "json" | "ini" | "cfg" | "xml" | "lock" => Language::Config,
            _ => Language::Text,
        }
    }

    /// Whether a tree-sitter grammar parses this language into symbols and chunks.
    pub fn has_grammar(self) -> bool {
        !matches!(self, Language::Markdown | Language::Config | Language::Text)
    }

    /// Lowercase name used in the index, the CLI and the gRPC API (`"python"`, `"tsx"`).
    pub fn name(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::Rust => "rust",
            Language::JavaScript => "javascript",
            Language::TypeScript => "typescript",
            Language::Tsx => "tsx",
            Language::Go => "go",
            Language::Java => "java",
            Language::C => "c",
            Language::Cpp => "cpp",
            Language::Markdown => "markdown",
            Language::Config => "config",
            Language::Text => "text",
        }
    }

    /// Parses a name produced by [`Language::name`].
    pub fn from_name(name: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|language| language.name() == name)
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_languages_by_extension() {
        assert_eq!(Language::from_path("a/b/c.py"), Language::Python);
        assert_eq!(Language::from_path("x.TSX"), Language::Tsx);
        assert_eq!(Language::from_path("include/foo.hpp"), Language::Cpp);
        assert_eq!(Language::from_path("README.md"), Language::Markdown);
        assert_eq!(Language::from_path("Makefile"), Language::Text);
        assert_eq!(Language::from_path(".gitignore"), Language::Text);
        for language in Language::ALL {
            assert_eq!(Language::from_name(language.name()), Some(language));
        }
    }
}
