"""`mcprt init --openapi SPEC`: a commented, reviewable manifest for an API description.

What is written (in this order): the source (`openapi:` as given — a path relative to the new
manifest — `include` by the chosen tags), a commented `auth:` line per way to send the credentials the
API declares and `credential_parameters` for parameters that carry one (`credentials.py`),
`path_slashes` for path parameters that hold a path (`path_params.py`), and every
operation of the document as one block under `tools:`, keyed by its override key (operationId,
else `METHOD /path`), with its method, path, tags and summary in a comment. Operations outside the
chosen tags are written commented out, so adding one is deleting `# `. Each block sets a readable
`name` where it differs from the default (`names.py`) and a suggested `prune` for GET operations
whose response is documented (`suggest.py`, reading the operation's
parameters as well: `signals.py`). The header states the tool-list size of the result; when listing
every tool is too big for any model (`init`'s DISCOVERY_ABOVE), `server: {expose: discovery}` is written
(`with_discovery`) and the header gives both sizes.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from ..errors import SpecError
from ..home_paths import expand_home, unexpanded_variables_note
from ..manifest.limits import max_manifest_bytes
from ..manifest.model import Defaults, OpenAPISource
from ..manifest.yaml_reader import plain_reads_as_string
from ..sources.openapi import CompiledOpenAPI, compile_openapi, load_document
from ..sources.openapi.loader import LoadedDocument, is_url
from ..sources.openapi.model import unique_keys
from .base_url import base_url_lines
from .credentials import auth_hints, credential_parameters, requirement_hints, unsupported
from .path_params import path_parameters
from ..sources.naming import mostly_unspellable, unspellable
from .names import readable_names
from .signals import OperationSignals, operation_signals
from .left_out import comment as left_out_comment, left_out
from .suggest import suggest_prune
from .table import MIN_ROWS, objects_hint
from ..wording import noun

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
WIDTH = 120  # the line length prunes are folded to (the project's own line length)


@dataclass
class Scaffold:
    text: str  # the manifest
    operations: int
    included: int
    pruned: int  # included operations given a suggested prune (commented-out ones have theirs too)
    left_out: str | None = None  # what was left out to stay within MCPRT_MAX_MANIFEST_BYTES (also in the header)


@dataclass
class Opened:
    """A description read and compiled for `init`: where it is (`location`, the `openapi:` value: the URL, or
    the path relative to the new manifest), the document read and its compile."""

    location: str
    compiled: CompiledOpenAPI
    doc: LoadedDocument

    @cached_property
    def annotated(self) -> dict[str, OperationSignals]:
        """Per operation key its annotated success and `default` response shapes and its parameters' hints:
        read on first use, as only suggested prunes need them."""
        return operation_signals(self.doc)


def open_spec(spec: str, out: Path, cache_dir: Path | None) -> Opened:
    """Read and compile `spec` (URL or path) for a manifest to be written at `out`; SpecError if unreadable."""
    if is_url(spec):
        location, doc = spec, load_document(spec, Path.cwd(), cache_dir)
    else:
        absolute = expand_home(spec).resolve()
        note = None if absolute.exists() else unexpanded_variables_note(spec)
        if note is not None:  # `$HOME/specs/api.yaml` from a shell-less caller (`home_paths`)
            raise SpecError(spec, "", f"no such file; {note}")
        location = os.path.relpath(absolute, out.resolve().parent)
        doc = load_document(str(absolute), Path.cwd(), cache_dir)
    compiled = compile_openapi(doc, OpenAPISource(openapi=location), Defaults(), cache_dir=cache_dir)
    return Opened(location, compiled, doc)


def tag_counts(compiled: CompiledOpenAPI) -> list[tuple[str, int]]:
    """Each tag of the document's operations with its number of operations, in first-use order."""
    counts: dict[str, int] = {}
    for op in compiled.operations:
        for tag in op.tags:
            counts[tag] = counts.get(tag, 0) + 1
    return list(counts.items())


