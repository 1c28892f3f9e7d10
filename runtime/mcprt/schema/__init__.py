"""JSON Schema helpers every layer may use: ECMA-262 patterns, and an argument validator that never
raises (jsonschema, with a "certainly valid" shortcut compiled by fastjsonschema where the meaning is shared)."""
