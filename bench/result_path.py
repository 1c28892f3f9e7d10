"""The result path in one process: upstream bytes → the answer's bytes, per stage, 2 KB and 100 KB.

    python bench/result_path.py [--rounds 7] [--calls 200]

Stages (the bench upstream's bodies, `bench/upstream_app.py`): `decode_body` (JSON parse),
`shape_result` (prune, size limit, text and structuredContent, sent-bytes count), `to_call_result`
(the SDK result model), the SDK's per-version result sieve (`serialize_server_result`) and the
wire (`wire_json.dumps` of the JSON-RPC answer). The peer in the same run is the same path with
the standard library's JSON encoder in shaping (what it used before issue 22's third pass), the
two taking turns round by round; each figure is the best round's mean per call (µs).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mcp_types import methods  # noqa: E402

from mcprt.outbound.decoding import decode_body  # noqa: E402
from mcprt.server import wire_json  # noqa: E402
from mcprt.server.results import to_call_result  # noqa: E402
from mcprt.shaping import limits, result as shaping_result  # noqa: E402
from mcprt.shaping.result import Shaping, shape_result  # noqa: E402
from upstream_app import history, item  # noqa: E402

_STANDARD = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False, default=str).encode


@contextmanager
def standard_encoder() -> Iterator[None]:
    """Shaping as before: every encoding and size by the standard library's encoder."""
    saved = shaping_result._ENCODE, shaping_result._sent_bytes, limits.json_size
    shaping_result._ENCODE = _STANDARD

    def sent_bytes(content: list[dict], structured: dict | None, structured_size: int | None = None) -> int:
        size = len(_STANDARD(content).encode())
        return size + (len(_STANDARD(structured).encode()) if structured is not None else 0)

    shaping_result._sent_bytes = sent_bytes  # type: ignore[assignment]
    try:
        yield
    finally:
        shaping_result._ENCODE, shaping_result._sent_bytes, limits.json_size = saved


def stages(data: bytes) -> list[tuple[str, Callable[[Any], Any]]]:
    shaping = Shaping(max_result_bytes=100_000, tool="bench")
    return [
        ("decode_body", lambda _: decode_body(200, "application/json", data, truncated=False, limit=10_000_000)),
        ("shape_result", lambda upstream: shape_result(upstream, shaping)),
        ("to_call_result", lambda shaped: to_call_result(shaped, "bench")),
        ("SDK result sieve", lambda model: methods.serialize_server_result(
            "tools/call", "2026-07-28", model.model_dump(by_alias=True, mode="json", exclude_none=True))),
        ("wire_json.dumps", lambda wire: wire_json.dumps({"jsonrpc": "2.0", "id": 1, "result": wire})),
    ]


def one_round(data: bytes, calls: int) -> dict[str, float]:
    spent = {name: 0.0 for name, _ in stages(data)}
    steps = stages(data)
    for _ in range(calls):
        value: Any = None
        for name, step in steps:
            started = time.perf_counter()
            value = step(value)
            spent[name] += time.perf_counter() - started
    return {name: seconds / calls for name, seconds in spent.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    print("| body | stage | now (µs) | standard encoder (µs) | ratio |")
    print("| --- | --- | --- | --- | --- |")
    for label, body in (("2 KB", item(1)), ("100 KB", history(1))):
        data = json.dumps(body).encode()
        best: dict[str, dict[str, float]] = {"now": {}, "standard": {}}
        for _ in range(args.rounds):  # the two take turns, so load from elsewhere hits both alike
            for variant in ("now", "standard"):
                if variant == "standard":
                    with standard_encoder():
                        figures = one_round(data, args.calls)
                else:
                    figures = one_round(data, args.calls)
                for name, seconds in figures.items():
                    best[variant][name] = min(best[variant].get(name, seconds), seconds)
        total_now = total_standard = 0.0
        for name in best["now"]:
            now, standard = best["now"][name] * 1e6, best["standard"][name] * 1e6
            total_now, total_standard = total_now + now, total_standard + standard
            print(f"| {label} | {name} | {now:.1f} | {standard:.1f} | {now / standard:.2f} |")
        print(f"| {label} | **total** | {total_now:.1f} | {total_standard:.1f} | {total_now / total_standard:.2f} |")


if __name__ == "__main__":
    main()
