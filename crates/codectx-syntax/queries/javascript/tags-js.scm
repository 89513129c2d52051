; JavaScript-only additions to javascript/tags.scm (patterns that are not valid in
; the TypeScript grammars).

(class_heritage
  [
    (identifier) @name
    (member_expression property: (property_identifier) @name)
  ]) @reference.class

; Class fields holding functions (`handleClick = () => {...}`).
(field_definition
  property: (property_identifier) @name
  value: [(arrow_function) (function_expression)]) @definition.method
