"""Runs in the peer's venv: serve FastMCP.from_openapi(SPEC) over stdio or streamable HTTP, with
its defaults, against the benchmark's local upstream.

    bench/.venv-peer/bin/python bench/peer/serve.py SPEC.json BASE_URL stdio
    bench/.venv-peer/bin/python bench/peer/serve.py SPEC.json BASE_URL http PORT
"""

from __future__ import annotations

import json
import sys

import httpx2
from fastmcp import FastMCP


def main() -> None:
    spec_path, base_url, transport = sys.argv[1:4]
    with open(spec_path, "rb") as handle:
        spec = json.load(handle)
    client = httpx2.AsyncClient(base_url=base_url, timeout=30)
    server = FastMCP.from_openapi(spec, client=client, name="peer-bench")
    if transport == "stdio":
        server.run("stdio", show_banner=False, log_level="WARNING")
    else:
        server.run("http", show_banner=False, log_level="WARNING", host="127.0.0.1", port=int(sys.argv[4]),
                   path="/mcp")


if __name__ == "__main__":
    main()
