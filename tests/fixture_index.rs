//! Indexing the polyglot fixture: which files, symbols (kinds, qualified names, line
//! spans), resolved imports, chunks, and the counters a user sees.

use std::collections::BTreeSet;

use codectx_core::{ChunkKind, Language, SearchRequest, Symbol, SymbolKind};
use codectx_retrieve::RetrieveOptions;

use crate::util::{self, brace_block_end, line_of, python_block_end, shared_index};

/// Every file of the fixture that must be indexed, and nothing else.
const INDEXED: &[&str] = &[
    "README.md",
    "c/src/list.c",
    "c/src/list.h",
    "config.toml",
    "cpp/include/geometry/shape.h",
    "cpp/src/shape.cpp",
    "goapp/go.mod",
    "goapp/main.go",
    "goapp/server/server.go",
    "java/src/main/java/com/acme/App.java",
    "java/src/main/java/com/acme/util/Parser.java",
    "legacy/latin1.py",
    "links/notes.md",
    "pyapp/__init__.py",
    "pyapp/models.py",
    "pyapp/sessions.py",
    "pyapp/utils.py",
    "rustlib/Cargo.toml",
    "rustlib/src/lib.rs",
    "rustlib/src/util/mod.rs",
    "rustlib/src/walk.rs",
    "tests/test_sessions.py",
    "web/lib/format.js",
    "web/src/api/index.ts",
    "web/src/components/UserCard.tsx",
    "web/src/index.ts",
];

/// The one symbol of `path` whose qualified name is exactly `qualified` and whose kind
/// is `kind` (any kind when `None`).
fn symbol_in(path: &str, qualified: &str, kind: Option<SymbolKind>) -> Symbol {
    let snapshot = &shared_index().snapshot;
    let (file, _) = snapshot.file(path).unwrap_or_else(|| panic!("{path} is indexed"));
    let found: Vec<Symbol> = snapshot
        .find_symbols(qualified)
        .into_iter()
        .filter(|reference| reference.file == file)
        .map(|reference| snapshot.symbol(reference).clone())
        .filter(|symbol| symbol.qualified_name == qualified && kind.is_none_or(|kind| symbol.kind == kind))
        .collect();
    if found.len() != 1 {
        let last = qualified.rsplit([':', '.']).next().unwrap_or(qualified);
        let named: Vec<String> = snapshot
            .symbols_named(last)
            .iter()
            .map(|&reference| {
                let symbol = snapshot.symbol(reference);
                let at = &snapshot.file_at(reference.file).record.path;
                format!(
                    "{} {} at {at}:{}-{}",
                    symbol.kind, symbol.qualified_name, symbol.span.start_line, symbol.span.end_line
                )
            })
            .collect();
        panic!("expected one {kind:?} {qualified} in {path}, found {}; symbols named {last}: {named:#?}", found.len());
    }
    found.into_iter().next().unwrap()
}

/// Checks a symbol's kind and line span in `path`.
fn assert_symbol(qualified: &str, path: &str, kind: SymbolKind, start_line: u32, end_line: u32) -> Symbol {
    let symbol = symbol_in(path, qualified, Some(kind));
    assert_eq!(
        (symbol.span.start_line, symbol.span.end_line),
        (start_line, end_line),
        "line span of {qualified} in {path}"
    );
    let name = qualified.rsplit([':', '.']).next().unwrap_or(qualified);
    assert_eq!(symbol.name, name, "bare name of {qualified}");
    symbol
}

/// Paths `from` imports that resolved to a repository file.
fn resolved_imports(from: &str) -> Vec<(String, Option<String>)> {
    let (_, entry) = shared_index().snapshot.file(from).unwrap_or_else(|| panic!("{from} is indexed"));
    entry.parsed.imports.iter().map(|import| (import.module.clone(), import.resolved.clone())).collect()
}

