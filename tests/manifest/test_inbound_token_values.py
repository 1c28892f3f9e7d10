"""Two inbound credentials with one value are refused (a tenant-gateway trial, fault 3).

`server.auth` maps a presented token to one principal: `globex: "${ACME_TOKEN}"` (a copy-paste slip when
adding a tenant) made acme's token authenticate as globex, and globex's own token answer 401. `validate`,
`up` and a reload refuse such a manifest at the second entry, naming both entries and never the value.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import anyio
import httpx
import pytest

from tests.support.cli import mcprt_process
from tests.support.served import child_env, http_client, mcprt_http, text_of

HERE = Path(__file__).parent
ACME, GLOBEX = "acme-secret-token-1111", "globex-secret-token-2222"

MANIFEST = """\
version: 1
server:
  auth:
    bearer_tokens: ["${SHARED_TOKEN}"]
    tokens:
      acme: "${ACME_TOKEN}"
      globex: "${GLOBEX_TOKEN}"
sources:
  ops:
    python: policy_tools
    tools:
      ping: {output: "{{ principal.sub }}: {{ result }}"}
"""


def _write(folder: Path, text: str = MANIFEST) -> Path:
    shutil.copy(HERE.parent / "policy" / "policy_tools.py", folder)
    path = folder / "mcp.yaml"
    path.write_text(text)
    return path


def _env(**values: str) -> dict[str, str]:
    return {"ACME_TOKEN": ACME, "GLOBEX_TOKEN": GLOBEX, "SHARED_TOKEN": "shared-secret-token-9999", **values}


@pytest.mark.parametrize(("values", "where", "names"), [
    # two named tokens: at the second entry's name, naming both
    ({"GLOBEX_TOKEN": ACME}, "mcp.yaml:7:7:", ("server.auth.tokens.globex", "server.auth.tokens.acme",
                                                "principal 'globex'", "the caller of 'acme' could not authenticate")),
    # a named token and an unnamed one
    ({"ACME_TOKEN": "shared-secret-token-9999"}, "mcp.yaml:6:7:",
     ("server.auth.tokens.acme", "server.auth.bearer_tokens[0]", "never 'bearer'")),
], ids=["token-token", "bearer-token"])
def test_validate_refuses_two_inbound_tokens_with_one_value(tmp_path: Path, values: dict[str, str], where: str,
                                                             names: tuple[str, ...]) -> None:
    manifest = _write(tmp_path)
    env = _env(**values)
    done = mcprt_process("validate", str(manifest), cwd=tmp_path, env={**env, "MCPRT_TRANSPORT": "http"}, forked=True)
    assert done.returncode == 2, done.stdout + done.stderr
    [line] = [line for line in done.stderr.splitlines() if "has the same value" in line]
    assert line.startswith(str(manifest).replace("mcp.yaml", "") + where) or line.startswith(where), line
    assert all(name in line for name in names), line
    assert "Traceback" not in done.stderr
    for value in set(env.values()):  # the value is never shown
        assert value not in done.stdout + done.stderr


def test_two_unnamed_tokens_with_one_value_are_refused(tmp_path: Path) -> None:
    manifest = _write(tmp_path, MANIFEST.replace('["${SHARED_TOKEN}"]', '["${SHARED_TOKEN}", "${ACME_TOKEN}"]'))
    done = mcprt_process("validate", str(manifest), cwd=tmp_path, env=_env(SHARED_TOKEN=ACME), forked=True)
    assert done.returncode == 2, done.stdout + done.stderr
    # the second item clashes with the first, and the named token with the first
    assert ":4:40: server.auth.bearer_tokens[1] has the same value as server.auth.bearer_tokens[0]" in done.stderr
    assert ":6:7: server.auth.tokens.acme has the same value as server.auth.bearer_tokens[0]" in done.stderr
    assert ACME not in done.stdout + done.stderr


def test_tokens_whose_variables_are_unset_over_stdio_are_not_compared(tmp_path: Path) -> None:
    """`validate` compiles for stdio, where `server.auth`'s variables may be unset (each warned about): what
    stands in their place is no token, so two unset ones are no clash (a CI checkout without the secrets); nor
    with `--offline`, which puts one placeholder for every unset variable."""
    manifest = _write(tmp_path)
    done = mcprt_process("validate", str(manifest), cwd=tmp_path, env={"SHARED_TOKEN": "shared-secret-token-9999"},
                         drop=("ACME_TOKEN", "GLOBEX_TOKEN"), forked=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "same value" not in done.stderr and "ACME_TOKEN" in done.stderr  # its unset warning
    # each unset variable gets one placeholder value
    offline = mcprt_process("validate", "--offline", str(manifest), cwd=tmp_path, drop=tuple(_env()),
                            env={"MCPRT_TRANSPORT": "http"}, forked=True)
    assert offline.returncode == 0, offline.stdout + offline.stderr


def test_distinct_tokens_validate(tmp_path: Path) -> None:
    manifest = _write(tmp_path)
    done = mcprt_process("validate", str(manifest), cwd=tmp_path, env=_env(), forked=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "same value" not in done.stderr


def test_up_does_not_start_with_two_tokens_of_one_value(tmp_path: Path) -> None:
    manifest = _write(tmp_path)
    done = mcprt_process("up", str(manifest), "--transport", "http", "--port", "0", cwd=tmp_path,
                         env=_env(GLOBEX_TOKEN=ACME), timeout=60, forked=True)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "server.auth.tokens.globex has the same value as server.auth.tokens.acme" in done.stderr
    assert ACME not in done.stdout + done.stderr and "Traceback" not in done.stderr


async def test_a_reload_to_two_tokens_of_one_value_keeps_each_tenant_itself(tmp_path: Path) -> None:
    """The manifest is saved with `globex: "${ACME_TOKEN}"` while serving: the reload fails, and acme's and
    globex's tokens keep authenticating as themselves (before, acme's became globex and globex's got 401)."""
    manifest = _write(tmp_path)
    with mcprt_http(manifest, env=child_env(**_env())) as up:
        for token, name in ((ACME, "acme"), (GLOBEX, "globex")):
            async with http_client(up.url, token=token) as client:
                assert text_of(await client.call_tool("ping", {})) == f"{name}: pong"
        mark = up.log_mark()
        manifest.write_text(MANIFEST.replace("${GLOBEX_TOKEN}", "${ACME_TOKEN}"))
        # the attempt's errors are written on the lines after its "reload failed" summary: wait for the error
        await anyio.to_thread.run_sync(lambda: up.wait_log("server.auth.tokens.globex has the same value"))
        said = up.log_since(mark)
        assert "reload failed" in said, said
        assert "server.auth.tokens.globex has the same value as server.auth.tokens.acme" in said, said
        assert ACME not in up.log()
        for token, name in ((ACME, "acme"), (GLOBEX, "globex")):
            async with http_client(up.url, token=token) as client:
                assert text_of(await client.call_tool("ping", {})) == f"{name}: pong"
        answer = httpx.post(up.url, headers={"Authorization": "Bearer wrong-token-0000000"}, json={}, timeout=10)
        assert answer.status_code == 401


