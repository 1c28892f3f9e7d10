"""A suggested prune's list of records as a table: keys once, then one row of values per item.

A list of N objects repeats every key N times: measured on the catalog's recorded cases, the keys were ~45 % of
the bytes the suggested prunes sent. `tabled` turns the suggestion for such a list, `X[].{number: number, title:
title, user: user.login}`, into plain JMESPath that sends

    {"columns": ["number", "title", "user"], "rows": [[1347, "Found a bug", "octocat"], …]}

- *columns*: the hash's keys in its order, but the item's identifiers (`IDS`, and the field the API addresses items
  by: GitHub's `number`), then its handles (`HANDLES`), then its labels (`LABELS`) first, so each row starts with
  what names it. A nested hash is flattened into one column per field, its name the keys joined by `.`
  (`pull_request: pull_request.{url: url}` → column `pull_request.url`, expression `pull_request.url`): a null or
  missing object gives null in each of its columns, as its hash gave null.
- *rows*: `X[].[e1, e2, …]`, each expression the one the object form had under that key, so each row keeps every
  value the object kept. A missing or null value is `null` in its column: JMESPath gives null for a missing field,
  and `defaults.prune` (`drop_nulls`, `drop_empty`) never removes a list's items, so positions hold.
- A cell may hold a list (`labels[].name`) or a list of objects (`networks.v4[].{ip_address: …}`): lists inside an
  item stay in object form (no table in a table).
- Only from `MIN_ROWS` items on: `tabled` writes `length(X || `[]`) >= `3` && {table} || X[].{…}`, so an empty,
  missing or short list comes as the objects it was (a header on a 0–2 item list costs more than the keys it saves:
  measured on the catalog, 22 of 83 cases grew with one; 3 and 4 measured the same). The guard is a comparison: it
  reads the list but sends nothing of it. Such a list declares no `outputSchema` (table or objects by its length).

Not tabled (`suggest.py` decides where): fewer than `MIN_COLUMNS` columns (a table of one or two values per item
saves a few bytes and reads worse than objects), and lists that are not the result's own (a list inside a record or
an item: a single issue's `labels`, a pod's `containers`: few items each, where a table's header costs more than
the keys it saves — measured on the catalog, tabling those too made single results larger: GitHub's issue 904 →
998 bytes, a Kubernetes pod 10.6 → 12.4 KB).

To switch one back to objects, write `X[].{c1: e1, c2: e2, …}` with each column as the key of its row expression
(`init`'s comment above such a prune says so, with the first two).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import jmespath
from jmespath.lexer import Lexer

from ..expressions.prune_reads import source_paths_of

# Measured on the catalog (reduction with tables of at least N columns): 1: 90.48 %, 2–3: 90.49 %, 4: 90.45 %,
# 5: 90.42 %, 8: 90.20 %, 12: 89.96 %. Below 3 a table saves nothing and reads worse than objects.
MIN_COLUMNS = 3
MIN_ROWS = 3

# A JMESPath path of field names (`a.b.c`): what a nested hash may hang from to be flattened into columns.
_NAMES = frozenset({"unquoted_identifier", "quoted_identifier"})
_OPEN = frozenset({"lbrace", "lbracket", "filter", "lparen"})
_CLOSE = frozenset({"rbrace", "rbracket", "rparen"})


def columns(body: str) -> list[tuple[str, str]] | None:
    """A multiselect hash's text (`{number: number, pull_request: pull_request.{url: url}}`) as (column name,
    expression) pairs, nested hashes on a path of names flattened (`("pull_request.url", "pull_request.url")`);
    None when `body` is not one multiselect hash."""
    tokens = [t for t in Lexer().tokenize(body) if t["type"] != "eof"]
    if not tokens or tokens[0]["type"] != "lbrace" or _closing(tokens, 0) != len(tokens) - 1:
        return None
    found: list[tuple[str, str]] = []
    i = 1
    while i < len(tokens) - 1:
        key, colon = tokens[i], tokens[i + 1] if i + 1 < len(tokens) else None
        if key["type"] not in _NAMES or colon is None or colon["type"] != "colon":
            return None
        end = _entry_end(tokens, i + 2)
        expression = body[tokens[i + 2]["start"]:tokens[end]["start"]].strip()
        nested = _nested(tokens[i + 2:end], body)
        if nested is None:
            found.append((str(key["value"]), expression))
        else:
            prefix, inner = nested
            inner_columns = columns(inner)
            if inner_columns is None:
                return None
            found += [(f"{key['value']}.{name}", f"{prefix}.{expr}") for name, expr in inner_columns]
        i = end + 1  # past the comma (or onto the closing brace)
    return found


def tabled(path: str, body: str, first: tuple[str, ...] = ()) -> str | None:
    """The table form of `path[].{body}` (`path` empty: the result itself is the list), or None when `body` has
    fewer than `MIN_COLUMNS` columns. `first`: the column names to put first, in this order (the item's
    identifiers, handles and labels); the rest keep the hash's order."""
    found = columns(body)
    if found is None or len(found) < MIN_COLUMNS:
        return None
    rank = {name: i for i, name in enumerate(first)}
    ordered = sorted(found, key=lambda c: rank.get(c[0], len(rank)))  # stable: the rest in the hash's order
    names = json.dumps([name for name, _ in ordered], ensure_ascii=False).replace("`", "\\`")
    table = f"{{columns: `{names}`, rows: {path}[].[{', '.join(expr for _, expr in ordered)}]}}"
    # the guard is a comparison: it sends nothing of the list (`prune_reads`), and a missing list counts as empty
    return f"length({path or '@'} || `[]`) >= `{MIN_ROWS}` && {table} || {path}[].{body}"


