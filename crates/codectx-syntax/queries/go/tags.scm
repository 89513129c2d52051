; Go tags query (tree-sitter tags vocabulary).
;
; @definition.<kind> wraps the whole definition (the `type_declaration` /
; `const_declaration` / `var_declaration` when it declares a single spec, so that
; `type Server struct {...}` spans the keyword). @name is the name; @scope is the
; receiver type of a method (`func (s *Server) Start()` -> `Server.Start`). When
; several patterns capture the same @name, the widest definition wins, then the
; earliest pattern. Doc comments preceding a definition are attached by the extractor.

(function_declaration
  name: (identifier) @name) @definition.function

(method_declaration
  receiver: (parameter_list
    (parameter_declaration
      type: [
        (type_identifier) @scope
        (pointer_type (type_identifier) @scope)
        (generic_type type: (type_identifier) @scope)
        (pointer_type (generic_type type: (type_identifier) @scope))
      ]))
  name: (field_identifier) @name) @definition.method

(method_declaration
  name: (field_identifier) @name) @definition.method

(type_declaration .
  (type_spec
    name: (type_identifier) @name
    type: (struct_type)) .) @definition.struct

(type_declaration .
  (type_spec
    name: (type_identifier) @name
    type: (interface_type)) .) @definition.interface

(type_declaration .
  [
    (type_spec name: (type_identifier) @name)
    (type_alias name: (type_identifier) @name)
  ] .) @definition.type

(type_spec
  name: (type_identifier) @name
  type: (struct_type)) @definition.struct

(type_spec
  name: (type_identifier) @name
  type: (interface_type)) @definition.interface

(type_spec
  name: (type_identifier) @name) @definition.type

(type_alias
  name: (type_identifier) @name) @definition.type

(method_elem
  name: (field_identifier) @name) @definition.method

(source_file
  (const_declaration .
    (const_spec
      name: (identifier) @name) .) @definition.constant)

(source_file
  (const_declaration
    (const_spec
      name: (identifier) @name) @definition.constant))

(source_file
  (var_declaration .
    (var_spec
      name: (identifier) @name) .) @definition.variable)

(source_file
  (var_declaration
    (var_spec
      name: (identifier) @name) @definition.variable))

(source_file
  (var_declaration
    (var_spec_list
      (var_spec
        name: (identifier) @name) @definition.variable)))

; References.

(call_expression
  function: (identifier) @name) @reference.call

(call_expression
  function: (selector_expression
    field: (field_identifier) @name)) @reference.call

(type_identifier) @name @reference.type