fn assert_resolves(from: &str, module_fragment: &str, to: &str) {
    let imports = resolved_imports(from);
    let edge =
        imports.iter().find(|(module, resolved)| module.contains(module_fragment) && resolved.as_deref() == Some(to));
    assert!(edge.is_some(), "{from}: an import of {module_fragment:?} should resolve to {to}; imports: {imports:?}");
    // The reverse edge is what `deps` and GetFileDependencies show.
    let snapshot = &shared_index().snapshot;
    let (target, _) = snapshot.file(to).expect("target indexed");
    let importers: Vec<&str> =
        snapshot.imported_by(target).iter().map(|&(file, _)| snapshot.file_at(file).record.path.as_str()).collect();
    assert!(importers.contains(&from), "{to} should be imported by {from}; importers: {importers:?}");
}

fn assert_external(from: &str, module: &str) {
    let imports = resolved_imports(from);
    let edge = imports.iter().find(|(written, _)| written.trim_matches(['"', '<', '>', '\'']) == module);
    let (_, resolved) =
        edge.unwrap_or_else(|| panic!("{from} should record the import of {module}; imports: {imports:?}"));
    assert_eq!(resolved, &None, "{from}: {module} is external and must not resolve to a repository file");
}

#[test]
fn indexes_exactly_the_source_files_and_skips_ignored_binary_oversized_and_looped_ones() {
    let index = shared_index();
    let indexed: BTreeSet<&str> = index.snapshot.files().iter().map(|entry| entry.record.path.as_str()).collect();
    let expected: BTreeSet<&str> = INDEXED.iter().copied().collect();
    let missing: Vec<_> = expected.difference(&indexed).collect();
    let unexpected: Vec<_> = indexed.difference(&expected).collect();
    assert!(missing.is_empty() && unexpected.is_empty(), "missing: {missing:?}, unexpected: {unexpected:?}");

    // Nothing of the ignored files is searchable.
    for name in ["generated_ignored_function", "scratch_ignored_function", "oversized_marker_function"] {
        assert!(index.snapshot.symbols_named(name).is_empty(), "{name} comes from a file that must not be indexed");
    }
    let hits = codectx_retrieve::search(
        &index.snapshot,
        &SearchRequest {
            query: "ignored_log_marker binary_marker_text".into(),
            limit: 10,
            filter: Default::default(),
            mode: None,
        },
        &RetrieveOptions::default(),
    )
    .expect("search");
    let paths: Vec<&str> = hits.iter().map(|hit| hit.path.as_str()).collect();
    assert!(
        !paths.iter().any(|path| path.ends_with(".log") || path.ends_with(".bin")),
        "ignored and binary files must not be searchable: {paths:?}"
    );
}

#[test]
fn counts_what_it_skipped_in_the_run_statistics() {
    let index = shared_index();
    let stats = &index.stats;
    assert_eq!(stats.files, INDEXED.len() as u64, "{stats:?}");
    assert_eq!(stats.parsed, stats.files, "a first run parses every file: {stats:?}");
    assert_eq!(stats.reused, 0, "{stats:?}");
    assert_eq!(stats.generation, 1, "{stats:?}");
    assert_eq!(stats.skipped_binary, 1, "assets/logo.bin is binary: {stats:?}");
    assert_eq!(stats.skipped_too_large, 1, "data/big.py is over 64 KiB: {stats:?}");
    assert_eq!(stats.invalid_utf8, 1, "legacy/latin1.py is not UTF-8: {stats:?}");
    assert_eq!(stats.unreadable, 1, "the symlink loop links/loop is the only walk error: {stats:?}");
    assert_eq!(stats.parse_timeouts, 0, "{stats:?}");

    // The counters agree with what the generation holds.
    let files = index.snapshot.files();
    let symbols: usize = files.iter().map(|entry| entry.parsed.symbols.len()).sum();
    let chunks: usize = files.iter().map(|entry| entry.parsed.chunks.len()).sum();
    let imports: usize = files.iter().map(|entry| entry.parsed.imports.len()).sum();
    let resolved: usize =
        files.iter().flat_map(|entry| &entry.parsed.imports).filter(|import| import.resolved.is_some()).count();
    assert_eq!(
        (stats.symbols, stats.chunks, stats.imports, stats.resolved_imports),
        (symbols as u64, chunks as u64, imports as u64, resolved as u64)
    );
    let bytes: u64 = files.iter().map(|entry| entry.record.size).sum();
    assert_eq!(stats.bytes, bytes);
    assert_eq!(index.snapshot.manifest().fingerprint.len(), 16, "fingerprint is 16 hex digits");
}