def _closing(tokens: list[dict[str, object]], start: int) -> int:
    """The index of the token closing the bracket opened at `start`."""
    depth = 0
    for i in range(start, len(tokens)):
        kind = tokens[i]["type"]
        if kind in _OPEN:
            depth += 1
        elif kind in _CLOSE:
            depth -= 1
            if depth == 0:
                return i
    return len(tokens)


def _entry_end(tokens: list[dict[str, object]], start: int) -> int:
    """The index of the comma ending the hash entry whose expression starts at `start`, or of the hash's closing
    brace for the last entry."""
    depth = 0
    for i in range(start, len(tokens)):
        kind = tokens[i]["type"]
        if kind in _OPEN:
            depth += 1
        elif kind in _CLOSE:
            if depth == 0:
                return i
            depth -= 1
        elif kind == "comma" and depth == 0:
            return i
    return len(tokens) - 1


def _nested(tokens: list[dict[str, object]], body: str) -> tuple[str, str] | None:
    """(`a.b`, `{…}`) when an entry's expression is a path of names followed by one multiselect hash
    (`a.b.{x: x}`), else None."""
    if len(tokens) < 4 or tokens[-1]["type"] != "rbrace":
        return None
    for i, token in enumerate(tokens):
        expected = _NAMES if i % 2 == 0 else {"dot"}
        if token["type"] == "lbrace":
            if i < 2 or tokens[i - 1]["type"] != "dot" or _closing(tokens, i) != len(tokens) - 1:
                return None
            path = body[int(tokens[0]["start"]):int(tokens[i - 1]["start"])]
            return path, body[int(token["start"]):int(tokens[-1]["start"]) + 1]
        if token["type"] not in expected:
            return None
    return None


@dataclass(frozen=True)
class Table:
    """A table a prune expression builds: where its list is read (`list_path`, `""` for the result itself), where
    it lands in the result (`output_path`, dotted keys, `""` for the result), its column names, and each column's
    source paths relative to an item (`sources`, in column order: `prune_reads.source_paths_of`)."""

    list_path: str
    output_path: str
    names: tuple[str, ...]
    sources: tuple[frozenset[str], ...]


def tables(expression: str) -> list[Table]:
    """The tables (`{columns: `[…]`, rows: X[].[e1, e2, …]}`, X a path of names or nothing) an expression builds
    at its hash keys, reached through paths of names (`albums.{items: {columns: …}}`): how `tabled` writes them."""
    found: list[Table] = []
    _find_tables(jmespath.compile(expression).parsed, "", "", found)
    return found


