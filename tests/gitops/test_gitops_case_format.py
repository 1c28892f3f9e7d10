"""The case file format and the request comparison (pure functions, no I/O beyond tmp files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcprt.testing.cases import Body, Case, CaseError, RecordedRequest, case_name_for, dump_case, load_case
from mcprt.testing.wire import WireRequest, compare_requests


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cases" / "t" / "c.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("args: {}\n", "`tool` (the tool's exposed name) is required"),
        ("tool: t\nargz: {}\n", "unknown key `argz` in the case"),
        ("tool: t\nresponse: {status: 200, json: {}, text: x}\n", "has json and text: give one body"),
        ("tool: t\nresponse: {status: 700}\n", "`response.status` must be an HTTP status code"),
        ("tool: t\nresponse: {base64: '***'}\n", "`response.base64` is not valid base64"),
        ("tool: t\nrequest: {url: /x}\n", "`request` needs `method` and `url`"),
        ("tool: [t\n", "not valid YAML"),
    ],
)
def test_bad_case_files_name_the_file_and_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(CaseError) as caught:
        load_case(path)
    assert str(caught.value).startswith(str(path)) and message in str(caught.value)


def test_cases_round_trip_readably(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    case = Case(path, "c", "t", {"q": "x"}, operation="op",
                request=RecordedRequest("POST", "https://h/x", [("Accept", "a"), ("X-Many", "1"), ("X-Many", "2")],
                                        Body("json", {"a": [1, 2]})))
    text = dump_case(case, "a header\nof two lines")
    assert text.startswith("# a header\n# of two lines\ntool: t\n")
    path.write_text(text)
    again = load_case(path)
    assert again.request == case.request and again.args == {"q": "x"} and again.operation == "op"
    multi = Case(path, "c", "t", {}, request=RecordedRequest("POST", "https://h/x", None, Body("text", "a\nb\n")))
    assert "text: |\n" in dump_case(multi)


def test_default_case_names() -> None:
    assert case_name_for({}) == "default"
    assert case_name_for({"owner": "Octo Cat", "per_page": 5}) == "owner-octo-cat_per-page-5"
    assert len(case_name_for({"q": "x" * 200})) <= 60


def _wire(url: str, method: str = "GET", headers: list[tuple[str, str]] | None = None,
          body: bytes | None = None) -> WireRequest:
    path, _, query = url.partition("?")
    return WireRequest.build(method, path, query, headers or [], body)


def test_request_comparison_ignores_noise_but_not_mapping() -> None:
    recorded = _wire("/v1/items?a=1&b=2&api_key=s1", headers=[("Authorization", "Bearer x"), ("X-Mode", "m"),
                                                             ("User-Agent", "one")])
    sent = _wire("/v1/items?b=2&a=1&api_key=s2", headers=[("X-Mode", "m"), ("User-Agent", "two"), ("Host", "h")])
    assert compare_requests(recorded, sent, check_headers=True) == []
    assert compare_requests(_wire("/v1/a%2Fb"), _wire("/v1/a/b"), check_headers=False) == [
        "path: recorded /v1/a%2Fb, sent /v1/a/b"]
    assert compare_requests(_wire("/v1/x?a=1"), _wire("/v1/x?a=2&c=3"), check_headers=False) == [
        'query a: recorded "1", sent "2"', 'query c: not recorded, sent "3"']
    assert compare_requests(_wire("/x", headers=[("X-Mode", "m")]), _wire("/x"), check_headers=True) == [
        'header x-mode: recorded "m", not sent']
    assert compare_requests(_wire("/x", headers=[("X-Mode", "m")]), _wire("/x"), check_headers=False) == []


def test_request_body_comparison_by_media_type() -> None:
    json_type = [("Content-Type", "application/json")]
    recorded = _wire("/x", "POST", json_type, b'{"a": {"b": [1, 2]}, "c": true}')
    assert compare_requests(recorded, _wire("/x", "POST", json_type, b'{"c":true,"a":{"b":[1,2]}}'),
                            check_headers=False) == []
    assert compare_requests(recorded, _wire("/x", "POST", json_type, b'{"a":{"b":[1,3]},"d":1}'),
                            check_headers=False) == [
        "body $.a.b[1]: recorded 2, sent 3", "body $.c: recorded true, not sent", "body $.d: not recorded, sent 1"]
    form = [("Content-Type", "application/x-www-form-urlencoded")]
    assert compare_requests(_wire("/x", "POST", form, b"a=1&b=2"), _wire("/x", "POST", form, b"b=2&a=1"),
                            check_headers=False) == []
    assert compare_requests(_wire("/x", "POST", form, b"a=1"), _wire("/x", "POST", json_type, b'{"a":1}'),
                            check_headers=False) == [
        "body: recorded as application/x-www-form-urlencoded, sent as application/json"]
    assert compare_requests(_wire("/x", "DELETE"), _wire("/x", "GET"), check_headers=False) == [
        "method: recorded DELETE, sent GET"]