#[test]
fn indexes_a_file_that_is_not_utf8_lossily() {
    let snapshot = &shared_index().snapshot;
    let (file, entry) = snapshot.file("legacy/latin1.py").expect("legacy/latin1.py is indexed");
    assert!(entry.record.lossy, "the file is marked as decoded lossily");
    assert_eq!(entry.record.language, Language::Python);
    let start = line_of("legacy/latin1.py", "def legacy_greeting");
    let greeting = entry
        .parsed
        .symbols
        .iter()
        .find(|symbol| symbol.name == "legacy_greeting")
        .expect("legacy_greeting is extracted from the lossily decoded file");
    assert_eq!(greeting.kind, SymbolKind::Function);
    assert_eq!((greeting.span.start_line, greeting.span.end_line), (start, start + 2));
    let text: String = (0..entry.parsed.chunks.len() as u32)
        .map(|ordinal| snapshot.chunk_text(file, ordinal).expect("chunk text"))
        .collect();
    assert!(text.contains("caf\u{FFFD}"), "the Latin-1 byte becomes U+FFFD: {text}");
}

#[test]
fn survives_a_symlink_loop() {
    let link = util::fixture_root().join("links/loop");
    assert!(std::fs::symlink_metadata(&link).expect("links/loop exists").file_type().is_symlink());
    let snapshot = &shared_index().snapshot;
    let under_links: Vec<&str> = snapshot
        .files()
        .iter()
        .map(|entry| entry.record.path.as_str())
        .filter(|path| path.starts_with("links/"))
        .collect();
    assert_eq!(under_links, ["links/notes.md"], "the loop is not followed");
}

#[test]
fn extracts_python_symbols_with_spans_docstrings_and_decorators() {
    let path = "pyapp/sessions.py";
    let class_start = line_of(path, "class Session:");
    let session = assert_symbol("Session", path, SymbolKind::Class, class_start, python_block_end(path, class_start));
    assert_eq!(
        session.doc.as_deref().map(str::trim),
        Some("A session: default headers, a transport, and redirect handling.")
    );

    let start = line_of(path, "def resolve_redirects(self, response):");
    let method =
        assert_symbol("Session.resolve_redirects", path, SymbolKind::Method, start, python_block_end(path, start));
    let doc = method.doc.as_deref().unwrap_or_default();
    assert!(doc.starts_with("Follow the Location headers of a redirect chain."), "docstring: {doc:?}");
    assert!(doc.contains("Raises TooManyRedirects"), "the whole docstring is kept: {doc:?}");
    assert!(!doc.contains("\"\"\""), "quotes are stripped: {doc:?}");
    assert!(method.signature.starts_with("def resolve_redirects(self, response)"), "signature: {:?}", method.signature);
    assert!(!method.signature.contains("history"), "the signature stops before the body: {:?}", method.signature);
    let parent = method.parent.expect("the method has its class as parent");
    let (file, _) = shared_index().snapshot.file(path).unwrap();
    assert_eq!(shared_index().snapshot.file_at(file).parsed.symbols[parent as usize].qualified_name, "Session");

    // A decorated method's span starts at its decorator.
    let decorator = line_of(path, "@retry(times=3)");
    assert_symbol("Session.send", path, SymbolKind::Method, decorator, python_block_end(path, decorator));
    let start = line_of(path, "def retry(times):");
    assert_symbol("retry", path, SymbolKind::Function, start, python_block_end(path, start));
    let start = line_of(path, "class TooManyRedirects(Exception):");
    assert_symbol("TooManyRedirects", path, SymbolKind::Class, start, start + 1);

    let models = "pyapp/models.py";
    let start = line_of(models, "@dataclass");
    assert_symbol("Request", models, SymbolKind::Class, start, python_block_end(models, start));
    let start = line_of(models, "@property");
    assert_symbol("Response.is_redirect", models, SymbolKind::Method, start, python_block_end(models, start));
    let start = line_of("pyapp/utils.py", "def join_location(base, location):");
    assert_symbol(
        "join_location",
        "pyapp/utils.py",
        SymbolKind::Function,
        start,
        python_block_end("pyapp/utils.py", start),
    );
}