def scaffold(spec: str, tags: list[str], out: Path, cache_dir: Path | None, opened: Opened | None = None) -> Scaffold:
    """The manifest text for `spec` (URL or path), to be written at `out`; SpecError if unreadable.

    `opened`: the document already read by `open_spec` (interactive `init` reads it to offer the tags).
    """
    opened = opened or open_spec(spec, out, cache_dir)
    location, compiled = opened.location, opened.compiled
    source = _slug(compiled.title or Path(spec).stem)
    wanted = {t.lower() for t in tags}
    lines = _header(spec, source, compiled, tags)
    lines += [f"    openapi: {_scalar(location)}"]
    lines += base_url_lines(compiled, opened.doc.data)
    chosen = [not tags or any(t.lower() in wanted for t in op.tags) for op in compiled.operations]
    # what is said of the source as a whole is read off the operations it serves: a parameter only operations
    # outside the chosen tags have is named by nothing served (`validate --strict` refuses such a name)
    served = [op for op, kept in zip(compiled.operations, chosen, strict=True) if kept]
    lines += _auth_hint(compiled, served)
    lines += _path_slashes(compiled, served)
    if tags:
        lines += [f"    include: {{tags: [{', '.join(_scalar(t) for t in tags)}]}}"]
    names = readable_names([(op.operation.meta.operation_id or None, op.method, op.path, op.operation.response_schema)
                            for op in compiled.operations], [op.operation.name for op in compiled.operations])
    limit = max_manifest_bytes()
    room = limit - len("\n".join(lines).encode()) - _ROOM
    keys = unique_keys([(op.operation.meta.operation_id or None, op.method, op.path) for op in compiled.operations])
    blocks = [_operation_block(op, key, name, selected)
              for op, key, name, selected in zip(compiled.operations, keys, names, chosen, strict=True)]
    suggesting = _worth_suggesting(blocks, room)
    if suggesting:
        for op, block, suggest in zip(compiled.operations, blocks, suggesting, strict=True):
            if suggest:
                block.prune = _suggested_prune(op, opened.annotated.get(block.key))
    fitted, note = fit_blocks(blocks, room, limit)
    if note:  # its size is known now; the words follow the mode `init` chooses later (`with_size`)
        lines[lines.index("# TOOLS_LIST_SIZE")] = f"# TOOLS_LIST_SIZE\n{_wrapped(note)}"
    set_any = any(not line.lstrip().startswith("#") for line in fitted)
    lines += ["    tools:" + ("" if set_any else " {}" + (NONE_SET if fitted else ""))] + fitted
    included = sum(block.selected for block in blocks)
    pruned = sum(block.selected and bool(block.prune) and not block.prune_dropped for block in blocks) if fitted else 0
    return Scaffold("\n".join(lines) + "\n", len(compiled.operations), included, pruned, note)


# After `tools: {}` when no operation has anything set: the operations are listed below it, as comments only
NONE_SET = "   # nothing set: the operations below are served as they are; to set one, drop `{}` and its `# `"
_ROOM = 2_000  # the size line `with_size` fills in, and the note, beside the limit


@dataclass
class Block:
    """One operation's block under `tools:`: its comment line, key, readable name and suggested prune."""

    comment: str
    key: str
    name: str | None  # the `name:` to write, when it differs from the default
    prune: list[str]  # the `prune:` lines, if one is suggested
    selected: bool  # included (else written commented out)
    prune_dropped: bool = False

    def lines(self) -> list[str]:
        body = [f"        name: {_scalar(self.name)}"] if self.name else []
        if not self.prune_dropped:
            body += self.prune
        if not body:
            # nothing to set: the key is listed as a comment, not as an empty entry. An entry is a claim on the
            # operation, and one for every operation made an upstream's routine removal of any of them a
            # warning (`toolset.build`); deleting `# ` makes it an override again
            return [self.comment, f"      # {_key(self.key)}: {{}}"]
        lines = [self.comment, f"      {_key(self.key)}:", *body]
        return lines if self.selected else [_comment_out(line) for line in lines]


