"""`mcprt catalog list|search WORDS|show NAME|init NAME`: ready-made manifests for widely used APIs.

The catalog is the repository's `catalog/` folder (one folder per entry, each with `mcp.yaml` and a
README); `MCPRT_CATALOG` points elsewhere. `init` copies an entry's files into the current folder,
refusing to overwrite anything, and points the manifest's schema line at the published schema.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import McprtError
from .errors import EXIT_OK
from ..wording import noun

ACTIONS = ("list", "search", "show", "init")
# The line each entry's README carries (written by catalog/_tools/measure.py, kept true by the catalog tests).
FIGURES = re.compile(r"Figures: \*\*(\d+) tools\*\*, \*\*([\d,]+) bytes\*\* of tools/list, \*\*([\d.]+)%\*\*")
SCHEMA_LINE = "# yaml-language-server: $schema=https://mcprt.dev/schemas/mcprt.schema.json"
_SKIPPED = {"README.md", "__pycache__", ".pytest_cache"}  # the README is copied on its own (never overwriting)
_VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)\}")  # a ${VAR} without a default: must be set


@dataclass
class Entry:
    name: str
    folder: Path
    summary: str
    kinds: list[str]
    figures: tuple[int, int, float] | None = None  # tools, tools/list bytes, % fewer bytes on its cases

    def figures_text(self) -> str:
        if self.figures is None:
            return "—"
        tools, list_bytes, saved = self.figures
        return f"{tools} {noun(tools, 'tool')}, {list_bytes / 1000:.1f} KB list, {saved:.1f}% saved"

    def text(self) -> str:
        """Everything `search` looks in: name, summary, README, tool names."""
        readme = self.folder / "README.md"
        body = readme.read_text(encoding="utf-8") if readme.is_file() else ""
        return " ".join([self.name, self.summary, body, *_tool_names(self.folder / "mcp.yaml")]).lower()


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
        found.append(Entry(folder.name, folder, _summary(folder), _source_kinds(folder / "mcp.yaml"),
                           _figures(folder)))
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


def _figures(folder: Path) -> tuple[int, int, float] | None:
    readme = folder / "README.md"
    match = FIGURES.search(readme.read_text(encoding="utf-8")) if readme.is_file() else None
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2).replace(",", "")), float(match.group(3))


def _tool_names(path: Path) -> list[str]:
    names: list[str] = []
    sources = _manifest_data(path).get("sources")
    for source in (sources or {}).values() if isinstance(sources, dict) else []:
        tools = source.get("tools") if isinstance(source, dict) else None
        for key, override in (tools or {}).items() if isinstance(tools, dict) else []:
            names.append(str(override.get("name") or key) if isinstance(override, dict) else str(key))
    return names


def search(root: Path, words: list[str]) -> list[Entry]:
    """Entries matching every word (case-insensitive, in name, summary, README or tool names), the ones whose
    name or summary match first."""
    wanted = [w.lower() for w in words if w.strip()]
    if not wanted:
        raise McprtError("give words to search for, e.g. `mcprt catalog search deploys`")
    hits = []
    for entry in entries(root):
        text = entry.text()
        if all(word in text for word in wanted):
            head = f"{entry.name} {entry.summary}".lower()
            hits.append((-sum(word in head for word in wanted), entry.name, entry))
    return [entry for *_, entry in sorted(hits, key=lambda h: (h[0], h[1]))]


def _print_entries(known: list[Entry]) -> None:
    width = max((len(e.name) for e in known), default=4)
    figures = max((len(e.figures_text()) for e in known), default=1)
    for entry in known:
        kinds = f"[{', '.join(entry.kinds)}]"
        summary = entry.summary if len(entry.summary) <= 100 else entry.summary[:99].rstrip() + "…"
        print(f"{entry.name.ljust(width)}  {kinds.ljust(10)} {entry.figures_text().ljust(figures)}  {summary}")


def _manifest_data(path: Path) -> dict[str, Any]:
    from ruamel.yaml.error import YAMLError

    from .. import safe_yaml

    try:
        data = safe_yaml.load(path.read_text(encoding="utf-8"))
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


def run_catalog(action: str, args: list[str] | str | None) -> int:
    if action not in ACTIONS:
        raise McprtError(f"unknown action '{action}': use one of {', '.join(ACTIONS)}")
    words = [args] if isinstance(args, str) else list(args or [])
    root = catalog_root()
    if action in ("list", "search"):
        known = entries(root) if action == "list" else search(root, words)
        _print_entries(known)
        if action == "search" and not known:
            print(f"no entry matches {' '.join(words)!r}; `mcprt catalog list` shows them all", file=sys.stderr)
            return EXIT_OK
        counted = f"{len(known)} entr{'y' if len(known) == 1 else 'ies'}"
        if action == "search":
            counted = f"{counted} of {len(entries(root))} match{'es' if len(known) == 1 else ''} {' '.join(words)!r}"
        print(f"\n{counted} in {root}. `mcprt catalog show NAME` for details, "
              "`mcprt catalog init NAME` to copy one here.", file=sys.stderr)
        return EXIT_OK
    if len(words) > 1:
        raise McprtError(f"`catalog {action}` takes one entry name, got {len(words)} words")
    entry = _find(root, words[0] if words else None)
    if action == "show":
        readme = entry.folder / "README.md"
        print(readme.read_text(encoding="utf-8") if readme.is_file() else entry.summary)
        print(f"files: {', '.join(p.as_posix() for p in _files(entry.folder))}")
        return EXIT_OK
    return _init(entry, Path.cwd())


def _copy_readme(entry: Entry, target: Path) -> Path | None:
    """The entry's README beside the manifest (as README.<entry>.md when a README.md is already there)."""
    source = entry.folder / "README.md"
    if not source.is_file():
        return None
    destination = target / "README.md"
    if destination.exists():
        destination = target / f"README.{entry.name}.md"
        if destination.exists():
            return None
    shutil.copyfile(source, destination)
    return destination


