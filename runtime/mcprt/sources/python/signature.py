"""A typed Python function as a tool: its input schema from type hints, and argument checking.

One pydantic model per function does both jobs, so the schema the model sees and the coercion
applied at call time can never disagree: a parameter typed as a pydantic model receives a model
instance, an enum parameter an enum member, a `datetime` a datetime.

Fields get internal names (`p0`, `p1`…) and the parameter name as alias, so parameters called
`json`, `schema` or `_private` — which would clash with pydantic's own attributes — work too.
A parameter name that model APIs refuse as a property key (`名前`, `größe`: outside `^[a-zA-Z0-9_.-]{1,64}$`) is
served under the safe name OpenAPI parameters get (`sources/naming.served_argument`: `arg_<hash>`, `gr_e`), the original
said in its description; two parameters that would get one name are refused, naming both.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import typing
import types
import warnings
from dataclasses import dataclass
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, PydanticSchemaGenerationError, TypeAdapter, ValidationError, create_model
from pydantic.fields import FieldInfo
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema
from typing_extensions import is_typeddict

from ...errors import McprtError, ToolCallError
from ...contracts import CallContext
from ...schema.shapes import declared_types, shape_of
from ...schema.titles import drop_idle_titles
from ..naming import served_argument
from .context import for_function
from .frameworks import framework_context, is_image_type
from .docstrings import Docstring

_INFERABLE_DEFAULTS = (bool, int, float, str)


@dataclass(frozen=True)
class Param:
    name: str
    field: str  # the model's field name
    positional_only: bool


@dataclass(frozen=True)
class FunctionSignature:
    """How to describe a function to a model and how to call it with the model's arguments."""

    model: type[BaseModel]
    input_schema: dict[str, Any]
    params: tuple[Param, ...]
    context_param: str | None  # a parameter typed `CallContext` receives the call's context
    output_schema: dict[str, Any] | None
    response_shape: dict[str, Any] | None = None  # the JSON results' shape (`response_shape` below)
    # the return type results are validated and dumped through when `output_schema` promises their shape
    returns: TypeAdapter[Any] | None = None
    # what every result serializes to, when the return type fixes it (`result_kind` below)
    result_kind: Literal["text", "json"] | None = None
    # (parameter, argument) for each parameter whose name no model API accepts, served under a safe one
    # (`naming.served_argument`: `名前` → `arg_d54d12f`); the function is still called with its own keyword
    renamed: tuple[tuple[str, str], ...] = ()


def _evaluated(fn: Any, signature: inspect.Signature) -> inspect.Signature:
    """`signature` with the annotations it left as strings evaluated against the function's module. A signature
    a decorator set (`__signature__`: FastMCP's on a function with a `Context` parameter) is returned as it is by
    `eval_str`, so under `from __future__ import annotations` `ctx: Context` stayed the string 'Context' — refused
    with pydantic's "`…_arguments` is not fully defined" instead of what to type. Unresolvable: left as they are
    (the JSON Schema step names them)."""
    if not any(isinstance(p.annotation, str) for p in signature.parameters.values()) \
            and not isinstance(signature.return_annotation, str):
        return signature
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception:  # noqa: BLE001 — NameError, a partial or an odd callable: keep what eval_str gave
        return signature
    parameters = [p.replace(annotation=hints[p.name]) if isinstance(p.annotation, str) and p.name in hints else p
                  for p in signature.parameters.values()]
    returns = signature.return_annotation
    if isinstance(returns, str) and "return" in hints:
        returns = hints["return"]
    return signature.replace(parameters=parameters, return_annotation=returns)


