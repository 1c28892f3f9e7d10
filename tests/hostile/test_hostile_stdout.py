"""Finding 6 of #13: one huge stdout line from a proxied server costs linear time, fails only its
own call when it is over the message cap, and other tools keep answering."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tests.support.served import child_env, http_client, mcprt_http, text_of
from tests.support.zygote import script_command_yaml

HERE = Path(__file__).parent


def test_a_huge_line_is_read_linearly_and_an_oversized_one_fails_only_its_call(tmp_path: Path) -> None:
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(
        "version: 1\ndefaults: {max_result_bytes: 1000}\nsources:\n"
        f"  big:\n    command: {script_command_yaml(HERE / 'stubborn_server.py')}\n    timeout: 120s\n"
    )
    env = child_env(MCPRT_MAX_MESSAGE_BYTES="30000000")
    with mcprt_http(manifest, "--no-reload", env=env, startup_timeout=60) as up:
        async def calls() -> dict[str, object]:
            out: dict[str, object] = {}
            async with http_client(up.url) as client:
                started = time.monotonic()
                fits = await asyncio.wait_for(client.call_tool("huge", {"megabytes": 20}), 120)
                out["fits"] = (fits.is_error, time.monotonic() - started)
                started = time.monotonic()
                over = await asyncio.wait_for(client.call_tool("huge", {"megabytes": 40}), 120)
                out["over"] = (over.is_error, text_of(over)[:400], time.monotonic() - started)
                normal = await asyncio.wait_for(client.call_tool("whoami", {}), 30)
                out["normal"] = (normal.is_error, text_of(normal))
            return out

        out = asyncio.run(calls())
        fits_error, fits_seconds = out["fits"]  # type: ignore[misc]
        assert not fits_error and fits_seconds < 30, out["fits"]  # 17 s for 40 MB before (quadratic)
        over_error, over_text, over_seconds = out["over"]  # type: ignore[misc]
        assert over_error and "over mcprt's limit of 30,000,000 bytes per message" in over_text, over_text
        assert over_seconds < 30
        assert out["normal"][0] is False and '"pid"' in out["normal"][1]  # type: ignore[index]
        assert up.process.poll() is None