def _recorded_time_ns(path: Path) -> int:
    """When `path` was last changed as the catalog records it, in ns since the epoch: in a git checkout (the
    README's install) the time of the last commit that changed it, when the file is unmodified since — a
    checkout's mtime is the time of the clone, so a week-old pinned spec was said "saved" minutes ago (a
    reviewer's `catalog init github` after a fresh clone); otherwise (an installed package, no git) the
    file's own mtime."""
    import subprocess

    mtime = path.stat().st_mtime_ns
    try:
        git = ["git", "-C", str(path.parent)]
        dirty = subprocess.run([*git, "status", "--porcelain", "--", path.name], capture_output=True, text=True,
                               timeout=5, check=True).stdout.strip()
        committed = subprocess.run([*git, "log", "-1", "--format=%ct", "--", path.name], capture_output=True,
                                   text=True, timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return mtime  # no git, or not a checkout
    if dirty or not committed.isdigit():
        return mtime  # changed since its last commit (or never committed): the file's own time is its age
    return int(committed) * 1_000_000_000


def _init(entry: Entry, target: Path) -> int:
    files = _files(entry.folder)
    existing = sorted((p for p in files if (target / p).exists()), key=lambda p: (p.name != "mcp.yaml", p.as_posix()))
    if existing:
        shown = ", ".join(p.as_posix() for p in existing[:4])
        more = f" and {len(existing) - 4} more files" if len(existing) > 4 else ""
        # A second entry in the same folder is the usual way to meet this (a team combining two APIs):
        # say how to combine entries instead of leaving the user to guess.
        raise McprtError(f"refusing to overwrite: {shown}{more} already exist{'s' if len(existing) == 1 else ''} here; "
                         f"init '{entry.name}' in a folder of its own (mkdir {entry.name} && cd {entry.name} && "
                         f"mcprt catalog init {entry.name}), then add {entry.name}/mcp.yaml to a manifest's `include:` "
                         "to serve its sources beside yours")
    for relative in files:
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(entry.folder / relative, destination)
        # the copy keeps the file's recorded modification time (not its mode: the user edits the copy), so a
        # pinned description's fallback warning ("using the pinned copy … (saved …)", `fetch.saved_on`) tells
        # its age, not the time of this copy (a trial was told "saved" minutes before, of a week-old spec)
        recorded = _recorded_time_ns(entry.folder / relative)
        os.utime(destination, ns=(recorded, recorded))
    manifest = target / "mcp.yaml"
    lines = manifest.read_text(encoding="utf-8").splitlines(keepends=True)
    if lines and lines[0].startswith("# yaml-language-server:"):
        lines[0] = SCHEMA_LINE + "\n"  # the relative schema path only works inside the repository
        manifest.write_text("".join(lines), encoding="utf-8")
    readme = _copy_readme(entry, target)
    copied = len(files) + (readme is not None)
    print(f"copied {copied} {noun(copied, 'file')} of '{entry.name}' into {target}")
    variables = sorted(set(_VARIABLE.findall("".join(lines))))
    see = f" (see {readme.name})" if readme is not None else ""
    if variables:
        print(f"next: set {', '.join(variables)}{see}, then `mcprt validate` and `mcprt up`")
    else:
        print(f"next: `mcprt validate` and `mcprt up`{see}")
    return EXIT_OK
