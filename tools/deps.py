"""The file-level import graph of `runtime/mcprt`, its package-level cycles, and upward imports.

    python tools/deps.py                 # summary: files, edges, package edges, package cycles
    python tools/deps.py --edges         # every file → file edge
    python tools/deps.py --json          # machine-readable

Every `import`/`from … import` in a module counts, including ones inside functions and under
`TYPE_CHECKING` (a lazy import is still a dependency). Edges are between modules (files); a
"package" is the first segment under `mcprt` (`mcprt.sources.openapi.compiler` → `sources`).
Exit status is 0; this only reports (the layering test in tests/ enforces).
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "runtime"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted((ROOT / "mcprt").rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Modules of mcprt that `name` imports (resolved to files; `from pkg import mod` → pkg.mod)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            targets = [f"{stem}.{alias.name}" if f"{stem}.{alias.name}" in known else stem for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and target.startswith("mcprt"):
                found.add(target)
    return found


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "(root)"


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(name, path, known) for name, path in mods.items()}


def package_cycles(edges: dict[str, set[str]]) -> list[tuple[str, str, list[str]]]:
    """Pairs of packages importing each other, with one file edge each way as evidence."""
    pkg: dict[tuple[str, str], list[str]] = {}
    for src, targets in edges.items():
        for dst in targets:
            a, b = package_of(src), package_of(dst)
            if a != b:
                pkg.setdefault((a, b), []).append(f"{src} → {dst}")
    cycles = []
    for (a, b), evidence in sorted(pkg.items()):
        if a < b and (b, a) in pkg:
            cycles.append((a, b, evidence[:2] + pkg[(b, a)][:2]))
    return cycles


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    edges = graph()
    cycles = package_cycles(edges)
    pkg_edges = sorted({(package_of(s), package_of(d)) for s, ts in edges.items() for d in ts
                        if package_of(s) != package_of(d)})
    if args.json:
        json.dump({"edges": {k: sorted(v) for k, v in edges.items()},
                   "package_cycles": [[a, b] for a, b, _ in cycles]}, sys.stdout, indent=1)
        return 0
    if args.edges:
        for src in sorted(edges):
            for dst in sorted(edges[src]):
                print(f"{src} -> {dst}")
        return 0
    print(f"files: {len(edges)}  file edges: {sum(len(v) for v in edges.values())}  package edges: {len(pkg_edges)}")
    by_src: dict[str, list[str]] = {}
    for a, b in pkg_edges:
        by_src.setdefault(a, []).append(b)
    print("package → packages it imports:")
    for a in sorted(by_src):
        print(f"  {a:14} → {', '.join(by_src[a])}")
    print(f"package cycles: {len(cycles)}")
    for a, b, evidence in cycles:
        print(f"  {a} ⇄ {b}")
        for line in evidence:
            print(f"      {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