def describe_function(fn: Any, label: str, doc: Docstring) -> FunctionSignature:
    """Build the argument model and schemas; raise McprtError naming what cannot be described."""
    try:
        signature = inspect.signature(fn, eval_str=True)
    except (NameError, TypeError, SyntaxError) as exc:
        raise McprtError(f"{label}: cannot read its type hints: {exc}") from None
    except ValueError as exc:
        raise McprtError(f"{label}: has no readable signature: {exc}") from None
    signature = _evaluated(fn, signature)
    fields: dict[str, Any] = {}
    params: list[Param] = []
    context_param: str | None = None
    problems: list[str] = []
    taken: dict[str, str] = {}  # served argument name → the parameter it stands for
    renamed: list[tuple[str, str]] = []
    for index, parameter in enumerate(signature.parameters.values()):
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            stars = "*" if parameter.kind == parameter.VAR_POSITIONAL else "**"
            problems.append(f"parameter '{stars}{parameter.name}' cannot be described as a tool argument")
            continue
        if _is_context(parameter.annotation):
            context_param = parameter.name
            continue
        foreign = framework_context(parameter.annotation)
        if foreign is not None:
            problems.append(f"parameter '{parameter.name}' {foreign}")
            continue
        annotation = _annotation_of(parameter)
        if annotation is None and index == 0 and parameter.name in ("self", "cls"):
            problems.append(f"'{parameter.name}' is unbound: name the method through an object of its class "
                            "(`module:instance.method`), or make it a classmethod or staticmethod")
            continue
        if annotation is None:
            problems.append(f"parameter '{parameter.name}' has no type hint; annotate it (e.g. `{parameter.name}: str`)")
            continue
        if isinstance(parameter.default, FieldInfo):
            # `n: int = Field(5, ge=1, description=…)` (pydantic's and FastMCP's idiom): the Field is the
            # parameter's default, constraints and description, as `Annotated[int, Field(…)]` would be —
            # not a default value handed to the function
            annotation = Annotated[annotation, parameter.default]
            parameter = parameter.replace(default=inspect.Parameter.empty)
        field_name = f"p{index}"
        served = served_argument(parameter.name)
        if served in taken:
            problems.append(_collision(taken[served], parameter.name, served))
            continue
        taken[served] = parameter.name
        if served != parameter.name:
            renamed.append((parameter.name, served))
        fields[field_name] = (annotation, _field_info(parameter, annotation, doc, served))
        params.append(Param(parameter.name, field_name, parameter.kind == parameter.POSITIONAL_ONLY))
    if problems:
        raise McprtError(f"{label}: " + "; ".join(problems))
    try:
        model = create_model(  # type: ignore[call-overload]
            f"{getattr(fn, '__name__', 'function')}_arguments",
            __config__=ConfigDict(populate_by_name=False, arbitrary_types_allowed=False),
            **fields,
        )
        schema = model.model_json_schema(by_alias=True, schema_generator=_InputSchema)
    except Exception as exc:  # pydantic's schema errors name the type that cannot be described
        unreadable = [f"parameter '{param.name}' {problem}" for param in params
                      if (problem := _not_from_json(fields[param.field][0])) is not None]
        if unreadable:  # which parameter, and what to write: pydantic's own advice (arbitrary_types_allowed) is not
            raise McprtError(f"{label}: " + "; ".join(unreadable)) from None  # the user's to take
        raise McprtError(f"{label}: its parameters cannot be described as JSON Schema: {_first_line(exc)}") from None
    returned = _return_schema(signature.return_annotation)
    unsendable = _unsendable_return(signature.return_annotation) if returned is None else None
    if unsendable is not None:
        raise McprtError(f"{label}: {unsendable}")
    output_schema = _output_schema(signature.return_annotation, returned)
    return FunctionSignature(
        model=model,
        input_schema=_tidy(schema, arguments=True, name=model.__name__),
        params=tuple(params),
        context_param=context_param,
        output_schema=output_schema,
        response_shape=response_shape(signature.return_annotation, returned),
        returns=TypeAdapter(signature.return_annotation) if output_schema is not None else None,
        result_kind=result_kind(signature.return_annotation, returned),
        renamed=tuple(renamed),
    )


def _collision(first: str, second: str, served: str) -> str:
    """The problem of two parameters served under one argument name (`served_argument`)."""
    made = [name for name in (first, second) if name != served]
    why = " and ".join(f"'{name}'" for name in made)
    return (f"parameters '{first}' and '{second}' would both be the argument '{served}' ({why} made safe: model APIs "
            "accept only the characters A-Z a-z 0-9 _ . - in argument names); rename one of them")


