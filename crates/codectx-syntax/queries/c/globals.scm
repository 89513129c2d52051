; Global variables with an initializer, shared by the C and C++ tags queries (the
; node types are the same in both grammars): declared directly in the file, in
; preprocessor conditionals, in `extern "C"` blocks and (C++) namespaces. Locals in
; function bodies are not definitions, so each allowed parent is listed; a query
; cannot say "any parent but a compound statement".

(translation_unit
  (declaration
    declarator: (init_declarator
      declarator: [
        (identifier) @name
        (pointer_declarator declarator: (identifier) @name)
        (array_declarator declarator: (identifier) @name)
        (array_declarator declarator: (array_declarator declarator: (identifier) @name))
        (array_declarator
          declarator: (array_declarator declarator: (array_declarator declarator: (identifier) @name)))
      ])) @definition.variable)

(preproc_if
  (declaration
    declarator: (init_declarator
      declarator: [
        (identifier) @name
        (pointer_declarator declarator: (identifier) @name)
        (array_declarator declarator: (identifier) @name)
        (array_declarator declarator: (array_declarator declarator: (identifier) @name))
        (array_declarator
          declarator: (array_declarator declarator: (array_declarator declarator: (identifier) @name)))
      ])) @definition.variable)

(preproc_ifdef
  (declaration
    declarator: (init_declarator
      declarator: [
        (identifier) @name
        (pointer_declarator declarator: (identifier) @name)
        (array_declarator declarator: (identifier) @name)
        (array_declarator declarator: (array_declarator declarator: (identifier) @name))
        (array_declarator
          declarator: (array_declarator declarator: (array_declarator declarator: (identifier) @name)))
      ])) @definition.variable)

(preproc_else
  (declaration
    declarator: (init_declarator
      declarator: [
        (identifier) @name
        (pointer_declarator declarator: (identifier) @name)
        (array_declarator declarator: (identifier) @name)
        (array_declarator declarator: (array_declarator declarator: (identifier) @name))
        (array_declarator
          declarator: (array_declarator declarator: (array_declarator declarator: (identifier) @name)))
      ])) @definition.variable)

(preproc_elif
  (declaration
    declarator: (init_declarator
      declarator: [
        (identifier) @name
        (pointer_declarator declarator: (identifier) @name)
        (array_declarator declarator: (identifier) @name)
        (array_declarator declarator: (array_declarator declarator: (identifier) @name))
        (array_declarator
          declarator: (array_declarator declarator: (array_declarator declarator: (identifier) @name)))
      ])) @definition.variable)

(declaration_list
  (declaration
    declarator: (init_declarator
      declarator: [
        (identifier) @name
        (pointer_declarator declarator: (identifier) @name)
        (array_declarator declarator: (identifier) @name)
        (array_declarator declarator: (array_declarator declarator: (identifier) @name))
        (array_declarator
          declarator: (array_declarator declarator: (array_declarator declarator: (identifier) @name)))
      ])) @definition.variable)