def test_a_schema_error_elsewhere_does_not_hide_the_clash(tmp_path: Path) -> None:
    """The trial's wrong `observability.audit` mapping plus `globex: "${ACME_TOKEN}"`: one pass reports both (before,
    the clash showed only once the audit error was fixed). An error inside `server.auth` itself judges no value."""
    clash = {**_env(GLOBEX_TOKEN=ACME), "MCPRT_TRANSPORT": "http"}
    audit = MANIFEST.replace("sources:", "  observability:\n    audit: {path: audit.jsonl}\nsources:")
    manifest = _write(tmp_path, audit)
    done = mcprt_process("validate", "mcp.yaml", cwd=tmp_path, env=clash, forked=True)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("mcp.yaml:")]
    assert lines == ["mcp.yaml:7:7: server.auth.tokens.globex has the same value as server.auth.tokens.acme: a token "
                     "must identify one caller (a call presenting it would be principal 'globex', and the caller of "
                     "'acme' could not authenticate); give each entry its own token, or, if every caller presenting "
                     "it is 'globex', remove server.auth.tokens.acme",
                     "mcp.yaml:9:12: server.observability.audit: expected a string, got a mapping"], done.stderr
    assert ACME not in done.stdout + done.stderr and "Traceback" not in done.stderr
    inside = _write(tmp_path, MANIFEST.replace("      globex:", '      "glo bex":'))
    done = mcprt_process("validate", str(inside), cwd=tmp_path, env=clash, forked=True)
    assert done.returncode == 2 and "server.auth.tokens.glo bex" in done.stderr, done.stderr
    assert "same value" not in done.stderr and ACME not in done.stdout + done.stderr


def test_the_upgrade_trials_token_alias_stops_up_saying_how_to_keep_the_earlier_behaviour(tmp_path: Path) -> None:
    """The upgrade trial: `ci-legacy`, an alias of `ci-bot`'s token, served on 0.2.0 (every call presenting it was
    `ci-legacy`, the later name) and stops 0.3.0's `mcprt up` (exit 2), so the first new pod of a rolling upgrade
    crash-loops. The error says both ways out: separate tokens, or drop the entry 0.2.0 never named anyone — without
    naming a release, which the next one would make wrong (review of upfix, problem 3)."""
    (tmp_path / "notes.py").write_text("def ping() -> str:\n    \"\"\"Answer pong.\"\"\"\n    return 'pong'\n")
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text('version: 1\nsources:\n  notes:\n    python: notes\n'
                        'server: {auth: {tokens: {ci-bot: "${CI_TOKEN}", ci-legacy: "${CI_TOKEN}"}}}\n')
    done = mcprt_process("up", str(manifest), "--transport", "http", "--port", "0", cwd=tmp_path,
                         env={"CI_TOKEN": "a-token-1111"}, timeout=60, forked=True)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{manifest}:5:49: server.auth.tokens.ci-legacy has the same value as server.auth.tokens.ci-bot: a " \
           "token must identify one caller (a call presenting it would be principal 'ci-legacy', and the caller of " \
           "'ci-bot' could not authenticate); give each entry its own token, or, if every caller presenting it is " \
           "'ci-legacy', remove server.auth.tokens.ci-bot" in done.stderr, done.stderr
    assert "0.2.0" not in done.stderr  # the release history is the upgrade note's, not the error's
    assert "a-token-1111" not in done.stdout + done.stderr and "Traceback" not in done.stderr
