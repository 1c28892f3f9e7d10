"""The HTTP upstream executor: sends built requests with credentials, limits and retries.

`HttpUpstream` is what an OpenAPI source calls to run a `BuiltRequest`; `redact_headers` and
`redact_url` are shared by everything that logs or records requests.
"""

from .redaction import REDACTED, describe_target, is_sensitive_name, redact_headers, redact_url
from .request import BuiltRequest
from .upstream import HttpUpstream

__all__ = [
    "REDACTED",
    "BuiltRequest",
    "HttpUpstream",
    "describe_target",
    "is_sensitive_name",
    "redact_headers",
    "redact_url",
]
