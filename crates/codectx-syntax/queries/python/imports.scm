; Python imports query.
;
; Capture vocabulary (shared by every language's imports.scm):
;   @import         the whole statement; its first line is `Import.line`. Matches with
;                   the same @import and @import.module node merge into one Import.
;   @import.module  the module as written (`a.b.c`, `..pkg.mod`, `.`).
;   @import.name    one imported name (`from m import a, b` -> `a`, `b`; `*` for
;                   wildcards); zero or more per Import, kept in source order.

(import_statement
  name: (dotted_name) @import.module) @import

(import_statement
  name: (aliased_import
    name: (dotted_name) @import.module)) @import

(import_from_statement
  module_name: (_) @import.module) @import

(import_from_statement
  module_name: (_) @import.module
  name: (dotted_name) @import.name) @import

(import_from_statement
  module_name: (_) @import.module
  name: (aliased_import
    name: (dotted_name) @import.name)) @import

(import_from_statement
  module_name: (_) @import.module
  (wildcard_import) @import.name) @import
