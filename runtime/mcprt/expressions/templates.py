"""Jinja2 templates in manifests (`description:` and `output:`), always sandboxed.

Manifests arrive through pull requests, so a template is untrusted code: it runs in Jinja's
immutable sandbox (no `__class__` walks, no mutating the data it renders), with big `*`/`**`
results refused, and a missing variable is an error rather than silent emptiness
(`StrictUndefined`: a typo fails loudly). One exception, per render: a field the caller says is
documented but may be absent from a record, by its path in `result` (`render(absent_ok=…)`, from
`shaping.absence`; found at run time by the identity of the objects on the way to it, so loop
variables and `{% set %}` aliases count, and a value a filter builds does not) renders empty — it is empty, iterates as nothing, is false, and a look-up on it is absent too — so
one record without an optional field does not fail the whole result; `is defined` and `default`
still see it as undefined. An error names the missing field by its path and says why (missing, or documented
but absent and used as a value), never the class that stands in for it. Output is text for a model, so there
is no HTML escaping.

Filters beyond Jinja's built-ins (`join`, `default`, `truncate`, `map`, `selectattr`, ...):
  - `tojson`           compact JSON (`,`/`:` separators, UTF-8 kept), `tojson(2)` indents
  - `shorten(width)`   cut at a word boundary to at most `width` characters, ending in `…`
  - `firstline`        the first non-blank line of a text (e.g. a commit message's subject)
  - `split(sep, max)`  a text cut into a list at `sep` (default: runs of whitespace), at most `max` cuts
A value made text — `{{ value }}`, `a ~ b`, `'%s' % value`, and every filter that makes text of it (`join`,
`string`, `format`, `trim`, `upper`, `shorten`, …) — is in its JSON form (`json_form`: `true`, `null`,
`["items","customer"]`), the form a model sends; only `pprint` is Python's pretty-printer.
Tests beyond Jinja's built-ins: `x is startingwith("v")`, `x is endingwith(".json")` (what the string
methods did: a template reads data, not methods).
"""

from __future__ import annotations

import contextvars
import functools

import json
import operator
import re
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import StrictUndefined, meta, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.filters import make_attrgetter, sync_do_join
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment
from jinja2.utils import missing, object_type_repr
from markupsafe import soft_str  # what Jinja's own `string` filter is

from ..cancellation import Abandoned
from . import budget
from .absent_fields import AbsentFields
from .template_errors import TemplateError, TemplateRenderError

OUTPUT_VARIABLES = frozenset({"result", "status", "raw_bytes", "tool", "principal"})
"""What an `output:` template may use: the pruned result, the HTTP status, upstream bytes, tool name, and
who calls (`principal.sub`, `.kind`, `.client_id`, `.scopes`, `.claims`; see `Principal.as_template_context`)."""

_MAX_SEQUENCE_PRODUCT = 1_000_000  # longest str/list a template may build with `*`
_MAX_POWER_EXPONENT = 1_000


DATA_TYPES: tuple[type, ...] = (dict, list, tuple, str)
"""The values a template reads as data only: `x.name`, `x["name"]` and `x|attr("name")` on one are its key
(or index) `name`, else undefined, never one of its Python methods (`items`, `keys`, `get`, `count`, `upper`…):
a field named like a method is that field, and a missing one is missing. Filters do what methods did.
A named tuple a filter builds (`groupby`'s `(grouper, list)`) is not data: its fields are attributes."""


def is_data(value: Any) -> bool:
    """Whether `value` is JSON data read by key only (`DATA_TYPES`). A named tuple is not: Jinja's
    `groupby` yields `_GroupTuple`s read as `g.grouper`/`g.list`, attributes a key look-up misses."""
    return isinstance(value, DATA_TYPES) and not hasattr(type(value), "_fields")


