; Java tags query (tree-sitter tags vocabulary).
;
; @definition.<kind> wraps the whole declaration (annotations are part of its
; `modifiers`), @name is the name. Javadoc comments preceding a declaration are
; attached by the extractor.

(class_declaration
  name: (identifier) @name) @definition.class

(record_declaration
  name: (identifier) @name) @definition.class

(interface_declaration
  name: (identifier) @name) @definition.interface

(annotation_type_declaration
  name: (identifier) @name) @definition.interface

(enum_declaration
  name: (identifier) @name) @definition.enum

(method_declaration
  name: (identifier) @name) @definition.method

(constructor_declaration
  name: (identifier) @name) @definition.method

(compact_constructor_declaration
  name: (identifier) @name) @definition.method

(field_declaration
  (modifiers) @_modifiers
  declarator: (variable_declarator
    name: (identifier) @name)
  (#match? @_modifiers "static")
  (#match? @_modifiers "final")) @definition.constant

(constant_declaration
  declarator: (variable_declarator
    name: (identifier) @name)) @definition.constant

; References.

(method_invocation
  name: (identifier) @name) @reference.call

(method_invocation
  object: (identifier) @name
  (#match? @name "^[A-Z]")) @reference.type

(object_creation_expression
  type: [
    (type_identifier) @name
    (generic_type (type_identifier) @name)
  ]) @reference.class

(type_identifier) @name @reference.type
