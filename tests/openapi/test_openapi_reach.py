"""Where an API description's `$ref`s may lead, and how a description fetch is bounded (reach.py, fetch.py).

Found by a security reviewer's trial: a description fetched from a URL read local files through `$ref`
(`file:///…/secret.yaml`, a kubeconfig's field) and published them in tools/list; a local description
read any absolute path; `$ref`s and redirects reached 169.254.169.254; a server dripping a byte a second
held `mcprt validate` forever. Every case runs the real CLI against a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.support.cli import mcprt_cli
from tests.support.upstream import serve_app

SECRET = "kube-token-that-must-stay-home"


def _spec(*parameters: object) -> dict[str, object]:
    """A description with one operation per parameter `$ref` (operation `op0`, `op1`, …)."""
    paths = {f"/p{i}": {"get": {"operationId": f"op{i}", "parameters": [{"$ref": ref}],
                                "responses": {"200": {"description": "ok"}}}} for i, ref in enumerate(parameters)}
    return {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": paths}


PARAM = {"name": "q", "in": "query", "description": "a shared parameter", "schema": {"type": "string"}}
DOCS: dict[str, object] = {"/param.json": PARAM}


async def _document(request: Request) -> Response:
    found = DOCS.get(request.url.path)
    return JSONResponse(found) if found is not None else Response("not found", status_code=404)


async def _to_metadata(request: Request) -> Response:
    return RedirectResponse("http://169.254.169.254/latest/meta-data/spec.json", status_code=302)


async def _drip(request: Request) -> Response:
    async def body() -> AsyncIterator[bytes]:
        yield b"{"
        while True:  # a byte at a time, never done: each read succeeds, only a total deadline ends it
            await asyncio.sleep(0.1)
            yield b" "

    return StreamingResponse(body(), media_type="application/json")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    app = Starlette(routes=[Route("/to-metadata", _to_metadata), Route("/drip", _drip),
                            Route("/{path:path}", _document)])
    with serve_app(app) as url:
        yield url


@pytest.fixture(scope="module")
def secrets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder outside every manifest's tree holding a secret and a kubeconfig-shaped file."""
    folder = tmp_path_factory.mktemp("outside")
    (folder / "secret.yaml").write_text(f"name: q\nin: query\ndescription: {SECRET}\n")
    (folder / "kube.yaml").write_text(json.dumps({"users": [{"user": {"name": "q", "in": "query",
                                                                        "description": SECRET}}]}))
    return folder


def _manifest(folder: Path, openapi: str) -> Path:
    manifest = folder / "mcp.yaml"
    manifest.write_text(f"version: 1\nsources:\n  a:\n    openapi: {openapi}\n    base_url: http://127.0.0.1:9\n")
    return manifest


def test_a_remote_description_reaches_only_its_own_origin(server: str, secrets: Path, tmp_path: Path) -> None:
    refs = [(secrets / "secret.yaml").as_uri(), (secrets / "kube.yaml").as_uri() + "#/users/0/user",
            "http://169.254.169.254/latest/meta-data/x.json",
            server.replace("127.0.0.1", "localhost") + "/param.json", "ftp://127.0.0.1/param.json",
            "param.json"]
    DOCS["/remote.json"] = _spec(*refs)
    run = mcprt_cli("tools", "--json", str(_manifest(tmp_path, f"{server}/remote.json")), cwd=tmp_path)
    assert SECRET not in run.stdout + run.stderr
    origin = server
    for index, ref in enumerate(refs[:-1]):
        shown = ref.partition("#")[0]
        assert f"$ref to {shown} refused: a document fetched from a URL may only reference documents on " \
               f"its own origin ({origin})" in run.stderr, (ref, run.stderr)
        assert f"#/paths/~1p{index}/get/parameters/0/$ref: $ref to {shown} refused" in run.stderr
    tools = json.loads(run.stdout)["tools"]
    assert [tool["inputSchema"]["properties"] for tool in tools[:-1]] == [{}] * (len(refs) - 1)  # left out
    assert tools[-1]["inputSchema"]["properties"]["q"]["description"] == "a shared parameter"  # same origin: read


