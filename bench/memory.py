"""Where the peak RSS of a cold `mcprt tools --json` on GitHub's description goes, stage by stage.

    /work/venv/bin/python bench/memory.py

Runs two fresh interpreters: one imports the modules `mcprt tools` needs in the order the CLI does
and prints the peak RSS after each (ru_maxrss: what the compile benchmark measures); one replays
the document's parse (bytes → Latin-1 text → lean tree) and the compile with peak and current RSS
after each step. Figures are MB; deltas overlap where packages share dependencies.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from common import TIME, ensure_github_spec


def fresh(code: str, *args: str) -> None:
    """Run `code` in a new interpreter started by a small process (/usr/bin/time when present):
    Linux carries a parent's peak RSS into a forked child, which would hide the first figures."""
    launcher = [TIME, "-f", "", "-o", "/dev/null"] if Path(TIME).exists() else []
    subprocess.run([*launcher, sys.executable, "-c", code, *args], check=True)

IMPORTS = r'''
import resource, time
def peak(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
last = peak()
print(f"{'interpreter':<44} {last:6.1f} MB")
for mod in ["typer", "mcprt.cli.main", "pydantic", "pydantic_settings", "mcprt.manifest.model", "ruamel.yaml",
            "mcprt.manifest.loader", "jinja2", "jmespath", "mcprt.shaping", "mcprt.pipeline", "httpx",
            "mcprt.outbound", "mcprt.sources.openapi.compiler", "mcprt.sources.openapi.binding",
            "mcprt.cli.tools_cmd"]:
    start = time.perf_counter()
    __import__(mod)
    now = peak()
    print(f"+ {mod:<42} {now:6.1f} MB  (+{now - last:4.1f} MB, {1e3 * (time.perf_counter() - start):4.0f} ms)")
    last = now
'''

STAGES = r'''
import gc, resource, sys
from pathlib import Path
def rss(): return int(open("/proc/self/statm").read().split()[1]) * 4096 / 1e6
def peak(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
def show(stage): print(f"{stage:<44} current {rss():6.1f} MB, peak {peak():6.1f} MB")
import mcprt.cli.main, mcprt.pipeline, mcprt.sources.openapi.binding, mcprt.cli.tools_cmd
from mcprt.manifest.model import Defaults, OpenAPISource
from mcprt.sources.openapi.compiler import compile_document, effective_policy
from mcprt.sources.openapi.jsonlean import latin1_text, loads_lean
from mcprt.sources.openapi.loader import load_document
show("imports of `mcprt tools`")
spec = sys.argv[1]
raw = Path(spec).read_bytes(); show(f"document bytes read ({len(raw) / 1e6:.1f} MB)")
text = latin1_text(raw); show("Latin-1 text made (bytes still held)")
del raw; gc.collect(); show("bytes dropped")
tree = loads_lean(text, latin1=True) if text is not None else None; show("lean tree built (text still held)")
del text, tree; gc.collect(); show("text and tree dropped")
doc = load_document(spec, Path("."), None)  # as the CLI does: bytes re-read, parsed lean once more
config = OpenAPISource(openapi=spec)
compiled = compile_document(doc, config, effective_policy(config, Defaults()))
show(f"compiled ({len(compiled.operations)} operations)")
doc.release(); gc.collect(); show("document released")
'''


def main() -> None:
    spec = ensure_github_spec()
    print("## imports, in the CLI's order (peak RSS after each)")
    sys.stdout.flush()
    fresh(IMPORTS)
    print("\n## parse and compile of GitHub's description")
    sys.stdout.flush()
    fresh(STAGES, str(spec))


if __name__ == "__main__":
    main()
