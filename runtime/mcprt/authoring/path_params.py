"""Which path parameters `mcprt init` lists under `path_slashes`: those that hold a path.

A path value holding `/` is refused unless the source lists its parameter in `path_slashes`
(`sources/openapi/plan.py`: servers that decode `%2F` before routing would read `1/tokens` as
another path). A parameter named as a path (`path`, `file_path`) or described as one (GitHub's
`contents/{path}` "path parameter", GitLab's `id` "The ID or URL-encoded path of the project") is
meant to take one, so `init` lists it — commented with why — for the author to review.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .signals import norm

if TYPE_CHECKING:
    from ..sources.openapi.compiler import CompiledOperation

# "path" as a word in a description ("the file path", "URL-encoded path of the project"), not "paths"
# or "xpath"; a bare mention of the URL's own path is rare in a path parameter's description
_SAID = re.compile(r"\bpath\b", re.IGNORECASE)


def path_parameters(operations: Iterable[CompiledOperation]) -> list[str]:
    """Names (as written, first-use order) of path parameters named (`path`, `*_path`) or described as a path."""
    found: dict[str, None] = {}
    for op in operations:
        properties = op.operation.input_schema.get("properties") or {}
        for param in op.plan.params:
            if param.location != "path":
                continue
            described = (properties.get(param.arg) or {}).get("description")
            if norm(param.name).endswith("path") or (isinstance(described, str) and _SAID.search(described)):
                found.setdefault(param.name)
    return list(found)
