; Python tags query (tree-sitter tags vocabulary).
;
; @definition.<kind> wraps the whole definition: the `decorated_definition` when the
; definition is decorated, so that decorators belong to its span. @name is the name.
; When several patterns capture the same @name node, the widest definition wins,
; then the earliest pattern.
; @reference.<kind> + @name: an identifier the code refers to (calls, types).
; Docstrings are read by the extractor from the body's first statement.

(class_definition
  name: (identifier) @name) @definition.class

(decorated_definition
  definition: (class_definition
    name: (identifier) @name)) @definition.class

(function_definition
  name: (identifier) @name) @definition.function

(decorated_definition
  definition: (function_definition
    name: (identifier) @name)) @definition.function

; Module-level assignments: ALL_CAPS names are constants, the others variables.
(module
  (expression_statement
    (assignment
      left: (identifier) @name)) @definition.constant
  (#match? @name "^_*[A-Z][A-Z0-9_]*$"))

(module
  (expression_statement
    (assignment
      left: (identifier) @name)) @definition.variable
  (#not-match? @name "^_*[A-Z][A-Z0-9_]*$"))

(module
  (type_alias_statement
    left: (type (identifier) @name)) @definition.type)

; References.

(call
  function: (identifier) @name) @reference.call

(call
  function: (attribute
    attribute: (identifier) @name)) @reference.call

(decorator
  (identifier) @name) @reference.call

(decorator
  (attribute
    attribute: (identifier) @name)) @reference.call

(class_definition
  superclasses: (argument_list
    [(identifier) @name
     (attribute attribute: (identifier) @name)])) @reference.class

(type
  (identifier) @name) @reference.type

(type
  (attribute attribute: (identifier) @name)) @reference.type
