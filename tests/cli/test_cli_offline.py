"""Offline means offline: a URL `openapi:` with a pinned `spec/<source>.json` works without network.

- the fetch fails and the pin exists → the pin is used, with a warning naming it (tools, call, up);
- `--offline` (every command that loads a manifest) never touches the network: the spec URL below
  is a live recording server that must see no request;
- no pin and no cached copy → exit 2, and the error says what to save to work offline.
All through the real CLI, against upstreams on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mcprt.cli.main import app
from tests.support.catchall import CatchAll, catch_all
from tests.support.cli import mcprt_cli
from tests.support.served import child_env, http_client, mcprt_http
from tests.support.upstream import free_port

SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "notes", "version": "1"},
    "paths": {"/notes/{id}": {"get": {"operationId": "getNote", "responses": {"200": {"description": "ok"}},
                                      "parameters": [{"name": "id", "in": "path", "required": True,
                                                      "schema": {"type": "string"}}]}}},
}
# Commands that load a manifest (schema and catalog do not).
LOADING = ["validate", "tools", "call", "up", "test", "record", "diff"]


@pytest.fixture(scope="module")
def upstream() -> Iterator[CatchAll]:
    with catch_all() as server:
        yield server


def _folder(tmp_path: Path, spec_url: str, base: str, pinned: bool = True) -> Path:
    (tmp_path / "spec").mkdir()
    if pinned:
        (tmp_path / "spec" / "notes.json").write_text(json.dumps(SPEC))
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(f"version: 1\nserver: {{name: notes}}\nsources:\n"
                        f"  notes: {{openapi: '{spec_url}', base_url: '{base}'}}\n")
    return manifest


def _env(tmp_path: Path) -> dict[str, str]:
    return {"MCPRT_CACHE_DIR": str(tmp_path / "cache")}  # an empty cache: no earlier copy to fall back on


def test_a_url_that_never_answers_gives_way_to_the_pinned_copy_after_its_limit(tmp_path: Path,
                                                                                upstream: CatchAll) -> None:
    """A spec URL that accepts the connection and never answers (a firewall that drops, a stripped
    HTTPS_PROXY) held a host's `initialize` for 31 s with the pinned copy beside the manifest: the fetch
    waited its 30 s read timeout. With a pin the fetch gets MCPRT_PINNED_FETCH_TIMEOUT (5 s; 1 s here) to
    answer, and the warning says which limit."""
    import threading

    from tests.support.upstream import serve_tcp

    release = threading.Event()

    def silent(conn: object) -> None:  # reads nothing, answers nothing, until the test ends
        release.wait(120)
        conn.close()  # type: ignore[attr-defined]

    try:
        with serve_tcp(silent) as (host, port):
            manifest = _folder(tmp_path, f"http://{host}:{port}/notes.json", upstream.base)
            listed = mcprt_cli("tools", str(manifest), "--json",
                               env={**_env(tmp_path), "MCPRT_PINNED_FETCH_TIMEOUT": "1"})
    finally:
        release.set()
    assert listed.returncode == 0, listed.stderr
    assert [t["name"] for t in json.loads(listed.stdout)["tools"]] == ["getNote"]
    assert "(no answer within 1 s (connecting, the response headers, or a pause in the body), the " \
           "limit while a pinned copy can stand in) and no cached copy exists; using the pinned copy " \
           "spec/notes.json" in listed.stderr, listed.stderr


def test_a_slow_but_flowing_download_is_fetched_and_cached_despite_the_pin(tmp_path: Path, upstream: CatchAll) -> None:
    """The pin's 5 s bounds the wait for an answer, not the whole body: capped in all, an 888 KB spec sent
    in 8 s was never fetched nor cached (a warning, and the stale pin, at every start). Here the headers
    come at once and the body drips over ~6 s, a pause of 0.4 s at most: the fresh document is used."""
    import time

    from tests.support.upstream import serve_tcp

    fresh = json.loads(json.dumps(SPEC))
    fresh["paths"]["/notes/{id}"]["get"]["operationId"] = "getFreshNote"  # tells the fetched copy from the pin
    body = json.dumps(fresh).encode()
    parts = 16

    def dripping(conn: object) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            request += conn.recv(4096)  # type: ignore[attr-defined]
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"  # type: ignore[attr-defined]
                     b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
        step = -(-len(body) // parts)
        for start in range(0, len(body), step):
            time.sleep(0.4)
            conn.sendall(body[start:start + step])  # type: ignore[attr-defined]
        conn.close()  # type: ignore[attr-defined]

    with serve_tcp(dripping) as (host, port):
        manifest = _folder(tmp_path, f"http://{host}:{port}/notes.json", upstream.base)
        started = time.monotonic()
        listed = mcprt_cli("tools", str(manifest), "--json", env=_env(tmp_path))
        took = time.monotonic() - started
    assert listed.returncode == 0, listed.stderr
    assert took > 5.5, took  # the body did take longer than the pin's 5 s
    assert [t["name"] for t in json.loads(listed.stdout)["tools"]] == ["getFreshNote"], listed.stderr
    assert "pinned copy" not in listed.stderr, listed.stderr
    assert list((tmp_path / "cache").rglob("*")), "the fetched document is cached for the next start"


def test_a_failed_fetch_falls_back_to_the_pinned_copy_with_a_warning(tmp_path: Path, upstream: CatchAll) -> None:
    dead = f"http://127.0.0.1:{free_port()}/notes.json"
    manifest = _folder(tmp_path, dead, upstream.base)
    listed = mcprt_cli("tools", str(manifest), "--json", env=_env(tmp_path))
    assert listed.returncode == 0, listed.stderr
    assert [t["name"] for t in json.loads(listed.stdout)["tools"]] == ["getNote"]
    assert "using the pinned copy spec/notes.json" in listed.stderr
    upstream.clear()
    called = mcprt_cli("call", str(manifest), "getNote", "--args", '{"id": "7"}', env=_env(tmp_path))
    assert called.returncode == 0, called.stdout + called.stderr
    assert upstream.last().path == "/notes/7"


def test_offline_never_fetches(tmp_path: Path, upstream: CatchAll) -> None:
    manifest = _folder(tmp_path, f"{upstream.base}/specs/notes.json", upstream.base)
    upstream.clear()
    for args in (["tools", str(manifest), "--offline"], ["validate", str(manifest), "--offline"],
                 ["call", str(manifest), "getNote", "--args", '{"id": "1"}', "--offline"]):
        done = mcprt_cli(*args, env=_env(tmp_path))
        assert done.returncode == 0, done.stdout + done.stderr
        assert "getNote" in done.stdout or "1 tool" in done.stderr or '"ok": true' in done.stdout
    assert [seen.path for seen in upstream.seen] == ["/notes/1"]  # the call, never the spec URL


async def test_up_serves_offline_from_the_pinned_copy(tmp_path: Path, upstream: CatchAll) -> None:
    manifest = _folder(tmp_path, f"{upstream.base}/specs/notes.json", upstream.base)
    upstream.clear()
    with mcprt_http(manifest, "--offline", "--no-reload", env=child_env(**_env(tmp_path))) as up:
        async with http_client(up.url) as client:
            assert [t.name for t in (await client.list_tools()).tools] == ["getNote"]
            result = await client.call_tool("getNote", {"id": "2"})
            assert not result.is_error
    assert [seen.path for seen in upstream.seen] == ["/notes/2"]
    # found by an operator's trial: nothing said the tools came from the pinned copy (of when), not the URL
    told = "".join(up.stderr)
    assert f"mcp.yaml:4:20: note: source 'notes': {upstream.base}/specs/notes.json not fetched: offline (--offline " \
           "or MCPRT_OFFLINE); serving the pinned copy spec/notes.json beside the manifest (saved 20" in told, told
    assert "warning" not in told, told


def test_without_a_pin_the_error_says_how_to_work_offline(tmp_path: Path, upstream: CatchAll) -> None:
    dead = f"http://127.0.0.1:{free_port()}/notes.json"
    manifest = _folder(tmp_path, dead, upstream.base, pinned=False)
    online = mcprt_cli("tools", str(manifest), env=_env(tmp_path))
    assert online.returncode == 2
    assert "cannot fetch the document" in online.stderr
    assert "to work without network, pin it (spec/notes.json, .yaml or .yml beside the manifest; `mcprt pin` on this " \
        "manifest writes spec/notes.json while the URL is reachable; the pinned copy is used when the fetch fails, " \
        "and always with --offline)" in online.stderr
    offline = mcprt_cli("tools", str(manifest), "--offline", env=_env(tmp_path))
    assert offline.returncode == 2
    assert "offline, and neither a pinned copy (spec/notes.json, .yaml or .yml beside the manifest; `mcprt pin` on " \
        "this manifest writes spec/notes.json while the URL is reachable) nor a cached copy" in offline.stderr
    # found by a new-user trial: the hint said `mcprt pin MANIFEST`, a placeholder never filled in
    assert "MANIFEST" not in online.stderr + offline.stderr
    assert "Traceback" not in online.stderr + offline.stderr


@pytest.mark.parametrize(("url_path", "named"), [
    ("notes.yaml", "spec/notes.yaml"), ("openapi.yml", "spec/notes.yml"), ("spec.JSON", "spec/notes.json"),
    ("openapi", "spec/notes.json or .yaml, as the description is written"),
])
def test_the_offline_hint_names_the_file_pin_would_write(tmp_path: Path, upstream: CatchAll, url_path: str,
                                                         named: str) -> None:
    """A YAML spec's hint said `spec/notes.json`, which `mcprt pin` would never write; it names what pin
    writes (the URL's extension; a URL without one: either, as the body is JSON or YAML) and the command."""
    dead = f"http://127.0.0.1:{free_port()}/{url_path}"
    manifest = _folder(tmp_path, dead, upstream.base, pinned=False)
    for flags in ([], ["--offline"]):
        done = mcprt_cli("validate", str(manifest), *flags, env=_env(tmp_path))
        assert done.returncode == 2, done.stderr
        assert f"`mcprt pin` on this manifest writes {named} while" in done.stderr, done.stderr
        assert "pinned copy (spec/notes.json, .yaml or .yml beside" in done.stderr or not flags, done.stderr
        assert "MANIFEST" not in done.stderr and "Traceback" not in done.stderr


def test_a_pinned_copy_is_read_whatever_the_url_extension(tmp_path: Path, upstream: CatchAll) -> None:
    """Found by a new-user trial: the README said the pinned copy's extension follows the URL's, but the catalog's
    DigitalOcean entry pins its `.yaml` URL as `spec/digitalocean.json`, which is read: any of the three is."""
    manifest = _folder(tmp_path, f"http://127.0.0.1:{free_port()}/notes.yaml", upstream.base)
    listed = mcprt_cli("tools", str(manifest), "--offline", "--json", env=_env(tmp_path))
    assert listed.returncode == 0, listed.stderr
    assert [t["name"] for t in json.loads(listed.stdout)["tools"]] == ["getNote"]


@pytest.mark.parametrize("command", LOADING)
def test_every_command_that_loads_a_manifest_accepts_offline(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "--offline" in result.stdout


def test_each_fallback_warning_names_the_url_why_and_the_file(tmp_path: Path, upstream: CatchAll) -> None:
    """The warning of every fallback names the URL that was not fetched, why, and the file read instead.

    Found checking them: a cached copy standing in for a failed fetch said nothing at all once the
    compile cache held the description (its warning rode the compile, which a cache hit skips), and
    said only "using the cached copy" on a cold compile; `--offline` falling back to the cache likewise."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from tests.support.upstream import serve_app

    async def spec(_request: object) -> JSONResponse:
        return JSONResponse(SPEC)

    with serve_app(Starlette(routes=[Route("/notes.json", spec)])) as base:
        url = f"{base}/notes.json"
        manifest = _folder(tmp_path, url, upstream.base, pinned=False)
        fetched = mcprt_cli("tools", str(manifest), env=_env(tmp_path))  # fetched, cached, compiled
        assert fetched.returncode == 0 and "warning" not in fetched.stderr, fetched.stderr
    cache_file = next((tmp_path / "cache" / "http").glob("*.body"))

    def warning_of(*args: str) -> str:
        done = mcprt_cli("tools", str(manifest), *args, env=_env(tmp_path))
        assert done.returncode == 0, done.stderr
        (line,) = [line for line in done.stderr.splitlines() if "warning:" in line]
        return line

    stale = warning_of()  # the server is gone; the compile cache has the description
    assert f"mcp.yaml:4:20: warning: source 'notes': could not fetch {url} (ConnectError" in stale, stale
    assert f"; using the cached copy {cache_file} (saved 20" in stale, stale
    offline = warning_of("--offline")
    assert f"source 'notes': {url} not fetched: offline (--offline or MCPRT_OFFLINE); using the cached copy " \
           f"{cache_file} (saved 20" in offline, offline

    (tmp_path / "spec" / "notes.json").write_text(json.dumps(SPEC))
    (tmp_path / "cache" / "http").rename(tmp_path / "cache" / "http.away")  # no cached copy: the pin is next
    pinned = warning_of()
    assert f"source 'notes': {url}: cannot fetch the document (ConnectError" in pinned, pinned
    assert re.search(r"and no cached copy exists; using the pinned copy spec/notes\.json beside the manifest "
                     r"\(saved \d{4}-\d\d-\d\d \d\d:\d\d UTC\)$", pinned), pinned
    quiet = mcprt_cli("tools", str(manifest), "--offline", env=_env(tmp_path))  # what --offline asks for: no fallback
    assert quiet.returncode == 0 and "warning:" not in quiet.stderr, quiet.stderr