def _lines_size(lines: list[str]) -> int:
    """The bytes `lines` take in the manifest (UTF-8, one newline each)."""
    return sum(len(line.encode()) + 1 for line in lines)


def _blocks_size(blocks: list[Block]) -> int:
    """The bytes `blocks` take in the manifest as they are written now (a prune left out is not counted)."""
    return sum(_lines_size(block.lines()) for block in blocks)


def _worth_suggesting(bare: list[Block], room: int) -> list[bool] | None:
    """Which operations' prunes `fit_blocks` could keep, judged on the blocks without prunes: every one's
    when all the blocks fit, the included ones' when only those do, and None when not even those fit (no
    block is listed, so no suggestion would be written). Suggesting is most of `init`'s time on a big
    description (Microsoft Graph: 18 s of 62 for 11,422 operations none of which is listed)."""
    if _blocks_size(bare) <= room:
        return [True] * len(bare)
    if _blocks_size([block for block in bare if block.selected]) <= room:
        return [block.selected for block in bare]
    return None


def fit_blocks(blocks: list[Block], room: int, limit: int) -> tuple[list[str], str | None]:
    """The `tools:` lines within `room` bytes (`MCPRT_MAX_MANIFEST_BYTES`, less the rest of the manifest),
    and a note saying what was left out, or None when everything fits. A manifest over the limit does not
    load (docusign.net's 402 operations scaffold to 1.7 MB, most of it in suggested prunes; Microsoft Graph
    beta's 22,361 operations to 12.9 MB), so, step by step until it fits: suggested prunes are left out, the
    longest first (those of commented-out operations before the included ones'); then the commented-out
    operations are not listed; then no operation is (`tools: {}`: each is still a tool, with its default
    name, and `mcprt tools` lists them). Marks the blocks whose prune is left out (`prune_dropped`)."""
    def render(kept: list[Block]) -> list[str]:
        return [line for block in kept for line in block.lines()]

    def shed(kept: list[Block]) -> int | None:
        """Leave out prunes until `kept` fits: how many, or None if it does not fit even without any."""
        total = _blocks_size(kept)
        dropped = 0
        for block in sorted((b for b in kept if b.prune), key=lambda b: (b.selected, -_lines_size(b.prune))):
            if total <= room:
                break
            before = _lines_size(block.lines())
            block.prune_dropped = True
            total -= before - _lines_size(block.lines())
            dropped += 1
        return dropped if total <= room else None

    over = f"the manifest would be over MCPRT_MAX_MANIFEST_BYTES ({limit:,} bytes)"
    prunes = sum(1 for block in blocks if block.prune)
    dropped = shed(blocks)
    if dropped is not None:
        first = "the commented-out operations' first, then " if any(not b.selected for b in blocks) else ""
        return render(blocks), (f"{dropped} of {prunes} suggested prunes are left out ({first}the longest): {over} "
                                "with them; `--tag` writes a manifest for fewer operations." if dropped else None)
    for block in blocks:
        block.prune_dropped = False
    included = [block for block in blocks if block.selected]
    if len(included) < len(blocks):
        dropped = shed(included)
        if dropped is not None:
            return render(included), (
                f"The {len(blocks) - len(included):,} operations outside the chosen tags are not listed"
                + (f", and {dropped} of {sum(1 for b in included if b.prune)} suggested prunes (the longest) are "
                   "left out" if dropped else "") + f": {over} otherwise.")
    return [], (f"The {len(blocks):,} operations are not listed under `tools:`: {over}; each included one is a tool "
                f"all the same ({LISTED_BY}), and `--tag` with fewer operations lists them here.")