#[test]
fn extracts_rust_symbols_qualified_by_module_path() {
    let path = "rustlib/src/walk.rs";
    let start = line_of(path, "pub struct Walker {");
    assert_symbol("walk::Walker", path, SymbolKind::Struct, start, brace_block_end(path, start));
    let start = line_of(path, "pub fn new(root: impl AsRef<Path>) -> Self {");
    let new = assert_symbol("walk::Walker::new", path, SymbolKind::Method, start, brace_block_end(path, start));
    assert_eq!(new.doc.as_deref().map(str::trim), Some("A walker rooted at `root` that descends at most 32 levels."));
    let start = line_of(path, "pub fn run(&self, visitor: &mut dyn Visit)");
    assert_symbol("walk::Walker::run", path, SymbolKind::Method, start, brace_block_end(path, start));
    let start = line_of(path, "pub trait Visit {");
    assert_symbol("walk::Visit", path, SymbolKind::Interface, start, brace_block_end(path, start));
    // Attributes belong to the definition.
    let start = line_of(path, "#[derive(Debug, Clone, PartialEq, Eq)]");
    assert_symbol("walk::Entry", path, SymbolKind::Enum, start, brace_block_end(path, start));

    let snapshot = &shared_index().snapshot;
    let (file, entry) = snapshot.file(path).unwrap();
    let impl_block =
        entry.parsed.symbols.iter().find(|symbol| symbol.kind == SymbolKind::Impl).expect("the impl block is a symbol");
    let start = line_of(path, "impl Walker {");
    assert_eq!((impl_block.span.start_line, impl_block.span.end_line), (start, brace_block_end(path, start)));
    let _ = file;

    let util = "rustlib/src/util/mod.rs";
    let start = line_of(util, "pub fn count_files(root: &str)");
    assert_symbol("util::count_files", util, SymbolKind::Function, start, brace_block_end(util, start));
    let start = line_of("rustlib/src/lib.rs", "pub const VERSION");
    assert_symbol("VERSION", "rustlib/src/lib.rs", SymbolKind::Constant, start, start);
}

#[test]
fn extracts_typescript_tsx_and_javascript_symbols() {
    let api = "web/src/api/index.ts";
    let start = line_of(api, "export interface User {");
    assert_symbol("User", api, SymbolKind::Interface, start, brace_block_end(api, start));
    let start = line_of(api, "export class ApiClient {");
    assert_symbol("ApiClient", api, SymbolKind::Class, start, brace_block_end(api, start));
    let start = line_of(api, "async fetchUserProfile(id: number)");
    let fetch =
        assert_symbol("ApiClient.fetchUserProfile", api, SymbolKind::Method, start, brace_block_end(api, start));
    assert!(fetch.doc.as_deref().unwrap_or_default().contains("Fetches one user's profile"), "doc: {:?}", fetch.doc);

    let index = "web/src/index.ts";
    let start = line_of(index, "export async function greetUser");
    assert_symbol("greetUser", index, SymbolKind::Function, start, brace_block_end(index, start));
    let card = "web/src/components/UserCard.tsx";
    let start = line_of(card, "export function UserCard(");
    assert_symbol("UserCard", card, SymbolKind::Function, start, brace_block_end(card, start));
    let start = line_of(card, "export interface UserCardProps {");
    assert_symbol("UserCardProps", card, SymbolKind::Interface, start, brace_block_end(card, start));
    let format = "web/lib/format.js";
    let start = line_of(format, "export function formatName(user) {");
    let format_name = assert_symbol("formatName", format, SymbolKind::Function, start, brace_block_end(format, start));
    assert!(format_name.doc.as_deref().unwrap_or_default().contains("Formats a user's display name"));
}

