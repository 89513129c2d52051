; Rust tags query (tree-sitter tags vocabulary).
;
; @definition.<kind> wraps the whole item, @name its name. For `impl` blocks @name is
; the implemented type (`impl Display for Foo<T>` -> `Foo` after cleanup), so that
; methods qualify as `Foo::method`. Attributes (`#[...]`) and doc comments preceding
; an item are attached by the extractor. Functions inside an impl or trait become
; methods.

(struct_item
  name: (type_identifier) @name) @definition.struct

(enum_item
  name: (type_identifier) @name) @definition.enum

(union_item
  name: (type_identifier) @name) @definition.union

(type_item
  name: (type_identifier) @name) @definition.type

(trait_item
  name: (type_identifier) @name) @definition.trait

(impl_item
  type: (_) @name) @definition.impl

(function_item
  name: (identifier) @name) @definition.function

(function_signature_item
  name: (identifier) @name) @definition.function

(mod_item
  name: (identifier) @name
  body: (declaration_list)) @definition.module

(macro_definition
  name: (identifier) @name) @definition.macro

(const_item
  name: (identifier) @name) @definition.constant

(static_item
  name: (identifier) @name) @definition.static

; References.

(call_expression
  function: (identifier) @name) @reference.call

(call_expression
  function: (field_expression
    field: (field_identifier) @name)) @reference.call

(call_expression
  function: (scoped_identifier
    name: (identifier) @name)) @reference.call

(call_expression
  function: (scoped_identifier
    path: (identifier) @name)) @reference.type
  (#match? @name "^[A-Z]")

(call_expression
  function: (generic_function
    function: [
      (identifier) @name
      (field_expression field: (field_identifier) @name)
      (scoped_identifier name: (identifier) @name)
    ])) @reference.call

(macro_invocation
  macro: (identifier) @name) @reference.macro

(type_identifier) @name @reference.type
