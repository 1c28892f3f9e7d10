"""OpenAPI 3.0 / 3.1 and Swagger 2.0 → Operations plus request plans.

    doc = load_document("api.yaml", base_dir=manifest_dir, cache_dir=cache)
    compiled = compile_openapi(doc, source_config, defaults, cache_dir=cache)
    for op in compiled.operations:
        op.operation            # mcprt.contracts.Operation (invoke=None)
        op.plan.build(args)     # mcprt.outbound.request.BuiltRequest
    missing_auth(compiled, source_config)   # warnings for `mcprt validate`

Rules a user sees (details in the modules named):
- Tool names (`compiler`): operationId with characters outside `[A-Za-z0-9_-]` made `_`
  (`issues/list-for-repo` → `issues_list-for-repo`), else `<method>_<path>`; an operationId mostly of
  other letters (`作成`) `<method>_<path>_<hash of it>`; ≤ 64 characters (hash suffix), duplicates get
  `_2`, `_3`… in document order. Operation.key is the operationId
  (or `METHOD /path`); `METHOD /path` is always an alias.
- Arguments (`inputs`): parameters by their names made safe, collisions prefixed with their
  location (`query_id`); an object body is flattened into top-level arguments unless a property
  name collides with a parameter, then it is one `body` argument; non-object bodies are `body`.
- Files (`bodies`): text, or a `data:` URL with base64 content.
- Styles (`styles`): every OpenAPI style/explode; path values always stay one segment.
- Compactness (`text`, `schemas`): brief descriptions, no examples or extensions, recursive and
  shared sub-schemas as `$defs`.
- Input schemas share nested sub-schemas between tools: copy before changing one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcprt import lazy_exports

if TYPE_CHECKING:
    from .compiler import CompiledOpenAPI, CompiledOperation, annotations_for, compile_openapi
    from .loader import LoadedDocument, document_from_bytes, load_document
    from .plan import BodyPlan, ParamPlan, RequestPlan
    from .security import SecurityScheme, missing_auth

# Each name is imported from its submodule on first use (`mcprt.lazy_exports`): `mcprt up` imports
# the compile cache's and the loader's switches (`cache.writes_deferred`, `loader.digests_recorded`)
# for every manifest, and a submodule's import runs this file first; a manifest without an OpenAPI
# source never needs the compiler behind these names (~0.03 s of CPU).
__all__ = [
    "BodyPlan",
    "CompiledOpenAPI",
    "CompiledOperation",
    "LoadedDocument",
    "ParamPlan",
    "RequestPlan",
    "SecurityScheme",
    "annotations_for",
    "compile_openapi",
    "document_from_bytes",
    "load_document",
    "missing_auth",
]
__getattr__ = lazy_exports(__name__, {
    "CompiledOpenAPI": "compiler", "CompiledOperation": "compiler", "annotations_for": "compiler",
    "compile_openapi": "compiler", "LoadedDocument": "loader", "document_from_bytes": "loader",
    "load_document": "loader", "BodyPlan": "plan", "ParamPlan": "plan", "RequestPlan": "plan",
    "SecurityScheme": "security", "missing_auth": "security",
})