#[test]
fn extracts_go_java_c_and_cpp_symbols() {
    let server = "goapp/server/server.go";
    let start = line_of(server, "type Server struct {");
    assert_symbol("Server", server, SymbolKind::Struct, start, brace_block_end(server, start));
    let start = line_of(server, "func (s *Server) Start() error {");
    let go_start = assert_symbol("Server.Start", server, SymbolKind::Method, start, brace_block_end(server, start));
    assert!(go_start.doc.as_deref().unwrap_or_default().contains("begins listening"), "doc: {:?}", go_start.doc);
    let start = line_of(server, "func NewServer(addr string) *Server {");
    assert_symbol("NewServer", server, SymbolKind::Function, start, brace_block_end(server, start));
    let start = line_of("goapp/main.go", "func main() {");
    assert_symbol("main", "goapp/main.go", SymbolKind::Function, start, brace_block_end("goapp/main.go", start));

    let parser = "java/src/main/java/com/acme/util/Parser.java";
    let start = line_of(parser, "public class Parser {");
    assert_symbol("Parser", parser, SymbolKind::Class, start, brace_block_end(parser, start));
    let start = line_of(parser, "public List<String[]> parse(List<String> lines) {");
    assert_symbol("Parser.parse", parser, SymbolKind::Method, start, brace_block_end(parser, start));
    let app = "java/src/main/java/com/acme/App.java";
    let start = line_of(app, "public static void main(String[] args) {");
    assert_symbol("App.main", app, SymbolKind::Method, start, brace_block_end(app, start));

    // C++: an out-of-line member definition is qualified by its class.
    let shape = "cpp/src/shape.cpp";
    let area = symbol_in(shape, "Shape::area", None);
    assert!(area.kind.is_callable(), "Shape::area is a function or method, got {}", area.kind);
    let start = line_of(shape, "double Shape::area() const {");
    assert_eq!((area.span.start_line, area.span.end_line), (start, brace_block_end(shape, start)));
    let start = line_of(shape, "double bounding_ratio(const Shape& shape) {");
    assert_symbol("bounding_ratio", shape, SymbolKind::Function, start, brace_block_end(shape, start));

    let list = "c/src/list.c";
    let start = line_of(list, "struct node *list_push(struct node *head, int value) {");
    assert_symbol("list_push", list, SymbolKind::Function, start, brace_block_end(list, start));
    let start = line_of(list, "size_t list_length(const struct node *head) {");
    assert_symbol("list_length", list, SymbolKind::Function, start, brace_block_end(list, start));
    let start = line_of("c/src/list.h", "struct node {");
    assert_symbol("node", "c/src/list.h", SymbolKind::Struct, start, brace_block_end("c/src/list.h", start));
}

