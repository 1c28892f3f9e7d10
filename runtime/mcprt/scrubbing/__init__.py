"""Keep configured secret values out of everything mcprt writes: results, errors, logs, recordings.

Redaction by *name* (`sources/http/redaction.py`) hides the headers and query parameters mcprt
builds; it cannot see a secret an upstream *reflects* in a body (an echo service, a token endpoint
quoting the form it received). This package scrubs by *value*: every configured secret, and the
forms it travels in (percent-, form-, base64- and JSON-escaped), is replaced by ``[redacted]``
wherever it appears.

`SECRETS` is the process-wide registry: the manifest loader registers every configured secret,
the upstream token cache registers every token obtained (for its life), and the executor, the call pipeline, the
recorder and the log formatters scrub through it. This module imports nothing else of mcprt, so
every layer may use it.
"""

from .errors import scrub_error_data, scrub_error_text
from .literal import TOKEN_CHARS, is_literal_credential, looks_like_token, secret_part
from .names import is_credential_name
from .scrubber import REDACTED, SECRETS, Scrubber, secret_forms
from .userinfo import mask_url_credentials, mask_userinfo

__all__ = ["REDACTED", "SECRETS", "TOKEN_CHARS", "Scrubber", "is_credential_name", "is_literal_credential",
           "looks_like_token", "mask_url_credentials", "mask_userinfo", "scrub_error_data", "scrub_error_text",
           "secret_forms", "secret_part"]