def validation_problems(exc: ValidationError, most: int = 10) -> list[str]:
    """pydantic's problems as `where: what` (`items.0.qty: Input should be greater than 0`), at most
    `most` of them (then `… N more`); the values themselves are not repeated."""
    errors = exc.errors(include_url=False, include_input=False)
    problems = []
    for error in errors[:most]:
        where = ".".join(str(p) for p in error.get("loc", ()))
        problems.append(f"{where}: {error.get('msg')}" if where else str(error.get("msg")))
    return problems + ([f"… {len(errors) - most} more"] if len(errors) > most else [])


class _InputSchema(GenerateJsonSchema):
    """pydantic's JSON Schema, minus `uniqueItems` on `set`/`frozenset` parameters (at any depth).

    pydantic describes a set as an array with `uniqueItems: true`, yet its (lax) validation builds
    the set from an array with repeated items, as the function expects: the input schema says what
    the call accepts, so a model sending `["a", "a"]` is not refused by the argument check for
    something the function would take. (Return values keep it: a set serializes without repeats.)"""

    def set_schema(self, schema: core_schema.SetSchema) -> JsonSchemaValue:
        return _repeats_allowed(super().set_schema(schema))

    def frozenset_schema(self, schema: core_schema.FrozenSetSchema) -> JsonSchemaValue:
        return _repeats_allowed(super().frozenset_schema(schema))


def _repeats_allowed(schema: JsonSchemaValue) -> JsonSchemaValue:
    schema.pop("uniqueItems", None)
    return schema


def bind_arguments(
    signature: FunctionSignature, tool: str, arguments: dict[str, Any], context: CallContext
) -> tuple[list[Any], dict[str, Any]]:
    """Validate and coerce the model's arguments into (args, kwargs) for the function; a parameter typed
    `CallContext` gets `context` as `context.for_function` hands it (what it sends the client scrubbed)."""
    try:
        validated = signature.model.model_validate(arguments)
    except ValidationError as exc:
        raise ToolCallError(f"invalid arguments for {tool}: " + "; ".join(validation_problems(exc))) from None
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for param in signature.params:
        value = getattr(validated, param.field)  # given, or the function's own default
        if param.positional_only:
            args.append(value)
        else:
            kwargs[param.name] = value
    if signature.context_param is not None:
        kwargs[signature.context_param] = for_function(context)
    return args, kwargs


def _is_context(annotation: Any) -> bool:
    if annotation is CallContext:
        return True
    return any(arg is CallContext for arg in get_args(annotation))


def _annotation_of(parameter: inspect.Parameter) -> Any:
    if parameter.annotation is not inspect.Parameter.empty:
        return parameter.annotation
    default = parameter.default
    if default is not inspect.Parameter.empty and type(default) in _INFERABLE_DEFAULTS:
        return type(default)
    return None


def _field_info(parameter: inspect.Parameter, annotation: Any, doc: Docstring, served: str) -> FieldInfo:
    """The field of `parameter`, served as the argument `served`: a renamed one's description starts with
    `The '<name>' parameter.` (as an OpenAPI parameter's does: `openapi/inputs.with_wire_name`), where the model
    reads what the safe name stands for. A description an `Annotated[…, Field(description=…)]` carries is
    pydantic's to merge, and is left as it is."""
    described = _annotated_description(annotation)
    kwargs: dict[str, Any] = {"alias": served}
    said = f"The '{parameter.name}' parameter." if served != parameter.name else None
    if described is None and parameter.name in doc.params and doc.params[parameter.name]:
        kwargs["description"] = f"{said} {doc.params[parameter.name]}" if said else doc.params[parameter.name]
    elif isinstance(described, str):
        kwargs["description"] = f"{said} {described}" if said else described
    elif described is None and said:
        kwargs["description"] = said
    if parameter.default is not inspect.Parameter.empty:
        kwargs["default"] = parameter.default
    return Field(**kwargs)  # type: ignore[no-any-return]


