//! One realistic snippet per language: symbols, chunks, imports and their resolution.

mod common;

use codectx_core::{ChunkKind, Language, SymbolKind};
use codectx_syntax::{check_queries, resolve_imports, rust_module_path, FileSet};
use common::*;

fn files(paths: &[&str]) -> FileSet {
    FileSet::new(paths.iter().map(|p| p.to_string()))
}

#[test]
fn every_query_compiles() {
    if let Err(errors) = check_queries() {
        panic!("query errors:\n{}", errors.join("\n"));
    }
}

const PYTHON: &str = r#""""Session handling."""
import os
from collections import OrderedDict
from .models import Request, Response
from . import utils

DEFAULT_TIMEOUT = 30


class SessionRedirectMixin:
    def get_redirect_target(self, resp):
        """Return the redirect target."""
        if resp.is_redirect:
            return resp.headers["location"]
        return None


@dataclass
class Session(SessionRedirectMixin):
    """A Requests session.

    Provides cookie persistence.
    """

    timeout: int = DEFAULT_TIMEOUT

    def request(self, method: str, url: str) -> Response:
        req = Request(method=method, url=url)
        return self.send(req)

    # Sends a prepared request.
    def send(self, request, **kwargs):
        adapter = self.get_adapter(url=request.url)
        return adapter.send(request, **kwargs)


def session():
    return Session()
"#;

#[test]
fn python() {
    let parsed = parse("requests/sessions.py", Language::Python, PYTHON);
    assert!(!parsed.has_errors);
    let names: Vec<_> = parsed.symbols.iter().map(|s| (s.qualified_name.as_str(), s.kind)).collect();
    assert_eq!(
        names,
        [
            ("DEFAULT_TIMEOUT", SymbolKind::Constant),
            ("SessionRedirectMixin", SymbolKind::Class),
            ("SessionRedirectMixin.get_redirect_target", SymbolKind::Method),
            ("Session", SymbolKind::Class),
            ("Session.request", SymbolKind::Method),
            ("Session.send", SymbolKind::Method),
            ("session", SymbolKind::Function),
        ]
    );
    let target = symbol(&parsed, "SessionRedirectMixin.get_redirect_target");
    assert_eq!(lines(target), (11, 15));
    assert_eq!(target.signature, "def get_redirect_target(self, resp):");
    assert_eq!(target.doc.as_deref(), Some("Return the redirect target."));
    assert_eq!(target.parent, Some(1));

    let session = symbol(&parsed, "Session");
    assert_eq!(lines(session), (18, 34), "the span includes the decorator");
    assert_eq!(session.signature, "class Session(SessionRedirectMixin):");
    assert_eq!(session.doc.as_deref(), Some("A Requests session.\n\nProvides cookie persistence."));
    assert_eq!(session.name, "Session");
    assert_eq!(session.name_span.start_line, 19);
    let request = symbol(&parsed, "Session.request");
    assert_eq!(request.signature, "def request(self, method: str, url: str) -> Response:");
    assert_eq!(request.doc, None);
    assert_eq!(symbol(&parsed, "Session.send").doc.as_deref(), Some("Sends a prepared request."));

    // Default cap: top-level code, then one chunk per definition.
    assert_eq!(
        summary(&parsed),
        [
            (ChunkKind::TopLevel, 1, 7, String::new()),
            (ChunkKind::Definition, 10, 15, "SessionRedirectMixin".into()),
            (ChunkKind::Definition, 18, 34, "Session".into()),
            (ChunkKind::Definition, 37, 38, "session".into()),
        ]
    );
    let session_chunk = chunk(&parsed, ChunkKind::Definition, "session");
    assert_eq!(session_chunk.symbol, Some(6));
    assert_eq!(session_chunk.references, ["Session"]);

    // A small cap splits the class into a header and its methods.
    let split = parse_with_cap("requests/sessions.py", Language::Python, PYTHON, 40);
    let header = chunk(&split, ChunkKind::Header, "Session");
    assert_eq!(header.span.start_line, 18);
    assert_eq!(header.symbol, Some(3));
    let request = chunk(&split, ChunkKind::Definition, "Session.request");
    assert_eq!((request.span.start_line, request.span.end_line), (27, 29));
    assert_eq!(request.context_header.as_deref(), Some("class Session(SessionRedirectMixin):"));
    assert!(request.references.contains(&"Request".to_string()), "{:?}", request.references);
    assert!(request.references.contains(&"send".to_string()));
    let send = chunk(&split, ChunkKind::Definition, "Session.send");
    assert_eq!(send.span.start_line, 31, "the comment before a method belongs to its chunk");

    // Imports.
    let mut imports = parsed.imports.clone();
    let modules: Vec<_> = imports.iter().map(|i| (i.module.as_str(), i.names.clone(), i.line)).collect();
    assert_eq!(
        modules,
        [
            ("os", vec![], 2),
            ("collections", vec!["OrderedDict".to_string()], 3),
            (".models", vec!["Request".into(), "Response".into()], 4),
            (".", vec!["utils".into()], 5),
        ]
    );
    let set = files(&[
        "requests/__init__.py",
        "requests/models.py",
        "requests/utils.py",
        "requests/sessions.py",
        "tests/test_requests.py",
    ]);
    resolve_imports(Language::Python, "requests/sessions.py", &mut imports, &set);
    let resolved: Vec<_> = imports.iter().map(|i| i.resolved.as_deref()).collect();
    assert_eq!(resolved, [None, None, Some("requests/models.py"), Some("requests/utils.py")]);
}