#[test]
fn resolves_python_relative_absolute_and_package_imports() {
    assert_resolves("pyapp/sessions.py", "models", "pyapp/models.py");
    assert_resolves("pyapp/sessions.py", "pyapp.utils", "pyapp/utils.py");
    // `from . import utils` names the submodule, not the package.
    let imports = resolved_imports("pyapp/sessions.py");
    let from_dot = imports.iter().filter(|(_, resolved)| resolved.as_deref() == Some("pyapp/utils.py")).count();
    assert_eq!(
        from_dot, 2,
        "both `import pyapp.utils` and `from . import utils` resolve to pyapp/utils.py: {imports:?}"
    );
    assert_external("pyapp/sessions.py", "logging");
    assert_resolves("pyapp/__init__.py", "sessions", "pyapp/sessions.py");
    assert_resolves("pyapp/__init__.py", "models", "pyapp/models.py");
    assert_resolves("tests/test_sessions.py", "pyapp.sessions", "pyapp/sessions.py");
    assert_resolves("tests/test_sessions.py", "pyapp.models", "pyapp/models.py");
    assert_external("tests/test_sessions.py", "unittest");

    // The import's line is where the statement is.
    let (_, entry) = shared_index().snapshot.file("pyapp/sessions.py").unwrap();
    let models = entry.parsed.imports.iter().find(|import| import.module.contains("models")).unwrap();
    assert_eq!(models.line, line_of("pyapp/sessions.py", "from .models import Request"));
    assert_eq!(models.names, ["Request"]);
}

#[test]
fn resolves_rust_typescript_go_java_and_c_imports() {
    // Rust: `mod` declarations and `crate::` / `super::` paths.
    assert_resolves("rustlib/src/lib.rs", "walk", "rustlib/src/walk.rs");
    assert_resolves("rustlib/src/lib.rs", "util", "rustlib/src/util/mod.rs");
    assert_resolves("rustlib/src/util/mod.rs", "crate::walk", "rustlib/src/walk.rs");
    assert_resolves("rustlib/src/util/mod.rs", "super", "rustlib/src/lib.rs");
    // TypeScript: a folder's index file, a .js file one level up, npm packages stay external.
    assert_resolves("web/src/index.ts", "./api", "web/src/api/index.ts");
    assert_resolves("web/src/index.ts", "../lib/format", "web/lib/format.js");
    assert_resolves("web/src/components/UserCard.tsx", "../api", "web/src/api/index.ts");
    assert_resolves("web/src/components/UserCard.tsx", "../../lib/format", "web/lib/format.js");
    assert_external("web/src/components/UserCard.tsx", "react");
    // Go: a package path under the module of go.mod resolves to the package's folder.
    assert_resolves("goapp/main.go", "example.com/goapp/server", "goapp/server/server.go");
    assert_external("goapp/main.go", "log");
    assert_external("goapp/server/server.go", "net/http");
    // Java: a class import resolves through the package folders.
    assert_resolves(
        "java/src/main/java/com/acme/App.java",
        "com.acme.util.Parser",
        "java/src/main/java/com/acme/util/Parser.java",
    );
    assert_external("java/src/main/java/com/acme/App.java", "java.util.List");
    // C and C++: quoted includes, next to the file or under an include folder.
    assert_resolves("cpp/src/shape.cpp", "geometry/shape.h", "cpp/include/geometry/shape.h");
    assert_resolves("c/src/list.c", "list.h", "c/src/list.h");
    let system: Vec<_> =
        resolved_imports("c/src/list.c").into_iter().filter(|(module, _)| module.contains("stdlib.h")).collect();
    assert!(system.iter().all(|(_, resolved)| resolved.is_none()), "<stdlib.h> is not a repository file: {system:?}");
}

