"""Recorded cases: one YAML file per call, beside the manifest in `cases/<tool>/<case>.yaml`.

A case holds the tool's arguments, the HTTP request the runtime built for them, and the upstream's
response. `mcprt record` writes cases; people may also write them by hand from an API's documented
examples, so the format is plain, every part but `tool` is optional, and errors name the file:

    tool: list_issues                 # the exposed tool name (the folder name is only a convention)
    operation: issues/list-for-repo   # the source's operation key: follows the tool through a rename
    description: open issues of a busy repository
    args: {owner: octocat, repo: Hello-World}
    request:                          # what the runtime must send (checked on replay)
      method: GET
      url: https://api.github.com/repos/octocat/Hello-World/issues?per_page=20
      headers: {Accept: application/vnd.github+json}   # optional; credentials and transport headers are ignored
      json: {...}                     # or text: / base64:, for a body
    response:                         # what upstream answered (replayed); absent: the tool is called for real
      status: 200
      headers: {content-type: application/json}
      json: [...]                     # or text: / base64: / json_text:
    policy:                           # optional: the decision the manifest's `policy:` gives each principal
      - {principal: ci-bot, decision: deny}
      - {principal: alice, decision: allow, scopes: [repo:write]}   # also `claims: {…}`, `client: ID`
      - {principal: "client:ci-bot", decision: deny}   # the OAuth client ci-bot acting for itself
A case with `policy:` and neither `request:` nor `response:` checks decisions only (no call, no snapshot).

A JSON body over `JSON_TEXT_OVER` bytes is written as `json_text:`, a `|` block of JSON (one value per
line): the same value, read about ten times faster than a YAML mapping of that size (the YAML parser
here is pure Python; a 30-item GitHub page takes seconds as a mapping, a tenth of that as JSON).
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import LiteralScalarString

from .. import safe_yaml
from ..errors import McprtError

CASES_DIR = "cases"
SNAPSHOTS_DIR = "__snapshots__"
CASE_SUFFIXES = (".yaml", ".yml")
BodyKind = Literal["json", "text", "base64"]
_BODY_KINDS: tuple[BodyKind, ...] = ("json", "text", "base64")
_CASE_KEYS = {"tool", "operation", "description", "args", "request", "response", "policy"}
DECISIONS = ("allow", "deny", "approve", "hide")
_REQUEST_KEYS = {"method", "url", "headers", "json_text", *_BODY_KINDS}
_RESPONSE_KEYS = {"status", "headers", "json_text", *_BODY_KINDS}
JSON_TEXT_OVER = 16_000  # bytes of compact JSON above which a body is stored as `json_text:`


class CaseError(McprtError):
    """A case file that cannot be used; the message starts with the file's path."""


@dataclass(frozen=True, slots=True)
class Body:
    """A request or response body as a case stores it: parsed JSON, text, or base64 bytes."""

    kind: BodyKind
    value: Any

    def to_bytes(self) -> bytes:
        """The bytes on the wire. JSON is sent compact, so replayed sizes are never inflated by layout."""
        if self.kind == "json":
            return json.dumps(self.value, ensure_ascii=False, separators=(",", ":")).encode()
        if self.kind == "text":
            return str(self.value).encode()
        return base64.b64decode(str(self.value))

    @classmethod
    def from_bytes(cls, data: bytes, content_type: str | None) -> Body:
        """The most readable faithful form: JSON when it parses as JSON, else text, else base64."""
        media = (content_type or "").split(";")[0].strip().lower()
        if media == "application/json" or media.endswith("+json") or (not media and data[:1] in (b"{", b"[")):
            try:
                return cls("json", json.loads(data))
            except ValueError:
                pass
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return cls("base64", base64.b64encode(data).decode())
        if media.startswith(("image/", "audio/", "video/")) or media in ("application/octet-stream", "application/pdf"):
            return cls("base64", base64.b64encode(data).decode())
        return cls("text", text)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    url: str
    headers: list[tuple[str, str]] | None = None  # None: not checked
    body: Body | None = None


@dataclass(frozen=True, slots=True)
class RecordedResponse:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: Body | None = None

    def content_type(self) -> str | None:
        for name, value in self.headers:
            if name.lower() == "content-type":
                return value
        if self.body is not None and self.body.kind == "json":
            return "application/json"
        if self.body is not None and self.body.kind == "text":
            return "text/plain; charset=utf-8"
        return None


