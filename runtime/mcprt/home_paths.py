"""Paths written for a shell, given to mcprt without one.

Agent hosts (Claude Desktop, Cursor, VS Code, Claude Code) start `mcprt up` with their config's `args` and no
shell in between, so `~/proj/mcp.yaml` reached mcprt as written: `validate` said it did not exist (looked for
`/~/proj/mcp.yaml`) and offered `init` to create a file that was there, while a manifest's own `openapi:
~/specs/api.yaml` was expanded (trial desktop F6). So a path mcprt is given — on its command line (a manifest,
`init`'s spec and `--out`, `diff`'s OLD and NEW, `hook`'s manifests) or in a manifest's `openapi:`, `include:`
and `command:` — may begin with `~` or `~user`, expanded as a POSIX shell's tilde expansion does (POSIX.1-2017
XCU 2.6.1). A `~` that cannot be expanded (an unknown user, no home) is refused (`HomeNotFound`), never read as
a folder named `~…`: `init --out '~nosuch/x.yaml'` wrote one in the working folder. `$VAR` is not expanded (in a
manifest `${VAR}` is its own syntax, resolved with the manifest's `.env`): a path not found that would exist with
its variables expanded gets a note saying so (`unexpanded_variables_note`), from every command that takes a
manifest or spec path.

Base layer: imports only `mcprt.errors`.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import McprtError


class HomeNotFound(McprtError):
    """A path's leading `~user` (or `~`) names no home folder known here. `path`: as given; `reason`: what could
    not be expanded and why, and what to do (write the path out)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def expand_home(path: str | os.PathLike[str]) -> Path:
    """`path` with a leading `~` (the HOME variable, else the user's passwd entry) or `~user` replaced by that
    home folder; as given when it has none. Raises `HomeNotFound` when that home cannot be found (an unknown
    user; no HOME and no passwd entry)."""
    try:
        return Path(path).expanduser()
    except RuntimeError:  # "Could not determine home directory"
        head = os.fspath(path).split("/", 1)[0]
        whose = f"no user {head[1:]!r} here" if len(head) > 1 else "no HOME variable and no passwd entry"
        raise HomeNotFound(os.fspath(path), f"cannot expand {head} ({whose}): write the path out") from None


def unexpanded_variables_note(given: str) -> str | None:
    """For a path not found: a sentence saying that its `$VAR`/`${VAR}` were not expanded and naming the path
    they would make, when that path exists; else None."""
    if "$" not in given:
        return None
    expanded = os.path.expandvars(given)
    if expanded == given or not expand_home(expanded).exists():
        return None
    return (f"mcprt does not expand environment variables in a path it is given (a host passes its args without a "
            f"shell): write the path out, {expanded}")
