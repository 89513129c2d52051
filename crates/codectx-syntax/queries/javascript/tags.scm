; JavaScript tags query; also the common part of the TypeScript and TSX queries
; (which append typescript/tags.scm), so every pattern here must be valid in the
; JavaScript, TypeScript and TSX grammars.
;
; @definition.<kind> wraps the whole definition: the `export_statement` when the
; declaration is exported, the `lexical_declaration` for `const f = () => ...`.
; @name is the name; @scope (optional) qualifies it (`Foo.prototype.bar = function`
; -> `Foo.bar`). When several patterns capture the same @name, the widest definition
; wins, then the earliest pattern. Decorators and doc comments preceding a definition
; are attached by the extractor.

(class_declaration
  name: (_) @name) @definition.class

(export_statement
  declaration: (class_declaration
    name: (_) @name)) @definition.class

(function_declaration
  name: (identifier) @name) @definition.function

(export_statement
  declaration: (function_declaration
    name: (identifier) @name)) @definition.function

(generator_function_declaration
  name: (identifier) @name) @definition.function

(export_statement
  declaration: (generator_function_declaration
    name: (identifier) @name)) @definition.function

(method_definition
  name: (_) @name) @definition.method

(lexical_declaration
  (variable_declarator
    name: (identifier) @name
    value: [(arrow_function) (function_expression) (generator_function)])) @definition.function

(export_statement
  declaration: (lexical_declaration
    (variable_declarator
      name: (identifier) @name
      value: [(arrow_function) (function_expression) (generator_function)]))) @definition.function

(variable_declaration
  (variable_declarator
    name: (identifier) @name
    value: [(arrow_function) (function_expression) (generator_function)])) @definition.function

; `Foo.prototype.bar = function` is a method of Foo (before the generic
; assignment pattern: of two patterns capturing the same name, the earlier wins).
(expression_statement
  (assignment_expression
    left: (member_expression
      object: (member_expression
        object: (identifier) @scope
        property: (property_identifier) @_prototype)
      property: (property_identifier) @name)
    right: [(arrow_function) (function_expression)])
  (#eq? @_prototype "prototype")) @definition.method

(expression_statement
  (assignment_expression
    left: [
      (identifier) @name
      (member_expression
        object: (_) @_object
        property: (property_identifier) @name)
    ]
    right: [(arrow_function) (function_expression)])) @definition.function

(pair
  key: (property_identifier) @name
  value: [(arrow_function) (function_expression)]) @definition.function

; Module-level ALL_CAPS constants.
(program
  (lexical_declaration
    (variable_declarator
      name: (identifier) @name)) @definition.constant
  (#match? @name "^[A-Z][A-Z0-9_]*$"))

(program
  (export_statement
    declaration: (lexical_declaration
      (variable_declarator
        name: (identifier) @name))) @definition.constant
  (#match? @name "^[A-Z][A-Z0-9_]*$"))

; References.

(call_expression
  function: (identifier) @name
  (#not-any-of? @name "require" "import")) @reference.call

(call_expression
  function: (member_expression
    property: (property_identifier) @name)) @reference.call

(new_expression
  constructor: (identifier) @name) @reference.class

(decorator
  [
    (identifier) @name
    (call_expression function: (identifier) @name)
  ]) @reference.call

(new_expression
  constructor: (member_expression
    property: (property_identifier) @name)) @reference.class
