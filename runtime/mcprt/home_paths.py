"""Paths written for a shell, given to mcprt without one.

Agent hosts (Claude Desktop, Cursor, VS Code, Claude Code) start `mcprt up` with their config's `args` and no
shell in between, so `~/proj/mcp.yaml` reached mcprt as written: `validate` said it did not exist (looked for
`/~/proj/mcp.yaml`) and offered `init` to create a file that was there, while a manifest's own `openapi:
~/specs/api.yaml` was expanded (trial desktop F6). So a path mcprt is given — on its command line (a manifest,
`init`'s spec and `--out`, `diff`'s OLD and NEW, `hook`'s manifests) or in a manifest's `openapi:` — may begin
with `~` or `~user`, expanded as a POSIX shell's tilde expansion does (POSIX.1-2017 XCU 2.6.1). `$VAR` is not
expanded (in a manifest `${VAR}` is its own syntax, resolved with the manifest's `.env`): a path not found that
would exist with its variables expanded gets a note saying so (`unexpanded_variables_note`).

Base layer: imports nothing from mcprt.
"""

from __future__ import annotations

import os
from pathlib import Path


def expand_home(path: str | os.PathLike[str]) -> Path:
    """`path` with a leading `~` (the HOME variable, else the user's passwd entry) or `~user` replaced by that
    home folder; as given when it has none, or when that home cannot be found (an unknown user): the error
    about the missing file then shows it as written."""
    try:
        return Path(path).expanduser()
    except RuntimeError:  # "Could not determine home directory"
        return Path(path)


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
