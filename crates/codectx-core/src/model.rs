//! What the parser extracts from a file and the index stores.

use serde::{Deserialize, Serialize};

use crate::Language;

/// A region of one file, as a byte range and a line range.
///
/// * `start_byte..end_byte` is a half-open range of UTF-8 byte offsets into the file
///   as indexed (after lossy decoding of invalid UTF-8, see `codectx-index`).
/// * `start_line..=end_line` is a **1-based, inclusive** line range, the form used in
///   `path:start-end` citations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Span {
    /// First byte (inclusive).
    pub start_byte: u32,
    /// Last byte (exclusive).
    pub end_byte: u32,
    /// First line, 1-based.
    pub start_line: u32,
    /// Last line, 1-based, inclusive.
    pub end_line: u32,
}

impl Span {
    /// Number of lines covered (at least 1).
    pub fn line_count(&self) -> u32 {
        self.end_line.saturating_sub(self.start_line) + 1
    }

    /// Number of bytes covered.
    pub fn byte_len(&self) -> u32 {
        self.end_byte.saturating_sub(self.start_byte)
    }

    /// Whether the line ranges of two spans overlap or touch (`a.end_line + 1 == b.start_line`).
    pub fn touches_lines(&self, other: &Span) -> bool {
        self.start_line <= other.end_line.saturating_add(1) && other.start_line <= self.end_line.saturating_add(1)
    }
}

/// The kind of a symbol definition, following the tree-sitter tags vocabulary
/// (`@definition.function`, `@definition.class`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SymbolKind {
    /// A free function.
    Function,
    /// A function defined inside a class, impl, trait or interface.
    Method,
    /// A class.
    Class,
    /// A struct (Rust, Go, C, C++).
    Struct,
    /// An enum.
    Enum,
    /// A Rust trait, Java/TypeScript/Go interface.
    Interface,
    /// A Rust `impl` block (its name is the implemented type).
    Impl,
    /// A module, namespace or package.
    Module,
    /// A constant or static.
    Constant,
    /// A type alias or typedef.
    Type,
    /// A macro.
    Macro,
    /// A module-level variable or field.
    Variable,
}

impl SymbolKind {
    /// Parses the suffix of a tags capture: `definition.function` → `Function`.
    /// Unknown suffixes return `None`.
    pub fn from_tag(tag: &str) -> Option<SymbolKind> {
        Some(match tag {
            "function" => SymbolKind::Function,
            "method" => SymbolKind::Method,
            "class" => SymbolKind::Class,
            "struct" => SymbolKind::Struct,
            "enum" | "union" => SymbolKind::Enum,
            "interface" | "trait" => SymbolKind::Interface,
            "impl" | "implementation" => SymbolKind::Impl,
            "module" | "namespace" | "package" => SymbolKind::Module,
            "constant" | "static" => SymbolKind::Constant,
            "type" | "typedef" => SymbolKind::Type,
            "macro" => SymbolKind::Macro,
            "variable" | "field" => SymbolKind::Variable,
            _ => return None,
        })
    }

    /// Lowercase name (`"function"`, `"class"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            SymbolKind::Function => "function",
            SymbolKind::Method => "method",
            SymbolKind::Class => "class",
            SymbolKind::Struct => "struct",
            SymbolKind::Enum => "enum",
            SymbolKind::Interface => "interface",
            SymbolKind::Impl => "impl",
            SymbolKind::Module => "module",
            SymbolKind::Constant => "constant",
            SymbolKind::Type => "type",
            SymbolKind::Macro => "macro",
            SymbolKind::Variable => "variable",
        }
    }

    /// Whether this kind contains other definitions (class, struct, impl, ...), so
    /// that its members get qualified names `Container.member`.
    pub fn is_container(self) -> bool {
        matches!(
            self,
            SymbolKind::Class
                | SymbolKind::Struct
                | SymbolKind::Enum
                | SymbolKind::Interface
                | SymbolKind::Impl
                | SymbolKind::Module
        )
    }

    /// Whether this kind defines code (function, method, class, struct, enum,
    /// interface, impl, type or macro), as opposed to naming a value (constant,
    /// variable) or a module: the unit of function-level localization.
    pub fn is_definition(self) -> bool {
        matches!(
            self,
            SymbolKind::Function
                | SymbolKind::Method
                | SymbolKind::Class
                | SymbolKind::Struct
                | SymbolKind::Enum
                | SymbolKind::Interface
                | SymbolKind::Impl
                | SymbolKind::Type
                | SymbolKind::Macro
        )
    }

    /// Whether this kind is a callable (function or method).
    pub fn is_callable(self) -> bool {
        matches!(self, SymbolKind::Function | SymbolKind::Method)
    }
}

