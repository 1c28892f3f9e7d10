"""`mcprt hook validate|test [FILE]...`: the pre-commit hooks' entry (`.pre-commit-hooks.yaml`).

pre-commit runs it on every commit with the staged files as arguments (`always_run`, `pass_filenames`);
it checks each manifest that any of them concerns (`reload.scope`) with `mcprt validate --offline`
or `mcprt test`, and does nothing else — a commit that touches none of a manifest's files costs one
read of each manifest's text. The manifests are those given with `--manifest`, else every manifest file
(`mcp.yaml`, `mcp.yml`, `mcp.toml`) git tracks, and any such file among FILE.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ..errors import McprtError
from .errors import EXIT_OK

ACTIONS = {"validate": ("validate", "--offline"), "test": ("test",)}


def hook_command(action: str, files: list[Path], manifests: list[Path]) -> int:
    """Run `mcprt <action>` for each manifest `files` concern; the highest exit code (0: none concerned)."""
    if action not in ACTIONS:
        raise McprtError(f"mcprt hook: the check must be one of {', '.join(ACTIONS)} (got {action!r})")
    from ..reload.scope import MANIFEST_NAMES, affected

    changed = [*files, *_staged_deletions()]  # pre-commit passes no deleted file; a deleted case counts too
    chosen = list(manifests) or [*_tracked_manifests(MANIFEST_NAMES),
                                 *(f for f in files if f.name in MANIFEST_NAMES and f.is_file())]
    code = EXIT_OK
    for manifest, hits in affected(dict.fromkeys(chosen), changed).items():
        shown = ", ".join(str(_relative(hit)) for hit in hits[:3]) + (f" and {len(hits) - 3} more" if len(hits) > 3 else "")
        print(f"mcprt hook: {action} {_relative(manifest)} ({shown} changed)", file=sys.stderr, flush=True)
        # a process each: manifests' Python modules stay apart, and one's failure leaves the next checked
        done = subprocess.run([sys.executable, "-m", "mcprt", *ACTIONS[action], str(manifest)], check=False)
        code = max(code, done.returncode)
    return code


def _git_paths(*args: str) -> list[Path]:
    """The paths a `git … -z` listing prints (relative to the current folder); none outside a repository."""
    try:
        done = subprocess.run(["git", args[0], "-z", *args[1:]], capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    if done.returncode != 0:
        return []
    return [Path(name) for name in done.stdout.decode(errors="surrogateescape").split("\0") if name]


def _tracked_manifests(names: tuple[str, ...]) -> list[Path]:
    return _git_paths("ls-files", "--", *(f":(glob)**/{name}" for name in names))


def _staged_deletions() -> list[Path]:
    return _git_paths("diff", "--cached", "--name-only", "--diff-filter=D", "--relative")


def _relative(path: Path) -> Path:
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path
