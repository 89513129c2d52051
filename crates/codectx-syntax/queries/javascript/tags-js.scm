; JavaScript-only additions to javascript/tags.scm (patterns that are not valid in
; the TypeScript grammars).

(class_heritage
  [
    (identifier) @name
    (member_expression property: (property_identifier) @name)
  ]) @reference.class
