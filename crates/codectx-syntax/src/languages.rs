//! The static language table: each grammar, its query files and the few facts the
//! extractor needs about its syntax (comment and attribute node kinds, the
//! qualified-name separator).
//!
//! Queries live in `queries/<lang>/*.scm` and are compiled into the binary with
//! `include_str!`. A language's tags query is the concatenation of its
//! [`LanguageSpec::tags_files`] (TypeScript = `javascript/tags.scm` +
//! `typescript/tags.scm`, ...); at run time the tags and imports queries of a
//! language are compiled together into one [`tree_sitter::Query`] so that a file is
//! matched in one pass. Each language's query is compiled on first use and cached
//! for the life of the process.

use std::sync::OnceLock;

use codectx_core::{Language, SymbolKind};
use tree_sitter::Query;

/// A query source file: its path under `queries/` and its text.
pub type QueryFile = (&'static str, &'static str);

macro_rules! query_file {
    ($path:literal) => {
        ($path, include_str!(concat!("../queries/", $path)))
    };
}

const PYTHON_TAGS: QueryFile = query_file!("python/tags.scm");
const PYTHON_IMPORTS: QueryFile = query_file!("python/imports.scm");
const RUST_TAGS: QueryFile = query_file!("rust/tags.scm");
const RUST_IMPORTS: QueryFile = query_file!("rust/imports.scm");
const JS_TAGS: QueryFile = query_file!("javascript/tags.scm");
const JS_ONLY_TAGS: QueryFile = query_file!("javascript/tags-js.scm");
const JS_IMPORTS: QueryFile = query_file!("javascript/imports.scm");
const TS_TAGS: QueryFile = query_file!("typescript/tags.scm");
const JSX_TAGS: QueryFile = query_file!("tsx/tags.scm");
const GO_TAGS: QueryFile = query_file!("go/tags.scm");
const GO_IMPORTS: QueryFile = query_file!("go/imports.scm");
const JAVA_TAGS: QueryFile = query_file!("java/tags.scm");
const JAVA_IMPORTS: QueryFile = query_file!("java/imports.scm");
const C_TAGS: QueryFile = query_file!("c/tags.scm");
const C_GLOBALS: QueryFile = query_file!("c/globals.scm");
const C_IMPORTS: QueryFile = query_file!("c/imports.scm");
const CPP_TAGS: QueryFile = query_file!("cpp/tags.scm");
const CPP_IMPORTS: QueryFile = query_file!("cpp/imports.scm");

/// What the extractor needs to know about one language with a grammar.
#[derive(Debug)]
pub struct LanguageSpec {
    /// The language.
    pub language: Language,
    /// Files whose concatenation is the tags query.
    pub tags_files: &'static [QueryFile],
    /// Files whose concatenation is the imports query.
    pub imports_files: &'static [QueryFile],
    /// Separator of qualified names: `.` or `::`.
    pub separator: &'static str,
    /// Node kinds of comments (doc comments are the comments right before a definition).
    pub comment_kinds: &'static [&'static str],
    /// Node kinds of attributes / decorators that precede a definition as siblings and
    /// belong to its span (`#[derive(..)]`, `@Component(..)` on a class member).
    pub attribute_kinds: &'static [&'static str],
    /// Node kinds that decorate the start of a definition node and are skipped when
    /// taking its signature (Python decorators, Java annotations inside `modifiers`).
    pub signature_skip_kinds: &'static [&'static str],
}

const JS_COMMENTS: &[&str] = &["comment", "html_comment"];
const JS_SKIP: &[&str] = &["decorator", "comment"];

