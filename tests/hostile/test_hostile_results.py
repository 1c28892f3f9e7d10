"""Findings 8 and 9 of #13: deep upstream JSON and oversized bodies are clear tool errors, and the
server answers a normal call right after."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.hostile.hostile_support import ALL_SECRETS, echo_manifest
from tests.support.served import child_env, http_client, mcprt_http, text_of


def test_deep_json_and_gzip_bombs_are_tool_errors(tmp_path: Path, echo_upstream: str) -> None:
    manifest = echo_manifest(tmp_path / "p", echo_upstream)
    with mcprt_http(manifest, env=child_env(**ALL_SECRETS)) as up:
        async def calls() -> dict[str, tuple[bool, str]]:
            out = {}
            async with http_client(up.url) as client:
                for label, args in (("list990", {"n": 990}), ("dict900", {"n": 900, "kind": "dict"}),
                                    ("dict300", {"n": 300, "kind": "dict"})):
                    result = await asyncio.wait_for(client.call_tool("bearer_deep", args), 30)
                    out[label] = (result.is_error, text_of(result))
                bomb = await asyncio.wait_for(client.call_tool("bearer_bomb", {}), 60)
                out["bomb"] = (bomb.is_error, text_of(bomb)[:300])
                normal = await asyncio.wait_for(client.call_tool("bearer_echo", {"q": "after"}), 30)
                out["normal"] = (normal.is_error, text_of(normal))
                shallow = await asyncio.wait_for(client.call_tool("bearer_deep", {"n": 50, "kind": "dict"}), 30)
                out["shallow"] = (shallow.is_error, text_of(shallow))
            return out

        out = asyncio.run(calls())
        for label in ("list990", "dict900", "dict300"):
            is_error, text = out[label]
            assert is_error and "nested more than 200 levels" in text, (label, text[:300])
            assert "internal error" not in text
        assert out["bomb"][0], out["bomb"]
        assert "larger than this tool's max_response_bytes" in out["bomb"][1], out["bomb"]
        assert out["normal"] == (False, out["normal"][1]) and "after" in out["normal"][1]
        assert out["shallow"][0] is False
        assert up.process.poll() is None
