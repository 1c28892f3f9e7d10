"""`mcprt catalog list|show NAME|init NAME`: ready-made manifests for widely used APIs.

The catalog is the repository's `catalog/` folder (one folder per entry, each with `mcp.yaml` and a
README); `MCPRT_CATALOG` points elsewhere. `init` copies an entry's files into the current folder,
refusing to overwrite anything, and points the manifest's schema line at the published schema.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import McprtError
from .errors import EXIT_OK

ACTIONS = ("list", "show", "init")
SCHEMA_LINE = "# yaml-language-server: $schema=https://mcprt.dev/schemas/mcprt.schema.json"
_SKIPPED = {"README.md", "__pycache__", ".pytest_cache"}


@dataclass
class Entry:
    name: str
    folder: Path
    summary: str
    kinds: list[str]


def catalog_root() -> Path:
    configured = os.environ.get("MCPRT_CATALOG")
    if configured:
        root = Path(configured)
        if not root.is_dir():
            raise McprtError(f"MCPRT_CATALOG={configured} is not a folder")
        return root
    import mcprt

    root = Path(mcprt.__file__).parent / "catalog"  # installed with the package (a link in a checkout)
    if not root.is_dir():
        raise McprtError("the catalog folder was not found in this installation; set MCPRT_CATALOG to a "
                         "checkout's catalog/ folder")
    return root


def entries(root: Path) -> list[Entry]:
    found = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and (p / "mcp.yaml").is_file()):
        found.append(Entry(folder.name, folder, _summary(folder), _source_kinds(folder / "mcp.yaml")))
    return found


def _summary(folder: Path) -> str:
    """The README's first paragraph after the title (one line), else the server's instructions."""
    readme = folder / "README.md"
    if readme.is_file():
        paragraph: list[str] = []
        for line in readme.read_text(encoding="utf-8").splitlines():
            if line.startswith("#"):
                if paragraph:
                    break
                continue
            if not line.strip():
                if paragraph:
                    break
                continue
            paragraph.append(line.strip())
        if paragraph:
            return " ".join(paragraph)
    data = _manifest_data(folder / "mcp.yaml")
    server = data.get("server") if isinstance(data.get("server"), dict) else {}
    return str(server.get("instructions") or server.get("name") or "")


def _manifest_data(path: Path) -> dict[str, Any]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except (OSError, YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def _source_kinds(path: Path) -> list[str]:
    from ..manifest.model import source_kind

    sources = _manifest_data(path).get("sources")
    kinds: list[str] = []
    for source in (sources or {}).values() if isinstance(sources, dict) else []:
        kind = source_kind(source)
        if kind is not None and kind not in kinds:
            kinds.append(kind)
    return kinds


def _find(root: Path, name: str | None) -> Entry:
    if not name:
        raise McprtError("name a catalog entry, e.g. `mcprt catalog show petstore` (see `mcprt catalog list`)")
    known = entries(root)
    for entry in known:
        if entry.name == name:
            return entry
    import difflib

    hint = difflib.get_close_matches(name, [e.name for e in known], n=1)
    raise McprtError(f"no catalog entry '{name}'" + (f" (did you mean '{hint[0]}'?)" if hint else "")
                     + f"; entries: {', '.join(e.name for e in known)}")


def _files(folder: Path) -> list[Path]:
    files = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and not (set(relative.parts) & _SKIPPED) and path.suffix != ".pyc":
            files.append(relative)
    return files


def run_catalog(action: str, name: str | None) -> int:
    if action not in ACTIONS:
        raise McprtError(f"unknown action '{action}': use one of {', '.join(ACTIONS)}")
    root = catalog_root()
    if action == "list":
        known = entries(root)
        width = max((len(e.name) for e in known), default=4)
        for entry in known:
            print(f"{entry.name.ljust(width)}  [{', '.join(entry.kinds)}]  {entry.summary}")
        print(f"\n{len(known)} entries in {root}. `mcprt catalog show NAME` for details, "
              "`mcprt catalog init NAME` to copy one here.", file=sys.stderr)
        return EXIT_OK
    entry = _find(root, name)
    if action == "show":
        readme = entry.folder / "README.md"
        print(readme.read_text(encoding="utf-8") if readme.is_file() else entry.summary)
        print(f"files: {', '.join(p.as_posix() for p in _files(entry.folder))}")
        return EXIT_OK
    return _init(entry, Path.cwd())


def _init(entry: Entry, target: Path) -> int:
    files = _files(entry.folder)
    existing = sorted((p for p in files if (target / p).exists()), key=lambda p: (p.name != "mcp.yaml", p.as_posix()))
    if existing:
        shown = ", ".join(p.as_posix() for p in existing[:4])
        more = f" and {len(existing) - 4} more files" if len(existing) > 4 else ""
        raise McprtError(f"refusing to overwrite: {shown}{more} already exist{'s' if len(existing) == 1 else ''} here")
    for relative in files:
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(entry.folder / relative, destination)
    manifest = target / "mcp.yaml"
    lines = manifest.read_text(encoding="utf-8").splitlines(keepends=True)
    if lines and lines[0].startswith("# yaml-language-server:"):
        lines[0] = SCHEMA_LINE + "\n"  # the relative schema path only works inside the repository
        manifest.write_text("".join(lines), encoding="utf-8")
    print(f"copied {len(files)} files of '{entry.name}' into {target}")
    print("next: set the variables the manifest names (see its README), then `mcprt validate` and `mcprt up`")
    return EXIT_OK
