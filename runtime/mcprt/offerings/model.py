"""The contract between sources and the served resources/prompts (MCP 2025-11-25 §server/resources,
§server/prompts, §server/utilities/completion).

A source that offers resources or prompts exposes `offerings` (an `Offerings`, or None): the items
as the upstream gives them (wire-format dicts, camelCase) and an `OfferProvider` that reads,
fetches, completes and subscribes using the upstream's own URIs and names. Renaming and prefixing
happen above, in `build`, identically for every kind of source.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import SERVER_ERROR

if TYPE_CHECKING:
    from ..contracts import ClientPeer


class OfferError(Exception):
    """A resource/prompt request the source cannot serve; `code` is the JSON-RPC error code to answer,
    `data` the error's `data` as the upstream sent it (None: none), for the server layer to read (e.g. the
    `uri` of SEP-2164's resource not found), never passed to a client as it is."""

    def __init__(self, message: str, code: int = -32602, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.data = data




class OfferUnavailable(OfferError):
    """The source is restarting and took no request: transient, so not -32603 "Internal error" (a bug, to a
    client or dashboard) but -32000 with `data` `{"retryAfter": seconds}`, as mcprt's other transient refusals
    (a refused session) say it; a tool call in the same case gets `errors.SourceUnavailable`."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, SERVER_ERROR, {"retryAfter": retry_after})
        self.retry_after = retry_after


class OfferProvider(Protocol):
    """How to reach one source's resources and prompts (upstream URIs and names).

    Every method returns the MCP result object in wire format or raises `OfferError`. `peer` is the
    client that asked, for what the upstream asks it meanwhile (None: nobody to ask).
    """

    supports_subscribe: bool
    supports_completion: bool
    asks_client: bool  # the upstream may ask the client (sampling, elicitation, roots) during a read or get

    async def read_resource(self, uri: str, *,
                            peer: ClientPeer | None = None) -> dict[str, Any]: ...  # ReadResourceResult

    async def get_prompt(self, name: str, arguments: Mapping[str, str] | None, *,
                         peer: ClientPeer | None = None) -> dict[str, Any]: ...  # GetPromptResult

    async def complete(self, ref: dict[str, Any], argument: dict[str, Any], context: dict[str, Any] | None, *,
                       peer: ClientPeer | None = None) -> dict[str, Any]: ...  # CompleteResult

    async def subscribe(self, uri: str) -> None: ...

    async def unsubscribe(self, uri: str) -> None: ...


@dataclass(frozen=True)
class ResourceOffer:
    uri: str
    wire: Mapping[str, Any]  # the MCP Resource object


@dataclass(frozen=True)
class TemplateOffer:
    uri_template: str
    wire: Mapping[str, Any]  # the MCP ResourceTemplate object


@dataclass(frozen=True)
class PromptOffer:
    name: str
    wire: Mapping[str, Any]  # the MCP Prompt object


@dataclass(frozen=True)
class Offerings:
    """Everything one source offers besides tools, at one moment."""

    provider: OfferProvider
    resources: tuple[ResourceOffer, ...] = ()
    templates: tuple[TemplateOffer, ...] = ()
    prompts: tuple[PromptOffer, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not (self.resources or self.templates or self.prompts)
