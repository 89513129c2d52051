; Go imports query. Vocabulary as in python/imports.scm. Each import spec is one
; Import (its own line); @import.module is the path without quotes.

(import_spec
  path: (interpreted_string_literal
    (interpreted_string_literal_content) @import.module)) @import

(import_spec
  path: (raw_string_literal
    (raw_string_literal_content) @import.module)) @import
