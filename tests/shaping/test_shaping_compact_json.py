"""The fast JSON writer of the result path writes exactly what the standard encoder writes.

`compact_json` and `json_size` (shaping/limits.py) take pydantic-core's and
orjson's encoders where they agree with `json.dumps(..., ensure_ascii=False, separators=(",", ":"))`
and fall back where they do not (floats below 1e-4, lone surrogates); Hypothesis hunts for a value
where the answer would change.
"""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from mcprt.shaping.limits import compact_json, json_size


def standard(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def standard_size(value: object) -> int:
    return len(standard(value).encode("utf-8", "surrogatepass"))


# Floats where the encoders disagree are the point: small magnitudes, exponents, NaN and infinities.
floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e-3, max_value=1e-3),
    st.builds(lambda m, e: m * 10.0**e, st.integers(-99999, 99999), st.integers(-330, 300)),
)
scalars = st.one_of(
    st.none(), st.booleans(), floats,
    st.integers(min_value=-(2**200), max_value=2**200),  # beyond 64 bits too
    st.text(),  # every code point class, control characters, U+2028
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=5),
                               st.dictionaries(st.text(max_size=8), children, max_size=5)),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_compact_json_is_the_standard_encoding(value: object) -> None:
    assert compact_json(value) == standard(value)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_json_size_is_the_standard_size(value: object) -> None:
    assert json_size(value) == standard_size(value)


def test_the_cases_the_fast_encoders_write_differently() -> None:
    """Each is a case where pydantic-core or orjson alone would write something else."""
    cases = {
        "1e-05": 1e-05, "2.5e-07": 2.5e-07, "-6.042903097375899e-05": -6.042903097375899e-05,
        "NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf,
        "1180591620717411303424": 2**70, "1e+16": 1e16, "0.0001": 0.0001,
    }
    for written, value in cases.items():
        assert compact_json([value]) == f"[{written}]"
    assert compact_json({"t": "x\ud800"}) == standard({"t": "x\ud800"})  # pydantic-core refuses it
    # A text holding a pattern only such floats produce: a false alarm, still the same text.
    assert compact_json({"t": "re-run 0.00001"}) == '{"t":"re-run 0.00001"}'


def test_a_lone_surrogate_is_measured_not_raised() -> None:
    """A JSON body may carry a `\\ud800` escape, which decodes to a lone surrogate: sizing it (a
    limit's check, the sent bytes) counts its 3 bytes as the result's text does, instead of raising."""
    value = {"t": "x\ud800", "n": [1, "\udfff"]}
    assert json_size(value) == standard_size(value) == len('{"t":"x","n":[1,""]}') + 6