@dataclass(frozen=True, slots=True)
class PolicyExpectation:
    """`decision` is what the policy's rules give `principal` for this call (pauses, rate limits
    and approvals are state, not rules: not part of it)."""

    principal: str  # a name, or `client:ID`: the OAuth client ID acting for itself (`Principal.by_client`)
    decision: str
    scopes: tuple[str, ...] = ()
    claims: dict[str, Any] = field(default_factory=dict)
    client: str | None = None  # the OAuth client the caller acts through (`match.clients`); None: no client


@dataclass(frozen=True, slots=True)
class Case:
    path: Path
    name: str  # the file name without suffix
    tool: str
    args: dict[str, Any] = field(default_factory=dict)
    operation: str | None = None
    description: str | None = None
    request: RecordedRequest | None = None
    response: RecordedResponse | None = None
    policy: tuple[PolicyExpectation, ...] = ()
    root: Path | None = None  # the cases folder it was found in; None: `path`'s grandparent (cases/<tool>/)
    # the included manifest beside which it lies, when a manifest that includes that one replays it
    owner: Path | None = None

    @property
    def cases_root(self) -> Path:
        """The cases folder this case belongs to: its snapshot is under `<cases_root>/__snapshots__/`."""
        return self.root if self.root is not None else self.path.parent.parent

    @property
    def policy_only(self) -> bool:
        return bool(self.policy) and self.request is None and self.response is None

    @property
    def live(self) -> bool:
        """Whether running it calls the tool for real: no recorded response to replay (a `python:`,
        `command:` or `url:` tool's case), and more than decisions to check."""
        return self.response is None and not self.policy_only

    @property
    def id(self) -> str:
        return f"{self.tool}/{self.name}"


# --- discovery ----------------------------------------------------------------------------------


def cases_dir(manifest: Path) -> Path:
    return manifest.parent / CASES_DIR


def snapshots_dir(manifest: Path) -> Path:
    return cases_dir(manifest) / SNAPSHOTS_DIR


def case_roots(manifest: Path) -> list[Path]:
    """The cases folders a manifest's run covers, each once: `cases/` beside it, then beside each
    manifest it includes. An included manifest's cases are where a run of it alone finds them, so
    its source's cases travel with it; named relative to `manifest`'s folder where they lie inside it."""
    return list(case_owners(manifest))


def case_owners(manifest: Path, include_roots: Sequence[Path] = ()) -> dict[Path, Path]:
    """`case_roots`, each with the manifest file it lies beside (`manifest` or one it includes;
    `include_roots` as for `load_manifest`)."""
    from ..manifest.loader import manifest_files

    base = manifest.parent
    roots: dict[Path, tuple[Path, Path]] = {}
    for file in manifest_files(manifest, include_roots):
        folder = file.parent if file == manifest else base / os.path.relpath(file.parent, base.resolve())
        roots.setdefault((folder / CASES_DIR).resolve(), (Path(os.path.normpath(folder / CASES_DIR)), file))
    return dict(roots.values())


def case_files(root: Path) -> list[Path]:
    """Every case file in one cases folder, in a stable order (snapshots are not cases)."""
    if not root.is_dir():
        return []
    files = [
        p for p in root.rglob("*")
        if p.suffix in CASE_SUFFIXES and p.is_file() and SNAPSHOTS_DIR not in p.relative_to(root).parts
    ]
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def find_cases(manifest: Path, include_roots: Sequence[Path] = ()) -> list[Case]:
    """Load every case of `manifest` (its `case_roots`; `include_roots` as for `load_manifest`); raise
    CaseError naming each unusable file."""
    cases: list[Case] = []
    problems: list[str] = []
    for root, owner in case_owners(manifest, include_roots).items():
        for path in case_files(root):
            try:
                cases.append(replace(load_case(path), root=root, owner=None if owner == manifest else owner))
            except CaseError as exc:
                problems.append(str(exc))
    if problems:
        raise CaseError("\n".join(problems))
    seen: dict[str, Path] = {}
    for case in cases:
        if case.id in seen:
            raise CaseError(f"{case.path}: case {case.id} is also defined in {seen[case.id]}")
        seen[case.id] = case.path
    return cases


# --- reading ------------------------------------------------------------------------------------


def load_case(path: Path) -> Case:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseError(f"{path}: cannot read the case: {exc}") from None
    try:
        data = safe_yaml.load(text)
    except YAMLError as exc:
        raise CaseError(f"{path}: not valid YAML: {_first_line(exc)}") from None
    return case_from_data(data, path)


