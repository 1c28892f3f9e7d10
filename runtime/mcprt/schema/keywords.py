"""Where a JSON Schema holds subschemas: the keywords whose values are schemas, not data.

A walker that visits only these positions never mistakes data for a schema: a `default`, `const`,
`enum` or `examples` value holding a `"title"`, `"$ref"` or `"$defs"` key is data, and a property
*named* `definitions` or `$ref` is a name in a map of schemas (JSON Schema 2020-12 Core §10.2, §10.3;
`definitions`, `dependencies` and `additionalItems` are the draft-07 spellings).
"""

from __future__ import annotations

# Keywords whose value is a map of name → subschema (`dependencies` values may also be arrays of names).
NAMED_SCHEMAS = ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas", "dependencies")
# Keywords whose value is one subschema (`items` before 2020-12 may also be a list of them).
ONE_SCHEMA = ("items", "additionalItems", "additionalProperties", "unevaluatedProperties", "unevaluatedItems", "not",
              "if", "then", "else", "propertyNames", "contains")
# Keywords whose value is a list of subschemas.
SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
# The keywords that hold a schema's definitions: referenced by `$ref`, meaningless on their own (§8.2.4).
DEFINITIONS = ("$defs", "definitions")