/// The languages with a grammar, in a fixed order.
pub static SPECS: [LanguageSpec; 9] = [
    LanguageSpec {
        language: Language::Python,
        tags_files: &[PYTHON_TAGS],
        imports_files: &[PYTHON_IMPORTS],
        separator: ".",
        comment_kinds: &["comment"],
        attribute_kinds: &[],
        signature_skip_kinds: &["decorator", "comment"],
    },
    LanguageSpec {
        language: Language::Rust,
        tags_files: &[RUST_TAGS],
        imports_files: &[RUST_IMPORTS],
        separator: "::",
        comment_kinds: &["line_comment", "block_comment"],
        attribute_kinds: &["attribute_item"],
        signature_skip_kinds: &["attribute_item", "line_comment", "block_comment"],
    },
    LanguageSpec {
        language: Language::JavaScript,
        tags_files: &[JS_TAGS, JS_ONLY_TAGS, JSX_TAGS],
        imports_files: &[JS_IMPORTS],
        separator: ".",
        comment_kinds: JS_COMMENTS,
        attribute_kinds: &["decorator"],
        signature_skip_kinds: JS_SKIP,
    },
    LanguageSpec {
        language: Language::TypeScript,
        tags_files: &[JS_TAGS, TS_TAGS],
        imports_files: &[JS_IMPORTS],
        separator: ".",
        comment_kinds: JS_COMMENTS,
        attribute_kinds: &["decorator"],
        signature_skip_kinds: JS_SKIP,
    },
    LanguageSpec {
        language: Language::Tsx,
        tags_files: &[JS_TAGS, TS_TAGS, JSX_TAGS],
        imports_files: &[JS_IMPORTS],
        separator: ".",
        comment_kinds: JS_COMMENTS,
        attribute_kinds: &["decorator"],
        signature_skip_kinds: JS_SKIP,
    },
    LanguageSpec {
        language: Language::Go,
        tags_files: &[GO_TAGS],
        imports_files: &[GO_IMPORTS],
        separator: ".",
        comment_kinds: &["comment"],
        attribute_kinds: &[],
        signature_skip_kinds: &["comment"],
    },
    LanguageSpec {
        language: Language::Java,
        tags_files: &[JAVA_TAGS],
        imports_files: &[JAVA_IMPORTS],
        separator: ".",
        comment_kinds: &["line_comment", "block_comment"],
        attribute_kinds: &[],
        signature_skip_kinds: &["annotation", "marker_annotation", "line_comment", "block_comment"],
    },
    LanguageSpec {
        language: Language::C,
        tags_files: &[C_TAGS, C_GLOBALS],
        imports_files: &[C_IMPORTS],
        separator: "::",
        comment_kinds: &["comment"],
        attribute_kinds: &[],
        signature_skip_kinds: &["comment"],
    },
    LanguageSpec {
        language: Language::Cpp,
        tags_files: &[CPP_TAGS, C_GLOBALS],
        imports_files: &[CPP_IMPORTS],
        separator: "::",
        comment_kinds: &["comment"],
        attribute_kinds: &["attribute_declaration"],
        signature_skip_kinds: &["comment", "attribute_declaration"],
    },
];

/// The spec of a language, or `None` for languages without a grammar.
pub fn spec(language: Language) -> Option<&'static LanguageSpec> {
    SPECS.iter().find(|spec| spec.language == language)
}

fn slot(language: Language) -> Option<usize> {
    SPECS.iter().position(|spec| spec.language == language)
}

/// The tree-sitter grammar of a language, or `None` for languages without one.
pub fn ts_language(language: Language) -> Option<tree_sitter::Language> {
    Some(match language {
        Language::Python => tree_sitter_python::LANGUAGE.into(),
        Language::Rust => tree_sitter_rust::LANGUAGE.into(),
        Language::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
        Language::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
        Language::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
        Language::Go => tree_sitter_go::LANGUAGE.into(),
        Language::Java => tree_sitter_java::LANGUAGE.into(),
        Language::C => tree_sitter_c::LANGUAGE.into(),
        Language::Cpp => tree_sitter_cpp::LANGUAGE.into(),
        Language::Markdown | Language::Config | Language::Text => return None,
    })
}

/// What a capture of the combined query means to the extractor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// `@definition.<kind>`: the whole definition.
    Definition(SymbolKind),
    /// `@reference.<kind>`: a reference (its `@name` is the referenced identifier).
    Reference,
    /// `@name`: the name of a definition or reference.
    Name,
    /// `@scope`: text that qualifies a definition's name (Go receiver, JS prototype owner).
    Scope,
    /// `@import`: the whole import statement.
    Import,
    /// `@import.module`: the imported module as written.
    ImportModule,
    /// `@import.name`: one imported name.
    ImportName,
    /// `@import.use_tree`: a Rust use tree, flattened by the extractor.
    ImportUseTree,
    /// Anything else (`@_private` captures used by predicates, unknown tags).
    Ignored,
}

impl Role {
    fn of(name: &str) -> Role {
        if let Some(tag) = name.strip_prefix("definition.") {
            return SymbolKind::from_tag(tag).map_or(Role::Ignored, Role::Definition);
        }
        if name.starts_with("reference.") {
            return Role::Reference;
        }
        match name {
            "name" => Role::Name,
            "scope" => Role::Scope,
            "import" => Role::Import,
            "import.module" => Role::ImportModule,
            "import.name" => Role::ImportName,
            "import.use_tree" => Role::ImportUseTree,
            _ => Role::Ignored,
        }
    }
}