class _SteppedLoops(CodeGenerator):
    """Jinja's code generator, with every `{% for %}` iterating through `budget.steps`: the one
    place every loop passes, whatever its body does (the syntax tree is left as parsed)."""

    _loop_iterables: set[int]

    def visit_For(self, node: nodes.For, frame: Frame) -> None:  # noqa: N802 (Jinja's visitor names)
        if not hasattr(self, "_loop_iterables"):
            self._loop_iterables = set()
        self._loop_iterables.add(id(node.iter))
        super().visit_For(node, frame)

    def visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> Any:
        if id(node) in getattr(self, "_loop_iterables", ()):
            self.write("environment.loop_steps(")
            super().visit(node, *args, **kwargs)
            self.write(")")
            return None
        return super().visit(node, *args, **kwargs)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:  # noqa: N802 (Jinja's visitor names)
        """`a ~ b` with each operand in the form `{{ }}` prints it (`json_form`): Jinja's own `str()` made
        `'hard=' ~ flag` read `hard=True`. Templates never autoescape, so the join is always `str_join`."""
        self.write("str_join((")
        for arg in node.nodes:
            self.write("environment.text_form(")
            self.visit(arg, frame)
            self.write("), ")
        self.write("))")


class _ShapingEnvironment(ImmutableSandboxedEnvironment):
    """The immutable sandbox, plus the render budget (see budget.py): caps on `'x' * n`, `n ** m`,
    `'%0Nd' % x`, padding widths, and a time/size check on every lookup, call and operator."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})
    code_generator_class = _SteppedLoops
    loop_steps = staticmethod(budget.steps)
    text_form = staticmethod(lambda value: json_form(value))  # `~`'s operands (`_SteppedLoops.visit_Concat`)

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        budget.tick()
        if operator_name == "**":
            if isinstance(right, (int, float)) and abs(right) > _MAX_POWER_EXPONENT:
                raise SecurityError(f"exponent {right} is too large for a template")
            if isinstance(left, int) and isinstance(right, int) and left.bit_length() * abs(right) > 100_000:
                raise SecurityError("a template may not compute a number that large")
            return operator.pow(left, right)
        if operator_name == "%":
            budget.check_format(left)
            if isinstance(left, str):  # `'x=%s' % flag`: the values in the form `{{ }}` prints them
                right = _json_operands(right)
            return budget.check_size(operator.mod(left, right))
        if operator_name == "+":
            return budget.check_size(operator.add(left, right))
        for sequence, count in ((left, right), (right, left)):
            if isinstance(sequence, (str, list, tuple)) and isinstance(count, int):
                if len(sequence) * count > _MAX_SEQUENCE_PRODUCT:
                    raise SecurityError("a template may not build a string or list that large with `*`")
        return operator.mul(left, right)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        """The sandbox's refusal, naming a missing field by its path, not by the class of its stand-in."""
        if isinstance(obj, _DocumentedUndefined):
            return self.undefined(f"access to attribute {attribute!r} of {obj._described()} is unsafe",
                                  obj=obj, name=attribute, exc=SecurityError)
        return super().unsafe_undefined(obj, attribute)

    def getattr(self, obj: Any, attribute: str) -> Any:
        budget.tick()
        if is_data(obj):
            return budget.check_size(self.field(obj, attribute))
        return budget.check_size(super().getattr(obj, attribute))

    def getitem(self, obj: Any, argument: Any) -> Any:
        budget.tick()
        if is_data(obj):
            return budget.check_size(self.field(obj, argument))
        return budget.check_size(super().getitem(obj, argument))

    def field(self, obj: Any, key: Any) -> Any:
        """`obj[key]` of JSON data, else undefined (missing): never a Python attribute of the value.
        Jinja's own look-up falls back from a key to an attribute (and `.name` prefers the attribute),
        so once `drop_empty` removed an empty `items`, `result['items']` was the dict's `items` method:
        `is defined` held and the loop failed with "'builtin_function_or_method' object is not iterable"."""
        try:
            return obj[key]
        except (TypeError, LookupError):
            if isinstance(key, str) and key.startswith("_") and hasattr(obj, key):
                return self.unsafe_undefined(obj, key)  # `__class__`…: the sandbox's refusal, as on any value
            return self.undefined(obj=obj, name=key)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 (Jinja's signature)
        # A string's methods (`center`, `format`) are out of reach (strings are data, `is_data`),
        # so only the filters' arguments need the width checks (`_checked_filter`).
        budget.tick()
        return budget.check_size(super().call(__context, __obj, *args, **kwargs))


def _checked_filter(base: Any, *, width_args: bool = False, format_arg: bool = False,
                    first_is_count: bool = False) -> Any:
    """A built-in filter (or global) with the render budget applied to its arguments and its result;
    `width_args`: its numeric arguments after the value (all of them when `first_is_count`: a global
    has no value) are widths or counts."""
    def checked(*args: Any, **kwargs: Any) -> Any:
        budget.tick()
        values = [a for a in args if not hasattr(a, "environment")]  # skip Jinja's context/env arguments
        if width_args:
            budget.check_width(*values[0 if first_is_count else 1:], *kwargs.values())
        if format_arg and values:
            budget.check_format(values[0])
        return budget.check_size(base(*args, **kwargs))

    for attribute in ("jinja_pass_arg",):  # keep how Jinja passes the environment/context
        if hasattr(base, attribute):
            setattr(checked, attribute, getattr(base, attribute))
    return checked


def _json_operands(values: Any) -> Any:
    """`%`-formatting's operands — one value, a tuple of them, or a map of them for `%(name)s` — each in the
    form `{{ }}` prints it (`json_form`): `'%s' % flag` gives `true`, not `True`."""
    if isinstance(values, tuple):
        return tuple(json_form(v) for v in values)
    if isinstance(values, Mapping):
        return {k: json_form(v) for k, v in values.items()}
    return json_form(values)


def _json_text(base: Any, *, operands: bool = False) -> Any:
    """A built-in text filter reading its value in the form `{{ }}` prints it (`json_form`): `flag | upper` gives
    `TRUE`, `l | trim` `["items","customer"]` (Jinja's `str()` gave `['items', 'customer']`). `operands`: the
    filter formats its arguments into the value (`format`), so they are converted instead."""
    at = 1 if getattr(base, "jinja_pass_arg", None) is not None else 0  # after Jinja's context/environment

    def converted(*args: Any, **kwargs: Any) -> Any:
        if operands:
            args = (*args[:at + 1], *_json_operands(tuple(args[at + 1:])))
            kwargs = _json_operands(kwargs)
        elif len(args) > at and not isinstance(args[at], str):
            args = (*args[:at], json_form(args[at]), *args[at + 1:])
        return base(*args, **kwargs)

    if hasattr(base, "jinja_pass_arg"):
        converted.jinja_pass_arg = base.jinja_pass_arg  # type: ignore[attr-defined]
    return converted


def _json_default(value: Any) -> Any:
    """What `tojson` writes for a value JSON has no type for. A sequence a filter yields lazily
    (`map`, `select`, `dictsort` of a map, `range`) is the list it yields (its `str()`, which
    `default=str` wrote, was `"<generator object sync_do_map at 0x…>"`); an undefined field fails
    as everywhere (an absent documented one is `""`); anything else is an error naming its type."""
    if isinstance(value, jinja2.Undefined):
        return str(value)
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
        return list(value)
    raise jinja2.TemplateRuntimeError(f"tojson: a {type(value).__name__} is not a JSON value")


def _tojson(value: Any, indent: int | None = None) -> str:
    if indent:
        return json.dumps(value, ensure_ascii=False, indent=indent, default=_json_default)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def _shorten(value: Any, width: int = 80, end: str = "…") -> str:
    text = " ".join(str(json_form(value)).split())
    if len(text) <= width:
        return text
    room = max(width - len(end), 0)
    space = text.rfind(" ", 0, room + 1)  # a space right after the last kept char is a boundary too
    cut = text[:space] if space > room // 2 else text[:room]
    return cut.rstrip(" ,;:.-") + end


def _firstline(value: Any) -> str:
    for line in str(json_form(value)).splitlines():
        if line.strip():
            return line.strip()
    return ""


def _split(value: Any, sep: str | None = None, maxsplit: int = -1) -> list[str]:
    """`str.split` as a filter: strings are data, so `.split()` is a field (`is_data`)."""
    return str(json_form(value)).split(sep, maxsplit)


def _startingwith(value: Any, prefix: str) -> bool:
    return isinstance(value, str) and value.startswith(prefix)


def _endingwith(value: Any, suffix: str) -> bool:
    return isinstance(value, str) and value.endswith(suffix)


# The render in progress's documented-but-absent fields: for each dict of the rendered value on a way
# to one, the `AbsentFields` nodes it is at (by id: aliases and loop variables are the same objects).
# An object reached otherwise (built by a filter) is at none: its fields are strict.
_ABSENT_OK: contextvars.ContextVar[dict[int, list[AbsentFields]]] = contextvars.ContextVar("absent_ok", default={})
# The undefined values the render in progress made, latest last, less those a `default` or an
# `is defined` took care of (`_handled`): Python's own errors on one (`x in 'abc'`) name only its class,
# and the value is in no frame (the compiled template evaluates it inline). The latest few suffice.
_UNHANDLED: contextvars.ContextVar[deque[Any] | None] = contextvars.ContextVar("unhandled", default=None)
# The template being rendered: a missing field's message names a key only if the template writes it (`_key`)
_RENDERING: contextvars.ContextVar[CompiledTemplate | None] = contextvars.ContextVar("rendering", default=None)
HIDDEN = "…"  # a key the data supplied, in an error message


def _key(name: Any) -> str | None:
    """`name` (a missing key) as an error message may show it: itself when the template being rendered writes it
    (`result.meta['k']`, `.status`, `[0]`), else None — a key computed from the data (`result.meta[result.email]`)
    is data, and the README's rule for template errors is "never the data" (review of shapefix, problem 3: an
    integer key printed unquoted, `has no element 4111222233334444`, passed a quote filter)."""
    rendering = _RENDERING.get()
    if rendering is None:
        return str(name)
    from .template_data import literals  # it parses templates with this module's parser

    return str(name) if str(name) in literals(rendering.source) else None


def _lenient(strict: Any, lenient: Any) -> Any:
    def method(self: _DocumentedUndefined, *args: Any) -> Any:
        return lenient(self, *args) if self._absent_ok() else strict(self, *args)
    return method


class _DocumentedUndefined(StrictUndefined):
    """StrictUndefined, except for a field missing from an object whose name the render allows absent
    (`_ABSENT_OK`): that one behaves as empty (Jinja's ChainableUndefined), so a typo still fails.
    A look-up on an absent field is a child of it (`_undefined_obj` is the parent undefined), so the
    error can name the whole path (`meta.created`). Its messages never name this class: a model reads them."""

    __slots__ = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        unhandled = _UNHANDLED.get()
        if unhandled is not None:
            unhandled.append(self)

    def _root(self) -> tuple[_DocumentedUndefined, str]:
        """The first missing field of a chain of look-ups, and the path from it (`x`, `x.y`, `x[0]`)."""
        node, path = self, ""
        while True:
            name = node._undefined_name
            if _key(name) is None:
                path = f"[{HIDDEN}]" + path
            else:
                path = (f"[{name!r}]" if not isinstance(name, str) else f".{name}") + path
            parent = node._undefined_obj
            if not isinstance(parent, _DocumentedUndefined):
                return node, path.lstrip(".")
            node = parent

    def _absent_ok(self) -> bool:
        """Whether the first missing field of this chain is documented absent at its path (`_ABSENT_OK`);
        a variable (`foo`), an object whose path is not known, a field not documented there: False."""
        root, _ = self._root()
        name = root._undefined_name
        if not isinstance(name, str):
            return False
        return any(node.allows(name) for node in _ABSENT_OK.get().get(id(root._undefined_obj), ()))

    def _described(self) -> str:
        """`the missing field 'x'`, `the absent field 'x.y'` (absent: documented, and this record lacks it)."""
        root, path = self._root()
        if root._undefined_obj is missing:
            return f"the undefined variable {root._undefined_name!r}"
        return f"the {'absent' if self._absent_ok() else 'missing'} field '{path}'"

    @property
    def _undefined_message(self) -> str:
        """What a model or an operator reads: which field is missing, and why (never this class's name)."""
        if self._undefined_hint:
            return self._undefined_hint
        root, path = self._root()
        if root._undefined_obj is missing:
            return f"{root._undefined_name!r} is undefined"
        if self._absent_ok():
            return (f"field '{path}' is absent from this record (a documented field a record may lack: it renders "
                    f"empty, but cannot be used as a value here; guard it with `| default(…)` or `is defined`)")
        name, parent = root._undefined_name, object_type_repr(root._undefined_obj)
        key = repr(name) if _key(name) is not None else HIDDEN
        missing_what = f"element {key}" if not isinstance(name, str) else f"attribute {key}"
        method = isinstance(name, str) and is_data(root._undefined_obj) and hasattr(root._undefined_obj, name)
        hint = " (a template reads data, not Python methods: use a filter, e.g. `| items`, `| upper`)" if method else ""
        return f"field '{path}' is missing: {parent!r} has no {missing_what}{hint}"

    _strict = StrictUndefined._fail_with_undefined_error
    __str__ = _lenient(_strict, lambda self: "")
    __iter__ = _lenient(_strict, lambda self: iter(()))
    __len__ = _lenient(_strict, lambda self: 0)
    __bool__ = _lenient(_strict, lambda self: False)
    __contains__ = _lenient(_strict, lambda self, item: False)
    __eq__ = _lenient(_strict, lambda self, other: type(self) is type(other))
    __ne__ = _lenient(_strict, lambda self, other: type(self) is not type(other))
    __hash__ = _lenient(_strict, lambda self: id(type(self)))
    # Python's own operations (`abs`, `round`, `int`, …) would otherwise raise a TypeError naming this class
    __abs__ = __round__ = __int__ = __float__ = __index__ = __complex__ = __trunc__ = __floor__ = __ceil__ = _strict
    __format__ = _lenient(_strict, lambda self, spec: "")
    # `repr` is how a list, dict or tuple prints its items, and what `pprint`, `%r` and `{!r}` print:
    # Jinja's "Undefined" there was silently wrong output (`{{ items | map(attribute='typo') | list }}`
    # rendered `[Undefined, Undefined]`); an absent documented field is empty there as everywhere.
    __repr__ = _lenient(_strict, lambda self: repr(""))
    __reversed__ = _lenient(_strict, lambda self: iter(()))

    def __getattr__(self, name: str) -> Any:
        if name[:2] == "__":
            raise AttributeError(name)
        return self[name]

    def __getitem__(self, name: Any) -> Any:
        if self._absent_ok():  # a look-up on an absent documented field is absent too
            return _DocumentedUndefined(obj=self, name=name)
        return self._fail_with_undefined_error()  # the sandbox's "unsafe" hint included


def _missing_value_message(exc: TypeError) -> str | None:
    """The message of the undefined value a TypeError from Python code (a filter, `in`, an operator)
    was raised on, or None when it involves none. Only an error naming the stand-in class involves one
    (`'in <string>' requires string as left operand, not …`; `str + int` does not, whatever undefined a
    `{% set %}` holds nearby): then the one in a Python frame it passed (a filter's argument; innermost
    first; the template's own frames hold aliases, not operands), else the render's latest one that no
    `default` or `is defined` took care of (`_UNHANDLED`)."""
    if _DocumentedUndefined.__name__ not in str(exc):
        return None
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename != "<template>":
            frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        for value in frame.f_locals.values():
            if isinstance(value, _DocumentedUndefined):
                return value._undefined_message
    unhandled = _UNHANDLED.get()
    return unhandled[-1]._undefined_message if unhandled else None


def _handled(value: Any) -> None:
    """`value` was guarded (`default`, `is defined`): an error later is not about it (`_UNHANDLED`)."""
    unhandled = _UNHANDLED.get()
    if unhandled is not None and isinstance(value, _DocumentedUndefined):
        for index in range(len(unhandled) - 1, -1, -1):
            if unhandled[index] is value:
                del unhandled[index]
                break


def _guarding(check: Callable[..., Any]) -> Callable[..., Any]:
    """Jinja's `default` filter or `defined`/`undefined` test, noting the value as guarded (`_handled`)."""
    @functools.wraps(check)
    def guarded(value: Any, *args: Any, **kwargs: Any) -> Any:
        _handled(value)
        return check(value, *args, **kwargs)
    return guarded


def _items(value: Any) -> Any:
    """Jinja's `items`, except that a missing field fails as everywhere else (Jinja's gives nothing
    for any undefined, so `result.tpyo | items` rendered empty); an absent documented one is empty."""
    if isinstance(value, _DocumentedUndefined) and not value._absent_ok():
        value._fail_with_undefined_error()
    return _JINJA_ITEMS(value)


_JINJA_ITEMS = jinja2.filters.FILTERS["items"]
_JINJA_ATTR = jinja2.filters.FILTERS["attr"]


@jinja2.pass_environment
def _attr(environment: _ShapingEnvironment, value: Any, name: str) -> Any:
    """Jinja's `attr`, except that on JSON data (`DATA_TYPES`) it reads the field, as `.name` does:
    data has no attributes a template may reach."""
    if is_data(value):
        return environment.getattr(value, name)
    return _JINJA_ATTR(environment, value, name)


_TAGS = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.DOTALL)