def _annotated_description(annotation: Any) -> str | bool | None:
    """The description an `Annotated[...]` carries: a plain string, or True if a Field already has one."""
    if get_origin(annotation) is not Annotated:
        return None
    for meta in reversed(annotation.__metadata__):
        if isinstance(meta, str):
            return meta
        if isinstance(meta, FieldInfo) and meta.description:
            return True
    return None


def _return_schema(annotation: Any) -> dict[str, Any] | None:
    """The JSON Schema of what the function's results serialize to (`results.to_upstream`: pydantic's
    JSON mode, by alias), or None when unannotated or pydantic cannot describe the type."""
    if annotation is inspect.Signature.empty:
        return None
    try:
        with warnings.catch_warnings():  # e.g. a default pydantic cannot show: the schema is still right
            warnings.simplefilter("ignore")
            return TypeAdapter(annotation).json_schema(mode="serialization", by_alias=True)
    except Exception:  # an undescribable return type (e.g. `typing.TypedDict` before 3.12): unknown shape
        return None


# Classes whose values pydantic's JSON mode sends by what they are, though it has no schema for a subclass of
# them (`class Row(dict)`): a return type naming one is no fault
_SENT_BY_BASE = (dict, list, tuple, set, frozenset, str, bytes, bytearray, int, float, bool)
# Where the containers, iterators and awaitables a return type may name live (`Iterator[Item]`, `AsyncIterator[str]`,
# `Awaitable[X]`: a generator's items are consumed into a list, `calling.py`): judged by their arguments only
_PYTHONS_OWN = frozenset({"builtins", "collections.abc", "collections", "typing", "typing_extensions", "types"})


def _unsendable_return(annotation: Any) -> str | None:
    """For a return type no value of which can be sent — a class pydantic has no schema for and cannot
    serialize (`-> Chart`, `-> list[Chart]` of a plain class), which failed every call with "cannot be sent
    as JSON" — the problem, saying what to return instead; None for every other annotation (one pydantic
    describes, an image-like class `results.to_upstream` sends as an image, a subclass of a JSON type, a
    `typing.TypedDict` pydantic refuses before Python 3.12 while its values, dicts, serialize)."""
    if annotation is inspect.Signature.empty or is_image_type(annotation):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            TypeAdapter(annotation)
        return None
    except PydanticSchemaGenerationError:
        pass
    except Exception:  # noqa: BLE001 — another refusal (a TypedDict's version rule): values may still serialize
        return None
    unknown = [cls for cls in _named_classes(annotation) if cls.__module__ not in _PYTHONS_OWN
               and not issubclass(cls, _SENT_BY_BASE) and not _describable(cls)]
    if not unknown:
        return None
    names = ", ".join(f"{cls.__module__}.{cls.__qualname__}" for cls in unknown)
    if any(is_image_type(cls) for cls in unknown):
        # `-> list[Image]`: an image is sent only as the whole result (one image content block); the general advice
        # below would suggest `bytes`, which inside a list is no image either (review of fixfm2, #7)
        return (f"its return type holds {names} inside another type, which cannot be sent: a tool's result is one "
                "image — return a single image (or PNG, JPEG, GIF or WebP `bytes`), one per call")
    return (f"its return type names {names}, which cannot be sent as JSON (pydantic has no schema for it): "
            "return a pydantic model, a dataclass, a dict or a list of JSON values, `str`, or `bytes` (PNG, JPEG, "
            "GIF or WebP bytes are sent as an image)")


def _not_from_json(annotation: Any) -> str | None:
    """For a parameter's annotation naming a class no JSON argument can become (pydantic has no schema for it:
    `chart: Chart` of a plain class), the problem, saying what to type it instead; None otherwise."""
    unknown = [cls for cls in _named_classes(annotation) if cls.__module__ not in _PYTHONS_OWN and not _describable(cls)]
    if not unknown:
        return None
    names = ", ".join(f"{cls.__module__}.{cls.__qualname__}" for cls in unknown)
    return (f"is typed {names}, which no JSON argument can become (pydantic has no schema for it): type it as a "
            "pydantic model, a dataclass, a TypedDict, an enum or a JSON type (str, int, float, bool, list, dict)")