#[test]
fn chunks_a_long_class_into_members_and_keeps_methods_whole() {
    let snapshot = &shared_index().snapshot;
    let path = "pyapp/sessions.py";
    let (file, entry) = snapshot.file(path).unwrap();
    let chunks = &entry.parsed.chunks;
    let method = chunks
        .iter()
        .position(|chunk| chunk.symbol_path == "Session.resolve_redirects")
        .expect("resolve_redirects has its own chunk");
    let chunk = &chunks[method];
    assert_eq!(chunk.kind, ChunkKind::Definition);
    let start = line_of(path, "def resolve_redirects(self, response):");
    assert_eq!(
        (chunk.span.start_line, chunk.span.end_line),
        (start, python_block_end(path, start)),
        "the chunk is the method"
    );
    let header = chunk.context_header.as_deref().unwrap_or_default();
    assert!(header.contains("class Session"), "a member chunk carries its class header: {header:?}");
    let text = snapshot.chunk_text(file, method as u32).unwrap();
    assert!(text.trim_start().starts_with("def resolve_redirects(self, response):"), "chunk text: {text}");
    assert!(text.trim_end().ends_with("return history"), "chunk text: {text}");

    // The class is too long for one chunk: a header chunk plus one chunk per method.
    let class_start = line_of(path, "class Session:");
    let source = util::fixture_text(path);
    let class_lines: Vec<&str> = source
        .lines()
        .skip(class_start as usize - 1)
        .take((python_block_end(path, class_start) - class_start + 1) as usize)
        .collect();
    let session_tokens = codectx_core::tokens::count(&class_lines.join("\n"));
    assert!(session_tokens > 400, "the fixture's Session class must exceed the 400-token cap");
    assert!(
        chunks.iter().any(|chunk| chunk.kind == ChunkKind::Header && chunk.symbol_path == "Session"),
        "the class's header chunk: {:?}",
        chunks.iter().map(|chunk| (&chunk.symbol_path, chunk.kind)).collect::<Vec<_>>()
    );
    for member in
        ["Session.__init__", "Session.mount", "Session.prepare", "Session.send", "Session.get", "Session.close"]
    {
        let found = chunks.iter().find(|chunk| chunk.symbol_path == member);
        assert!(found.is_some_and(|chunk| chunk.kind == ChunkKind::Definition), "{member} is its own chunk");
    }
    // The decorated method's chunk includes its decorator.
    let send = chunks.iter().find(|chunk| chunk.symbol_path == "Session.send").unwrap();
    assert_eq!(send.span.start_line, line_of(path, "@retry(times=3)"));

    // A small class stays one chunk.
    let (_, models) = snapshot.file("pyapp/models.py").unwrap();
    let request: Vec<_> =
        models.parsed.chunks.iter().filter(|chunk| chunk.symbol_path.starts_with("Request")).collect();
    assert_eq!(request.len(), 1, "the small Request class is one chunk: {request:?}");
    assert_eq!(request[0].kind, ChunkKind::Definition);
    assert_eq!(request[0].span.start_line, line_of("pyapp/models.py", "@dataclass"));
}

#[test]
fn chunks_are_ordered_disjoint_within_the_cap_and_match_the_source() {
    let snapshot = &shared_index().snapshot;
    for (file, entry) in snapshot.files().iter().enumerate() {
        let path = &entry.record.path;
        let source = String::from_utf8_lossy(&std::fs::read(util::fixture_root().join(path)).unwrap()).into_owned();
        let line_count = source.lines().count() as u32;
        assert!(!entry.parsed.chunks.is_empty(), "{path} has chunks");
        let mut previous_end = 0;
        for (ordinal, chunk) in entry.parsed.chunks.iter().enumerate() {
            let span = chunk.span;
            assert!(span.start_byte >= previous_end, "{path}: chunk {ordinal} overlaps the previous one");
            assert!(
                span.start_line >= 1 && span.start_line <= span.end_line && span.end_line <= line_count,
                "{path}: chunk {ordinal} lines {span:?}"
            );
            previous_end = span.end_byte;
            let text = snapshot.chunk_text(file as u32, ordinal as u32).expect("chunk text");
            assert_eq!(
                text,
                source[span.start_byte as usize..span.end_byte as usize],
                "{path}: chunk {ordinal} text is the source span"
            );
            let first_line = source.lines().nth(span.start_line as usize - 1).unwrap();
            assert!(
                first_line.contains(text.lines().next().unwrap_or("").trim()),
                "{path}: chunk {ordinal} starts on its start line"
            );
            if span.line_count() > 1 {
                let tokens = codectx_core::tokens::count(&text);
                assert!(tokens <= 400, "{path}: chunk {ordinal} has {tokens} tokens, over the cap");
            }
        }
    }

    // Files without a grammar are text windows, without symbols.
    for path in ["README.md", "config.toml", "goapp/go.mod"] {
        let (_, entry) = snapshot.file(path).unwrap();
        assert!(entry.parsed.symbols.is_empty(), "{path} has no symbols");
        assert!(
            entry.parsed.chunks.iter().all(|chunk| chunk.kind == ChunkKind::Window && chunk.symbol_path.is_empty()),
            "{path}"
        );
    }
    assert_eq!(snapshot.file("README.md").unwrap().1.record.language, Language::Markdown);
    assert_eq!(snapshot.file("config.toml").unwrap().1.record.language, Language::Config);
    assert_eq!(snapshot.file("web/src/components/UserCard.tsx").unwrap().1.record.language, Language::Tsx);
}

