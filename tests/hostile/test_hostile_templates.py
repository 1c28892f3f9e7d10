"""Finding 4 of #13: a template cannot exhaust memory or block the event loop; each attack is a
clear tool error within the render budget, /healthz answers during a slow render, and a normal call
works right after."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import httpx

from tests.support.served import child_env, http_client, mcprt_http, text_of

TOOLS = '''
def ping() -> str:
    """Pong."""
    return "pong"


def data() -> dict:
    """Some data."""
    return {"n": 1}
'''
ATTACKS = {
    "percent": "{{ '%0200000000d' % 1 }}",
    "center_method": "{{ 'x'.center(200000000) }}",
    "center_filter": "{{ 'x'|center(200000000) }}",
    "format": "{{ '{:>200000000}'.format(1) }}",
    "namespace": "{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"
                 "{{ ns.s|length }}",
    "iterations": "{% for i in range(1000) %}{{ 'y' * 1000000 }}{% endfor %}",
    "slow": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    # Loops whose body looks nothing up and calls nothing, and counts that size a filter's work:
    # each ran for minutes past the 2 s limit, in a worker thread nothing could stop.
    "list_loops": "{% set l = range(100000)|list %}{% for i in l %}{% for j in l %}{% endfor %}{% endfor %}",
    "batch": "{{ range(10)|batch(999999999, 'x')|list|length }}",
    "slice": "{{ range(10)|slice(99999999)|list|length }}",
    "lipsum": "{{ lipsum(99999999)|length }}",
    # The security trial's (item 1): a loop of 10^9 steps, and one string of 10^10 characters.
    "range_loop": "{% for i in range(10**9) %}{% endfor %}x",
    "huge_string": "{{ ('x' * 10**10) | length }}",
}
_DOUBLE = "{a:@,b:@}"
# Prunes that are cheap to evaluate and exponential to expand (JMESPath shares values): the security
# trial's 22 stages ran 37 s on the event loop, 40 grew to 10 GB and ignored SIGTERM. Each is a tool
# error naming the tool and its prune, within moments.
PRUNE_BOMBS = {
    "prune22": " | ".join([_DOUBLE] * 22),
    "prune40": " | ".join([_DOUBLE] * 40),
    "prune_eq": f"{{p: {' | '.join([_DOUBLE] * 30)}, q: {' | '.join([_DOUBLE] * 30)}}} | p == q",
    "prune_join": "to_string(@) | " + "[@,@] | join('', @) | " * 40 + "length(@)",
    "prune_to_string": " | ".join([_DOUBLE] * 40) + " | to_string(@) | length(@)",
}
# A function given the wrong type on a 2^40-copy value: jmespath's error message printed the value
# whole, outside any budget, and never ended. The call answers with a short note naming the type.
PRUNE_TYPE_BOMBS = {
    "prune_abs": " | ".join([_DOUBLE] * 40) + " | abs(@)",
    "prune_sort": " | ".join([_DOUBLE] * 40) + " | [@] | sort(@)",
}


def test_template_bombs_are_tool_errors_and_the_loop_stays_free(tmp_path: Path) -> None:
    (tmp_path / "tools.py").write_text(TOOLS)
    tools = {name: {"output": source} for name, source in ATTACKS.items()}
    sources = {name: {"python": "tools:data", "prefix": f"{name}_"} for name in ATTACKS}
    for name in ATTACKS:
        sources[name]["tools"] = {"data": tools[name]}
    for name, prune in {**PRUNE_BOMBS, **PRUNE_TYPE_BOMBS}.items():
        sources[name] = {"python": "tools:data", "prefix": f"{name}_", "tools": {"data": {"prune": prune}}}
    sources["plain"] = {"python": "tools:ping"}
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(json.dumps({"version": 1, "sources": sources}))  # JSON is YAML
    with mcprt_http(manifest, "--no-reload", env=child_env()) as up:
        health_times: list[float] = []
        stop = threading.Event()

        def probe() -> None:
            while not stop.is_set():
                started = time.monotonic()
                httpx.get(f"{up.base}/healthz", timeout=10)
                health_times.append(time.monotonic() - started)
                time.sleep(0.05)

        async def calls() -> dict[str, tuple[bool, str, float]]:
            out = {}
            async with http_client(up.url) as client:
                for name in ATTACKS:
                    started = time.monotonic()
                    result = await asyncio.wait_for(client.call_tool(f"{name}_data", {}), 30)
                    out[name] = (result.is_error, text_of(result), time.monotonic() - started)
                normal = await asyncio.wait_for(client.call_tool("ping", {}), 10)
                out["normal"] = (normal.is_error, text_of(normal), 0.0)
                for name in PRUNE_TYPE_BOMBS:
                    started = time.monotonic()
                    result = await asyncio.wait_for(client.call_tool(f"{name}_data", {}), 30)
                    out[name] = (result.is_error, text_of(result), time.monotonic() - started)
                async with http_client(up.url) as other:  # another client's tools/list while the bombs run
                    for name in PRUNE_BOMBS:
                        started = time.monotonic()
                        call = asyncio.create_task(asyncio.wait_for(client.call_tool(f"{name}_data", {}), 30))
                        listed = await asyncio.wait_for(other.list_tools(), 30)
                        listing = time.monotonic() - started
                        result = await call
                        out[name] = (result.is_error, text_of(result), time.monotonic() - started)
                        out[f"{name}_list"] = (bool(listed.tools), "", listing)
            return out

        prober = threading.Thread(target=probe, daemon=True)
        prober.start()
        try:
            out = asyncio.run(calls())
        finally:
            stop.set()
            prober.join(15)
        for name in ATTACKS:
            is_error, text, seconds = out[name]
            assert is_error and "could not format its result: its output template" in text, (name, text[:300])
            assert seconds < 10, (name, seconds)
        assert "ran longer than 2s" in out["slow"][1]
        assert "ran longer than 2s" in out["list_loops"][1]
        for name in ("batch", "slice", "lipsum"):
            assert "is over the template output limit" in out[name][1], out[name][1]
        assert out["normal"][:2] == (False, "pong")
        assert "MAX_RANGE" in out["range_loop"][1], out["range_loop"][1]  # refused before it runs
        assert "may not build a string or list that large" in out["huge_string"][1], out["huge_string"][1]
        for name, prune in PRUNE_BOMBS.items():
            is_error, text, seconds = out[name]
            assert is_error and f"Tool '{name}_data': its prune expression {prune[:40]!r}"[:-1] in text, (name, text[:300])
            assert "MCPRT_PRUNE_MAX_OUTPUT" in text and "configuration problem" in text, (name, text[:300])
            assert seconds < 5, (name, seconds)
            assert out[f"{name}_list"][0] and out[f"{name}_list"][2] < 5, (name, out[f"{name}_list"])
        for name, prune in PRUNE_TYPE_BOMBS.items():
            _, text, seconds = out[name]
            function = prune.rsplit("| ", 1)[1].split("(")[0]
            assert f"in function {function}(), invalid type" in text and len(text) < 2000, (name, text[:300])
            assert seconds < 5, (name, seconds)
        assert health_times and max(health_times) < 1.5, max(health_times)  # the 2 s render ran off the loop
        with open(f"/proc/{up.pid}/status") as status:
            peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
        assert peak_kb < 600_000, peak_kb
