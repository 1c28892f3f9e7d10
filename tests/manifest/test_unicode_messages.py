"""Messages about non-ASCII input that say what is wrong (trial_i18n fault 10), each from the trial's input:

- a file saved with a decomposed (NFD, a Mac) name and written composed (NFC) in `mcp.yaml`: the look-alike is named;
- an override key in another Unicode form: the did-you-mean says it is the same text in another form;
- a non-ASCII value in a manifest `headers:` entry: an error at its file:line:col (it passed, then failed every
  call), quoting no part of the value; and a header name that is no HTTP token;
- `record --name 東京-ケース`: "ASCII letters", not "letters";
- a Latin-1, UTF-16 (with and without a byte order mark) manifest: the first bad byte's line and column, and the
  encoding it most likely is."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from tests.support.cli import mcprt_cli

NFC, NFD = unicodedata.normalize("NFC", "größe"), unicodedata.normalize("NFD", "größe")
API = '''openapi: 3.0.3
info: {title: t, version: "1"}
servers: [{url: "http://127.0.0.1:9"}]
paths:
  /items/{id}:
    get:
      operationId: größe
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: ok}}
'''


def _validate(folder: Path, manifest: str = "mcp.yaml", env: dict[str, str] | None = None) -> tuple[int, str]:
    done = mcprt_cli("validate", manifest, cwd=folder, env=env)
    assert "Traceback" not in done.stderr
    return done.returncode, done.stdout + done.stderr


def test_a_missing_file_names_its_look_alike_in_another_unicode_form(tmp_path: Path) -> None:
    (tmp_path / f"{NFD}-api.yaml").write_text(API, encoding="utf-8")  # as a Mac saved it
    (tmp_path / "mcp.yaml").write_text(f"version: 1\nsources:\n  api: {{openapi: {NFC}-api.yaml}}\n", encoding="utf-8")
    code, out = _validate(tmp_path)
    assert code == 2
    assert (f"mcp.yaml:3:18: {NFC}-api.yaml: cannot read {tmp_path / (NFC + '-api.yaml')}: No such file or directory; "
            f"the folder has '{NFD}-api.yaml', the same name in another Unicode form (NFD on disk, NFC written here): "
            "rename the file, or write its name as it is stored") in out, out


def test_an_override_key_in_another_unicode_form_is_said_to_be_one(tmp_path: Path) -> None:
    (tmp_path / "api.yaml").write_text(API, encoding="utf-8")
    (tmp_path / "mcp.yaml").write_text(f"version: 1\nsources:\n  api:\n    openapi: api.yaml\n    tools:\n"
                                       f"      {NFD}: {{name: size}}\n", encoding="utf-8")
    code, out = _validate(tmp_path)
    assert code == 0
    assert (f"mcp.yaml:6:7: warning: source 'api' has no operation '{NFD}' (did you mean '{NFC}', the same text in "
            "another Unicode form: NFD here, NFC there?)") in out, out


def test_a_header_value_http_cannot_carry_is_an_error_where_it_is_written(tmp_path: Path) -> None:
    (tmp_path / "api.yaml").write_text(API, encoding="utf-8")
    (tmp_path / "mcp.yaml").write_text('version: 1\nsources:\n  api:\n    openapi: api.yaml\n    headers:\n'
                                       '      X-Ok: plain\n      X-Lang: "${LANGNAME}"\n', encoding="utf-8")
    code, out = _validate(tmp_path, env={"LANGNAME": "Größe"})
    assert code == 2
    assert ("mcp.yaml:7:15: sources.api.headers.X-Lang: the value holds a character outside ASCII, which an HTTP "
            "header value cannot carry (RFC 9110 §5.5): every call would fail") in out, out
    assert "Größe" not in out  # the value may be a secret
    assert _validate(tmp_path, env={"LANGNAME": "German"})[0] == 0
    (tmp_path / "bad.yaml").write_text('version: 1\nsources:\n  api:\n    openapi: api.yaml\n    headers:\n'
                                       '      "X Städte": v\n', encoding="utf-8")
    code, out = _validate(tmp_path, "bad.yaml")
    assert code == 2 and "bad.yaml:6:7: sources.api.headers: 'X Städte' is not an HTTP header name" in out, out


@pytest.mark.parametrize(("auth", "place", "key"), [
    ('{api_key: {name: X-Key, in: header, value: "${LANGNAME}"}}', "6:54", "auth.api_key.value"),
    ('{bearer: "${LANGNAME}"}', "6:20", "auth.bearer"),
])
def test_a_credential_sent_in_a_header_http_cannot_carry_is_an_error_where_it_is_written(
        tmp_path: Path, auth: str, place: str, key: str) -> None:
    """Review of fixi2, item 6: only `headers:` was checked; a header-placed API key or a bearer token holding `ö`
    passed `validate` and then failed every call. One in a query parameter or cookie is percent-encoded: fine."""
    (tmp_path / "api.yaml").write_text(API, encoding="utf-8")
    (tmp_path / "mcp.yaml").write_text(f"version: 1\nserver: {{name: hd}}\nsources:\n  api:\n    openapi: api.yaml\n"
                                       f"    auth: {auth}\n", encoding="utf-8")
    code, out = _validate(tmp_path, env={"LANGNAME": "Größe"})
    assert code == 2
    assert (f"mcp.yaml:{place}: sources.api.{key}: the value holds a character outside ASCII, which an HTTP header "
            "value cannot carry (RFC 9110 §5.5): every call would fail") in out, out
    assert "Größe" not in out  # a credential: never quoted
    assert _validate(tmp_path, env={"LANGNAME": "plain-token"})[0] == 0
    query = auth.replace("in: header", "in: query")
    if query != auth:
        (tmp_path / "mcp.yaml").write_text(f"version: 1\nserver: {{name: hd}}\nsources:\n  api:\n"
                                           f"    openapi: api.yaml\n    auth: {query}\n", encoding="utf-8")
        assert _validate(tmp_path, env={"LANGNAME": "Größe"})[0] == 0


def test_a_case_name_asks_for_ascii_letters(tmp_path: Path) -> None:
    (tmp_path / "t.py").write_text("def hello() -> str:\n    return 'hi'\n", encoding="utf-8")
    (tmp_path / "mcp.yaml").write_text("version: 1\nsources:\n  py: {python: t}\n", encoding="utf-8")
    done = mcprt_cli("record", "mcp.yaml", "hello", "--name", "東京-ケース", cwd=tmp_path)
    assert done.returncode == 2
    assert ("case name '東京-ケース': use ASCII letters and digits (A-Z a-z 0-9), '.', '_' and '-' (at most 80), "
            "starting with a letter or digit") in done.stdout + done.stderr


@pytest.mark.parametrize(("data", "place", "said"), [
    (b"version: 1\nserver:\n  name: caf\xe9\n", "3:12",
     "the byte 0xE9 here; a legacy 8-bit encoding such as Latin-1 (ISO-8859-1) or Windows-1252"),
    ("version: 1\n".encode("utf-16"), "1:1", "the byte 0xFF here; it starts with a UTF-16 byte order mark"),
    ("version: 1\n".encode("utf-16-le"), "1:2", "the byte 0x00 here; it holds NUL bytes: UTF-16 or UTF-32 text"),
    ("version: 1\nserver: {name: 日本}\n".encode("utf-8") + b"# \xff\n", "3:3", "the byte 0xFF here"),
])
def test_a_manifest_not_in_utf8_is_refused_at_its_first_bad_byte(tmp_path: Path, data: bytes, place: str,
                                                                 said: str) -> None:
    (tmp_path / "mcp.yaml").write_bytes(data)
    code, out = _validate(tmp_path)
    assert code == 2
    assert f"mcp.yaml:{place}: cannot read the file: it is not UTF-8 text ({said}" in out, out
    assert "save it as UTF-8" in out
