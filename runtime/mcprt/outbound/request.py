"""An HTTP request fully built from a tool's arguments, before auth and sending.

The OpenAPI request plan produces it (pure, testable without a network); the HTTP executor adds
credentials, sends it with the shared pooled client and turns the response into an UpstreamResult.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..observability.hooks import Route


@dataclass(slots=True)
class BuiltRequest:
    method: str  # upper case
    url: str  # absolute, path already percent-encoded; query string included
    headers: list[tuple[str, str]] = field(default_factory=list)
    cookies: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | None = None
    content_type: str | None = None  # set for a body (multipart includes its boundary)
    idempotent: bool = False  # GET/HEAD/OPTIONS/PUT/DELETE: may be retried
    # The operation's path as documented, arguments not filled in (`/notes/{id}`; the base URL's path not
    # included): traces' `url.template` (OpenTelemetry HTTP client semconv) and their path when argument
    # values stay out of them. Not part of the request's identity (two requests sending the same bytes are
    # equal), so not compared.
    route: Route | None = field(default=None, compare=False)
    # What of the source's credentials goes along (sources/openapi/security.py decides): `credentials`
    # False sends no auth stamp and fetches no token (an operation with `security: []`); `foreign` True
    # treats the request as a redirect to another host is treated: no stamp, no sensitive headers of
    # the source, no forwarded claims, no cookies of its own (an operation served from another origin).
    credentials: bool = True
    foreign: bool = False

    @property
    def sends_credentials(self) -> bool:
        """Whether the source's auth stamp (and token) go with this request: not for `security: []`, never
        to another origin."""
        return self.credentials and not self.foreign
