; Rust imports query. Vocabulary as in python/imports.scm, plus:
;   @import.use_tree  the argument of a `use` declaration; the extractor flattens the
;                     tree (`a::{b::C, d}`) into one Import per module path:
;                     `use crate::walk::{Walker, Entry}` -> module `crate::walk`,
;                     names `Walker`, `Entry`.
; `mod foo;` (no body) imports module `foo`; `extern crate foo;` module `foo`.

(use_declaration
  argument: (_) @import.use_tree) @import

(mod_item
  name: (identifier) @import.module
  !body) @import

(extern_crate_declaration
  name: (identifier) @import.module) @import
