"""Resources, resource templates and prompts: what sources offer besides tools, and the set served.

`model` is the contract with sources (what one source offers and how to reach it), `uris` the
reversible URI prefix, `build` applies the manifest (switches, per-item overrides, prefixes,
collisions) and `offerset` is the immutable set the server reads, swapped with the tool set.
"""

from .build import build_offers
from .model import Offerings, OfferProvider, PromptOffer, ResourceOffer, TemplateOffer
from .offerset import OfferSet

__all__ = ["OfferProvider", "OfferSet", "Offerings", "PromptOffer", "ResourceOffer", "TemplateOffer", "build_offers"]
