"""The resources, templates and prompts served at one moment (immutable, swapped with the tool set).

Exposed URIs and names map back to (source, upstream URI or name, provider); `resolve_uri` finds the
owner of a URI that is not listed (a template expansion): by the source's URI prefix, then by the
templates' patterns, then — with a single resource-offering source — that source. A URI the manifest
turned off (`enabled: false` on a resource, or a URI its turned-off template expands to) has no
owner: hiding it from the list must also stop a client that names it (`resources/read`,
`resources/subscribe`), as a hidden prompt or tool is refused by name.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .model import OfferProvider
from .structured_uris import exposed_structured
from .uris import (UnsafeTemplateValue, add_prefix, strip_prefix, template_matcher, template_values,
                   unlisted_uri_problem)


@dataclass(frozen=True)
class Exposed:
    """One listed item: its exposed key (URI, URI template or prompt name) and where it comes from."""

    key: str
    upstream: str
    source: str
    wire: dict[str, Any]  # as listed to clients
    provider: OfferProvider


@dataclass
class SourceOffers:
    """What the set knows about one source: its URI scheme prefix and provider."""

    scheme: str
    provider: OfferProvider
    has_resources: bool = False
    withheld_uris: set[str] = field(default_factory=set)  # upstream URIs turned off in the manifest
    withheld_templates: list[str] = field(default_factory=list)  # upstream URI templates turned off


@dataclass
class OfferSet:
    resources: dict[str, Exposed] = field(default_factory=dict)  # exposed URI → item
    templates: dict[str, Exposed] = field(default_factory=dict)  # exposed URI template → item
    prompts: dict[str, Exposed] = field(default_factory=dict)  # exposed name → item
    sources: dict[str, SourceOffers] = field(default_factory=dict)
    _patterns: list[tuple[Callable[[str], bool], Exposed]] | None = None
    # by source: its listed upstream URIs, and matchers of its templates with a literal scheme (`owns_upstream_uri`)
    _owned: dict[str, tuple[frozenset[str], list[Callable[[str], bool]]]] = field(default_factory=dict)

    # --- capabilities --------------------------------------------------------------------------

    @property
    def has_resources(self) -> bool:
        return bool(self.resources or self.templates)

    @property
    def has_prompts(self) -> bool:
        return bool(self.prompts)

    @property
    def subscribe(self) -> bool:
        return any(s.provider.supports_subscribe for s in self.sources.values() if s.has_resources)

    @property
    def completions(self) -> bool:
        return any(s.provider.supports_completion for s in self.sources.values())

    # --- listings ------------------------------------------------------------------------------

    def list_resources(self) -> list[dict[str, Any]]:
        return [item.wire for item in self.resources.values()]

    def list_templates(self) -> list[dict[str, Any]]:
        return [item.wire for item in self.templates.values()]

    def list_prompts(self) -> list[dict[str, Any]]:
        return [item.wire for item in self.prompts.values()]

    def resources_fingerprint(self) -> str:
        return _digest([self.list_resources(), self.list_templates()])

    def prompts_fingerprint(self) -> str:
        return _digest(self.list_prompts())

    # --- routing -------------------------------------------------------------------------------

    def resolve_uri(self, uri: str) -> tuple[str, str, OfferProvider] | None:
        """(source, upstream URI, provider) for an exposed URI, or None when no source owns it."""
        listed = self.resources.get(uri)
        if listed is not None:
            return listed.source, listed.upstream, listed.provider
        found = self._owner(uri)
        if found is not None and self._withheld(found[0], found[1], uri):
            return None
        return found

    def unsafe_uri(self, uri: str) -> str | None:
        """Why `uri` must not be read or subscribed to (None: it may), whichever source serves it. Checked here
        for every source kind, so a proxied server — which gets the URI as the client sent it, less the
        source's prefix, and decodes and matches it by its own rules — never sees one either:

          - it matches a listed template, exactly or leniently (`uris.template_values`: its query and
            fragment left out, a variable read up to them), with a variable value that steps out of its
            place (`%2F` or `..` in a `{var}`, an absolute `{+path}`); a query value only for NUL — the
            server gets the URI, not a path (a Python source checks what its function is handed itself,
            `for_function`);
          - it matches no listed template even leniently, and a segment of its authority or path breaks
            the segment rule (`path_segments.segment_problem`: `..`, `%2F`, NUL). MCP lets a server serve
            resources it does not list (2025-11-25 server/tools "Resource Links": links "are not guaranteed
            to appear in the results of a resources/list request"), so such a URI is not refused for being
            unlisted, only for a segment that steps out of its place.

        A resource a source lists by its URI is its own to serve (review of hostfix, problem 1: a URI that
        did not fully match mcprt's pattern — `?x`, `#x`, a raw `/` in a value — was passed on unchecked)."""
        if uri in self.resources:
            return None
        matched = False
        for template in self.templates:
            for lenient in (False, True):
                try:
                    matched = template_values(template, uri, lenient=lenient,
                                              for_function=False) is not None or matched
                except UnsafeTemplateValue as exc:
                    return f"Invalid resource URI {uri}: {exc}"
        if not matched:
            problem = unlisted_uri_problem(uri)
            if problem is not None:
                return f"Invalid resource URI {uri}: {problem}"
        return None

    def _owner(self, uri: str) -> tuple[str, str, OfferProvider] | None:
        for name, offers in self.sources.items():
            if offers.scheme and offers.has_resources:
                upstream = strip_prefix(uri, offers.scheme)
                if upstream is not None:
                    return name, upstream, offers.provider
        for matches, item in self._template_patterns():
            if matches(uri):
                scheme = self.sources[item.source].scheme
                return item.source, strip_prefix(uri, scheme) or uri, item.provider
        owners = [(n, o) for n, o in self.sources.items() if o.has_resources and not o.scheme]
        if len(owners) == 1:
            name, offers = owners[0]
            return name, uri, offers.provider
        return None

    def _template_patterns(self) -> list[tuple[Callable[[str], bool], Exposed]]:
        if self._patterns is None:
            self._patterns = [(template_matcher(key), item) for key, item in self.templates.items()]
        return self._patterns

    def _withheld(self, source: str, upstream: str, uri: str) -> bool:
        """Whether `upstream` (of `source`) is a resource the manifest turned off: named itself, or
        expanded from a turned-off template that no served template of the source also matches."""
        offers = self.sources[source]
        if upstream in offers.withheld_uris:
            return True
        # leniently too: a server with a looser matcher would serve `secret://a/b` as `secret://{name}`
        if not any(template_matcher(t, lenient=True)(upstream) for t in offers.withheld_templates):
            return False
        return not any(item.source == source and matches(uri) for matches, item in self._template_patterns())

    def completion_target(self, ref: Any) -> Exposed | None:
        """The prompt (`ref/prompt`: by `name`) or resource template or resource (`ref/resource`: by `uri`) a
        `completion/complete` request's `ref` (wire form) names, or None (MCP 2025-11-25
        server/utilities/completion "Reference Types")."""
        if not isinstance(ref, Mapping):
            return None
        if ref.get("type") == "ref/prompt":
            name = ref.get("name")
            return self.prompts.get(name) if isinstance(name, str) else None
        uri = ref.get("uri")
        return (self.templates.get(uri) or self.resources.get(uri)) if isinstance(uri, str) else None

    def exposed_as(self, upstream: str, *kinds: str) -> list[str]:
        """The exposed keys of listed items (of `kinds`: "prompts", "templates", "resources") whose
        upstream name or URI is `upstream`: what a client naming an item as its server does (before
        the source's `prefix` or a rename) meant."""
        return [key for kind in kinds for key, item in getattr(self, kind).items()
                if item.upstream == upstream and key != upstream]

    def exposed_uri(self, source: str, upstream_uri: str) -> str:
        offers = self.sources.get(source)
        return add_prefix(upstream_uri, offers.scheme) if offers else upstream_uri

    def exposed_block(self, source: str, block: Any) -> Any:
        """A content block (wire form) of `source`'s tool result or prompt message with the URI of a
        `resource_link` or an embedded `resource` as clients read it through mcprt (`exposed_uri`: the
        source's prefix added, README "Names and URIs"), so following it reaches this source and not
        another one serving the same upstream URI. The same object when nothing changes."""
        offers = self.sources.get(source)
        if offers is None or not offers.scheme or not isinstance(block, dict):
            return block
        kind = block.get("type")
        if kind == "resource_link" and isinstance(block.get("uri"), str):
            return {**block, "uri": self.exposed_uri(source, block["uri"])}
        inner = block.get("resource")
        if kind == "resource" and isinstance(inner, dict) and isinstance(inner.get("uri"), str):
            return {**block, "resource": {**inner, "uri": self.exposed_uri(source, inner["uri"])}}
        return block

    def owns_upstream_uri(self, source: str, uri: str) -> bool:
        """Whether `uri` (as `source`'s server writes it) names one of `source`'s served resources: a URI it
        lists, or an expansion of one of its served templates whose scheme is literal (`files://{path}`; a
        `{+uri}` template would claim any URI). Turned-off resources and templates are not served."""
        owned = self._owned.get(source)
        if owned is None:
            listed = frozenset(item.upstream for item in self.resources.values() if item.source == source)
            matchers = [template_matcher(item.upstream) for item in self.templates.values()
                        if item.source == source and ":" in item.upstream.partition("{")[0]]
            owned = self._owned[source] = (listed, matchers)
        listed, matchers = owned
        return uri in listed or any(matches(uri) for matches in matchers)

    def exposed_structured(self, source: str, structured: dict[str, Any],
                           output_schema: dict[str, Any] | None) -> dict[str, Any]:
        """A structuredContent of `source`'s tool with the URIs of `source`'s own resources as clients read them
        through mcprt (`exposed_uri`), kept valid against the tool's `output_schema` (structured_uris.py); the
        same object when the source has no prefix or nothing changes."""
        offers = self.sources.get(source)
        if offers is None or not offers.scheme or not offers.has_resources:
            return structured
        return exposed_structured(structured, lambda uri: self.owns_upstream_uri(source, uri),
                                  lambda uri: add_prefix(uri, offers.scheme), output_schema)

    def exposed_content(self, source: str, blocks: list[Any]) -> list[Any]:
        """`exposed_block` of each of `blocks`; the same list when nothing changes."""
        exposed = [self.exposed_block(source, block) for block in blocks]
        return exposed if any(a is not b for a, b in zip(exposed, blocks)) else blocks


def definition_size(wire: dict[str, Any]) -> int:
    """Bytes of an item's compact JSON definition (what listing it costs a model's context)."""
    return len(json.dumps(wire, separators=(",", ":"), ensure_ascii=False).encode())


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()
