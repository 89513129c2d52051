; C++ imports query (same as c/imports.scm). Vocabulary as in python/imports.scm.
; @import.module keeps the delimiters as written: `"foo/bar.h"` (resolved against
; the repository) or `<vector>` (a system header, unresolved).

(preproc_include
  path: [(string_literal) (system_lib_string)] @import.module) @import
