"""A result's `format` is checked whatever other keywords its outputSchema has.

Found in review: the outputSchema check (`schema.validator.result_check`) asks fastjsonschema's compiled
"certainly valid" shortcut first, which checks no `format`, and only then jsonschema's validator, which
does. So `{"d": "x"}` passed `format: date` when the schema had only shortcut keywords, and failed it when
an unrelated keyword (`dependentRequired: {}`) kept the shortcut away. The shortcut now checks each
format by the validator's own format checker; other formats (OpenAPI's `int64`) stay annotations, as
for arguments, which never check `format`."""

from __future__ import annotations

import pytest

from mcprt.schema.validator import argument_validator
from mcprt.schema.structured_check import StructuredCheck


def _object(field: dict[str, object], **more: object) -> dict[str, object]:
    return {"type": "object", "properties": {"d": field}, **more}


DATE = {"type": "string", "format": "date"}
UNRELATED = {"dependentRequired": {}}  # a keyword the shortcut does not take: the full validator alone


@pytest.mark.parametrize("more", [{}, UNRELATED], ids=["shortcut keywords only", "with dependentRequired"])
@pytest.mark.parametrize(("schema", "value", "problem"), [
    (_object(DATE), {"d": "x"}, '$.d: string, fails "format"'),
    (_object(DATE), {"d": "2024-02-30"}, '$.d: string, fails "format"'),
    (_object(DATE), {"d": "2024-02-29"}, None),
    (_object({"type": "string", "format": "ipv4"}), {"d": "999.1.1.1"}, '$.d: string, fails "format"'),
    (_object({"type": "string", "format": "ipv4"}), {"d": "10.1.1.1"}, None),
    (_object({"$ref": "#/$defs/day"}, **{"$defs": {"day": DATE}}), {"d": "someday"}, '$.d: string, fails "format"'),
    (_object({"type": "array", "items": DATE}), {"d": ["2024-01-01", "later"]}, '$.d[1]: string, fails "format"'),
    (_object({"type": "integer", "format": "int64"}), {"d": 12}, None),  # not a format jsonschema checks
    (_object({"type": "integer", "format": "int64"}), {"d": "12"}, "$.d: string, expected integer"),
    (_object({"type": "string", "format": "no-such-format"}), {"d": "x"}, None),
    # fastjsonschema writes a format's name into Python source only for the names it is given
    (_object({"type": "string", "format": 'x"](0) or __import__("os")._exit(3) or custom_formats["x'}),
     {"d": "x"}, None),
])
def test_a_results_format_is_checked_with_or_without_the_shortcut(schema, value, problem, more):
    assert StructuredCheck({**schema, **more}).problem(value) == problem


def test_arguments_still_leave_format_to_the_upstream():
    """The argument check never asserted `format` (the upstream decides), shortcut or not."""
    for more in ({}, UNRELATED):
        assert list(argument_validator(_object(DATE, **more)).iter_errors({"d": "x"})) == []