def _named_classes(annotation: Any) -> list[type]:
    """Every class an annotation names, at any depth (`dict[str, list[Chart]]` → dict, str, list, Chart)."""
    found: list[type] = []
    origin = get_origin(annotation)
    if origin is not None:
        if inspect.isclass(origin):
            found.append(origin)
        args = get_args(annotation)[:1] if origin is Annotated else get_args(annotation)
        for arg in args:
            found += _named_classes(arg)
    elif inspect.isclass(annotation):
        found.append(annotation)
    return found


def _describable(cls: type) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            TypeAdapter(cls)
        return True
    except Exception:  # noqa: BLE001 — any refusal: this class is one the return type cannot send
        return False


def _output_schema(annotation: Any, returned: dict[str, Any] | None) -> dict[str, Any] | None:
    """An output schema only for return types that always serialize to a JSON object (MCP
    2025-11-25 §server/tools "Output Schema": structuredContent is an object): pydantic models,
    dataclasses, `TypedDict`s, mappings with typed values (`dict[str, int]`, `Mapping[str, Item]`)
    and unions of these (`A | B`). A mapping of `Any` (`dict`, `dict[str, Any]`) has an unknown
    shape (`response_shape`), so it declares none; `X | None` is no object when it is None."""
    if returned is None:
        return None
    members = _members(annotation)
    if not (members and all(map(_is_object_type, members))):
        return None
    return _tidy(copy.deepcopy(returned), arguments=False, name=getattr(_unannotated(annotation), "__name__", None))


def _is_object_type(annotation: Any) -> bool:
    """Whether values of this (non-union) type always serialize to a JSON object with a known shape."""
    if inspect.isclass(annotation) and (issubclass(annotation, BaseModel) or dataclasses.is_dataclass(annotation)):
        return True
    if is_typeddict(annotation):
        return True
    origin = get_origin(annotation)
    if inspect.isclass(origin) and issubclass(origin, Mapping):  # dict[str, X], Mapping[str, X], OrderedDict…
        args = get_args(annotation)
        return len(args) == 2 and not _is_any(args[1])
    return False


def response_shape(annotation: Any, returned: dict[str, Any] | None) -> dict[str, Any] | None:
    """The shape (`mcprt.schema.shapes`) of the function's JSON results, which checked shaping
    follows like an OpenAPI response schema (prune and `output` references, the `outputSchema`).

    None — no check, no outputSchema — when the shape is unknown (unannotated, `Any`, a type
    pydantic cannot describe) or the results are not JSON (`str`, `bytes`, `None` become text,
    binary and empty text, and so does anything serialized as a string: `results.to_upstream`).
    """
    if returned is None or _is_any(annotation) or all(_not_json(t) for t in _members(annotation)):
        return None
    shape = shape_of(returned)
    return None if shape == {} or _always_text(shape) else shape


def result_kind(annotation: Any, returned: dict[str, Any] | None) -> Literal["text", "json"] | None:
    """What `results.to_upstream` makes of every value of the return type: "text" (`str`, `None`, or
    a type whose JSON form is a string: `date`, `UUID`, an `Enum` of strings…), "json" (models,
    dataclasses, mappings, lists, numbers, booleans) or None when it depends on the value (`bytes`
    are sniffed for an image type; `Item | None` is JSON or empty text) or the type is unknown."""
    members = _members(annotation)
    if annotation is inspect.Signature.empty or _is_any(annotation) or any(_binary(t) for t in members):
        return None
    if _read_differs(annotation):
        return None
    if all(_not_json(t) for t in members):  # str, None
        return "text"
    shape = shape_of(returned) if returned is not None else None
    if not shape:  # undescribable, or any value
        return None
    if _always_text(shape):  # `date`, `date | None`, `str | UUID`
        return "text"
    return "json" if _never_text(shape) else None  # `Item | None`: JSON, or empty text for None


