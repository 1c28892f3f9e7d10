"""Shaping: what the model sees of a result (prune, auto-prune, templates, size limits).

Everything here is compiled once when a manifest loads (`compile_prune`, `compile_autoprune`,
`compile_template`) and applied per call by `shape_result`.
"""

from .autoprune import AutoPruner, compile_autoprune
from .limits import json_size, shorten_text, shorten_to_fit
from ..expressions.prune import Pruner, PruneRuntimeError, PruneSyntaxError, compile_prune
from .result import ERROR_BODY_BYTES, IMAGE_TYPES, Shaping, shape_result
from ..expressions.templates import (
    OUTPUT_VARIABLES,
    CompiledTemplate,
    TemplateError,
    TemplateRenderError,
    compile_template,
    template_environment,
    template_variables,
)

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