# How the note of `fit_blocks` says where the tools it did not list are, as the server lists them: every
# tool, or (discovery mode, `with_discovery`) only the meta-tools, which find the rest.
LISTED_BY = "`mcprt tools` lists them"
FOUND_BY = "clients find them with `search_tools`, and `mcprt tools` counts them as reachable through discovery"


def left_out_note(note: str, discovery: bool) -> str:
    """`fit_blocks`' note for a manifest served with every tool listed, or in discovery mode."""
    return note.replace(LISTED_BY, FOUND_BY) if discovery else note


def _wrapped(note: str) -> str:
    return "\n".join(f"# {line}" for line in textwrap.wrap(note, width=WIDTH - 2))


def _header(spec: str, source: str, compiled: CompiledOpenAPI, tags: list[str]) -> list[str]:
    title = compiled.title or spec
    how = ("operations outside the chosen tags are commented out (to add one, add its tag to `include` and "
           "delete its `# `)") if tags else "`enabled: false` leaves one out, `include`/`exclude` whole groups"
    review = textwrap.wrap(
        f"Review it: every operation is listed below with its override key; {how}. `name` makes a name readable, "
        "`prune` (JMESPath) keeps what a model needs (suggested from the response schema: each record's own "
        "fields, references reduced to their names).", width=WIDTH - 2)
    return [
        "# yaml-language-server: $schema=https://mcprt.dev/schemas/mcprt.schema.json",
        f"# Written by `mcprt init --openapi {spec}`: {len(compiled.operations)} "
        f"{noun(len(compiled.operations), 'operation')} of {title}.",
        *(f"# {line}" for line in review),
        "# TOOLS_LIST_SIZE",
        "version: 1",
        "server:",
        f"  name: {_scalar(source)}",
        "defaults:",
        "  prune: {drop_nulls: true, drop_empty: true}",
        "sources:",
        f"  {source}:",
    ]


def _auth_hint(compiled: CompiledOpenAPI, served: list[Any]) -> list[str]:
    """The credentials the API declares, as commented `auth:` lines to keep one of (`credentials.py`), and
    the parameters that carry a credential, kept from the model with `credential_parameters`."""
    lines: list[str] = []
    requirements = dict.fromkeys(alt for op in served for alt in (op.security or ()))
    hints = (requirement_hints(compiled.security_schemes, requirements, compiled.scopes)
             + auth_hints(compiled.security_schemes, compiled.scopes))
    if hints:
        lines.append("    # the credentials the API declares" + (" (keep one):" if len(hints) > 1 else ":"))
        lines += [f"    # {hint}   # {_one_line(', '.join(schemes))}" for hint, schemes in hints]
    lines += [f"    # {_one_line(scheme)}: call it through a signing proxy (base_url) or not at all"
              for scheme in unsupported(compiled.security_schemes)]
    carried = credential_parameters(served)
    if carried:
        lines.append(f"    credential_parameters: [{', '.join(_scalar(n) for n in carried)}]"
                     "   # parameters carrying a credential: kept from the model, sent by `auth`")
    return lines


def _path_slashes(compiled: CompiledOpenAPI, served: list[Any]) -> list[str]:
    """`path_slashes` for the path parameters of the `served` operations that hold a path (`path_params.py`)."""
    held = path_parameters(served)
    if not held:
        return []
    return [f"    path_slashes: [{', '.join(_scalar(n) for n in held)}]   # these hold a path: '/' is sent "
            "(as %2F); in any other path parameter it is refused, as it could reach another endpoint"]