def as_objects(expression: str) -> str:
    """`expression` with each table written back as the list of objects it was made from: as `tabled` writes it
    (`length(items || `[]`) >= `3` && {columns: …, rows: …} || items[].{id: id, pool: pool.{url: url}}`), its
    object alternative, its nesting as it was; a bare table (`{columns: `["id","pool.url"]`, rows: items[].[id, pool.url]}`), each column a
    key, a flattened column under its dotted name (`items[].{id: id, "pool.url": pool.url}`)."""
    for start, end, path, pairs, guarded in reversed(_written(expression)):
        if guarded is not None:
            expression = expression[:guarded[0]] + expression[guarded[1]:]
        else:
            expression = expression[:start] + f"{path}.{{{', '.join(f'{k}: {e}' for k, e in pairs)}}}" + expression[end:]
    return expression


def objects_hint(expression: str, shown: int = 2) -> str | None:
    """The first table of `expression` as objects, its first `shown` entries and `…` (`items[].{number: number,
    title: title, …}`): what `mcprt init`'s comment shows; None when it has no table."""
    written = _written(expression)
    if not written:
        return None
    _, _, path, pairs, guarded = written[0]
    entries = [f"{k}: {e}" for k, e in pairs]
    if guarded is not None:  # the object alternative's own entries
        tokens = [t for t in Lexer().tokenize(expression[guarded[1]:]) if t["type"] != "eof"]
        opened = next(j for j, t in enumerate(tokens) if t["type"] == "lbrace")
        hash_text = expression[guarded[1]:][int(tokens[opened]["start"]):int(tokens[_closing(tokens, opened)]["end"])]
        entries = _entries_of_list(hash_text)
    more = ", …" if len(entries) > shown else ""
    return f"{path}.{{{', '.join(entries[:shown])}{more}}}"


_Written = tuple[int, int, str, list[tuple[str, str]], tuple[int, int] | None]


def headers_hold(expression: str) -> bool:
    """Whether each table `tabled` wrote in `expression` names every column as the key its expression has in the
    table's object alternative (`length(…) && {columns: `["id", "user"]`, rows: X[].[id, user.login]} ||
    X[].{id: id, user: user.login}`), nested keys joined by `.`: a header that names the wrong column (two names
    swapped) is False. A bare table, with no object alternative to compare with, holds."""
    for _, _, _, pairs, guarded in _written(expression):
        if guarded is None:
            continue
        alternative = expression[guarded[1]:]  # `X[].{…}`, then whatever follows the table's expression
        hash_start = alternative.find("{")
        named = columns(_hash_at(alternative, hash_start)) if hash_start >= 0 else None
        if named is None or sorted((_key(n), e) for n, e in named) != sorted(pairs):
            return False
    return True


def _hash_at(text: str, start: int) -> str:
    """The multiselect hash opening at `text[start]`, to its closing brace."""
    tokens = [t for t in Lexer().tokenize(text[start:]) if t["type"] != "eof"]
    return text[start:start + int(tokens[_closing(tokens, 0)]["end"])]


