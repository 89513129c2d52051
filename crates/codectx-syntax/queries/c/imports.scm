; C imports query (also used for C++ via cpp/imports.scm). Vocabulary as in
; python/imports.scm. @import.module keeps the delimiters as written: `"foo/bar.h"`
; (resolved against the repository) or `<stdio.h>` (a system header, unresolved).

(preproc_include
  path: [(string_literal) (system_lib_string)] @import.module) @import
