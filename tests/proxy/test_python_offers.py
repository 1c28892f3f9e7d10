"""Python sources offering resources and prompts (`resources: {uri: module:function}`, `prompts: [...]`),
served by `mcprt up` to the SDK client."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import mcp_types as types
import pytest

from tests.support.everything import command_source, write_manifest
from tests.support.served import http_client, mcprt_http, text_of

NOTES = '''
NOTES = {"1": "Retry with backoff.", "2": "Pin your versions."}


def all_notes() -> list[dict]:
    """Every note."""
    return [{"id": k, "text": v} for k, v in NOTES.items()]


def note(id: str) -> str:
    """One note by id."""
    return NOTES[id]


def logo() -> bytes:
    """The logo."""
    return b"\\x89PNG"


def review(topic: str, strict: bool = False) -> str:
    """Ask for a review of a topic.

    Args:
        topic: What to review.
        strict: Be strict.
    """
    return f"Review {topic}{' strictly' if strict else ''}."


def conversation(topic: str) -> list:
    """A short exchange."""
    return [f"Tell me about {topic}.", {"role": "assistant", "content": "Sure."}]


def search(query: str) -> list[str]:
    """Search notes."""
    return [v for v in NOTES.values() if query.lower() in v.lower()]
'''

MANIFEST = """\
version: 1
sources:
  notes:
    python: notes:search
    resources:
      "notes://all": notes:all_notes
      "notes://logo": notes:logo
      "notes://{id}": notes:note
    prompts: [notes:review, notes:conversation]
"""


pytestmark = pytest.mark.xdist_group("test_python_offers")  # one started server per run, not one per worker


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("python-offers")
    (folder / "notes.py").write_text(textwrap.dedent(NOTES))
    (folder / "mcp.yaml").write_text(MANIFEST)
    with mcprt_http(folder / "mcp.yaml", "--no-reload") as up:
        yield up.url


# 2026-07-28: `resultType` is required in every result; a Python function's contents or prompt had none, and
# the SDK answered such a client "Handler returned an invalid result" for every read and get
ERAS = pytest.mark.parametrize("mode", ["legacy", "auto"])


@ERAS
async def test_python_resources_and_templates(served: str, mode: str) -> None:
    async with http_client(served, mode=mode) as client:
        assert (client.protocol_version == "2026-07-28") == (mode == "auto")
        assert client.server_capabilities.resources is not None
        assert client.server_capabilities.resources.subscribe is False
        listed = (await client.list_resources()).resources
        assert [(str(r.uri), r.name, r.description) for r in listed] == [
            ("notes://all", "all_notes", "Every note."), ("notes://logo", "logo", "The logo.")]
        templates = (await client.list_resource_templates()).resource_templates
        assert [(t.uri_template, t.name) for t in templates] == [("notes://{id}", "note")]

        everything = (await client.read_resource("notes://all")).contents[0]
        assert everything.mime_type == "application/json"
        assert json.loads(everything.text) == [{"id": "1", "text": "Retry with backoff."},  # type: ignore[union-attr]
                                               {"id": "2", "text": "Pin your versions."}]
        one = (await client.read_resource("notes://2")).contents[0]
        assert (one.mime_type, one.text) == ("text/plain", "Pin your versions.")  # type: ignore[union-attr]
        blob = (await client.read_resource("notes://logo")).contents[0]
        assert blob.blob == "iVBORw=="  # type: ignore[union-attr]


async def test_a_failing_resource_function_is_an_error_and_the_server_keeps_serving(served: str) -> None:
    async with http_client(served) as client:
        with pytest.raises(Exception, match="KeyError"):
            await client.read_resource("notes://404")
        assert json.loads(text_of(await client.call_tool("search", {"query": "pin"}))) == ["Pin your versions."]


@ERAS
async def test_python_prompts(served: str, mode: str) -> None:
    async with http_client(served, mode=mode) as client:
        assert (client.protocol_version == "2026-07-28") == (mode == "auto")
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        assert list(prompts) == ["review", "conversation"]
        review = prompts["review"]
        assert review.description == "Ask for a review of a topic."
        assert [(a.name, a.required, a.description) for a in review.arguments or []] == [
            ("topic", True, "What to review."), ("strict", False, "Be strict. (true or false)")]
        got = await client.get_prompt("review", {"topic": "the README", "strict": "true"})
        assert got.messages[0].role == "user"
        assert got.messages[0].content.text == "Review the README strictly."  # type: ignore[union-attr]
        chat = await client.get_prompt("conversation", {"topic": "MCP"})
        assert [(m.role, m.content.text) for m in chat.messages] == [  # type: ignore[union-attr]
            ("user", "Tell me about MCP."), ("assistant", "Sure.")]
        with pytest.raises(Exception) as refused:
            await client.get_prompt("review", {})
        # the prompt's own name, then where it comes from (a trial saw "prompt 'notes:review' (notes:review)")
        assert str(refused.value) == "invalid arguments for prompt 'review' (notes:review): topic: Field required"


@ERAS
async def test_completing_a_python_prompt_beside_a_source_that_completes(tmp_path: Path, mode: str) -> None:
    """Completions are offered once a proxied server offers them; a Python prompt's argument then completes to
    nothing (a function offers no completions), as an answer the client's era accepts: a 2026-07-28 client got
    "Handler returned an invalid result" (no `resultType`)."""
    (tmp_path / "notes.py").write_text(textwrap.dedent(NOTES))
    manifest = write_manifest(tmp_path, MANIFEST.split("sources:\n", 1)[1], command_source("fx", "--features", "prompts"))
    with mcprt_http(manifest, "--no-reload") as up:
        async with http_client(up.url, mode=mode) as client:
            assert (client.protocol_version == "2026-07-28") == (mode == "auto")
            completed = await client.complete(types.PromptReference(type="ref/prompt", name="review"),
                                              {"name": "topic", "value": "re"})
    assert (completed.completion.values, completed.completion.has_more) == ([], False)
