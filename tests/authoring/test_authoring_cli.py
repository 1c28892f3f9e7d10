"""`show`, `call --url`, `pin`, `diff` of outputSchemas and the README's quick start, through the real CLI."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.cli import mcprt_cli as mcprt
from tests.support.cli import mcprt_process
from tests.support.served import UpProcess, child_env, mcprt_http

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "catalog"


@contextmanager
def notes_api() -> Iterator[str]:
    """The quick start's notes REST API as a real process on a free port."""
    process = subprocess.Popen([sys.executable, str(CATALOG / "quickstart" / "notes_api.py"), "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        assert match, line
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def static_files(folder: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_quick_start_init_validate_up_and_call_over_http(tmp_path: Path) -> None:
    manifest = tmp_path / "notes" / "mcp.yaml"
    made = mcprt_process("init", "--openapi", str(CATALOG / "quickstart" / "notes-api.yaml"), "--out", str(manifest),
                         forked=True)
    assert made.returncode == 0, made.stderr
    with notes_api() as api:
        text = manifest.read_text()
        manifest.write_text(text.replace("    tools:\n", f"    base_url: {api}\n    tools:\n", 1))  # our free port
        checked = mcprt_process("validate", str(manifest), forked=True)
        assert checked.returncode == 0, checked.stderr
        with mcprt_http(manifest) as up:
            created = mcprt_process("call", "--url", up.url, "create_note", "--args",
                                    json.dumps({"title": "Quokka budget", "body": "Quokkas need 30 s of retries."}),
                                    forked=True)
            assert created.returncode == 0, created.stderr
            note_id = json.loads(created.stdout)["structuredContent"]["id"]
            found = mcprt_process("call", "--url", up.url, "search_notes", "--args", '{"q": "quokkas"}', forked=True)
            assert found.returncode == 0, found.stderr
            # one note found: objects (init suggests a table from 3 items on, `authoring/table.py`), text only
            notes = json.loads(found.stdout)
            listed = json.loads(notes["content"][0]["text"])
            assert [note["title"] for note in listed] == ["Quokka budget"], listed
            for n in range(2):  # three notes: a table, keys once
                more = mcprt_process("call", "--url", up.url, "create_note", "--args",
                                     json.dumps({"title": f"Quokka {n}", "body": "More quokkas."}), forked=True)
                assert more.returncode == 0, more.stderr
            found = mcprt_process("call", "--url", up.url, "search_notes", "--args", '{"q": "quokka"}', forked=True)
            assert found.returncode == 0, found.stderr
            table = json.loads(json.loads(found.stdout)["content"][0]["text"])
            assert sorted(row[table["columns"].index("title")] for row in table["rows"]) == [
                "Quokka 0", "Quokka 1", "Quokka budget"], table
            # get_note declares an outputSchema (its prune gives an object): the SDK client validated it
            read = mcprt_process("call", "--url", up.url, "get_note", "--args", json.dumps({"id": note_id}),
                                 forked=True)
            assert read.returncode == 0, read.stderr
            assert json.loads(read.stdout)["structuredContent"]["body"] == "Quokkas need 30 s of retries."
            missing = mcprt_process("call", "--url", up.url, "get_note", "--args", '{"id": 9999}', forked=True)
            assert missing.returncode == 1 and '"isError": true' in missing.stdout


def test_call_url_sends_headers_and_fails_cleanly_without_them(tmp_path: Path) -> None:
    entry = tmp_path / "quickstart"
    shutil.copytree(CATALOG / "quickstart", entry)
    manifest = entry / "mcp.yaml"
    manifest.write_text(manifest.read_text().replace(
        "server:\n", 'server:\n  auth: {bearer_tokens: ["${MCPRT_TOKEN}"]}\n', 1))
    with mcprt_http(manifest, env=child_env(MCPRT_TOKEN="s3cret-token")) as up:
        denied = mcprt("call", "--url", up.url, "search_notes", "--args", '{"query": "release"}')
        assert denied.returncode == 2
        assert f"calling search_notes at {up.url} failed" in denied.stderr and "Traceback" not in denied.stderr
        allowed = mcprt("call", "--url", up.url, "search_notes", "--args", '{"query": "release"}',
                        "--header", "Authorization: Bearer s3cret-token")
        assert allowed.returncode == 0, allowed.stderr
        assert "Release checklist" in allowed.stdout
        bad = mcprt("call", "--url", up.url, "search_notes", "--header", "no-separator")
        assert bad.returncode == 2 and "expected 'Name: value'" in bad.stderr


@pytest.fixture(scope="module")
def ops_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, UpProcess]]:
    """The quick start with one operator token (`ops-token-1`), served over HTTP once for the tests of
    refused and missing tokens: they only read (search_notes, status) or are refused before any change
    (`pause` without a valid token), so no test sees another's state."""
    entry = tmp_path_factory.mktemp("ops") / "quickstart"
    shutil.copytree(CATALOG / "quickstart", entry)
    manifest = entry / "mcp.yaml"
    manifest.write_text(manifest.read_text().replace(
        "server:\n", 'server:\n  auth: {tokens: {ops: "${OPS_TOKEN}"}}\n', 1))
    with mcprt_http(manifest, env=child_env(OPS_TOKEN="ops-token-1")) as up:
        yield entry, up


@pytest.mark.xdist_group("test_authoring_cli_ops")  # `ops_served` started once per run
def test_call_url_says_what_an_http_refusal_means_and_takes_the_token(ops_served: tuple[Path, UpProcess]) -> None:
    """Found by a new-user trial: a 401 (no or a wrong token) and a 404 (not the MCP endpoint) both
    printed `MCPError: Server returned an error response`; and `call --url` alone of the commands
    that talk to a running server took no `--token` / `MCPRT_TOKEN`."""
    entry, up = ops_served
    call = ("call", "search_notes", "--args", '{"query": "release"}')
    missing = mcprt(*call, "--url", up.url)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert "HTTP 401" in missing.stderr and "pass --token TOKEN or set MCPRT_TOKEN" in missing.stderr
    wrong = mcprt(*call, "--url", up.url, "--token", "not-it")
    assert wrong.returncode == 2 and "HTTP 401" in wrong.stderr
    assert "did not accept the bearer token" in wrong.stderr and "not-it" not in wrong.stderr
    by_option = mcprt(*call, "--url", up.url, "--token", "ops-token-1")
    assert by_option.returncode == 0, by_option.stderr
    assert "Release checklist" in by_option.stdout
    by_env = mcprt(*call, "--url", up.url, env=child_env(MCPRT_TOKEN="ops-token-1"))
    assert by_env.returncode == 0, by_env.stderr
    header_wins = mcprt(*call, "--url", up.url, "--token", "ops-token-1", "--header", "Authorization: Bearer x")
    assert header_wins.returncode == 2 and "did not accept" in header_wins.stderr
    elsewhere = mcprt(*call, "--url", f"{up.base}/nope", "--token", "ops-token-1")
    assert elsewhere.returncode == 2 and "HTTP 404" in elsewhere.stderr
    assert "the server's MCP endpoint?" in elsewhere.stderr
    local = mcprt(*call, "--token", "ops-token-1", cwd=entry)
    assert local.returncode == 2 and "--token is for --url" in local.stderr


def test_show_gives_definition_origin_overrides_and_a_sample() -> None:
    shown = mcprt("show", str(CATALOG / "github" / "mcp.yaml"), "get_issue", "--offline", "--json")
    assert shown.returncode == 0, shown.stderr
    facts = json.loads(shown.stdout)
    assert facts["definition"]["name"] == "get_issue"
    assert facts["operation"] == {"source": "github", "key": "issues/get", "method": "GET",
                                  "path": "/repos/{owner}/{repo}/issues/{issue_number}",
                                  "aliases": ["GET /repos/{owner}/{repo}/issues/{issue_number}", "issues_get"]}
    manifest_lines = (CATALOG / "github" / "mcp.yaml").read_text().splitlines()
    key_line = next(i for i, line in enumerate(manifest_lines, 1) if line.strip() == "issues/get:")
    assert facts["overrides"]["at"].endswith(f"mcp.yaml:{key_line}")
    assert facts["overrides"]["fields"]["prune"]["at"].endswith(f"mcp.yaml:{key_line + 3}")
    assert facts["shaping"]["prune"].startswith("{number: number")
    assert facts["sample"]["case"] == "cases/get_issue/issue-1347.yaml"
    assert facts["sample"]["result"]["content"][0]["text"].startswith("#1347 Found a bug [open: completed]")
    text = mcprt("show", str(CATALOG / "github" / "mcp.yaml"), "get_issue", "--offline")
    assert text.returncode == 0 and "from: source 'github', operation issues/get (GET /repos/" in text.stdout
    # Found by a later pass (issue #20): the name, description, prune and output the model gets did not say
    # that an override gave them, nor from which line; each now names the override and its line.
    lines = text.stdout.splitlines()
    for field, offset in (("name", 1), ("description", 2), ("prune", 3), ("output template", 7)):
        said = [line for line in lines if line.startswith(f"{field} (override issues/get, ")]
        assert said and said[0].split(")", 1)[0].endswith(f"mcp.yaml:{key_line + offset}"), (field, text.stdout)
    assert any(line.startswith("title: ") for line in lines), text.stdout  # from the spec: no override named
    assert any(line.startswith("input schema: ") for line in lines), text.stdout
    unknown = mcprt("show", str(CATALOG / "github" / "mcp.yaml"), "get_isue", "--offline")
    assert unknown.returncode == 2 and "get_issue" in unknown.stderr


def _served_petstore(tmp_path: Path) -> tuple[Path, Path]:
    """A folder holding the Petstore description to serve over HTTP, and where a project's manifest goes."""
    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(CATALOG / "petstore" / "spec" / "petstore.yaml", served / "openapi.yaml")
    project = tmp_path / "project"
    project.mkdir()
    return served, project / "mcp.yaml"


def _write_url_manifest(manifest: Path, origin: str) -> None:
    """A manifest whose one source reads its description from `origin` (a URL spec: what `pin` copies)."""
    manifest.write_text(f"version: 1\nsources:\n  pets:\n    openapi: {origin}/openapi.yaml\n"
                        "    base_url: http://127.0.0.1:9\n")


def test_pin_writes_the_spec_copy_that_offline_validation_reads(tmp_path: Path) -> None:
    served, manifest = _served_petstore(tmp_path)
    with static_files(served) as origin:
        _write_url_manifest(manifest, origin)
        pinned = mcprt("pin", str(manifest), env=child_env(MCPRT_CACHE_DIR=str(tmp_path / "cache")))
        assert pinned.returncode == 0, pinned.stderr
        assert f"spec/pets.yaml: written, {(served / 'openapi.yaml').stat().st_size:,} bytes" in pinned.stderr
        again = mcprt("pin", str(manifest), env=child_env(MCPRT_CACHE_DIR=str(tmp_path / "cache")))
        assert "spec/pets.yaml: unchanged" in again.stderr
    assert (manifest.parent / "spec" / "pets.yaml").read_bytes() == (served / "openapi.yaml").read_bytes()
    offline = mcprt("validate", "--offline", str(manifest), env=child_env(MCPRT_CACHE_DIR=str(tmp_path / "empty")))
    assert offline.returncode == 0, offline.stderr


def test_pin_without_network_keeps_the_pinned_copy_and_offline_pins_from_the_cache(tmp_path: Path) -> None:
    """Found by a new-user trial: `mcprt pin` without network said "no cached copy exists" though
    `spec/<source>.*` was there, and `pin` had no `--offline` (the README says every command that loads
    a manifest takes it)."""
    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(CATALOG / "petstore" / "spec" / "petstore.yaml", served / "openapi.yaml")
    project = tmp_path / "project"
    project.mkdir()
    manifest = project / "mcp.yaml"
    cache = child_env(MCPRT_CACHE_DIR=str(tmp_path / "cache"))
    with static_files(served) as origin:
        manifest.write_text(f"version: 1\nsources:\n  pets:\n    openapi: {origin}/openapi.yaml\n"
                            "    base_url: http://127.0.0.1:9\n")
        assert mcprt("pin", str(manifest), env=cache).returncode == 0
    size = (served / "openapi.yaml").stat().st_size
    # the origin is gone, and no cache: the pinned copy stays, and says why it was not refreshed
    gone = mcprt("pin", str(manifest), env=child_env(MCPRT_CACHE_DIR=str(tmp_path / "empty")))
    assert gone.returncode == 0, gone.stderr
    assert f"spec/pets.yaml: unchanged, {size:,} bytes from {origin}/openapi.yaml (kept, not refreshed: " \
           "cannot fetch the document" in gone.stderr, gone.stderr
    # --offline: from the cache alone, never the network
    cached = mcprt("pin", "--offline", str(manifest), env=cache)
    assert cached.returncode == 0 and f"spec/pets.yaml: unchanged, {size:,} bytes" in cached.stderr, cached.stderr
    assert "kept, not refreshed" not in cached.stderr
    # offline with neither a cached nor a pinned copy: bad input, naming both
    (project / "spec" / "pets.yaml").unlink()
    neither = mcprt("pin", "--offline", str(manifest), env=child_env(MCPRT_CACHE_DIR=str(tmp_path / "empty")))
    assert neither.returncode == 2 and "offline, and no cached copy of this URL exists, and no pinned copy " \
           "spec/pets.* exists" in neither.stderr, neither.stderr
    assert "Traceback" not in neither.stderr


def test_diff_reports_output_schema_changes(tmp_path: Path) -> None:
    spec = CATALOG / "petstore" / "spec" / "petstore.yaml"
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    body = "version: 1\nsources:\n  pets:\n    openapi: {spec}\n    base_url: http://127.0.0.1:9\n" \
           "    include: {{operations: [getPetById]}}\n    tools:\n      getPetById: {{prune: \"{prune}\"}}\n"
    old.write_text(body.format(spec=spec, prune="{id: id, name: name, status: status}"))
    new.write_text(body.format(spec=spec, prune="{id: id, status: status}"))
    shown = mcprt("diff", str(old), str(new), "--fail-on", "breaking")
    assert shown.returncode == 1, shown.stdout + shown.stderr
    assert "BREAKING output schema changed: /properties/name: removed" in shown.stdout, shown.stdout
    listed = json.loads(mcprt("tools", str(new), "--json").stdout)["tools"][0]
    assert listed["outputSchema"] == {"type": "object", "properties": {"id": {"type": ["integer", "null"]},
                                                                       "status": {"type": ["string", "null"]}}}


@pytest.mark.xdist_group("test_authoring_cli_ops")  # `ops_served` started once per run
def test_operator_commands_tell_a_refused_token_from_a_missing_one(ops_served: tuple[Path, UpProcess]) -> None:
    """Found by a new-user trial: `mcprt status --token WRONG` said the page "needs a bearer token:
    pass --token", and `approvals`/`pause` printed the server's "a valid bearer token is required"
    with no token as with a wrong one; `call --url` alone told the two apart."""
    _, up = ops_served
    for command in (("status", up.url), ("approvals", "list", "--url", up.url),
                    ("pause", "search_notes", "--url", up.url)):
        missing = mcprt(*command)
        assert missing.returncode == 2 and "Traceback" not in missing.stderr, missing.stderr
        assert "HTTP 401" in missing.stderr and "pass --token TOKEN or set MCPRT_TOKEN" in missing.stderr
        wrong = mcprt(*command, "--token", "not-it")
        assert wrong.returncode == 2 and "HTTP 401" in wrong.stderr, wrong.stderr
        assert "did not accept the bearer token sent" in wrong.stderr and "pass --token" not in wrong.stderr
        assert "not-it" not in wrong.stderr
    assert mcprt("status", up.url, "--token", "ops-token-1").returncode == 0


def _refusing_address() -> tuple[socket.socket, str]:
    """An address nothing listens on while the returned socket stays open (bound, never listening:
    a connect is refused and no other process can take the port meanwhile)."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    return holder, f"http://127.0.0.1:{holder.getsockname()[1]}"


def test_operator_commands_say_what_they_tried_and_how_to_point_elsewhere(tmp_path: Path) -> None:
    """Found by an operator trial: `mcprt approvals list` (and status/pause/resume) without `--url`
    said only "cannot reach 127.0.0.1:8765", with no hint that --url (or an env var) was needed."""
    holder, refusing = _refusing_address()
    with holder:
        commands = (("status",), ("approvals", "list"), ("pause", "search_notes"), ("resume", "search_notes"))
        for command in commands:
            via_env = mcprt(*command, env=child_env(MCPRT_URL=refusing))
            assert via_env.returncode == 2 and "Traceback" not in via_env.stderr, via_env.stderr
            assert f"cannot reach the server at {refusing}" in via_env.stderr, via_env.stderr
            assert "(from MCPRT_URL)" in via_env.stderr and "--url URL or MCPRT_URL=URL" in via_env.stderr
            given = mcprt(*command, *(("--url", refusing) if command[0] != "status" else (refusing,)))
            assert given.returncode == 2 and f"cannot reach the server at {refusing}" in given.stderr, given.stderr
            assert "MCPRT_URL" in given.stderr and "(from MCPRT_URL)" not in given.stderr
    with socket.socket() as probe:  # the default address: said as such when nothing answers there
        default_free = probe.connect_ex(("127.0.0.1", 8765)) != 0
    if default_free:
        for command in (("status",), ("approvals", "list")):
            default = mcprt(*command)
            assert default.returncode == 2 and "cannot reach the server at http://127.0.0.1:8765" in default.stderr
            assert "(the default: no --url given and MCPRT_URL is not set)" in default.stderr, default.stderr
            assert "Point at it with --url URL or MCPRT_URL=URL" in default.stderr
    # MCPRT_URL really selects the server (its MCP endpoint works as well as its base URL)
    entry = tmp_path / "quickstart"
    shutil.copytree(CATALOG / "quickstart", entry)
    with mcprt_http(entry / "mcp.yaml") as up:
        listed = mcprt("approvals", "list", "--json", env=child_env(MCPRT_URL=up.url))
        assert listed.returncode == 0 and json.loads(listed.stdout) == [], listed.stderr
        status = mcprt("status", "--json", env=child_env(MCPRT_URL=up.url))
        assert status.returncode == 0 and json.loads(status.stdout)["server"]["transport"], status.stderr


def test_show_in_discovery_mode_says_what_is_listed_and_shows_the_meta_tools(tmp_path: Path) -> None:
    """Found by a new-user trial: in discovery mode `mcprt show FILE search_tools` failed with "internal
    error: KeyError: 'mcprt'", and an unlisted operation was shown with "N bytes of tools/list"."""
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(f"""version: 1
server:
  expose: discovery
  pinned: [issues_get]
sources:
  github:
    openapi: {CATALOG / "github" / "spec" / "github.json"}
""")
    for meta in ("search_tools", "describe_tools", "call_tool"):
        shown = mcprt("show", str(manifest), meta)
        assert shown.returncode == 0 and "Traceback" not in shown.stderr, shown.stderr
        assert shown.stdout.startswith(f"{meta}  (") and " bytes of tools/list)" in shown.stdout.splitlines()[0]
        assert "from: mcprt, a discovery meta-tool (`expose: discovery`)" in shown.stdout
    hidden = mcprt("show", str(manifest), "issues_list-for-repo")
    assert hidden.returncode == 0, hidden.stderr
    assert "bytes; not in tools/list: reached through discovery (search_tools, call_tool))" in hidden.stdout
    assert "from: source 'github', operation issues/list-for-repo (GET /repos/{owner}/{repo}/issues)" in hidden.stdout
    facts = json.loads(mcprt("show", str(manifest), "issues_list-for-repo", "--json").stdout)
    assert facts["listed"] is False and facts["meta_tool"] is False
    pinned = json.loads(mcprt("show", str(manifest), "issues_get", "--json").stdout)
    assert pinned["listed"] is True and pinned["definition"]["name"] == "issues_get"


def test_an_unset_secret_points_review_commands_at_offline(tmp_path: Path) -> None:
    """Found by a new-user trial: `mcprt show list_issues` in a copied catalog entry stopped at
    "environment variable GITHUB_TOKEN is not set", not saying that `--offline` (which `show`, `validate`
    and `tools` take) reviews the manifest without the secret. `call` needs the real one: no such hint."""
    entry = tmp_path / "github"
    shutil.copytree(CATALOG / "github", entry)
    hint = "; or pass --offline to check the manifest with a placeholder for it"
    for command in (["show", "list_issues"], ["validate"], ["tools"]):
        run = mcprt(*command, cwd=entry, drop=("GITHUB_TOKEN",))
        assert run.returncode == 2, (command, run.stderr)
        assert "environment variable GITHUB_TOKEN is not set (set it" in run.stderr and hint in run.stderr, run.stderr
        offline = mcprt(*command, "--offline", cwd=entry, drop=("GITHUB_TOKEN",))
        assert offline.returncode == 0, (command, offline.stderr)
    call = mcprt("call", "list_issues", "--args", "{}", cwd=entry, drop=("GITHUB_TOKEN",))
    assert call.returncode == 2 and "GITHUB_TOKEN is not set" in call.stderr and hint not in call.stderr


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_pin_writes_the_spec_with_the_users_umask(tmp_path: Path, umask: int, mode: int) -> None:
    """A trial found the pinned spec 0600 under umask 0022 (`mkstemp`'s mode), beside 0644 cases and catalog
    specs: a file checked in and read by `validate --offline`/`mcprt test`, maybe by another user, gets the
    mode any file the user writes gets. A real `python -m mcprt` started under each umask by `sh`."""
    from tests.support.cli import cli_env

    served, manifest = _served_petstore(tmp_path)
    with static_files(served) as origin:
        _write_url_manifest(manifest, origin)
        pinned = subprocess.run(["sh", "-c", f'umask {umask:03o} && exec "$0" -m mcprt pin "$1"', sys.executable,
                                 str(manifest)], env=cli_env({"MCPRT_CACHE_DIR": str(tmp_path / "cache")}),
                                capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert pinned.returncode == 0, pinned.stderr
    assert (manifest.parent / "spec" / "pets.yaml").stat().st_mode & 0o777 == mode
    cached = [p for p in (tmp_path / "cache").rglob("*.body")]
    assert cached and all(p.stat().st_mode & 0o077 == 0 for p in cached)  # the private cache stays the user's