def _read_differs(annotation: Any) -> bool:
    """Whether a value read without its annotation (`results.to_upstream(value)`, as a resource read
    is) may serialize otherwise than the annotation's serialization schema says, or not at all:
    - a `PlainSerializer`/`WrapSerializer` in `Annotated[...]` outside a model (`-> Annotated[datetime,
      PlainSerializer(…, return_type=float)]`): only the annotation knows it; the value's own type is
      serialized instead. A model's field and model serializers travel with its instances, so they
      apply on the read too and are not counted;
    - `bytes` anywhere below the root (`dict[str, bytes]`, a model's `bytes` field): JSON mode sends
      them as UTF-8 text, and any other bytes cannot be sent at all.
    An annotation pydantic cannot build a schema for counts as differing (nothing is known)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            core = TypeAdapter(annotation).core_schema
    except Exception:
        return True
    return _differs(core, in_model=False)


def _differs(node: Any, *, in_model: bool) -> bool:
    if isinstance(node, list):
        return any(_differs(item, in_model=in_model) for item in node)
    if not isinstance(node, dict):
        return False
    kind = node.get("type")
    if kind == "bytes":
        return True
    serialization = node.get("serialization")
    if not in_model and isinstance(serialization, dict) and serialization.get("type") in _CUSTOM_SERIALIZERS:
        return True
    inside = in_model or kind == "model"
    return any(_differs(value, in_model=inside) for key, value in node.items()
               if key not in ("serialization", "metadata", "cls", "function"))


# core-schema serializers that run functions the author wrote (pydantic_core `SerSchema`)
_CUSTOM_SERIALIZERS = ("function-plain", "function-wrap")


def _option_types(shape: dict[str, Any]) -> list[list[str] | None]:
    options = shape.get("anyOf") if isinstance(shape.get("anyOf"), list) else [shape]
    return [declared_types(option) for option in options if isinstance(option, dict)]


def _always_text(shape: dict[str, Any]) -> bool:
    """Whether every result of this shape is a string or null, which `results.to_upstream` sends as
    text (a `datetime`, `UUID`, `Decimal`, an `Enum` of strings, `date | None`), not as JSON."""
    kinds = _option_types(shape)
    return bool(kinds) and all(k is not None and set(k) <= {"string", "null"} for k in kinds)


def _never_text(shape: dict[str, Any]) -> bool:
    """Whether no result of this shape is a string or null (each then goes out as JSON)."""
    kinds = _option_types(shape)
    return bool(kinds) and all(k is not None and not set(k) & {"string", "null"} for k in kinds)


def _unannotated(annotation: Any) -> Any:
    return get_args(annotation)[0] if get_origin(annotation) is Annotated else annotation


def _members(annotation: Any) -> list[Any]:
    """The members of a union (`X | Y`, `Optional[X]`), else the annotation itself."""
    target = _unannotated(annotation)
    if get_origin(target) in (Union, types.UnionType):
        return [member for arg in get_args(target) for member in _members(arg)]
    return [target]


def _is_any(annotation: Any) -> bool:
    return any(member is Any or member is object for member in _members(annotation))


def _not_json(annotation: Any) -> bool:
    return annotation in (str, bytes, bytearray, memoryview, None, type(None))


def _binary(annotation: Any) -> bool:
    return annotation in (bytes, bytearray, memoryview)


def _tidy(schema: dict[str, Any], *, arguments: bool, name: str | None) -> dict[str, Any]:
    """An object schema without pydantic's generated titles (tokens for nothing: `schema.titles`).
    The root's title is dropped when it repeats `name` — the generated arguments model's name, or the
    return type's class name (`Doc` for `-> Doc`), never the tool's — as a `$defs` entry's is; one the
    author wrote (`ConfigDict(title="A document")`) stays. An input
    schema always has `properties` (none for a function without parameters), as clients building
    forms from it expect; an output schema only when it has some — a mapping (`dict[str, int]`) is
    `additionalProperties` alone (MCP 2025-11-25 schema: `properties` is optional in both)."""
    drop_idle_titles(schema, name)
    schema["type"] = "object"
    if arguments:
        schema.setdefault("properties", {})
    return schema


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__

