"""Shaping: what the model sees of a result (prune, auto-prune, templates, size limits).

Everything here is compiled once when a manifest loads (`compile_prune`, `compile_autoprune`,
`compile_template`) and applied per call by `shape_result`.
"""

from typing import TYPE_CHECKING, Any

from .autoprune import AutoPruner, compile_autoprune
from .limits import json_size, shorten_text, shorten_to_fit
from ..expressions.prune import Pruner, PruneRuntimeError, PruneSyntaxError, compile_prune
from .result import ERROR_BODY_BYTES, IMAGE_TYPES, Shaping, shape_result
from ..expressions.template_errors import TemplateError, TemplateRenderError

if TYPE_CHECKING:
    from ..expressions.templates import (
        OUTPUT_VARIABLES,
        CompiledTemplate,
        compile_template,
        template_environment,
        template_variables,
    )

_JINJA = frozenset({"OUTPUT_VARIABLES", "CompiledTemplate", "compile_template", "template_environment",
                    "template_variables"})


def __getattr__(name: str) -> Any:
    """The template names load Jinja2: imported on first use (PEP 562)."""
    if name not in _JINJA:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from ..expressions import templates

    return getattr(templates, name)


__all__ = [
    "ERROR_BODY_BYTES",
    "IMAGE_TYPES",
    "OUTPUT_VARIABLES",
    "AutoPruner",
    "CompiledTemplate",
    "PruneRuntimeError",
    "PruneSyntaxError",
    "Pruner",
    "Shaping",
    "TemplateError",
    "TemplateRenderError",
    "compile_autoprune",
    "compile_prune",
    "compile_template",
    "json_size",
    "shape_result",
    "shorten_text",
    "shorten_to_fit",
    "template_environment",
    "template_variables",
]