#[test]
fn splits_identifiers_so_their_parts_are_searchable() {
    assert_eq!(codectx_text::code_tokens("fetchUserProfile"), ["fetchuserprofile", "fetch", "user", "profile"]);
    assert_eq!(codectx_text::code_tokens("resolve_redirects"), ["resolve_redirects", "resolve", "redirects"]);
    assert_eq!(codectx_text::code_tokens("walk::Walker::new"), ["walk", "walker", "new"]);
    assert_eq!(codectx_text::code_tokens("pyapp/sessions.py"), ["pyapp", "sessions", "py"]);

    // "user profile" in prose finds the camelCase method.
    let method_line = line_of("web/src/api/index.ts", "async fetchUserProfile(id: number)");
    let hits = codectx_retrieve::search(
        &shared_index().snapshot,
        &SearchRequest { query: "fetch the user profile".into(), limit: 3, filter: Default::default(), mode: None },
        &RetrieveOptions::default(),
    )
    .expect("search");
    assert!(
        hits.iter().any(|hit| hit.path == "web/src/api/index.ts"
            && hit.span.start_line <= method_line
            && method_line <= hit.span.end_line),
        "a top hit holds ApiClient.fetchUserProfile: {:?}",
        hits.iter().map(|hit| (&hit.path, hit.span.start_line, hit.span.end_line, &hit.symbol)).collect::<Vec<_>>()
    );
}

#[test]
fn cli_index_reports_the_same_counters_as_the_library() {
    let index_dir = util::temp_dir();
    let cli = util::cli_index(&util::fixture_root(), index_dir.path());
    let library = &shared_index().stats;
    let key = |stats: &codectx_core::IndexStats| {
        (
            stats.files,
            stats.bytes,
            stats.symbols,
            stats.chunks,
            stats.imports,
            stats.resolved_imports,
            stats.skipped_binary,
            stats.skipped_too_large,
            stats.invalid_utf8,
            stats.generation,
        )
    };
    assert_eq!(key(&cli), key(library));
    assert!(index_dir.path().join("CURRENT").is_file(), "the index went to --index-dir");
    assert!(!util::fixture_root().join(".codectx").exists(), "nothing is written into the repository");

    // The human summary of a second (no-op) run.
    let done = util::run(
        util::codectx()
            .arg("index")
            .arg(util::fixture_root())
            .arg("--index-dir")
            .arg(index_dir.path())
            .args(["--max-file-size", "65536"]),
    )
    .success();
    let summary = format!("indexed {} files", INDEXED.len());
    assert!(done.stdout.contains(&summary), "{}", done.stdout);
    assert!(done.stdout.contains("0 parsed"), "{}", done.stdout);
    assert!(done.stdout.contains("skipped: 1 binary, 1 over the size cap"), "{}", done.stdout);
    assert!(done.stdout.contains("1 not valid UTF-8"), "{}", done.stdout);
}