def case_from_data(data: Any, path: Path) -> Case:
    where = str(path)
    if not isinstance(data, dict):
        raise CaseError(f"{where}: a case is a mapping with at least `tool`")
    _no_unknown(data, _CASE_KEYS, where, "case")
    tool = data.get("tool")
    if not isinstance(tool, str) or not tool:
        raise CaseError(f"{where}: `tool` (the tool's exposed name) is required")
    args = data.get("args") or {}
    if not isinstance(args, dict):
        raise CaseError(f"{where}: `args` must be a mapping of argument names to values")
    operation = data.get("operation")
    description = data.get("description")
    for key, value in (("operation", operation), ("description", description)):
        if value is not None and not isinstance(value, str):
            raise CaseError(f"{where}: `{key}` must be text")
    return Case(
        path=path,
        name=path.stem,
        tool=tool,
        args=args,
        operation=operation,
        description=description,
        request=_request(data.get("request"), where),
        response=_response(data.get("response"), where),
        policy=_policy(data.get("policy"), where),
    )


def _policy(data: Any, where: str) -> tuple[PolicyExpectation, ...]:
    if data is None:
        return ()
    if not isinstance(data, list):
        raise CaseError(f"{where}: `policy` is a list of {{principal: NAME, decision: allow|deny|approve|hide}}")
    found = []
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            raise CaseError(f"{where}: policy[{i}] must be a mapping with `principal` and `decision`")
        _no_unknown(item, {"principal", "decision", "scopes", "claims", "client"}, where, f"policy[{i}]")
        principal, decision = item.get("principal"), item.get("decision")
        if not isinstance(principal, str) or not principal:
            raise CaseError(f"{where}: policy[{i}].principal must be a principal name")
        if decision not in DECISIONS:
            raise CaseError(f"{where}: policy[{i}].decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
        scopes, claims = item.get("scopes") or [], item.get("claims") or {}
        if not isinstance(scopes, list) or not isinstance(claims, dict):
            raise CaseError(f"{where}: policy[{i}]: `scopes` is a list and `claims` a mapping")
        client = item.get("client")
        if client is not None and (not isinstance(client, str) or not client):
            raise CaseError(f"{where}: policy[{i}].client must be an OAuth client id (text), not {client!r}")
        found.append(PolicyExpectation(principal, decision, tuple(str(s) for s in scopes), dict(claims), client))
    return tuple(found)


def _request(data: Any, where: str) -> RecordedRequest | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise CaseError(f"{where}: `request` must be a mapping with `method` and `url`")
    _no_unknown(data, _REQUEST_KEYS, where, "request")
    method, url = data.get("method"), data.get("url")
    if not isinstance(method, str) or not isinstance(url, str) or not url:
        raise CaseError(f"{where}: `request` needs `method` and `url` (as text)")
    headers = _headers(data["headers"], where, "request") if "headers" in data else None
    return RecordedRequest(method.upper(), url, headers, _body(data, where, "request"))


def _response(data: Any, where: str) -> RecordedResponse | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise CaseError(f"{where}: `response` must be a mapping with `status` and a body")
    _no_unknown(data, _RESPONSE_KEYS, where, "response")
    status = data.get("status", 200)
    if not isinstance(status, int) or not 100 <= status <= 599:
        raise CaseError(f"{where}: `response.status` must be an HTTP status code (100-599)")
    return RecordedResponse(status, _headers(data.get("headers") or {}, where, "response"), _body(data, where, "response"))


def _headers(data: Any, where: str, part: str) -> list[tuple[str, str]]:
    if not isinstance(data, dict):
        raise CaseError(f"{where}: `{part}.headers` must be a mapping of header names to values")
    pairs: list[tuple[str, str]] = []
    for name, value in data.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, (dict, list)) or item is None:
                raise CaseError(f"{where}: `{part}.headers.{name}` must be text")
            pairs.append((str(name), str(item)))
    return pairs


def _body(data: dict[str, Any], where: str, part: str) -> Body | None:
    if "json_text" in data:
        if any(k in data for k in _BODY_KINDS):
            raise CaseError(f"{where}: `{part}` has json_text and another body: give one")
        try:
            return Body("json", json.loads(str(data["json_text"])))
        except ValueError as exc:
            raise CaseError(f"{where}: `{part}.json_text` is not valid JSON: {exc}") from None
    given = [k for k in _BODY_KINDS if k in data]
    if len(given) > 1:
        raise CaseError(f"{where}: `{part}` has {' and '.join(given)}: give one body (json, text or base64)")
    if not given:
        return None
    kind = given[0]
    value = data[kind]
    if kind == "base64":
        try:
            base64.b64decode(str(value), validate=True)
        except ValueError:
            raise CaseError(f"{where}: `{part}.base64` is not valid base64") from None
    elif kind == "text" and not isinstance(value, str):
        raise CaseError(f"{where}: `{part}.text` must be text (use `json:` for structured data)")
    return Body(kind, value)