#[test]
fn python_import_resolution() {
    let set = files(&[
        "src/pkg/__init__.py",
        "src/pkg/core.py",
        "src/pkg/sub/__init__.py",
        "src/pkg/sub/mod.py",
        "tools/helper.py",
        "tools/run.py",
    ]);
    let parsed = parse(
        "tests/test_core.py",
        Language::Python,
        "import pkg.core\nimport pkg.sub.mod as m\nfrom pkg import core, sub\nfrom pkg.core import Thing\nimport numpy as np\n",
    );
    let mut imports = parsed.imports;
    resolve_imports(Language::Python, "tests/test_core.py", &mut imports, &set);
    let resolved: Vec<_> = imports.iter().map(|i| (i.module.as_str(), i.resolved.as_deref())).collect();
    assert_eq!(
        resolved,
        [
            ("pkg.core", Some("src/pkg/core.py")),
            ("pkg.sub.mod", Some("src/pkg/sub/mod.py")),
            ("pkg", Some("src/pkg/core.py")),
            ("pkg.core", Some("src/pkg/core.py")),
            ("numpy", None),
        ]
    );
    // A script importing a sibling; a relative import climbing packages.
    let mut imports = parse("tools/run.py", Language::Python, "import helper\n").imports;
    resolve_imports(Language::Python, "tools/run.py", &mut imports, &set);
    assert_eq!(imports[0].resolved.as_deref(), Some("tools/helper.py"));
    let mut imports =
        parse("src/pkg/sub/mod.py", Language::Python, "from ..core import Thing\nfrom .. import core\n").imports;
    resolve_imports(Language::Python, "src/pkg/sub/mod.py", &mut imports, &set);
    assert_eq!(imports[0].module, "..core");
    assert_eq!(imports[0].resolved.as_deref(), Some("src/pkg/core.py"));
    assert_eq!(imports[1].resolved.as_deref(), Some("src/pkg/core.py"));
}

const RUST: &str = r#"//! Walking the repository.

use std::path::{Path, PathBuf};
use crate::config::{self, Config};
use super::error::Error;

mod filter;

/// A walker over a repository.
///
/// Yields files in order.
#[derive(Debug, Clone)]
pub struct Walker {
    root: PathBuf,
    config: Config,
}