def dropped_line_breaks(source: str) -> list[int]:
    """The 1-based lines of `source` whose line break `trim_blocks` drops although the line sends text: it
    ends in a `{% … %}` tag or a `{# … #}` comment (not `-%}`, which asks for it, nor `+%}`, which keeps it)
    after something rendered (`N tickets{% for t in … %}`), so what follows is sent on the same line. A tag
    alone on its line is left out: dropping its break (no blank line) is what the option is for. The last
    line's break is never sent (`keep_trailing_newline` is off)."""
    lines = source.splitlines()
    return [number for number, line in enumerate(lines[:-1], 1)
            if line.endswith(("%}", "#}")) and not line.endswith(("-%}", "+%}", "-#}")) and _TAGS.sub("", line).strip()]


# Jinja's filters that make text of their value with `str()`: a list or boolean given them printed Python's form
_TEXT_FILTERS = ("trim", "replace", "center", "indent", "wordwrap", "truncate", "upper", "lower", "title",
                 "capitalize", "striptags", "wordcount", "urlize")


@lru_cache(maxsize=1)
def template_environment() -> SandboxedEnvironment:
    """The one shared sandbox every manifest template is compiled in."""
    env = _ShapingEnvironment(
        autoescape=False,
        undefined=_DocumentedUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,
        cache_size=0,
        # No constant folding at compile: it rewrites the syntax tree in place, and the tree is shared
        # (`parsed_template`: the static checks read the one the compile was given). Folding saves
        # nothing measurable on templates that render JSON data.
        optimized=False,
        finalize=json_form,
    )
    # Counts that size a filter's or global's work: `batch(10**9, 'x')` and `slice(10**8)` looped
    # for 80 s in one call, `lipsum(10**8)` for longer, none of it visible to the time check.
    # A text filter reads a value as `{{ }}` prints it (`json_form`), not as Python's `str()` does
    for name in _TEXT_FILTERS:
        env.filters[name] = _json_text(env.filters[name])
    for name in ("center", "indent", "wordwrap", "truncate", "batch", "slice"):
        env.filters[name] = _checked_filter(env.filters[name], width_args=True)
    env.filters["format"] = _checked_filter(_json_text(env.filters["format"], operands=True), format_arg=True)
    env.filters["join"] = _json_join  # items and `string` as `{{ }}` prints them (`json_form`)
    env.filters["string"] = _json_string
    for name in ("join", "replace", "string", "list"):
        env.filters[name] = _checked_filter(env.filters[name])
    env.globals["lipsum"] = _checked_filter(env.globals["lipsum"], width_args=True, first_is_count=True)
    env.filters["tojson"] = _checked_filter(_tojson)
    env.filters["shorten"] = _shorten
    env.filters["firstline"] = _firstline
    env.filters["split"] = _checked_filter(_split)
    env.tests["startingwith"] = _startingwith
    env.tests["endingwith"] = _endingwith
    env.filters["items"] = _items
    env.filters["attr"] = _attr
    for name in ("default", "d"):
        env.filters[name] = _guarding(env.filters[name])
    for name in ("defined", "undefined"):
        env.tests[name] = _guarding(env.tests[name])
    return env