def test_a_local_description_reaches_only_files_in_the_manifest_s_folder(secrets: Path, tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "param.yaml").write_text(json.dumps(PARAM))
    (tmp_path / "shared" / "escape.yaml").symlink_to(secrets / "secret.yaml")
    refs = [str(secrets / "secret.yaml"), f"../{secrets.name}/kube.yaml#/users/0/user",
            (secrets / "secret.yaml").as_uri(), "shared/escape.yaml", "shared/param.yaml"]
    (tmp_path / "api.json").write_text(json.dumps(_spec(*refs)))
    run = mcprt_cli("tools", "--json", str(_manifest(tmp_path, "api.json")), cwd=tmp_path)
    assert run.returncode == 0 and SECRET not in run.stdout + run.stderr
    for index in range(len(refs) - 1):
        assert f"api.json#/paths/~1p{index}/get/parameters/0/$ref: $ref to file://" in run.stderr, run.stderr
    # The symlink is judged by where it leads.
    assert run.stderr.count(f"refused: {secrets.resolve()}/") == len(refs) - 1, run.stderr
    assert run.stderr.count(f"is outside the manifest's folder {tmp_path.resolve()}") == len(refs) - 1
    tools = json.loads(run.stdout)["tools"]
    assert tools[-1]["inputSchema"]["properties"]["q"]["description"] == "a shared parameter"  # inside: read


def _split_api(folder: Path, ref: str = "./params.yaml#/q") -> Path:
    """A description at `folder`/api/openapi.yaml whose parameter is `$ref`d from a split file beside it."""
    api = folder / "api"
    api.mkdir()
    (api / "params.yaml").write_text(json.dumps({"q": PARAM}))
    (api / "openapi.yaml").write_text(json.dumps(_spec(ref) | {"servers": [{"url": "http://127.0.0.1:9"}]}))
    (folder / "proj").mkdir()
    return folder / "proj"


def test_a_local_description_reaches_its_own_folder_tree_wherever_the_manifest_is(secrets: Path,
                                                                                 tmp_path: Path) -> None:
    """The author named the description (`openapi: ../api/openapi.yaml`, `init --openapi ../api/…`): its
    split files beside it are read; a file outside both trees still is not."""
    proj = _split_api(tmp_path)
    (tmp_path / "api" / "more.yaml").write_text(json.dumps(_spec("./params.yaml#/q", str(secrets / "secret.yaml"))))
    run = mcprt_cli("tools", "--json", str(_manifest(proj, "../api/more.yaml")), cwd=proj)
    assert run.returncode == 0 and SECRET not in run.stdout + run.stderr, run.stderr
    tools = json.loads(run.stdout)["tools"]
    assert tools[0]["inputSchema"]["properties"]["q"]["description"] == "a shared parameter"
    assert tools[1]["inputSchema"]["properties"] == {}
    assert f"is outside the manifest's folder {proj.resolve()} and the description's folder " \
           f"{(tmp_path / 'api').resolve()}" in run.stderr, run.stderr
    assert "refused" not in run.stderr.split("p1/get")[0], run.stderr  # only the secret's $ref is refused
    made = mcprt_cli("init", "--openapi", "../api/openapi.yaml", "--out", "init.yaml", "-y", cwd=proj)
    assert made.returncode == 0 and "refused" not in made.stderr, made.stderr
    served = mcprt_cli("tools", "--json", "init.yaml", cwd=proj)
    assert served.returncode == 0 and "refused" not in served.stderr, served.stderr
    assert json.loads(served.stdout)["tools"][0]["inputSchema"]["properties"]["q"]["description"] \
        == "a shared parameter"
    outside = mcprt_cli("init", "--openapi", "../api/more.yaml", "--out", "more.yaml", "-y", cwd=proj)
    assert outside.returncode == 0 and SECRET not in outside.stdout + outside.stderr, outside.stderr
    assert "warning: " in outside.stderr and "secret.yaml refused" in outside.stderr, outside.stderr  # said, not silent