/// A language's grammar with its compiled (tags + imports) query.
pub struct Grammar {
    spec: &'static LanguageSpec,
    ts_language: tree_sitter::Language,
    query: Query,
    roles: Vec<Role>,
}

impl std::fmt::Debug for Grammar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grammar")
            .field("language", &self.spec.language)
            .field("patterns", &self.query.pattern_count())
            .finish()
    }
}

impl Grammar {
    /// The language.
    pub fn language(&self) -> Language {
        self.spec.language
    }

    /// Its spec.
    pub fn spec(&self) -> &'static LanguageSpec {
        self.spec
    }

    /// The tree-sitter grammar.
    pub fn ts_language(&self) -> &tree_sitter::Language {
        &self.ts_language
    }

    /// The combined tags + imports query.
    pub fn query(&self) -> &Query {
        &self.query
    }

    pub(crate) fn role(&self, capture_index: u32) -> Role {
        self.roles.get(capture_index as usize).copied().unwrap_or(Role::Ignored)
    }

    fn compile(spec: &'static LanguageSpec) -> Result<Grammar, String> {
        let ts_language = ts_language(spec.language).ok_or_else(|| format!("{}: no grammar", spec.language))?;
        let files: Vec<QueryFile> = spec.tags_files.iter().chain(spec.imports_files).copied().collect();
        let query = compile_files(&ts_language, spec.language, &files)?;
        let roles = query.capture_names().iter().map(|name| Role::of(name)).collect();
        Ok(Grammar { spec, ts_language, query, roles })
    }
}

/// Compiles the concatenation of `files`; an error names the file and line at fault.
fn compile_files(
    ts_language: &tree_sitter::Language,
    language: Language,
    files: &[QueryFile],
) -> Result<Query, String> {
    let mut source = String::new();
    let mut starts = Vec::with_capacity(files.len());
    for (path, text) in files {
        starts.push((source.lines().count(), *path));
        source.push_str(text);
        if !source.ends_with('\n') {
            source.push('\n');
        }
    }
    Query::new(ts_language, &source).map_err(|error| {
        let (first_row, path) = starts.iter().rev().find(|(row, _)| *row <= error.row).copied().unwrap_or((0, "?"));
        format!(
            "{language}: queries/{path}:{}:{}: {:?} error: {}",
            error.row - first_row + 1,
            error.column + 1,
            error.kind,
            error.message.lines().next().unwrap_or_default()
        )
    })
}

/// The compiled grammar of a language: `None` for languages without a grammar, or
/// if its queries do not compile (which [`check_queries`] reports; such files are
/// chunked as text windows). Compiled on first use, then shared.
pub fn grammar(language: Language) -> Option<&'static Grammar> {
    static GRAMMARS: [OnceLock<Option<Grammar>>; 9] = [const { OnceLock::new() }; 9];
    let index = slot(language)?;
    GRAMMARS[index].get_or_init(|| Grammar::compile(&SPECS[index]).ok()).as_ref()
}

/// Compiles every language's queries (tags and imports, combined as they are used).
///
/// Returns `Err` with one line per failure, naming the file, line and column at
/// fault, e.g. `typescript: queries/javascript/tags.scm:12:3: NodeType error: ...`.
/// Used by a test and at startup; the compiled queries are kept for [`grammar`], so
/// this costs nothing later (about 0.1–0.5 s per language the first time).
pub fn check_queries() -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    for spec in &SPECS {
        if grammar(spec.language).is_some() {
            continue;
        }
        let Some(ts_language) = ts_language(spec.language) else {
            errors.push(format!("{}: no grammar", spec.language));
            continue;
        };
        let before = errors.len();
        for files in [spec.tags_files, spec.imports_files] {
            if let Err(error) = compile_files(&ts_language, spec.language, files) {
                errors.push(error);
            }
        }
        if errors.len() == before {
            let files: Vec<QueryFile> = spec.tags_files.iter().chain(spec.imports_files).copied().collect();
            errors.push(
                compile_files(&ts_language, spec.language, &files)
                    .err()
                    .unwrap_or_else(|| format!("{}: the combined query does not compile", spec.language)),
            );
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}
