"""Human units: durations become seconds (float), sizes become bytes (int); bad spellings are refused."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from mcprt.manifest.model import Defaults
from mcprt.manifest.units import parse_duration, parse_size


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30.0),
        ("500ms", 0.5),
        ("2m", 120.0),
        ("1h", 3600.0),
        ("1.5s", 1.5),
        (" 45 s ", 45.0),
        ("10", 10.0),
        ("2M", 120.0),
        (7, 7.0),
        (0.25, 0.25),
    ],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds
    assert isinstance(parse_duration(text), float)


@pytest.mark.parametrize(
    ("text", "bytes_"),
    [
        ("200kb", 200_000),
        ("1.5mb", 1_500_000),
        ("64kib", 65_536),
        ("1mib", 1_048_576),
        ("2gb", 2_000_000_000),
        ("1gib", 1_073_741_824),
        ("512b", 512),
        ("512", 512),
        ("200KB", 200_000),
        (4096, 4096),
    ],
)
def test_sizes(text: object, bytes_: int) -> None:
    assert parse_size(text) == bytes_
    assert isinstance(parse_size(text), int)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("30 seconds", "invalid duration '30 seconds'"),
        ("1d", "invalid duration '1d'"),
        ("ms", "invalid duration 'ms'"),
        ("", "invalid duration ''"),
        ("-5s", "invalid duration '-5s'"),
        ("0", "must be greater than zero"),
        (0, "must be greater than zero"),
        (-1.5, "must be greater than zero"),
        (True, "a duration is a number of seconds"),
        (None, "invalid duration null"),  # as the manifest writes it, not Python's None
        ([30], "invalid duration a list"),
    ],
)
def test_bad_durations(value: object, fragment: str) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)):
        parse_duration(value)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("200 kilobytes", "invalid size '200 kilobytes'"),
        ("1tb", "invalid size '1tb'"),
        ("kb", "invalid size 'kb'"),
        ("-1kb", "invalid size '-1kb'"),
        ("0kb", "must be greater than zero"),
        (0, "must be greater than zero"),
        (1.5, "expected an integer, got a number 1.5"),  # a fraction of a byte
        (4096.0, "expected an integer, got a number 4096.0 (write 4096)"),  # a count of bytes is an integer, as everywhere
        (False, "a size is a number of bytes"),
        ("0.0001kb", "must be greater than zero"),  # rounds down to no bytes at all
    ],
)
def test_bad_sizes(value: object, fragment: str) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)):
        parse_size(value)


def test_units_inside_the_models() -> None:
    defaults = Defaults.model_validate({"timeout": "500ms", "max_response_bytes": "1.5mb", "max_result_bytes": "64kib"})
    assert (defaults.timeout, defaults.max_response_bytes, defaults.max_result_bytes) == (0.5, 1_500_000, 65_536)
    with pytest.raises(ValidationError, match="invalid duration '2 weeks'"):
        Defaults.model_validate({"timeout": "2 weeks"})


@pytest.mark.parametrize("text", [0, "0", "0s", "0ms", "0.0"])
def test_a_duration_where_zero_means_at_once_takes_zero_in_every_spelling(text: object) -> None:
    """`server.tasks.answer_within: 0` makes every task-supporting call a task at once (README "Tasks");
    every other duration still refuses 0."""
    from mcprt.manifest.model import TasksConfig

    assert TasksConfig(answer_within=text).answer_within == 0.0
    with pytest.raises(ValidationError, match="greater than zero"):
        TasksConfig(ttl=text)
    with pytest.raises(ValidationError, match="0 or more"):
        TasksConfig(answer_within=-1)