impl std::fmt::Display for SymbolKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A symbol definition found in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Symbol {
    /// The bare name (`resolve_redirects`).
    pub name: String,
    /// What it is.
    pub kind: SymbolKind,
    /// The name qualified by its enclosing definitions in the file, joined with the
    /// language's separator: `.` for Python, Java, JS/TS and Go
    /// (`Session.resolve_redirects`), `::` for Rust and C++ (`Walker::new`). Rust
    /// symbols are also prefixed by the module path derived from the file path
    /// (`walk::Walker::new` for `src/walk.rs`).
    pub qualified_name: String,
    /// Span of the whole definition (including decorators / attributes, not
    /// including the doc comment).
    pub span: Span,
    /// Byte span of the name identifier.
    pub name_span: Span,
    /// The declaration head: the definition's text up to its body, whitespace
    /// collapsed to single spaces, at most ~300 characters (`def get(self, url, **kw)`).
    pub signature: String,
    /// The doc comment or docstring, with comment markers removed, if any.
    pub doc: Option<String>,
    /// Index (into [`ParsedFile::symbols`]) of the enclosing definition, if any.
    pub parent: Option<u32>,
}

/// What a chunk holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChunkKind {
    /// One whole definition (function, method, or a class/impl small enough to fit the cap).
    Definition,
    /// The header of a class/impl that was split into its members (the lines before
    /// the first member, plus any code between members).
    Header,
    /// Top-level code outside any definition (imports, module constants, scripts), grouped.
    TopLevel,
    /// A line window of a file without a grammar, or of a definition too large to
    /// be one chunk.
    Window,
}

/// A retrievable unit of a file, aligned to syntax boundaries where a grammar exists.
///
/// Chunks of one file never overlap and each is at most the configured token cap
/// (counted with [`crate::tokens`]), except a single line that alone exceeds it
/// (lines are never split).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    /// Where the chunk is in the file.
    pub span: Span,
    /// What the chunk holds.
    pub kind: ChunkKind,
    /// Qualified name of the innermost symbol the chunk belongs to
    /// (`Session.resolve_redirects`), or empty for top-level code and text windows.
    pub symbol_path: String,
    /// Index into [`ParsedFile::symbols`] of that symbol.
    pub symbol: Option<u32>,
    /// For a member of a split container: the container's header line(s), e.g.
    /// `class Session(SessionRedirectMixin):`, so the chunk reads in context.
    pub context_header: Option<String>,
    /// Identifiers referenced in the chunk (calls, type uses), deduplicated, in
    /// order of first use. Input to the reference graph.
    pub references: Vec<String>,
    /// First 8 bytes (little-endian) of the blake3 hash of the chunk's text
    /// (`source[span.start_byte..span.end_byte]`); set by the indexer. With the
    /// model id, the path and the context header it keys the embedding cache.
    pub content_hash: u64,
}

/// An import / use / include statement, resolved to a repository file where the
/// language allows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Import {
    /// The module as written (`requests.models`, `./util`, `crate::walk`, `"foo.h"`).
    pub module: String,
    /// Names imported from it (`from x import a, b` → `["a", "b"]`), if any.
    pub names: Vec<String>,
    /// 1-based line of the statement.
    pub line: u32,
    /// Repository-relative path of the file it resolves to, if it resolves to one.
    /// Unresolved imports keep only `module` (an external dependency).
    pub resolved: Option<String>,
}

/// Everything extracted from one file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedFile {
    /// Definitions, in source order; `parent` indexes into this vector.
    pub symbols: Vec<Symbol>,
    /// Chunks, in source order, non-overlapping.
    pub chunks: Vec<Chunk>,
    /// Import statements, in source order (unresolved until the index resolves them
    /// against the file set).
    pub imports: Vec<Import>,
    /// Whether the syntax tree had errors (what parsed is still extracted).
    pub has_errors: bool,
    /// Whether parsing hit the per-file timeout (the file is then chunked as text).
    pub timed_out: bool,
}

/// A file as recorded in the index manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// Repository-relative path with `/` separators.
    pub path: String,
    /// Detected language.
    pub language: Language,
    /// blake3 hash of the raw bytes, hex.
    pub hash: String,
    /// Size in bytes.
    pub size: u64,
    /// Whether the file was not valid UTF-8 and was decoded lossily.
    pub lossy: bool,
}