def json_form(value: Any) -> Any:
    """What `{{ value }}` prints: a boolean, null, list or object in its JSON form (`true`, `null`,
    `["items","customer"]`: compact, UTF-8 kept), anything else as Jinja prints it (a string as itself, a
    number as its digits). Every template's text is read by a model, which writes JSON: Python's forms
    (`True`, `None`, `['items', 'customer']`) taught it literals it cannot send (trial "fastmcp", fault 7). The
    `~` and `%` operators and every filter that makes text of a value (`join`, `string`, `format`, `trim`,
    `replace`, `upper`, `shorten`, `firstline`, `split`, … `_TEXT_FILTERS`) read it so too; only `pprint` is
    Python's pretty-printer (`tojson(2)` is JSON's).
    An undefined value passes through (it renders empty or raises, as `StrictUndefined`/absence decide)."""
    if value is None or isinstance(value, (bool, list, tuple, dict)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return value


@jinja2.pass_eval_context
def _json_join(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> str:
    """Jinja's `join`, each item in the form `{{ }}` prints it (`json_form`): `[true, null] | join(", ")` gives
    `true, null`, not `True, None`."""
    if attribute is not None:
        getter = make_attrgetter(eval_ctx.environment, attribute)
        value = [getter(item) for item in value]
    return sync_do_join(eval_ctx, [json_form(item) for item in value], d)


def _json_string(value: Any) -> str:
    """Jinja's `string`, in the form `{{ }}` prints the value (`json_form`): `flag | string` gives `true`."""
    return soft_str(json_form(value))


class CompiledTemplate:
    """A compiled template; `render` raises `TemplateRenderError`, never a raw Jinja traceback."""

    __slots__ = ("source", "kind", "_template")

    def __init__(self, source: str, kind: str, template: jinja2.Template) -> None:
        self.source = source
        self.kind = kind
        self._template = template

    def render(self, absent_ok: AbsentFields | None = None, **context: Any) -> str:
        """Render under the budget (output size and time, budget.py); TemplateRenderError on failure.
        `absent_ok`: the fields of `result` that render empty when a record lacks them (`shaping.absence`;
        `AbsentFields.from_paths` for explicit paths). Found along the value, so the cost is the value's."""
        token = _ABSENT_OK.set(absent_ok.locate(context.get("result")) if absent_ok is not None else {})
        unhandled = _UNHANDLED.set(deque(maxlen=64))
        rendering = _RENDERING.set(self)
        try:
            with budget.budget():
                return budget.check_output(self._template.generate(**context))
        except budget.BudgetExceeded as exc:
            too_large = isinstance(exc, budget.OutputExceeded)
            raise TemplateRenderError(str(exc), None, self.kind, too_large=too_large) from None
        except Abandoned:
            raise  # the compile was abandoned: not a template problem
        except jinja2.TemplateError as exc:
            raise self._failure(_render_message(exc), _template_line(exc)) from None
        except TypeError as exc:  # e.g. `x in 'abc'`, `abs(x)` on an undefined field: say which field
            missing_value = _missing_value_message(exc)
            message = missing_value or (f"TypeError: {exc}" if str(exc) else "TypeError")
            raise self._failure(message, _template_line(exc)) from None
        except RecursionError:
            raise TemplateRenderError("recursion too deep", None, self.kind) from None
        except Exception as exc:  # a filter or operator failing on unexpected data
            message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise self._failure(message, _template_line(exc)) from None
        finally:
            _ABSENT_OK.reset(token)
            _UNHANDLED.reset(unhandled)
            _RENDERING.reset(rendering)

    def _failure(self, message: str, line: int | None) -> TemplateRenderError:
        """The error for `message` at template `line`, without the data's values (`template_data`): it
        reaches the model and the operator's log."""
        from .template_data import without_data

        return TemplateRenderError(without_data(message, self.source, line), line, self.kind)

    def __repr__(self) -> str:
        return f"CompiledTemplate(kind={self.kind!r}, source={self.source[:40]!r})"


def compile_template(source: str, *, kind: str, variables: Collection[str] | None = None) -> CompiledTemplate:
    """Compile once; raises `TemplateError` with the line (and a best-effort column).

    `variables` lists the names the template may use; an `output` template defaults to
    `OUTPUT_VARIABLES`. Anything else it reads is reported at compile time, not at the first call.
    """
    if not isinstance(source, str):
        raise TemplateError("a template must be a string", kind=kind)
    return _compile_template(source, kind, None if variables is None else frozenset(variables))


@functools.lru_cache(maxsize=2048)
def parsed_template(source: str) -> nodes.Template:
    """`source`'s syntax tree, parsed once per text for every reader: the compile, the variable
    checks, and the static checks of `shaping` (`template_paths`, `template_safety`) that `validate`
    and the build run. Shared, so read it and never change it (the compile does not: see
    `template_environment`). Raises `jinja2.TemplateSyntaxError` (not memoized)."""
    return template_environment().parse(source)


@functools.lru_cache(maxsize=2048)
def _compile_template(source: str, kind: str, variables: frozenset[str] | None) -> CompiledTemplate:
    """Memoized by (text, kind, variables): a compiled template is immutable, so the loader's check,
    the build and reloads of an unchanged template share one."""
    env = template_environment()
    try:
        ast = parsed_template(source)
        template = env.from_string(ast)
    except jinja2.TemplateSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        raise TemplateError(exc.message or str(exc), line, _guess_column(source, line, exc.message or ""), kind) from None
    allowed = OUTPUT_VARIABLES if variables is None and kind == "output" else variables
    if allowed is not None:
        _check_variables(source, ast, set(allowed), kind)
    return CompiledTemplate(source, kind, template)


def template_variables(source: str) -> set[str]:
    """Names a template reads without defining them (Jinja's globals such as `range` excluded)."""
    try:
        ast = parsed_template(source)
    except jinja2.TemplateSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        raise TemplateError(exc.message or str(exc), line, _guess_column(source, line, exc.message or "")) from None
    return _undeclared(ast) - set(template_environment().globals)


class _UndeclaredNames(meta.TrackingCodeGenerator):
    """The walker of `jinja2.meta.find_undeclared_variables`, without the code generator's constant
    folding: that rewrites the syntax tree in place, and the tree is shared (`parsed_template`)."""

    def __init__(self, environment: jinja2.Environment) -> None:
        super().__init__(environment)
        self.optimizer = None  # what `CodeGenerator(optimized=False)` sets


def _undeclared(ast: nodes.Template) -> set[str]:
    """Names `ast` reads without defining them (as `meta.find_undeclared_variables`)."""
    walker = _UndeclaredNames(template_environment())
    walker.visit(ast)
    return walker.undeclared_identifiers


def _check_variables(source: str, ast: nodes.Template, allowed: set[str], kind: str) -> None:
    env = template_environment()
    unknown = _undeclared(ast) - set(env.globals) - allowed
    if not unknown:
        return
    first = min(
        (node for node in ast.find_all(nodes.Name) if node.name in unknown and node.ctx == "load"),
        key=lambda node: node.lineno,
    )
    offered = ", ".join(sorted(allowed)) or "none"
    raise TemplateError(
        f"unknown variable {first.name!r} (available: {offered})",
        first.lineno,
        _name_column(_line(source, first.lineno) or "", first.name),
        kind,
    )


_JINJA_SPAN = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")


def _name_column(line_text: str, name: str) -> int:
    """Column of `name` used as a variable inside `{{ }}`/`{% %}` on this line (not in plain text)."""
    offset = variable_offset(line_text, name)
    return 1 if offset is None else offset + 1


def variable_offset(source: str, name: str) -> int | None:
    """The character offset in `source` of the first use of the variable `name` inside a `{{ }}`/`{% %}` tag
    (plain text and other names containing it left out); None when there is none on one line of a tag."""
    pattern = re.compile(rf"(?<![\w.'\"]){re.escape(name)}(?![\w'\"])")
    for span in _JINJA_SPAN.finditer(source):
        match = pattern.search(source, span.start(), span.end())
        if match:
            return match.start()
    return None


_QUOTED_TOKEN = re.compile(r"(?:got|unexpected|unknown tag|named) '([^']+)'", re.IGNORECASE)


def _guess_column(source: str, line: int | None, message: str) -> int | None:
    """Jinja reports lines only: point at the offending token when the message names it."""
    if line is None:
        return None
    text = _line(source, line)
    if text is None:
        return 1
    match = _QUOTED_TOKEN.search(message)
    if match:
        token = match.group(1)
        index = text.find(token)
        if index >= 0:
            return index + 1
    opener = min((i for i in (text.find("{{"), text.find("{%")) if i >= 0), default=-1)
    return opener + 1 if opener >= 0 else 1


def _line(source: str, line: int) -> str | None:
    lines = source.splitlines()
    return lines[line - 1] if 1 <= line <= len(lines) else None


def _template_line(exc: BaseException) -> int | None:
    """Jinja rewrites tracebacks so template frames carry template line numbers; take the last."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _render_message(exc: jinja2.TemplateError) -> str:
    message = exc.message or str(exc) or type(exc).__name__
    if isinstance(exc, SecurityError):
        return f"blocked by the sandbox: {message}"
    return message
