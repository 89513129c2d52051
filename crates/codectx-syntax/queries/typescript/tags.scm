; TypeScript additions to javascript/tags.scm (the TypeScript and TSX queries are
; javascript/tags.scm followed by this file; TSX also appends tsx/tags.scm).
; Vocabulary as in javascript/tags.scm.

(interface_declaration
  name: (type_identifier) @name) @definition.interface

(export_statement
  declaration: (interface_declaration
    name: (type_identifier) @name)) @definition.interface

(type_alias_declaration
  name: (type_identifier) @name) @definition.type

(export_statement
  declaration: (type_alias_declaration
    name: (type_identifier) @name)) @definition.type

(enum_declaration
  name: (identifier) @name) @definition.enum

(export_statement
  declaration: (enum_declaration
    name: (identifier) @name)) @definition.enum

(abstract_class_declaration
  name: (type_identifier) @name) @definition.class

(export_statement
  declaration: (abstract_class_declaration
    name: (type_identifier) @name)) @definition.class

(function_signature
  name: (identifier) @name) @definition.function

(export_statement
  declaration: (function_signature
    name: (identifier) @name)) @definition.function

(method_signature
  name: (_) @name) @definition.method

(abstract_method_signature
  name: (_) @name) @definition.method

(expression_statement
  (internal_module
    name: (_) @name)) @definition.module

(internal_module
  name: (_) @name) @definition.module

(export_statement
  declaration: (internal_module
    name: (_) @name)) @definition.module

(module
  name: (_) @name) @definition.module

(ambient_declaration
  [
    (module name: (_) @name)
    (internal_module name: (_) @name)
  ]) @definition.module

(ambient_declaration
  (function_signature
    name: (identifier) @name)) @definition.function

(ambient_declaration
  (class_declaration
    name: (_) @name)) @definition.class

(ambient_declaration
  (interface_declaration
    name: (_) @name)) @definition.interface

; Class fields holding functions (`handleClick = () => {...}`).
(public_field_definition
  name: (property_identifier) @name
  value: [(arrow_function) (function_expression)]) @definition.method

; References.

(type_identifier) @name @reference.type

(class_heritage
  (extends_clause
    value: (identifier) @name)) @reference.class
