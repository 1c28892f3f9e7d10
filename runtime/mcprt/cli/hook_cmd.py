"""`mcprt hook validate|test [MANIFEST]...`: the pre-commit hooks' entry (`.pre-commit-hooks.yaml`).

pre-commit runs it once per commit (`always_run`, `pass_filenames: false`): the changed files are read from
git itself, not from arguments, so that
- a file moved or renamed counts at both paths (`--no-renames`): the old path is the one a manifest names,
  and a `git mv` of an included manifest must not commit with the hooks passed;
- deletions count (pre-commit passes no deleted file);
- a large commit is one run, not one per batch pre-commit splits a long file list into.

Which changes, by how it runs:
- under `git commit` (git sets `GIT_INDEX_FILE` for its commit hooks): the staged changes, read from that
  index (`git commit -a` and `git commit PATH` stage into a temporary one);
- with `PRE_COMMIT_FROM_REF` and `PRE_COMMIT_TO_REF` (pre-push, `pre-commit run --from-ref … --to-ref …`): the
  changes between them;
- otherwise (`pre-commit run --all-files` in CI, a manual `pre-commit run`, or run by hand) no commit is
  being judged: every manifest is checked.

Each manifest any change concerns (`reload.scope`) is checked with `mcprt validate --offline` or `mcprt test`,
nothing else: a commit that touches none of a manifest's files costs one read of each manifest's text. The
manifests are the MANIFEST arguments (the hook's `args:`), else every manifest file (`mcp.yaml`, `mcp.yml`,
`mcp.toml`) git tracks.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from ..errors import McprtError
from .errors import EXIT_OK

ACTIONS = {"validate": ("validate", "--offline"), "test": ("test",)}


def hook_command(action: str, manifests: list[Path]) -> int:
    """Run `mcprt <action>` for each manifest the changes concern; the highest exit code (0: none concerned)."""
    if action not in ACTIONS:
        raise McprtError(f"mcprt hook: the check must be one of {', '.join(ACTIONS)} (got {action!r})")
    from ..reload.scope import MANIFEST_NAMES, affected

    from ..home_paths import expand_home

    chosen = list(dict.fromkeys(map(expand_home, manifests))) or _tracked_manifests(MANIFEST_NAMES)
    changed = changed_files(os.environ)
    if changed is None:  # no commit judged: all of them
        reasons = {manifest: "no commit to judge: every manifest" for manifest in chosen}
    else:
        reasons = {manifest: _shown(hits) + " changed" for manifest, hits in affected(chosen, changed).items()}
    code = EXIT_OK
    for manifest, reason in reasons.items():
        print(f"mcprt hook: {action} {_relative(manifest)} ({reason})", file=sys.stderr, flush=True)
        # a process each: manifests' Python modules stay apart, and one's failure leaves the next checked
        done = subprocess.run([sys.executable, "-m", "mcprt", *ACTIONS[action], str(manifest)], check=False)
        code = max(code, done.returncode)
    return code


def changed_files(env: Mapping[str, str]) -> list[Path] | None:
    """The files (absolute) the run judges, each path of a rename included; None when it judges no commit
    or git cannot say (then every manifest is checked: a needless check costs time, a missed one a broken
    commit). `env`: the environment pre-commit and git gave the hook (see the module)."""
    top = _git("rev-parse", "--show-toplevel")
    if top is None:
        return None
    root = Path(top.rstrip("\n"))
    old, new = env.get("PRE_COMMIT_FROM_REF"), env.get("PRE_COMMIT_TO_REF")
    if old and new:
        listing = _git("diff", "--name-only", "--no-renames", "--no-ext-diff", "-z", f"{old}...{new}", "--")
    elif env.get("GIT_INDEX_FILE"):
        listing = _git("diff", "--cached", "--name-only", "--no-renames", "--no-ext-diff", "-z", "--")
    else:
        return None
    if listing is None:
        return None
    return [root / name for name in listing.split("\0") if name]


def _git(*args: str) -> str | None:
    """What `git ARGS` prints (paths may be any bytes: kept as surrogates), None when it fails."""
    try:
        done = subprocess.run(["git", *args], capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.decode(errors="surrogateescape") if done.returncode == 0 else None


def _tracked_manifests(names: tuple[str, ...]) -> list[Path]:
    listing = _git("ls-files", "-z", "--", *(f":(glob)**/{name}" for name in names))
    return [Path(name) for name in (listing or "").split("\0") if name]


def _shown(hits: list[Path]) -> str:
    shown = ", ".join(str(_relative(hit)) for hit in hits[:3])
    return shown + (f" and {len(hits) - 3} more" if len(hits) > 3 else "")


def _relative(path: Path) -> Path:
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path
