"""Loading over HTTP (revalidating cache, offline restart) and the compile cache."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from openapi_support import SPECS
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mcprt.errors import SpecError
from mcprt.manifest.model import Defaults, DescriptionPolicy, OpenAPISource, OperationFilter
from mcprt.sources.openapi import compile_openapi, load_document
from tests.support.upstream import serve_app

PETSTORE = (SPECS / "readme" / "2.0" / "petstore.json").read_bytes()
COMMON = json.dumps({"Pet": {"type": "object", "properties": {"name": {"type": "string"}}}}).encode()
MAIN = json.dumps({
    "openapi": "3.0.3",
    "info": {"title": "remote", "version": "1"},
    "paths": {"/pets": {"post": {"operationId": "addPet", "requestBody": {"content": {"application/json": {
        "schema": {"$ref": "schemas/common.json#/Pet"}}}}}}},
}).encode()


class Upstream:
    """A document server that counts requests and answers conditional GETs with 304."""

    def __init__(self) -> None:
        self.docs: dict[str, bytes] = {"/petstore.json": PETSTORE, "/api/main.json": MAIN,
                                       "/api/schemas/common.json": COMMON}
        self.requests: list[tuple[str, str | None]] = []

    async def handle(self, request: Request) -> Response:
        path = request.url.path
        self.requests.append((path, request.headers.get("if-none-match")))
        body = self.docs.get(path)
        if body is None:
            return Response("not found", status_code=404)
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag})
        return Response(body, media_type="application/json", headers={"ETag": etag})

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self.handle)])


@pytest.fixture
def upstream() -> Iterator[tuple[Upstream, str]]:
    server = Upstream()
    with serve_app(server.app()) as url:
        yield server, url


def test_url_document_is_cached_revalidated_and_works_offline(upstream: tuple[Upstream, str], tmp_path: Path) -> None:
    server, url = upstream
    location = f"{url}/petstore.json"
    first = load_document(location, tmp_path, tmp_path)
    assert first.raw_bytes == PETSTORE and first.warnings == []
    second = load_document(location, tmp_path, tmp_path)
    assert second.raw_bytes == PETSTORE
    assert server.requests[0] == ("/petstore.json", None)
    assert server.requests[1][1] is not None  # revalidated with If-None-Match, answered 304
    compiled = compile_openapi(second, OpenAPISource(openapi=location), Defaults(), cache_dir=None)
    assert len(compiled.operations) == 20


def test_offline_restart_uses_the_cached_copy_with_a_warning(tmp_path: Path) -> None:
    server = Upstream()
    with serve_app(server.app()) as url:
        location = f"{url}/petstore.json"
        load_document(location, tmp_path, tmp_path)
    # The server is gone now: connection refused.
    doc = load_document(location, tmp_path, tmp_path)
    assert doc.raw_bytes == PETSTORE
    assert len(doc.warnings) == 1 and "using the cached copy" in doc.warnings[0]
    with pytest.raises(SpecError, match="no cached copy"):
        load_document(location, tmp_path, tmp_path / "empty-cache")


def test_http_errors_without_cache_are_spec_errors(upstream: tuple[Upstream, str], tmp_path: Path) -> None:
    _, url = upstream
    with pytest.raises(SpecError, match="HTTP 404") as info:
        load_document(f"{url}/missing.json", tmp_path, tmp_path)
    assert info.value.document == f"{url}/missing.json"


def test_remote_document_with_relative_external_ref(upstream: tuple[Upstream, str], tmp_path: Path) -> None:
    server, url = upstream
    location = f"{url}/api/main.json"
    doc = load_document(location, tmp_path, tmp_path)
    compiled = compile_openapi(doc, OpenAPISource(openapi=location), Defaults(), cache_dir=None)
    op = compiled.operations[0]
    assert op.operation.input_schema["properties"] == {"name": {"type": "string"}}
    assert op.base_url == url  # no servers: "/" relative to the document's URL
    assert "/api/schemas/common.json" in [p for p, _ in server.requests]


# --- compile cache --------------------------------------------------------------------------------------


def _compile(spec_dir: Path, cache: Path, **config: object):
    doc = load_document("spec/swagger.json", spec_dir, cache)
    return compile_openapi(doc, OpenAPISource(openapi="spec/swagger.json", **config), Defaults(), cache_dir=cache)


@pytest.fixture
def separate(tmp_path: Path) -> Path:
    target = tmp_path / "petstore"
    shutil.copytree(SPECS / "oai" / "petstore-separate", target)
    return target


def test_compile_cache_hit_miss_and_keys(separate: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cold = _compile(separate, cache)
    assert cold.from_cache is False
    entries = list((cache / "openapi").glob("*.pickle"))
    assert len(entries) == 1
    warm = _compile(separate, cache)
    assert warm.from_cache is True
    doc = load_document("spec/swagger.json", separate, cache)
    compile_openapi(doc, OpenAPISource(openapi="spec/swagger.json"), Defaults(), cache_dir=cache)
    # Error.json is the `default` response's schema: read for prune checks, so it is watched too.
    assert sorted(p.name for p in doc.local_files()) == ["Error.json", "NewPet.json", "Pet.json", "parameters.json",
                                                         "swagger.json"]
    assert [op.operation for op in warm.operations] == [op.operation for op in cold.operations]
    assert warm.operations[1].plan.build({"name": "n", "id": 1}).body == b'{"id":1,"name":"n"}'
    # A config part that changes the result is part of the key…
    assert _compile(separate, cache, include=OperationFilter(methods=["GET"])).from_cache is False
    assert _compile(separate, cache, base_url="http://127.0.0.1:1").from_cache is False
    # …per-tool overrides and auth are applied later, so they are not.
    assert _compile(separate, cache, tools={"addPet": {"name": "add"}}).from_cache is True
    policy = Defaults(descriptions=DescriptionPolicy(style="full"))
    doc = load_document("spec/swagger.json", separate, cache)
    assert compile_openapi(doc, OpenAPISource(openapi="x"), policy, cache_dir=cache).from_cache is False


def test_changed_external_document_invalidates_the_cache(separate: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _compile(separate, cache)
    assert _compile(separate, cache).from_cache is True
    pet = separate / "spec" / "Pet.json"
    pet.write_text(pet.read_text().replace('"tag"', '"label"'))
    fresh = _compile(separate, cache)
    assert fresh.from_cache is False
    assert "label" in fresh.operations[1].operation.input_schema["properties"]


def test_corrupt_cache_entry_is_ignored_and_rewritten(separate: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _compile(separate, cache)
    (entry,) = (cache / "openapi").glob("*.pickle")
    entry.write_bytes(b"\x80\x05garbage")
    again = _compile(separate, cache)
    assert again.from_cache is False and len(again.operations) == 4
    assert pickle.loads(entry.read_bytes())["compiled"].operations[0].operation.key == "findPets"
    entry.write_bytes(pickle.dumps({"something": "else"}))
    assert _compile(separate, cache).from_cache is False
    assert _compile(separate, cache).from_cache is True
    assert not list((cache / "openapi").glob("*.tmp"))


def _petstore_copy(tmp_path: Path) -> Path:
    spec = tmp_path / "petstore.json"
    spec.write_bytes((SPECS / "readme" / "3.1" / "petstore.json").read_bytes())
    return spec


@pytest.mark.parametrize("settled", [True, False], ids=["settled file", "file written just before"])
def test_a_document_written_after_its_digest_is_not_compiled_under_it(tmp_path: Path, settled: bool) -> None:
    """The compile cache stores a result under the digest taken at load: bytes read later for the
    compile must be those bytes, even when an edit keeps the size and puts the mtime back. A file
    last written over a second ago is checked by its identity (ctime moves with the edit), one
    written just before is always hashed again (file times move in ticks of a few ms)."""
    spec = _petstore_copy(tmp_path)
    if settled:
        time.sleep(1.2)  # past the settling second: the identity check is what catches the edit
    before = spec.stat()
    doc = load_document(str(spec), tmp_path, None)
    original = spec.read_bytes()
    assert b"Swagger Petstore" in original
    spec.write_bytes(original.replace(b"Swagger Petstore", b"Swagger Petshop"))  # same size
    os.utime(spec, ns=(before.st_atime_ns, before.st_mtime_ns))
    with pytest.raises(SpecError, match="changed while it was being compiled"):
        compile_openapi(doc, OpenAPISource(openapi=str(spec)), Defaults(), cache_dir=None)


def test_a_touched_document_with_the_same_bytes_compiles(tmp_path: Path) -> None:
    spec = _petstore_copy(tmp_path)
    doc = load_document(str(spec), tmp_path, None)
    os.utime(spec, ns=(spec.stat().st_atime_ns, spec.stat().st_mtime_ns + 5_000_000_000))
    compiled = compile_openapi(doc, OpenAPISource(openapi=str(spec)), Defaults(), cache_dir=None)
    assert len(compiled.operations) == 20 and "addPet" in {op.operation.name for op in compiled.operations}


def test_a_settled_document_s_digest_is_recorded_and_an_edit_still_seen(tmp_path: Path) -> None:
    """A warm start takes the digest recorded for a file whose identity did not move (no 13 MB
    hash); a same-size edit with the mtime put back moves it (ctime), so the file is hashed again."""
    spec = _petstore_copy(tmp_path)
    time.sleep(1.2)  # settled: its identity can stand for its content
    cache = tmp_path / "cache"
    first = load_document(str(spec), tmp_path, cache)
    assert first.digest == hashlib.sha256(spec.read_bytes()).hexdigest()
    assert len(list((cache / "openapi").glob("digest-*.json"))) == 1
    assert load_document(str(spec), tmp_path, cache).digest == first.digest
    before = spec.stat()
    spec.write_bytes(spec.read_bytes().replace(b"Swagger Petstore", b"Swagger Petshop"))
    os.utime(spec, ns=(before.st_atime_ns, before.st_mtime_ns))
    edited = load_document(str(spec), tmp_path, cache)
    assert edited.digest == hashlib.sha256(spec.read_bytes()).hexdigest() != first.digest
    compiled = compile_openapi(edited, OpenAPISource(openapi=str(spec)), Defaults(), cache_dir=cache)
    assert compiled.title == "Swagger Petshop"


def test_a_file_met_first_is_read_once_parsed_beside_its_digest_and_compiled_from_those_bytes(
        tmp_path: Path) -> None:
    """First sight of a file in a cache (no record of it): its bytes are read once, hashed in a
    thread while they are parsed, and what is compiled and cached is those bytes, even if the file
    is edited meanwhile (same size, mtime put back)."""
    spec = _petstore_copy(tmp_path)
    time.sleep(1.2)  # settled, so the record carries the identity
    original = spec.read_bytes()
    cache = tmp_path / "cache"
    doc = load_document(str(spec), tmp_path, cache)
    assert doc.digest_pending
    before = spec.stat()
    spec.write_bytes(original.replace(b"Swagger Petstore", b"Swagger Petshop"))
    os.utime(spec, ns=(before.st_atime_ns, before.st_mtime_ns))
    compiled = compile_openapi(doc, OpenAPISource(openapi=str(spec)), Defaults(), cache_dir=cache)
    assert compiled.title == "Swagger Petstore" and compiled.from_cache is False
    assert doc.digest == hashlib.sha256(original).hexdigest()
    (record,) = (cache / "openapi").glob("digest-*.json")
    assert json.loads(record.read_bytes())["digest"] == doc.digest
    # The edit moved the file's identity: the next start hashes the new bytes and compiles them.
    again = load_document(str(spec), tmp_path, cache)
    assert not again.digest_pending
    edited = compile_openapi(again, OpenAPISource(openapi=str(spec)), Defaults(), cache_dir=cache)
    assert edited.title == "Swagger Petshop" and edited.from_cache is False


@pytest.mark.parametrize("settled", [True, False], ids=["touched file", "file written just before"])
def test_a_file_seen_before_is_hashed_first_so_its_cached_compile_is_used_without_a_parse(
        tmp_path: Path, settled: bool) -> None:
    """A file this cache has a record of (even one without an identity: written just before) is
    hashed before the compile cache is asked, as before: parsing beside the hash would be wasted
    on a hit (a `git checkout` or `touch` of an unchanged description)."""
    spec = _petstore_copy(tmp_path)
    if settled:
        time.sleep(1.2)
    cache = tmp_path / "cache"
    first = load_document(str(spec), tmp_path, cache)
    assert first.digest_pending
    assert compile_openapi(first, OpenAPISource(openapi=str(spec)), Defaults(), cache_dir=cache).from_cache is False
    if settled:
        os.utime(spec, ns=(spec.stat().st_atime_ns, spec.stat().st_mtime_ns + 5_000_000_000))
    second = load_document(str(spec), tmp_path, cache)
    assert not second.digest_pending and second.digest == first.digest
    hit = compile_openapi(second, OpenAPISource(openapi=str(spec)), Defaults(), cache_dir=cache)
    assert hit.from_cache is True and len(hit.operations) == 20


def test_an_entry_stored_under_another_field_layout_is_a_miss_and_one_without_a_layout_still_loads(
        separate: Path, tmp_path: Path) -> None:
    """mcprt's dataclasses are stored as their constructor's arguments in order; the entry names
    each class's fields, and an entry whose order differs from the running code's is not used
    (a swap of two fields of the same count would otherwise load silently wrong)."""
    cache = tmp_path / "cache"
    cold = _compile(separate, cache)
    (entry_path,) = (cache / "openapi").glob("*.pickle")
    entry = pickle.loads(entry_path.read_bytes())
    names = entry["layout"]["mcprt.contracts:Operation"]
    assert names[:2] == ("key", "name")
    assert _compile(separate, cache).from_cache is True

    entry["layout"]["mcprt.contracts:Operation"] = (names[1], names[0], *names[2:])
    entry_path.write_bytes(pickle.dumps(entry))
    swapped = _compile(separate, cache)
    assert swapped.from_cache is False
    assert [op.operation.name for op in swapped.operations] == [op.operation.name for op in cold.operations]
    assert _compile(separate, cache).from_cache is True  # rewritten with the right layout

    # As written before layouts were recorded (a state dict per object): still a hit.
    entry_path.write_bytes(pickle.dumps({"externals": entry["externals"], "compiled": entry["compiled"]}))
    old = _compile(separate, cache)
    assert old.from_cache is True
    assert [op.operation.input_schema for op in old.operations] == [op.operation.input_schema for op in cold.operations]