def _written(expression: str) -> list[_Written]:
    """Each table in `expression`'s text: (start, end, `X[]`, [(key, row expression), …], guarded), in order;
    `guarded`: for `length(X || `[]`) >= `N` && {table} || X[].{…}` (`tabled`), the text from `length` to the
    object alternative
    (start, end), else None."""
    tokens = [t for t in Lexer().tokenize(expression) if t["type"] != "eof"]
    found: list[_Written] = []
    for i in range(len(tokens) - 7):
        head = tokens[i:i + 7]
        if [t["type"] for t in head] != ["lbrace", "unquoted_identifier", "colon", "literal", "comma",
                                         "unquoted_identifier", "colon"] \
                or head[1]["value"] != "columns" or head[5]["value"] != "rows":
            continue
        opened = next((j for j in range(i + 7, len(tokens)) if tokens[j]["type"] == "lbracket"), None)
        if opened is None:
            continue
        path = expression[int(head[6]["end"]):int(tokens[opened]["start"])].strip().removesuffix(".")
        closed = _closing(tokens, opened)
        if not path.endswith("[]") or closed + 1 >= len(tokens) or tokens[closed + 1]["type"] != "rbrace":
            continue
        exprs = _entries_of_list("{" + expression[int(tokens[opened]["end"]):int(tokens[closed]["start"])] + "}")
        names = head[3]["value"]
        if isinstance(names, list) and len(names) == len(exprs):
            guarded = None
            after = closed + 2
            if i >= 5 and tokens[i - 1]["type"] == "and" and after + 1 < len(tokens) and tokens[after]["type"] == "or" \
                    and [t["type"] for t in tokens[i - 4:i - 1]] == ["rparen", "gte", "literal"]:
                depth, first = 0, i - 4  # back to `length(`
                while first >= 0:
                    depth += {"rparen": 1, "lparen": -1}.get(str(tokens[first]["type"]), 0)
                    if depth == 0:
                        break
                    first -= 1
                if first >= 1 and tokens[first - 1]["value"] == "length":
                    guarded = (int(tokens[first - 1]["start"]), int(tokens[after + 1]["start"]))
            found.append((int(head[0]["start"]), int(tokens[closed + 1]["start"]) + 1, path,
                          [(_key(str(n)), e) for n, e in zip(names, exprs, strict=True)], guarded))
    return found


def _entries_of_list(braced: str) -> list[str]:
    """The expressions of a multiselect list's body given between braces (`{a, b.c}`), split at its top-level
    commas."""
    tokens = [t for t in Lexer().tokenize(braced) if t["type"] != "eof"]
    out, start, i = [], 1, 1
    while i < len(tokens) - 1:
        end = _entry_end(tokens, i)
        out.append(braced[start:int(tokens[end]["start"])].strip())
        start = int(tokens[end]["start"]) + 1
        i = end + 1
    return out


def _key(name: str) -> str:
    return name if name.isidentifier() and name.isascii() else json.dumps(name)


def _field_path(node: dict[str, Any]) -> list[str] | None:
    """The names of a path of fields (`a.b.c`), or None for any other expression."""
    if node.get("type") == "field":
        return [str(node["value"])]
    if node.get("type") == "subexpression":
        parts = [_field_path(child) for child in node["children"]]
        return None if any(p is None for p in parts) else [n for p in parts for n in p or ()]
    return None


def _find_tables(node: dict[str, Any], source: str, output: str, found: list[Table]) -> None:
    kind = node.get("type")
    if kind in ("or_expression", "and_expression"):  # `X[2] && {columns: …, rows: …} || X[].{…}`
        for child in node["children"]:
            _find_tables(child, source, output, found)
        return
    if kind == "subexpression":
        *path, last = node["children"]
        names = [_field_path(child) for child in path]
        if all(n is not None for n in names):
            _find_tables(last, ".".join(n for n in (source, *(x for p in names for x in p or ())) if n), output, found)
        return
    if kind != "multi_select_dict":
        return
    pairs = {pair["value"]: pair["children"][0] for pair in node["children"]}
    rows, heads = pairs.get("rows"), pairs.get("columns")
    if set(pairs) == {"columns", "rows"} and heads is not None and heads.get("type") == "literal" \
            and isinstance(heads.get("value"), list) and rows is not None and rows.get("type") == "projection" \
            and rows["children"][1].get("type") == "multi_select_list":
        left = rows["children"][0]
        inner = left["children"][0] if left.get("type") == "flatten" else left
        listed = [] if inner.get("type") in ("identity", "current") else _field_path(inner)
        cells = rows["children"][1]["children"]
        if listed is not None and len(cells) == len(heads["value"]):
            found.append(Table(".".join(n for n in (source, *listed) if n), output,
                               tuple(str(n) for n in heads["value"]),
                               tuple(frozenset(source_paths_of(c)) for c in cells)))
        return
    for key, child in pairs.items():
        _find_tables(child, source, f"{output}.{key}" if output else key, found)
