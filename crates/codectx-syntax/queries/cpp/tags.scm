; C++ tags query (tree-sitter tags vocabulary).
;
; @definition.<kind> wraps the whole definition (the `template_declaration` of a
; template), @name is the name. A qualified name (`ns::Foo::bar` in an out-of-line
; definition `void ns::Foo::bar() {}`) is split by the extractor into the name `bar`
; and a scope that qualifies it (`ns::Foo::bar`), and such a definition is a method.
; Functions defined inside a class become methods. Comments preceding a definition
; are attached as its doc.

(function_definition
  declarator: [
    (function_declarator declarator: (_) @name)
    (pointer_declarator declarator: (function_declarator declarator: (_) @name))
    (reference_declarator (function_declarator declarator: (_) @name))
    (pointer_declarator declarator: (pointer_declarator declarator: (function_declarator declarator: (_) @name)))
  ]) @definition.function

(template_declaration
  (function_definition
    declarator: [
      (function_declarator declarator: (_) @name)
      (pointer_declarator declarator: (function_declarator declarator: (_) @name))
      (reference_declarator (function_declarator declarator: (_) @name))
    ])) @definition.function

(declaration
  declarator: [
    (function_declarator declarator: (_) @name)
    (pointer_declarator declarator: (function_declarator declarator: (_) @name))
    (reference_declarator (function_declarator declarator: (_) @name))
  ]) @definition.function

(template_declaration
  (declaration
    declarator: [
      (function_declarator declarator: (_) @name)
      (pointer_declarator declarator: (function_declarator declarator: (_) @name))
      (reference_declarator (function_declarator declarator: (_) @name))
    ])) @definition.function

(field_declaration
  declarator: [
    (function_declarator declarator: (_) @name)
    (pointer_declarator declarator: (function_declarator declarator: (_) @name))
    (reference_declarator (function_declarator declarator: (_) @name))
  ]) @definition.method

(class_specifier
  name: (_) @name
  body: (field_declaration_list)) @definition.class

(template_declaration
  (class_specifier
    name: (_) @name
    body: (field_declaration_list))) @definition.class

(struct_specifier
  name: (_) @name
  body: (field_declaration_list)) @definition.struct

(template_declaration
  (struct_specifier
    name: (_) @name
    body: (field_declaration_list))) @definition.struct

(union_specifier
  name: (_) @name
  body: (field_declaration_list)) @definition.union

(enum_specifier
  name: (_) @name
  body: (enumerator_list)) @definition.enum

(namespace_definition
  name: (_) @name) @definition.namespace

(type_definition
  declarator: [
    (type_identifier) @name
    (pointer_declarator declarator: (type_identifier) @name)
  ]) @definition.type

(alias_declaration
  name: (type_identifier) @name) @definition.type

(template_declaration
  (alias_declaration
    name: (type_identifier) @name)) @definition.type

(concept_definition
  name: (identifier) @name) @definition.type

(template_declaration
  (concept_definition
    name: (identifier) @name)) @definition.type


(preproc_function_def
  name: (identifier) @name) @definition.macro

(preproc_def
  name: (identifier) @name
  value: (_)) @definition.constant

; References.

(call_expression
  function: (identifier) @name) @reference.call

(call_expression
  function: (field_expression
    field: (field_identifier) @name)) @reference.call

(call_expression
  function: (qualified_identifier
    name: (identifier) @name)) @reference.call

(call_expression
  function: (template_function
    name: (identifier) @name)) @reference.call

(type_identifier) @name @reference.type