impl Walker {
    /// Creates a walker rooted at `root`.
    pub fn new(root: &Path, config: Config) -> Self {
        Walker { root: root.to_path_buf(), config }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl Iterator for Walker {
    type Item = PathBuf;

    fn next(&mut self) -> Option<PathBuf> {
        filter::next_entry(&self.root)
    }
}

pub trait Visit {
    fn visit(&mut self, path: &Path);
    fn done(&mut self) {}
}

pub const MAX_DEPTH: usize = 64;

macro_rules! walk_log {
    ($($arg:tt)*) => { eprintln!($($arg)*) };
}
"#;

#[test]
fn rust() {
    assert_eq!(rust_module_path("crates/codectx-index/src/walk.rs"), "walk");
    let parsed = parse("crates/codectx-index/src/walk.rs", Language::Rust, RUST);
    assert!(!parsed.has_errors);
    let names: Vec<_> = parsed.symbols.iter().map(|s| (s.qualified_name.as_str(), s.kind)).collect();
    assert_eq!(
        names,
        [
            ("walk::Walker", SymbolKind::Struct),
            ("walk::Walker", SymbolKind::Impl),
            ("walk::Walker::new", SymbolKind::Method),
            ("walk::Walker::root", SymbolKind::Method),
            ("walk::Walker", SymbolKind::Impl),
            ("walk::Walker::Item", SymbolKind::Type),
            ("walk::Walker::next", SymbolKind::Method),
            ("walk::Visit", SymbolKind::Interface),
            ("walk::Visit::visit", SymbolKind::Method),
            ("walk::Visit::done", SymbolKind::Method),
            ("walk::MAX_DEPTH", SymbolKind::Constant),
            ("walk::walk_log", SymbolKind::Macro),
        ]
    );
    let walker = &parsed.symbols[0];
    assert_eq!(walker.name, "Walker");
    assert_eq!(lines(walker), (12, 16), "the span includes the attribute, not the doc");
    assert_eq!(walker.signature, "pub struct Walker");
    assert_eq!(walker.doc.as_deref(), Some("A walker over a repository.\n\nYields files in order."));
    let new = symbol(&parsed, "walk::Walker::new");
    assert_eq!(new.signature, "pub fn new(root: &Path, config: Config) -> Self");
    assert_eq!(new.doc.as_deref(), Some("Creates a walker rooted at `root`."));
    assert_eq!(new.parent, Some(1));
    assert_eq!(lines(new), (20, 22));
    let trait_impl = &parsed.symbols[4];
    assert_eq!(trait_impl.signature, "impl Iterator for Walker");
    assert_eq!(trait_impl.name_span.start_line, 29);

    // One chunk per item; the doc comment and attributes belong to the struct's chunk.
    let struct_chunk = chunk(&parsed, ChunkKind::Definition, "walk::Walker");
    assert_eq!((struct_chunk.span.start_line, struct_chunk.span.end_line), (9, 16));
    assert_eq!(struct_chunk.symbol, Some(0));
    let top = &parsed.chunks[0];
    assert_eq!((top.kind, top.span.start_line, top.span.end_line), (ChunkKind::TopLevel, 1, 7));

    // A small cap splits `impl Walker` into its methods under the `impl` header.
    let split = parse_with_cap("crates/codectx-index/src/walk.rs", Language::Rust, RUST, 40);
    let header = chunk(&split, ChunkKind::Header, "walk::Walker");
    assert_eq!((header.span.start_line, header.span.end_line, header.symbol), (18, 18, Some(1)));
    let new_chunk = chunk(&split, ChunkKind::Definition, "walk::Walker::new");
    assert_eq!((new_chunk.span.start_line, new_chunk.span.end_line), (19, 22));
    assert_eq!(new_chunk.context_header.as_deref(), Some("impl Walker {"));
    assert_eq!(new_chunk.symbol, Some(2));
    assert_eq!(new_chunk.references, ["Path", "Config", "Walker", "to_path_buf"]);
    let root_chunk = chunk(&split, ChunkKind::Definition, "walk::Walker::root");
    assert_eq!((root_chunk.span.start_line, root_chunk.span.end_line), (24, 27), "with the impl's closing brace");
    // `impl Iterator for Walker` still fits: one chunk.
    let iterator = split.chunks.iter().find(|c| c.symbol == Some(4)).expect("the trait impl's chunk");
    assert_eq!((iterator.kind, iterator.span.start_line, iterator.span.end_line), (ChunkKind::Definition, 29, 35));
    assert!(iterator.references.contains(&"next_entry".to_string()), "{:?}", iterator.references);
    assert!(iterator.references.contains(&"PathBuf".to_string()));
    assert!(!iterator.references.contains(&"next".to_string()), "a chunk's own definitions are not references");

    // Imports: use trees flattened per module, `mod` declarations.
    let modules: Vec<_> = parsed.imports.iter().map(|i| (i.module.as_str(), i.names.clone(), i.line)).collect();
    assert_eq!(
        modules,
        [
            ("std::path", vec!["Path".to_string(), "PathBuf".into()], 3),
            ("crate", vec!["config".to_string()], 4),
            ("crate::config", vec!["Config".to_string()], 4),
            ("super::error", vec!["Error".to_string()], 5),
            ("filter", vec![], 7),
        ]
    );
    let set = files(&[
        "crates/codectx-index/src/lib.rs",
        "crates/codectx-index/src/config.rs",
        "crates/codectx-index/src/walk.rs",
        "crates/codectx-index/src/walk/filter.rs",
        "crates/codectx-index/src/error.rs",
        "crates/codectx-core/src/lib.rs",
        "crates/codectx-core/src/tokens.rs",
    ]);
    let mut imports = parsed.imports.clone();
    resolve_imports(Language::Rust, "crates/codectx-index/src/walk.rs", &mut imports, &set);
    let resolved: Vec<_> = imports.iter().map(|i| i.resolved.as_deref()).collect();
    assert_eq!(
        resolved,
        [
            None,
            Some("crates/codectx-index/src/config.rs"),
            Some("crates/codectx-index/src/config.rs"),
            Some("crates/codectx-index/src/error.rs"),
            Some("crates/codectx-index/src/walk/filter.rs"),
        ]
    );
    // Workspace crates by name; `mod` from the crate root.
    let mut imports = parse(
        "crates/codectx-index/src/lib.rs",
        Language::Rust,
        "mod walk;\nuse codectx_core::tokens::count;\nuse codectx_core::Span;\nuse serde::Deserialize;\n",
    )
    .imports;
    resolve_imports(Language::Rust, "crates/codectx-index/src/lib.rs", &mut imports, &set);
    let resolved: Vec<_> = imports.iter().map(|i| i.resolved.as_deref()).collect();
    assert_eq!(
        resolved,
        [
            Some("crates/codectx-index/src/walk.rs"),
            Some("crates/codectx-core/src/tokens.rs"),
            Some("crates/codectx-core/src/lib.rs"),
            None
        ]
    );
}

const GO: &str = r#"package server

import (
	"fmt"
	"net/http"

	"github.com/acme/shop/internal/store"
)

// Server serves the shop API.
// It is safe for concurrent use.
type Server struct {
	store *store.Store
	mux   *http.ServeMux
}

// Handler handles one route.
type Handler interface {
	Handle(w http.ResponseWriter, r *http.Request) error
}

const DefaultPort = 8080

// NewServer creates a server.
func NewServer(s *store.Store) *Server {
	return &Server{store: s, mux: http.NewServeMux()}
}

// Start listens on the port.
func (s *Server) Start(port int) error {
	fmt.Println("listening on", port)
	return http.ListenAndServe(fmt.Sprintf(":%d", port), s.mux)
}
"#;

#[test]
fn go() {
    let parsed = parse("internal/server/server.go", Language::Go, GO);
    assert!(!parsed.has_errors);
    let names: Vec<_> = parsed.symbols.iter().map(|s| (s.qualified_name.as_str(), s.kind)).collect();
    assert_eq!(
        names,
        [
            ("Server", SymbolKind::Struct),
            ("Handler", SymbolKind::Interface),
            ("Handler.Handle", SymbolKind::Method),
            ("DefaultPort", SymbolKind::Constant),
            ("NewServer", SymbolKind::Function),
            ("Server.Start", SymbolKind::Method),
        ]
    );
    let server = symbol(&parsed, "Server");
    assert_eq!(lines(server), (12, 15));
    assert_eq!(server.signature, "type Server struct");
    assert_eq!(server.doc.as_deref(), Some("Server serves the shop API.\nIt is safe for concurrent use."));
    let start = symbol(&parsed, "Server.Start");
    assert_eq!(start.name, "Start");
    assert_eq!(start.signature, "func (s *Server) Start(port int) error");
    assert_eq!(start.doc.as_deref(), Some("Start listens on the port."));
    assert_eq!(lines(start), (30, 33));
    assert_eq!(start.parent, None);

    let start_chunk = chunk(&parsed, ChunkKind::Definition, "Server.Start");
    assert_eq!((start_chunk.span.start_line, start_chunk.span.end_line), (29, 33));
    assert!(start_chunk.references.contains(&"ListenAndServe".to_string()));
    assert!(start_chunk.references.contains(&"Sprintf".to_string()));
    let struct_chunk = chunk(&parsed, ChunkKind::Definition, "Server");
    assert_eq!((struct_chunk.span.start_line, struct_chunk.span.end_line), (10, 15));
    assert!(struct_chunk.references.contains(&"Store".to_string()));
    let top: Vec<_> = parsed.chunks.iter().filter(|c| c.kind == ChunkKind::TopLevel).collect();
    assert_eq!((top[0].span.start_line, top[0].span.end_line), (1, 8), "package clause and imports");
    assert_eq!((top[1].span.start_line, top[1].span.end_line), (22, 22), "a one-line constant is top-level code");

    // A method over a small cap is split into windows that keep its name.
    let split = parse_with_cap("internal/server/server.go", Language::Go, GO, 40);
    let windows: Vec<_> = split.chunks.iter().filter(|c| c.symbol_path == "Server.Start").collect();
    assert_eq!(windows.len(), 2);
    assert!(windows.iter().all(|c| c.kind == ChunkKind::Window && c.symbol == Some(5)));
    assert_eq!((windows[0].span.start_line, windows[1].span.end_line), (29, 33));

    let modules: Vec<_> = parsed.imports.iter().map(|i| (i.module.as_str(), i.line)).collect();
    assert_eq!(modules, [("fmt", 4), ("net/http", 5), ("github.com/acme/shop/internal/store", 7)]);
    let set = files(&[
        "internal/store/store.go",
        "internal/store/store_test.go",
        "internal/store/a_test.go",
        "internal/store/memory.go",
        "internal/server/server.go",
        "vendor/other/http/http.go",
    ]);
    let mut imports = parsed.imports.clone();
    resolve_imports(Language::Go, "internal/server/server.go", &mut imports, &set);
    let resolved: Vec<_> = imports.iter().map(|i| i.resolved.as_deref()).collect();
    assert_eq!(resolved, [None, None, Some("internal/store/memory.go")]);
}

const JAVA: &str = r#"package com.acme.shop;

import com.acme.shop.model.Order;
import com.acme.shop.util.*;
import static com.acme.shop.util.Strings.join;
import java.util.List;

/**
 * Processes orders.
 *
 * @author acme
 */
@Service
public class OrderService extends BaseService implements Processor {
    private static final int MAX_ITEMS = 100;

    private final Repository repository;

    public OrderService(Repository repository) {
        this.repository = repository;
    }

    /** Places an order. */
    @Override
    public Order place(List<Item> items) throws ShopException {
        Order order = new Order(items);
        repository.save(order);
        return order;
    }

    interface Listener {
        void onOrder(Order order);
    }
}
"#;

#[test]
fn java() {
    let parsed = parse("src/main/java/com/acme/shop/OrderService.java", Language::Java, JAVA);
    assert!(!parsed.has_errors);
    let names: Vec<_> = parsed.symbols.iter().map(|s| (s.qualified_name.as_str(), s.kind)).collect();
    assert_eq!(
        names,
        [
            ("OrderService", SymbolKind::Class),
            ("OrderService.MAX_ITEMS", SymbolKind::Constant),
            ("OrderService.OrderService", SymbolKind::Method),
            ("OrderService.place", SymbolKind::Method),
            ("OrderService.Listener", SymbolKind::Interface),
            ("OrderService.Listener.onOrder", SymbolKind::Method),
        ]
    );
    let class = &parsed.symbols[0];
    assert_eq!(lines(class), (13, 34), "annotations are part of the declaration");
    assert_eq!(class.signature, "public class OrderService extends BaseService implements Processor");
    assert_eq!(class.doc.as_deref(), Some("Processes orders.\n\n@author acme"));
    let place = symbol(&parsed, "OrderService.place");
    assert_eq!(place.signature, "public Order place(List<Item> items) throws ShopException");
    assert_eq!(place.doc.as_deref(), Some("Places an order."));
    assert_eq!(lines(place), (24, 29));

    let split = parse_with_cap("src/main/java/com/acme/shop/OrderService.java", Language::Java, JAVA, 60);
    let place_chunk = chunk(&split, ChunkKind::Definition, "OrderService.place");
    assert_eq!((place_chunk.span.start_line, place_chunk.span.end_line), (23, 29));
    assert_eq!(
        place_chunk.context_header.as_deref(),
        Some("public class OrderService extends BaseService implements Processor {")
    );
    assert!(place_chunk.references.contains(&"Order".to_string()));
    assert!(place_chunk.references.contains(&"save".to_string()));
    let header = chunk(&split, ChunkKind::Header, "OrderService");
    assert_eq!(header.span.start_line, 8, "the class header chunk starts at its javadoc");

    let modules: Vec<_> = parsed.imports.iter().map(|i| (i.module.as_str(), i.names.clone())).collect();
    assert_eq!(
        modules,
        [
            ("com.acme.shop.model.Order", vec!["Order".to_string()]),
            ("com.acme.shop.util", vec!["*".to_string()]),
            ("com.acme.shop.util.Strings.join", vec!["join".to_string()]),
            ("java.util.List", vec!["List".to_string()]),
        ]
    );
    let set = files(&[
        "src/main/java/com/acme/shop/model/Order.java",
        "src/main/java/com/acme/shop/util/Strings.java",
        "src/main/java/com/acme/shop/util/Dates.java",
        "src/main/java/com/acme/shop/OrderService.java",
    ]);
    let mut imports = parsed.imports.clone();
    resolve_imports(Language::Java, "src/main/java/com/acme/shop/OrderService.java", &mut imports, &set);
    let resolved: Vec<_> = imports.iter().map(|i| i.resolved.as_deref()).collect();
    assert_eq!(
        resolved,
        [
            Some("src/main/java/com/acme/shop/model/Order.java"),
            Some("src/main/java/com/acme/shop/util/Dates.java"),
            Some("src/main/java/com/acme/shop/util/Strings.java"),
            None,
        ]
    );
}

const C: &str = r#"#include "util/buffer.h"
#include "config.h"
#include <stdio.h>

#define BUF_MAX 4096
#define MIN(a, b) ((a) < (b) ? (a) : (b))

/* A growable byte buffer. */
typedef struct buffer {
    char *data;
    size_t len;
} buffer_t;

enum mode { MODE_READ, MODE_WRITE };

int buffer_init(buffer_t *b, size_t cap);

/**
 * Appends bytes to the buffer.
 * Returns 0 on success.
 */
static int *buffer_append(buffer_t *b, const char *src, size_t n)
{
    if (b->len + n > BUF_MAX) {
        return NULL;
    }
    memcpy(b->data + b->len, src, n);
    b->len += n;
    return 0;
}
"#;

#[test]
fn c() {
    let parsed = parse("src/buffer.c", Language::C, C);
    assert!(!parsed.has_errors);
    let names: Vec<_> = parsed.symbols.iter().map(|s| (s.qualified_name.as_str(), s.kind)).collect();
    assert_eq!(
        names,
        [
            ("BUF_MAX", SymbolKind::Constant),
            ("MIN", SymbolKind::Macro),
            ("buffer_t", SymbolKind::Type),
            ("buffer", SymbolKind::Struct),
            ("mode", SymbolKind::Enum),
            ("buffer_init", SymbolKind::Function),
            ("buffer_append", SymbolKind::Function),
        ]
    );
    let append = symbol(&parsed, "buffer_append");
    assert_eq!(lines(append), (22, 30));
    assert_eq!(append.signature, "static int *buffer_append(buffer_t *b, const char *src, size_t n)");
    assert_eq!(append.doc.as_deref(), Some("Appends bytes to the buffer.\nReturns 0 on success."));
    let typedef = symbol(&parsed, "buffer_t");
    assert_eq!(typedef.doc.as_deref(), Some("A growable byte buffer."));
    assert_eq!(symbol(&parsed, "buffer").parent, Some(2));
    assert_eq!(symbol(&parsed, "MIN").signature, "#define MIN(a, b) ((a) < (b) ? (a) : (b))");
    assert_eq!(symbol(&parsed, "buffer_init").signature, "int buffer_init(buffer_t *b, size_t cap)");

    let append_chunk = chunk(&parsed, ChunkKind::Definition, "buffer_append");
    assert_eq!((append_chunk.span.start_line, append_chunk.span.end_line), (18, 30));
    assert!(append_chunk.references.contains(&"memcpy".to_string()));
    let typedef_chunk = chunk(&parsed, ChunkKind::Definition, "buffer_t");
    assert_eq!((typedef_chunk.span.start_line, typedef_chunk.span.end_line), (8, 12));

    let modules: Vec<_> = parsed.imports.iter().map(|i| (i.module.as_str(), i.line)).collect();
    assert_eq!(modules, [("\"util/buffer.h\"", 1), ("\"config.h\"", 2), ("<stdio.h>", 3)]);
    let set = files(&["include/util/buffer.h", "src/config.h", "src/buffer.c", "other/config.h"]);
    let mut imports = parsed.imports.clone();
    resolve_imports(Language::C, "src/buffer.c", &mut imports, &set);
    let resolved: Vec<_> = imports.iter().map(|i| i.resolved.as_deref()).collect();
    assert_eq!(resolved, [Some("include/util/buffer.h"), Some("src/config.h"), None]);
}

const CPP: &str = r#"#include "geometry/shape.hpp"
#include <vector>

namespace geo {

// A 2D point.
struct Point {
    double x, y;
};

class Polygon : public Shape {
public:
    explicit Polygon(std::vector<Point> points);
    double area() const override;
    std::size_t size() const { return points_.size(); }

private:
    std::vector<Point> points_;
};

template <typename T>
T clamp(T value, T lo, T hi) {
    return value < lo ? lo : (value > hi ? hi : value);
}

}  // namespace geo

/// Shoelace formula.
double geo::Polygon::area() const {
    double sum = 0;
    for (std::size_t i = 0; i < points_.size(); ++i) {
        sum += cross(points_[i], points_[(i + 1) % points_.size()]);
    }
    return sum / 2;
}
"#;

#[test]
fn cpp() {
    let parsed = parse("src/polygon.cpp", Language::Cpp, CPP);
    assert!(!parsed.has_errors);
    let names: Vec<_> = parsed.symbols.iter().map(|s| (s.qualified_name.as_str(), s.kind)).collect();
    assert_eq!(
        names,
        [
            ("geo", SymbolKind::Module),
            ("geo::Point", SymbolKind::Struct),
            ("geo::Polygon", SymbolKind::Class),
            ("geo::Polygon::Polygon", SymbolKind::Method),
            ("geo::Polygon::area", SymbolKind::Method),
            ("geo::Polygon::size", SymbolKind::Method),
            ("geo::clamp", SymbolKind::Function),
            ("geo::Polygon::area", SymbolKind::Method),
        ]
    );
    let out_of_line = &parsed.symbols[7];
    assert_eq!(out_of_line.name, "area");
    assert_eq!(out_of_line.signature, "double geo::Polygon::area() const");
    assert_eq!(out_of_line.doc.as_deref(), Some("Shoelace formula."));
    assert_eq!(lines(out_of_line), (29, 35));
    let clamp = symbol(&parsed, "geo::clamp");
    assert_eq!(lines(clamp), (21, 24), "a template's span includes the template line");
    assert_eq!(clamp.signature, "template <typename T> T clamp(T value, T lo, T hi)");
    assert_eq!(symbol(&parsed, "geo::Point").doc.as_deref(), Some("A 2D point."));

    // The namespace is larger than a small cap: split into its members.
    let split = parse_with_cap("src/polygon.cpp", Language::Cpp, CPP, 80);
    let polygon = chunk(&split, ChunkKind::Definition, "geo::Polygon");
    assert_eq!((polygon.span.start_line, polygon.span.end_line), (11, 19));
    assert_eq!(polygon.context_header.as_deref(), Some("namespace geo {"));
    let area = chunk(&split, ChunkKind::Definition, "geo::Polygon::area");
    assert_eq!((area.span.start_line, area.span.end_line), (28, 35));
    assert!(area.references.contains(&"cross".to_string()));

    let set = files(&["include/geometry/shape.hpp", "src/polygon.cpp"]);
    let mut imports = parsed.imports.clone();
    resolve_imports(Language::Cpp, "src/polygon.cpp", &mut imports, &set);
    let resolved: Vec<_> = imports.iter().map(|i| (i.module.as_str(), i.resolved.as_deref())).collect();
    assert_eq!(resolved, [("\"geometry/shape.hpp\"", Some("include/geometry/shape.hpp")), ("<vector>", None)]);
}

const JAVASCRIPT: &str = r#"import express from 'express';
import { formatDate, parse as parseDate } from './utils/date';
import * as db from '../db';
const config = require('./config');

const PORT = 3000;

/**
 * Builds the application.
 */
export function createApp(options) {
  const app = express();
  app.get('/', (req, res) => res.send(formatDate(new Date())));
  return app;
}

export default class Router extends BaseRouter {
  constructor(prefix) {
    super();
    this.prefix = prefix;
  }

  // Registers a route.
  route(path, handler) {
    return this.register(this.prefix + path, handler);
  }
}

const lazy = () => import('./lazy');

function App() {
  return <Layout title="home"><Header /></Layout>;
}
"#;

#[test]
fn javascript() {
    let parsed = parse("src/app.js", Language::JavaScript, JAVASCRIPT);
    assert!(!parsed.has_errors);
    let names: Vec<_> = parsed.symbols.iter().map(|s| (s.qualified_name.as_str(), s.kind)).collect();
    assert_eq!(
        names,
        [
            ("PORT", SymbolKind::Constant),
            ("createApp", SymbolKind::Function),
            ("Router", SymbolKind::Class),
            ("Router.constructor", SymbolKind::Method),
            ("Router.route", SymbolKind::Method),
            ("lazy", SymbolKind::Function),
            ("App", SymbolKind::Function),
        ]
    );
    let create = symbol(&parsed, "createApp");
    assert_eq!(lines(create), (11, 15));
    assert_eq!(create.signature, "export function createApp(options)");
    assert_eq!(create.doc.as_deref(), Some("Builds the application."));
    let route = symbol(&parsed, "Router.route");
    assert_eq!(route.doc.as_deref(), Some("Registers a route."));
    assert_eq!(route.signature, "route(path, handler)");
    assert_eq!(symbol(&parsed, "Router").signature, "export default class Router extends BaseRouter");
    assert_eq!(symbol(&parsed, "lazy").signature, "const lazy = () =>");

    let create_chunk = chunk(&parsed, ChunkKind::Definition, "createApp");
    assert_eq!((create_chunk.span.start_line, create_chunk.span.end_line), (8, 15));
    assert_eq!(create_chunk.references, ["express", "get", "send", "formatDate", "Date"]);
    let router_chunk = chunk(&parsed, ChunkKind::Definition, "Router");
    assert!(router_chunk.references.contains(&"BaseRouter".to_string()));
    let app = chunk(&parsed, ChunkKind::Definition, "App");
    assert_eq!(app.references, ["Layout", "Header"]);

    // A small cap: the class splits into its methods, the long function into windows.
    let split = parse_with_cap("src/app.js", Language::JavaScript, JAVASCRIPT, 40);
    let header = chunk(&split, ChunkKind::Header, "Router");
    assert_eq!((header.span.start_line, header.span.end_line), (17, 17));
    let constructor = chunk(&split, ChunkKind::Definition, "Router.constructor");
    assert_eq!((constructor.span.start_line, constructor.span.end_line), (18, 21));
    assert_eq!(constructor.context_header.as_deref(), Some("export default class Router extends BaseRouter {"));
    let route = chunk(&split, ChunkKind::Definition, "Router.route");
    assert_eq!((route.span.start_line, route.span.end_line), (23, 27));
    let windows: Vec<_> = split.chunks.iter().filter(|c| c.symbol_path == "createApp").collect();
    assert_eq!(windows.len(), 2);
    assert!(windows.iter().all(|c| c.kind == ChunkKind::Window && c.symbol == Some(1)));
    assert_eq!((windows[0].span.start_line, windows[1].span.end_line), (8, 15));

    let modules: Vec<_> = parsed.imports.iter().map(|i| (i.module.as_str(), i.names.clone(), i.line)).collect();
    assert_eq!(
        modules,
        [
            ("express", vec!["express".to_string()], 1),
            ("./utils/date", vec!["formatDate".to_string(), "parse".into()], 2),
            ("../db", vec!["*".to_string()], 3),
            ("./config", vec![], 4),
            ("./lazy", vec![], 29),
        ]
    );
    let set =
        files(&["src/utils/date.ts", "db/index.js", "src/config.json", "src/config.js", "src/lazy.jsx", "src/app.js"]);
    let mut imports = parsed.imports.clone();
    resolve_imports(Language::JavaScript, "src/app.js", &mut imports, &set);
    let resolved: Vec<_> = imports.iter().map(|i| i.resolved.as_deref()).collect();
    assert_eq!(
        resolved,
        [None, Some("src/utils/date.ts"), Some("db/index.js"), Some("src/config.js"), Some("src/lazy.jsx")]
    );
}

const TYPESCRIPT: &str = r#"import type { Request } from './http';
import { Cache } from './cache.js';
export { Logger } from './logger';
export * from './types';

export interface Store<T> {
  get(key: string): Promise<T | undefined>;
  set(key: string, value: T): Promise<void>;
}

export type Key = string | number;

export enum Level { Debug, Info }

/** An in-memory store. */
@injectable()
export class MemoryStore<T> implements Store<T> {
  private items = new Map<string, T>();

  async get(key: string): Promise<T | undefined> {
    return this.items.get(key);
  }

  @logged
  async set(key: string, value: T): Promise<void> {
    this.items.set(key, value);
  }
}

export const handler = async (req: Request): Promise<Response> => {
  return new Response(JSON.stringify(req));
};

namespace Internal {
  export function helper(): void {}
}
"#;

#[test]
fn typescript() {
    let parsed = parse("src/store.ts", Language::TypeScript, TYPESCRIPT);
    assert!(!parsed.has_errors);
    let names: Vec<_> = parsed.symbols.iter().map(|s| (s.qualified_name.as_str(), s.kind)).collect();
    assert_eq!(
        names,
        [
            ("Store", SymbolKind::Interface),
            ("Store.get", SymbolKind::Method),
            ("Store.set", SymbolKind::Method),
            ("Key", SymbolKind::Type),
            ("Level", SymbolKind::Enum),
            ("MemoryStore", SymbolKind::Class),
            ("MemoryStore.get", SymbolKind::Method),
            ("MemoryStore.set", SymbolKind::Method),
            ("handler", SymbolKind::Function),
            ("Internal", SymbolKind::Module),
            ("Internal.helper", SymbolKind::Function),
        ]
    );
    let store = symbol(&parsed, "MemoryStore");
    assert_eq!(lines(store), (16, 28), "the span includes the decorator");
    assert_eq!(store.signature, "export class MemoryStore<T> implements Store<T>");
    assert_eq!(store.doc.as_deref(), Some("An in-memory store."));
    let set = symbol(&parsed, "MemoryStore.set");
    assert_eq!(lines(set), (24, 27), "a member's decorator is part of its span");
    assert_eq!(set.signature, "async set(key: string, value: T): Promise<void>");
    assert_eq!(
        symbol(&parsed, "handler").signature,
        "export const handler = async (req: Request): Promise<Response> =>"
    );

    let split = parse_with_cap("src/store.ts", Language::TypeScript, TYPESCRIPT, 30);
    let set_chunk = chunk(&split, ChunkKind::Definition, "MemoryStore.set");
    assert_eq!((set_chunk.span.start_line, set_chunk.span.end_line), (24, 28), "with the class's closing brace");
    assert_eq!(set_chunk.references, ["logged", "Promise"]);
    assert_eq!(set_chunk.context_header.as_deref(), Some("export class MemoryStore<T> implements Store<T> {"));
    let handler = chunk(&parsed, ChunkKind::Definition, "handler");
    assert!(handler.references.contains(&"Response".to_string()));
    assert!(handler.references.contains(&"stringify".to_string()));
    assert!(handler.references.contains(&"Request".to_string()));

    let modules: Vec<_> = parsed.imports.iter().map(|i| (i.module.as_str(), i.names.clone())).collect();
    assert_eq!(
        modules,
        [
            ("./http", vec!["Request".to_string()]),
            ("./cache.js", vec!["Cache".to_string()]),
            ("./logger", vec!["Logger".to_string()]),
            ("./types", vec!["*".to_string()]),
        ]
    );
    let files = files(&["src/http/index.ts", "src/cache.ts", "src/logger.tsx", "src/types.d.ts"]);
    let mut imports = parsed.imports.clone();
    resolve_imports(Language::TypeScript, "src/store.ts", &mut imports, &files);
    let resolved: Vec<_> = imports.iter().map(|i| i.resolved.as_deref()).collect();
    assert_eq!(
        resolved,
        [Some("src/http/index.ts"), Some("src/cache.ts"), Some("src/logger.tsx"), Some("src/types.d.ts")]
    );
}

const TSX: &str = r#"import React, { useState } from 'react';
import { Button } from './components/Button';

interface Props {
  label: string;
}

/** A counter button. */
export function Counter({ label }: Props) {
  const [count, setCount] = useState(0);
  return (
    <div className="counter">
      <Button onClick={() => setCount(count + 1)}>{label}</Button>
      <Icons.Plus />
    </div>
  );
}

export const Wrapper: React.FC<Props> = (props) => <Counter {...props} />;
"#;

#[test]
fn tsx() {
    let parsed = parse("src/Counter.tsx", Language::Tsx, TSX);
    assert!(!parsed.has_errors);
    let names: Vec<_> = parsed.symbols.iter().map(|s| (s.qualified_name.as_str(), s.kind)).collect();
    assert_eq!(
        names,
        [("Props", SymbolKind::Interface), ("Counter", SymbolKind::Function), ("Wrapper", SymbolKind::Function)]
    );
    let counter = symbol(&parsed, "Counter");
    assert_eq!(lines(counter), (9, 17));
    assert_eq!(counter.signature, "export function Counter({ label }: Props)");
    assert_eq!(counter.doc.as_deref(), Some("A counter button."));
    let chunk = chunk(&parsed, ChunkKind::Definition, "Counter");
    assert_eq!((chunk.span.start_line, chunk.span.end_line), (8, 17));
    assert_eq!(chunk.references, ["Props", "useState", "Button", "setCount", "Plus"]);
    let wrapper = common::chunk(&parsed, ChunkKind::Definition, "Wrapper");
    assert!(wrapper.references.contains(&"Counter".to_string()));

    let set = files(&["src/components/Button.tsx", "src/Counter.tsx"]);
    let mut imports = parsed.imports.clone();
    resolve_imports(Language::Tsx, "src/Counter.tsx", &mut imports, &set);
    let resolved: Vec<_> = imports.iter().map(|i| (i.module.as_str(), i.resolved.as_deref())).collect();
    assert_eq!(resolved, [("react", None), ("./components/Button", Some("src/components/Button.tsx"))]);
}

#[test]
fn javascript_class_fields_prototypes_and_object_methods() {
    let source = r#"class Toggle extends Component {
  handleClick = () => {
    this.setState({ on: !this.state.on });
  };
}

function Legacy() {}
Legacy.prototype.start = function () {
  return this.run();
};

module.exports = {
  helper: function () { return 1; },
  other() { return 2; },
};
"#;
    for (language, path) in
        [(Language::JavaScript, "toggle.js"), (Language::TypeScript, "toggle.ts"), (Language::Tsx, "toggle.tsx")]
    {
        let parsed = parse(path, language, source);
        let names: Vec<_> = parsed.symbols.iter().map(|s| (s.qualified_name.as_str(), s.kind)).collect();
        assert_eq!(
            names,
            [
                ("Toggle", SymbolKind::Class),
                ("Toggle.handleClick", SymbolKind::Method),
                ("Legacy", SymbolKind::Function),
                ("Legacy.start", SymbolKind::Method),
                ("helper", SymbolKind::Function),
                ("other", SymbolKind::Method),
            ],
            "{language}"
        );
        assert_eq!(symbol(&parsed, "Toggle.handleClick").signature, "handleClick = () =>");
        assert_eq!(lines(symbol(&parsed, "Legacy.start")), (8, 10));
    }
}

fn import(module: &str, names: &[&str]) -> codectx_core::Import {
    codectx_core::Import {
        module: module.into(),
        names: names.iter().map(|n| n.to_string()).collect(),
        line: 1,
        resolved: None,
    }
}

#[test]
fn resolution_edge_cases() {
    let set = FileSet::new(
        [
            "./web/a/b.ts",
            "web/a/index.tsx",
            "web/c.d.ts",
            "pkg/__init__.py",
            "pkg/mod.py",
            "cmd/os/main.go",
            "src/lib.rs",
        ]
        .iter()
        .map(|p| p.to_string()),
    );
    assert_eq!(set.len(), 7);
    assert!(set.contains("web/a/b.ts"), "a leading ./ is ignored");
    assert!(!set.contains("web/a/zz.ts"));

    // JS: bare specifiers, paths above the root, directories, declaration files.
    let mut imports = vec![
        import("react", &[]),
        import("../../../x", &[]),
        import("./a", &[]),
        import("./c", &[]),
        import("./a/b?raw", &[]),
    ];
    resolve_imports(Language::TypeScript, "web/main.ts", &mut imports, &set);
    let resolved: Vec<_> = imports.iter().map(|i| i.resolved.as_deref()).collect();
    assert_eq!(resolved, [None, None, Some("web/a/index.tsx"), Some("web/c.d.ts"), Some("web/a/b.ts")]);

    // Python: a name that is not a submodule resolves to the package itself,
    // which is never the importing file.
    let mut imports = vec![import(".", &["VERSION"]), import(".mod", &["f"])];
    resolve_imports(Language::Python, "pkg/__init__.py", &mut imports, &set);
    let resolved: Vec<_> = imports.iter().map(|i| i.resolved.as_deref()).collect();
    assert_eq!(resolved, [None, Some("pkg/mod.py")]);

    // Go: standard-library paths must match a directory whole; a top-level package
    // directory is a suffix of its import path.
    let mut imports = vec![
        import("os", &[]),
        import("example.com/tool/cmd/os", &[]),
        import("golang.org/x/sys/os", &[]),
        import("example.com/tool/web", &[]),
    ];
    let go_set = FileSet::new(["cmd/os/main.go", "web/server_test.go", "web/server.go"].map(String::from));
    resolve_imports(Language::Go, "main.go", &mut imports, &go_set);
    let resolved: Vec<_> = imports.iter().map(|i| i.resolved.as_deref()).collect();
    assert_eq!(resolved, [None, Some("cmd/os/main.go"), None, Some("web/server.go")]);

    // Rust: `super` above the crate root, external crates.
    let mut imports = vec![import("super::x", &[]), import("serde", &["Serialize"]), import("crate", &["missing"])];
    resolve_imports(Language::Rust, "src/lib.rs", &mut imports, &set);
    let resolved: Vec<_> = imports.iter().map(|i| i.resolved.as_deref()).collect();
    assert_eq!(resolved, [None, None, None], "`crate` alone is the importing file itself");

    // Languages without imports are left alone; empty sets resolve nothing.
    let mut imports = vec![import("./x", &[])];
    resolve_imports(Language::Markdown, "README.md", &mut imports, &set);
    resolve_imports(Language::JavaScript, "a.js", &mut imports, &FileSet::new(Vec::new()));
    assert_eq!(imports[0].resolved, None);
}

#[test]
fn parses_concurrently_on_many_threads() {
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                scope.spawn(move || {
                    for i in 0..20 {
                        let parsed = parse("requests/sessions.py", Language::Python, PYTHON);
                        assert_eq!(parsed.symbols.len(), 7, "thread {t} run {i}");
                        let parsed = parse("src/polygon.cpp", Language::Cpp, CPP);
                        assert_eq!(parsed.symbols.len(), 8);
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().expect("no panic");
        }
    });
}

#[test]
fn signatures_stop_at_the_head_and_directives_are_not_docs() {
    let parsed = parse(
        "s.py",
        Language::Python,
        "# noqa: E501\ndef f(a):  # trailing note\n    # first comment\n    return a\n",
    );
    let f = symbol(&parsed, "f");
    assert_eq!(f.signature, "def f(a):");
    assert_eq!(f.doc, None);
    let parsed = parse("s.rs", Language::Rust, "fn g() -> u8 // why\n{\n    1\n}\n");
    assert_eq!(symbol(&parsed, "s::g").signature, "fn g() -> u8");
    let parsed =
        parse("s.go", Language::Go, "package p\n\n//go:generate stringer -type=T\n// T is a thing.\ntype T int\n");
    assert_eq!(symbol(&parsed, "T").doc.as_deref(), Some("T is a thing."));
}