def test_a_compile_cached_under_other_ref_roots_is_not_reused(tmp_path: Path) -> None:
    """The compile cache keys where `$ref`s may lead: a parameter refused once is read when allowed."""
    proj = _split_api(tmp_path, "../other/params.yaml#/q")
    (tmp_path / "other").mkdir()
    (tmp_path / "api" / "params.yaml").rename(tmp_path / "other" / "params.yaml")
    manifest = str(_manifest(proj, "../api/openapi.yaml"))
    refused_run = mcprt_cli("tools", "--json", manifest, cwd=proj)
    assert "refused" in refused_run.stderr, refused_run.stderr
    allowed = mcprt_cli("tools", "--json", manifest, cwd=proj, env={"MCPRT_INCLUDE_PATHS": str(tmp_path / "other")})
    assert "refused" not in allowed.stderr, allowed.stderr
    assert json.loads(allowed.stdout)["tools"][0]["inputSchema"]["properties"]["q"]["description"] \
        == "a shared parameter"


def test_a_ref_holding_a_nul_byte_is_refused_by_name(tmp_path: Path) -> None:
    proj = _split_api(tmp_path, "params%00.yaml#/q")
    run = mcprt_cli("tools", "--json", str(_manifest(proj, "../api/openapi.yaml")), cwd=proj)
    assert run.returncode == 0, run.stderr
    assert "internal error" not in run.stderr and "refused: a file name cannot hold a NUL byte (%00)" in run.stderr


def test_a_description_is_never_fetched_from_a_metadata_address(server: str, tmp_path: Path) -> None:
    for location, why in ((f"{server}/to-metadata", "169.254.169.254 is a link-local address"),
                          ("http://169.254.169.254/latest/meta-data/spec.json", "169.254.169.254 is a link-local"),
                          ("http://[fd00:ec2::254]/spec.json", "fd00:ec2::254 is a link-local address")):
        started = time.monotonic()
        run = mcprt_cli("validate", str(_manifest(tmp_path, location)), cwd=tmp_path)
        assert run.returncode == 2 and why in run.stderr and "not fetched" in run.stderr, run.stderr
        assert time.monotonic() - started < 10  # refused before connecting, not timed out


@pytest.fixture(scope="module")
def header_drip() -> Iterator[str]:
    """A raw server sending a status line, then one header byte every 0.25 s for a minute: every read
    succeeds and httpx is still reading headers, so only a watchdog ends it."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def drip(conn: socket.socket) -> None:
        with conn:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Drip: ")
            for _ in range(240):
                if stop.wait(0.25):
                    return
                try:
                    conn.sendall(b"a")
                except OSError:
                    return

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=drip, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/spec.json"
    stop.set()
    listener.close()


def test_a_description_whose_headers_drip_is_given_up_at_the_deadline(header_drip: str, tmp_path: Path) -> None:
    started = time.monotonic()
    run = mcprt_cli("validate", str(_manifest(tmp_path, header_drip)), cwd=tmp_path,
                    env={"MCPRT_SPEC_FETCH_TIMEOUT": "1"}, timeout=40)
    assert run.returncode == 2, run.stderr
    assert "not complete after 1 s, the limit MCPRT_SPEC_FETCH_TIMEOUT sets" in run.stderr, run.stderr
    assert time.monotonic() - started < 15  # the drip lasts 60 s


def test_a_description_that_never_ends_is_given_up_at_the_deadline(server: str, tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, f"{server}/drip")
    started = time.monotonic()
    run = mcprt_cli("validate", str(manifest), cwd=tmp_path, env={"MCPRT_SPEC_FETCH_TIMEOUT": "1"}, timeout=30)
    assert run.returncode == 2, run.stderr
    assert "not complete after 1 s, the limit MCPRT_SPEC_FETCH_TIMEOUT sets" in run.stderr
    assert time.monotonic() - started < 15
    # With a pinned copy the source is served from it, as for any other failed fetch.
    (tmp_path / "spec").mkdir()
    (tmp_path / "spec" / "a.json").write_text(json.dumps(_spec("#/components/parameters/q")
                                                         | {"components": {"parameters": {"q": PARAM}}}))
    served = mcprt_cli("tools", "--json", str(manifest), cwd=tmp_path, env={"MCPRT_SPEC_FETCH_TIMEOUT": "1"},
                       timeout=30)
    assert served.returncode == 0, served.stderr
    assert [tool["name"] for tool in json.loads(served.stdout)["tools"]] == ["op0"]
    assert "MCPRT_SPEC_FETCH_TIMEOUT" in served.stderr and "pinned copy" in served.stderr