def _operation_block(op: Any, key: str, name: str, selected: bool) -> Block:
    """The block of `op` (a compiled operation) under `key`, without a prune: `_suggested_prune` gives the
    block's."""
    operation = op.operation
    summary = operation.meta.summary or ""
    tags = f" [{', '.join(op.tags)}]" if op.tags else ""
    comment = f"      # {op.method} {op.path}{tags}" + (f" — {_one_line(summary)}" if summary else "")
    op_id = operation.meta.operation_id
    if name == operation.name and op_id and unspellable(op_id):
        source = "its method, path" if mostly_unspellable(op_id) else "what a tool name keeps of it"
        comment += (f" (served as {name}: derived from {source} and a hash of the operationId "
                    f"`{op_id}`; write a readable `name:`)")
    return Block(comment, key, name if name != operation.name else None, [], selected)


def _suggested_prune(op: Any, annotated: OperationSignals | None) -> list[str]:
    """The `prune:` lines suggested for `op` from its response shapes (`annotated`, else the compiled ones) and
    parameters (`suggest.py`): none but for a GET operation, and none when nothing is suggested."""
    if op.method != "GET":
        return []
    operation = op.operation
    found = annotated or OperationSignals(operation.response_schema, operation.default_response_schema)
    suggested = suggest_prune(found.success, found.default, hints=found.hints)
    if not suggested:
        return []
    omitted = left_out(found.success, suggested)  # said, so accepting it hides nothing (shaping trial, fault 7)
    return ([left_out_comment(omitted)] if omitted else []) + _table_comment(suggested) + _prune_lines(suggested)


def _table_comment(prune: str) -> list[str]:
    """What a table in the suggested prune is and how to have objects instead (`table.py`), as comment lines."""
    objects = objects_hint(prune)
    if objects is None:
        return []
    note = (f"from {MIN_ROWS} items on, a table: `columns` once, then one row per item (null: no value; `a.b`: b "
            f"of a); fewer items come as objects; for objects always, keep only the part after `||`: `{objects}`")
    return [f"        # {line}" for line in textwrap.wrap(note, width=WIDTH - 10, break_on_hyphens=False)]


def _prune_lines(prune: str) -> list[str]:
    """`prune:` as one line, or a folded block (`>-`) of lines that fit `WIDTH` when it is longer: a
    suggestion for GitHub's issue is ~2,500 characters, unreadable and undiffable on one line. Lines
    break only at a space after a comma outside quotes, and folding turns each break back into that
    space, so the value read is the suggested expression exactly."""
    single = f"        prune: {json.dumps(prune, ensure_ascii=False)}"
    if len(single) <= WIDTH:
        return [single]
    indent = " " * 10
    lines, line = [], ""
    for piece in _pieces(prune):
        if line and len(indent) + len(line) + 1 + len(piece) > WIDTH:
            lines.append(indent + line)
            line = piece
        else:
            line = f"{line} {piece}" if line else piece
    lines.append(indent + line)
    return ["        prune: >-", *lines]


def _pieces(expression: str) -> list[str]:
    """`expression` split at each ", " outside quotes (`'raw'`, `"identifier"`, and a `` `literal` ``'s JSON
    strings), keeping the comma: joining the pieces with one space gives `expression` back."""
    pieces, start, quote, i = [], 0, "", 0
    while i < len(expression):
        ch = expression[i]
        if quote:
            if ch == "\\":
                i += 1  # an escaped character, the quote itself included
            elif ch == quote:
                quote = ""
        elif ch in "'\"":  # not a `literal`: its JSON strings are quoted, and a table's `columns` list is long
            quote = ch
        elif ch == "," and expression[i + 1 : i + 2] == " " and expression[i + 2 : i + 3] not in (" ", ""):
            pieces.append(expression[start : i + 1])
            start = i + 2
            i += 1
        i += 1
    pieces.append(expression[start:])
    return pieces


def _comment_out(line: str) -> str:
    return line if line.lstrip().startswith("#") else "      # " + line[6:]


def _key(key: str) -> str:
    return key if _PLAIN_KEY.match(key) and plain_reads_as_string(key) else json.dumps(key, ensure_ascii=False)


