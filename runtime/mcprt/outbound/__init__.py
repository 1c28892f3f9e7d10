"""The HTTP upstream executor: sends built requests with credentials, limits and retries.

`HttpUpstream` is what an OpenAPI source calls to run a `BuiltRequest`; `redact_headers` and
`redact_url` are shared by everything that logs or records requests.
"""

from typing import TYPE_CHECKING, Any

from .redaction import REDACTED, describe_target, is_sensitive_name, redact_headers, redact_url
from .request import BuiltRequest

if TYPE_CHECKING:
    from .upstream import HttpUpstream


def __getattr__(name: str) -> Any:
    # `HttpUpstream` pulls in httpx (~70 ms, ~6 MB): load it only when a source really calls out,
    # so `mcprt tools`/`validate` and the request plans (which need only BuiltRequest) stay light.
    if name == "HttpUpstream":
        from .upstream import HttpUpstream

        return HttpUpstream
    raise AttributeError(name)

__all__ = [
    "REDACTED",
    "BuiltRequest",
    "HttpUpstream",
    "describe_target",
    "is_sensitive_name",
    "redact_headers",
    "redact_url",
]
