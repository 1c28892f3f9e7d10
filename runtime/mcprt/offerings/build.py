"""Apply the manifest to what sources offer: switches, per-item overrides, prefixes, collisions.

Names and URIs stay as the upstream gives them unless the source has a `prefix` (prompt names get
it prepended, URIs the reversible scheme prefix of `uris`). Two sources exposing one prompt name,
resource URI or URI template is an error at the later source's line asking for a `prefix` — except
for an item a proxied server newly lists in a rebuild, left out with a warning (the rule: owners.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import Diagnostic
from ..manifest.loader import LoadedManifest
from ..manifest.model import ItemOverride
from .model import Offerings
from .offerset import Exposed, OfferSet, SourceOffers
from .owners import Claim, ServedNames, left_out_warning, proxied_sources
from .uris import SCHEME_RULE, add_prefix, scheme_prefix


def build_offers(loaded: LoadedManifest, offerings: Mapping[str, Offerings | None],
                 served: OfferSet | None = None) -> tuple[OfferSet, list[Diagnostic]]:
    """The served set and every diagnostic (unknown override keys, collisions).

    `served`: the set now served (None for the first compile): a proxied server's newly listed item
    taking a name another source keeps is left out with a warning (`owners.ServedNames`)."""
    out: list[Diagnostic] = []
    offers = OfferSet()
    served_uris, served_templates, served_prompts = _served_names(loaded, served)
    for source_name, config in loaded.manifest.sources.items():
        offered = offerings.get(source_name)
        if offered is None:
            continue
        scheme = scheme_prefix(config.prefix)
        resource_switch = _switch(getattr(config, "resources", True))
        prompt_switch = _switch(getattr(config, "prompts", True))
        entry = SourceOffers(scheme, offered.provider)
        if resource_switch is not None:
            items = [(r.uri, r.wire) for r in offered.resources] + [(t.uri_template, t.wire) for t in offered.templates]
            _unknown_keys(loaded, source_name, "resources", resource_switch, [key for key, _ in items], out)
            for resource in offered.resources:
                exposed = _resource(resource.uri, resource.wire, "uri", scheme, resource_switch.get(resource.uri))
                if exposed is None:
                    entry.withheld_uris.add(resource.uri)
                else:
                    _add(loaded, offers.resources, Exposed(exposed["uri"], resource.uri, source_name, exposed,
                                                           offered.provider), "resource URI", out, served_uris)
            for template in offered.templates:
                exposed = _resource(template.uri_template, template.wire, "uriTemplate", scheme,
                                    resource_switch.get(template.uri_template))
                if exposed is None:
                    entry.withheld_templates.append(template.uri_template)
                else:
                    _add(loaded, offers.templates, Exposed(exposed["uriTemplate"], template.uri_template, source_name,
                                                           exposed, offered.provider), "resource template", out,
                         served_templates)
            entry.has_resources = bool(offered.resources or offered.templates)
        if prompt_switch is not None:
            _unknown_keys(loaded, source_name, "prompts", prompt_switch, [p.name for p in offered.prompts], out)
            for prompt in offered.prompts:
                override = prompt_switch.get(prompt.name) or ItemOverride()
                if not override.enabled:
                    continue
                wire = {**prompt.wire, "name": override.name or f"{config.prefix or ''}{prompt.name}"}
                _describe(wire, override)
                _add(loaded, offers.prompts, Exposed(wire["name"], prompt.name, source_name, wire, offered.provider),
                     "prompt name", out, served_prompts)
        offers.sources[source_name] = entry
    return offers, out


def _served_names(loaded: LoadedManifest, served: OfferSet | None) -> list[ServedNames | None]:
    """The resource URIs, URI templates and prompt names `served` gives out (Nones at start)."""
    if served is None:
        return [None, None, None]
    proxied = proxied_sources(loaded)
    return [ServedNames(map(_claim, kind.values()), proxied)
            for kind in (served.resources, served.templates, served.prompts)]


def _claim(item: Exposed) -> Claim:
    return Claim(item.key, item.source, item.upstream)


def _switch(value: Any) -> dict[str, ItemOverride] | None:
    """None when the feature is off; else the per-item overrides (possibly none)."""
    if value is False:
        return None
    if isinstance(value, dict):  # a python source's `resources:` maps URIs to functions: no overrides
        return {key: item for key, item in value.items() if isinstance(item, ItemOverride)}
    return {}


def _resource(key: str, wire: Mapping[str, Any], field: str, scheme: str,
              override: ItemOverride | None) -> dict[str, Any] | None:
    override = override or ItemOverride()
    if not override.enabled:
        return None
    exposed = {**wire, field: add_prefix(key, scheme)}
    if override.name:
        exposed["name"] = override.name
    _describe(exposed, override)
    return exposed


def _describe(wire: dict[str, Any], override: ItemOverride) -> None:
    if override.title is not None:
        wire["title"] = override.title
    if override.description is not None:
        wire["description"] = override.description


def _add(loaded: LoadedManifest, into: dict[str, Exposed], item: Exposed, what: str, out: list[Diagnostic],
         served: ServedNames | None) -> None:
    """Add `item` under its key; a second item with that key is an error, unless `served` (the
    names now served; None at start) leaves one of the two out: a warning then."""
    other = into.get(item.key)
    if other is None:
        into[item.key] = item
        return
    dropped = served.left_out(_claim(other), _claim(item)) if served is not None else None
    if dropped is not None:
        keeper = item if dropped.source == other.source else other
        into[item.key] = keeper
        out.append(loaded.diagnostic(("sources", dropped.source), left_out_warning(what, dropped, _claim(keeper)),
                                     severity="warning", prefer="key"))
        return
    if other.source == item.source:
        message = f"{what} '{item.key}' is offered twice by source '{item.source}'"
    else:
        message = (f"{what} '{item.key}' from source '{item.source}' collides with source '{other.source}': "
                   + _collision_hint(loaded, item.source, other.source, uri=what != "prompt name"))
    out.append(loaded.diagnostic(("sources", item.source), message, prefer="key"))


def _collision_hint(loaded: LoadedManifest, source: str, other: str, *, uri: bool) -> str:
    """What to change about two colliding sources: a `prefix` where one lacks it; where both have one
    that maps to the same URI scheme (`team_a_` and `team-a-` both to `team-a+`: uris.py), say so."""
    mine, theirs = (getattr(loaded.manifest.sources[name], "prefix", None) for name in (source, other))
    if not mine and not theirs:
        return "give one of them a `prefix`"
    if not mine or not theirs:
        return f"give source '{other if not theirs else source}' a `prefix` too"
    if mine == theirs:
        return f"both have the prefix '{mine}': change one of them"
    scheme = scheme_prefix(mine)
    if uri and scheme == scheme_prefix(theirs):
        why = ("a scheme cannot hold `_`, which becomes `-`" if mine.replace("_", "-") == theirs.replace("_", "-")
               else SCHEME_RULE)
        return (f"their prefixes '{theirs}' and '{mine}' map to the same URI scheme prefix '{scheme}+' ({why}): "
                "make them differ in a letter or digit")
    return "change one of their prefixes"


def _unknown_keys(loaded: LoadedManifest, source: str, feature: str, overrides: Mapping[str, ItemOverride],
                  known: list[str], out: list[Diagnostic]) -> None:
    for key in overrides:
        if key in known:
            continue
        import difflib  # only for a typo's hint: not on every start
        hint = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        suffix = f" (did you mean '{hint[0]}'?)" if hint else ""
        noun = "resource" if feature == "resources" else "prompt"
        out.append(loaded.diagnostic(("sources", source, feature, key),
                                     f"source '{source}' offers no {noun} '{key}'{suffix}", prefer="key"))