def _scalar(text: str) -> str:
    """`text` as a YAML scalar that reads back as this string: plain where that is safe, else quoted
    (`1_000_000`, `true`, `null`, `2024-01-01` would be read as an int, bool, null or date)."""
    plain = re.fullmatch(r"[A-Za-z0-9_./:-]+", text) and not text.startswith(("-", ":"))
    return text if plain and plain_reads_as_string(text) else json.dumps(text, ensure_ascii=False)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())[:160]


def _slug(title: str) -> str:
    """The source key and server name: the title's first three words (a possessive's `'s` is no word:
    "GitHub's official OpenAPI spec" → `github_official_openapi`, not `github_s_official`). A source key
    starts with a letter (`SOURCE_KEY_PATTERN`), so a title starting with a digit gets `api_` before it
    ("1Forge Finance APIs" → `api_1forge_finance_apis`)."""
    words = re.findall(r"[a-z0-9]+", re.sub(r"['’]s\b", "", title.lower()))
    slug = "_".join(words[:3])[:32] or "api"
    return slug if slug[0].isalpha() else f"api_{slug}"


def output_schema_note(typed: int, size: int, without: int) -> str | None:
    """What the outputSchemas take of a tools/list of `size` bytes listing every tool (`without`: its bytes with
    none), and how to leave them out; None when no tool declares one. A suggested prune declares the schema of
    what it keeps (so clients can check the structured result), which made GitHub's list 28% bigger (1,115,765
    → 1,425,455 bytes: 373 schemas, 309,690 bytes) where a model was promised fewer tokens (big-API trial,
    fault 8). The schemas are compact already — no descriptions, titles or examples: leaving those out too
    saved 4,259 bytes (1.4%) — so the choice offered is whether to send them at all."""
    if not typed or without >= size:
        return None
    share = (size - without) / size
    verb = "declares" if typed == 1 else "declare"
    return (f"{typed} {noun(typed, 'tool')} {verb} an outputSchema (the shape of what its prune keeps): "
            f"{size - without:,} of the {size:,} bytes ({share:.0%}); `output_schema: false` on the source (or on "
            f"one tool) leaves them out: {without:,} bytes.")


def with_size(text: str, tools: int, size: int, discovery: tuple[int, int] | None = None,
              note: str | None = None, schema_note: str | None = None) -> str:
    """The scaffold with its header's size line filled in: `tools` listed in `size` bytes of tools/list when
    every tool is listed, and — when `with_discovery` set discovery mode — what that lists (tools, bytes).
    `note`: the scaffold's `left_out`, whose words about finding the unlisted tools follow the mode.
    `schema_note`: `output_schema_note`, said after the size."""
    if note and discovery is not None:
        text = text.replace(_wrapped(note), _wrapped(left_out_note(note, True)), 1)
    if discovery is None:
        line = f"# tools/list: {size:,} bytes for {tools} {noun(tools, 'tool')} (`mcprt tools` shows each)."
    else:
        line = (f"# tools/list: {discovery[1]:,} bytes for {discovery[0]} meta-tools in discovery mode; listing every "
                f"tool, {size:,} bytes for {tools} {noun(tools, 'tool')}.")
    if schema_note:
        line += "\n" + _wrapped(schema_note)
    return text.replace("# TOOLS_LIST_SIZE", line)


def with_discovery(text: str, size: int, limit: int) -> str:
    """The scaffold with `server: {expose: discovery}` (after the server's name) and a comment saying why:
    listing every tool takes `size` bytes of tools/list, over `limit` (`init`'s DISCOVERY_ABOVE)."""
    why = (f"  # every tool listed would be a tools/list of {size:,} bytes (over {limit:,}): more than a model's\n"
           "  # context holds, so clients search, describe and call them; remove the next line to list every tool\n"
           "  expose: discovery\n")
    return re.sub(r"\nserver:\n  name: [^\n]*\n", lambda found: found.group(0) + why, text, count=1)
