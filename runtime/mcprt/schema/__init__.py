"""JSON Schema helpers every layer may use: ECMA-262 patterns and an argument validator that never raises."""
