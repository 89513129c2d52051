; Java imports query. Vocabulary as in python/imports.scm. @import.module is the
; imported name (`com.foo.Bar`, `com.foo` for `com.foo.*`); names are `*` for a
; wildcard, else the last segment (added by the extractor).

(import_declaration
  [(scoped_identifier) (identifier)] @import.module) @import

(import_declaration
  [(scoped_identifier) (identifier)] @import.module
  (asterisk) @import.name) @import