def _no_unknown(data: dict[str, Any], allowed: set[str], where: str, what: str) -> None:
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        raise CaseError(
            f"{where}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(f'`{k}`' for k in unknown)} in the "
            f"{what} (allowed: {', '.join(sorted(allowed))})"
        )


def located(path: Path, *keys: str | int) -> str:
    """`path:line:col` of the value at `keys` in the case file (`path` alone when it cannot be found).
    Cases are read without positions (faster); this reads them again, only to report a problem."""
    try:
        node = YAML(typ="safe", pure=True).compose(path.read_text(encoding="utf-8"))
        for key in keys:
            if isinstance(key, int):
                node = node.value[key]
            else:
                node = next(value for name, value in node.value if name.value == key)
        return f"{path}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"
    except Exception:  # noqa: BLE001 - a position is a courtesy: the message stands without it
        return str(path)


def _first_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:300]


# --- writing ------------------------------------------------------------------------------------


def case_to_data(case: Case) -> dict[str, Any]:
    data: dict[str, Any] = {"tool": case.tool}
    if case.operation:
        data["operation"] = case.operation
    if case.description:
        data["description"] = case.description
    data["args"] = case.args
    if case.request is not None:
        request: dict[str, Any] = {"method": case.request.method, "url": case.request.url}
        if case.request.headers is not None:
            request["headers"] = _headers_data(case.request.headers)
        _put_body(request, case.request.body)
        data["request"] = request
    if case.policy:
        data["policy"] = [{"principal": p.principal, "decision": p.decision,
                           **({"scopes": list(p.scopes)} if p.scopes else {}),
                           **({"claims": p.claims} if p.claims else {})} for p in case.policy]
    if case.response is not None:
        response: dict[str, Any] = {"status": case.response.status}
        if case.response.headers:
            response["headers"] = _headers_data(case.response.headers)
        _put_body(response, case.response.body)
        data["response"] = response
    return data


def dump_case(case: Case, header: str | None = None) -> str:
    """The case as YAML text: block style, long lines kept, multi-line text as `|` blocks."""
    yaml = YAML(typ="rt", pure=True)
    yaml.default_flow_style = False
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    if header:
        out.write("".join(f"# {line}\n" if line else "#\n" for line in header.splitlines()))
    yaml.dump(_literal_blocks(case_to_data(case)), out)
    return out.getvalue()


def write_case(case: Case, header: str | None = None) -> None:
    case.path.parent.mkdir(parents=True, exist_ok=True)
    case.path.write_text(dump_case(case, header), encoding="utf-8")


def _headers_data(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    grouped: dict[str, Any] = {}
    for name, value in pairs:
        if name in grouped:
            grouped[name] = [*grouped[name], value] if isinstance(grouped[name], list) else [grouped[name], value]
        else:
            grouped[name] = value
    return grouped


def _put_body(target: dict[str, Any], body: Body | None) -> None:
    if body is None:
        return
    if body.kind == "json" and len(body.to_bytes()) > JSON_TEXT_OVER:
        target["json_text"] = LiteralScalarString(json.dumps(body.value, ensure_ascii=False, indent=1) + "\n")
        return
    target[body.kind] = body.value


def _literal_blocks(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _literal_blocks(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_literal_blocks(v) for v in value]
    if isinstance(value, str) and "\n" in value and not any(c in value for c in "\r\t"):
        return LiteralScalarString(value)
    return value


_SLUG_DROP = re.compile(r"[^A-Za-z0-9]+")


def case_name_for(args: dict[str, Any]) -> str:
    """A readable default case name from the arguments, e.g. `owner-octocat_repo-hello-world`."""
    parts = []
    for key, value in args.items():
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        parts.append(_SLUG_DROP.sub("-", f"{key}-{text}").strip("-").lower())
    slug = "_".join(p for p in parts if p)
    return slug[:60].rstrip("-_") or "default"


def check_case_name(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}", name):
        raise CaseError(f"case name {name!r}: use ASCII letters and digits (A-Z a-z 0-9), '.', '_' and '-' (at most 80), "
                        "starting with a letter or digit: the name is a file name on every system and in git")
    return name
