"""Suggested `prune` expressions from a response shape: the documented heuristic of `mcprt init`.

The rule (measured on the catalog by `catalog/_tools/measure_suggestions.py`) rests on one
distinction: an object is *identified* when it has an identifier (`IDS`: `id`, `uid`, `gid`,
`uuid`, `key`, `sha`), a handle (`HANDLES`: `login`, `username`, `slug`, …) or a label (`LABELS`:
`display_name`, `name`, `title`, …) among its scalar fields. Walking from the result:

- *Wrappers* — unidentified objects met before any identified one (a page `{data: [...]}`, an
  envelope `{droplet: {…}}`, a Kubernetes object `{metadata, spec, status}`, a Spotify
  `{added_at, track}` item, a search result `{tracks: {items}, albums: {items}}`) — are followed
  through `MAX_WRAPPERS` levels: their scalars are kept, their objects and list items are wrappers
  or *records* in turn.
- A *record* (the first identified object on a path) keeps its scalar fields and lists of scalars
  (in a list's items not lists of other records' identifiers, `*_ids`), and its maps of scalars
  whole (`labels`, `annotations`: `additionalProperties` with scalar values). A free-form object of
  any values is kept whole on the one result object (Jira's issue `fields`) and dropped in list
  items, where it would repeat on every item. A field that is an id or the object it names
  (`_expandable`: besides null only a string or integer id and identified objects — Stripe's expandable
  `customer`), or of unknown shape (`{}`: undocumented), is kept only when it is not an object; a value of any
  JSON form (a scalar, a map, a list: Blockfrost's `json_metadata`, "Content of the metadata") is kept whole; an `{}` alternative beside documented
  objects (DigitalOcean's `links.pages: anyOf: [{last, next}, {first, prev}, {}]`) drops nothing:
  the objects' fields are kept (`_object`). Alternative *records* (identified objects: a polymorphic search's
  `oneOf: [Customer, Order, Product]`, Vercel's `gitSource` forms) are each walked as the record they are and
  their entries made one hash (`_walk`): a field is possible when any alternative has it, so each keeps what it
  needs (the first alternative alone, before, made a search's orders lose `total` and its products `sku` and
  `price`). A key the alternatives hold as different objects or lists of objects (an event's `payload`:
  `{amount, currency}` in one kind, `{reason, code}` in another) is followed as the union of those (`_shared`):
  of a result of each kind the union's suggestion keeps every value that kind's own suggestion keeps (one
  alternative's body for the key, before, dropped the others' fields there). A union is reduced as a reference (one name, `owner.login || owner.slug`; a bare id) only when every
  alternative is one (`_every`); an object of no fields (GitHub's `empty-object`) is no alternative.
- Below a record `MAX_NESTED` levels are followed on the one result object, `MAX_NESTED_IN_ITEMS`
  in a list's items (whose parts repeat on every item). An unidentified object (a *part*:
  `settings`, `build_settings`, `state.waiting`) keeps its scalar fields (not its lists of
  scalars); on the last level only its identity, state (`STATES`: `state`, `status`, `reason`,
  `*_code`, …), `type`, time (`*_at`, `*At`, `date`), `DETAILS` (`value`, `message`, `total`,
  paging cursors) and `*address` fields, the one link it stands for (`url`, else `html_url`, else
  the first `*_url`), and the names of the identified objects and lists in it
  (`commit.author.{name, date}`, `path_collection.entries[].name`). An object holding no scalar of
  its own (`networks: {v4, v6}`) is a grouping and takes no level.
  A *reference* — an identifier with a handle, label or link (a user, an album, a repository) — is
  reduced on the one result object to its first handle and first label (its identifier when it has
  neither), state, `DETAILS`, its identifier beside a label and its times (`published_deploy.{id,
  name, published_at}`); in a list's items to one name under the reference's own key (`_name`:
  `user: user.login`) — its first handle, an email address (`format: email`) only without a label (Box's
  `login` is contact data, its `name` names the person), else its first label, else its identifier
  (a second name, a milestone's `state`, and a flattened key `user_login` on every item were
  31 KB of the catalog's suggestions, none of it hand-kept). A list of identified objects becomes the list of
  one identifying field (`labels[].name`); a list of unidentified ones keeps their fields
  (`networks.v4[].ip_address`).
- Link fields are dropped where they are the API's own navigation: `self`, `selfLink`, `href`,
  `node_id`, `gravatar_id`, names containing `template`, and — in an object that has an `html_url`
  (the page a person opens) — its own `url` and every `X_url` but one standing in for a documented
  object `X` (`repository_url` beside `repository`, which search results leave out). Elsewhere a
  URL is content (a site's address, a join link) and kept, and a part's `url` is the reference it
  stands for (`pull_request.url`). Names containing `token`, `password` or `secret` are dropped,
  except paging tokens (`next_page_token`, `*cursor*`), and so is a link that lets its holder in
  (`grants_access`: Zoom's host `start_url`, presigned links, descriptions saying "should not be
  shared" or naming a token).
- The spec's annotations are read from `annotated_shapes` (`sources/openapi/responses.py`):
  `deprecated` fields are dropped, and another rendering of a field beside it (`_rendering`:
  `body_html`, `html_body`, `plain_body` beside `body`, `raw_subject` beside `subject`).
- What a record says of its client or person (`_client_address`): an IP address within a client's or a
  person's record (`metadata.system.ip_address`, `users[].last_login_ip`) or named for whose it is
  (`actor_ip`), and a client's whereabouts and user agent (`system.{latitude, longitude, location,
  client}`) are personal data and never suggested; a server's own address (`origin.ip_address`) stays.
- A list of objects named by a bare id keeps their `*name`/`*title`/`*label`/`*value` fields and
  `DETAILS` beside the id (`_named_items`: `custom_fields[].{id, value}`, `fields[].{id, label,
  display_value}`).
- A typeless schema holding only `items` (Slack's description wraps its object schemas so) is read
  as the schema of its items.
- The `default` response's top-level scalar fields are kept beside the result's when an error may
  come as a success: the operation documents no 4xx/5xx response (`signals.py`: else errors come by
  status, DigitalOcean's `{id, message, request_id}`) and the error shares a boolean top-level field
  with the result (one envelope whose flag tells them apart: Slack's `ok`, answering errors with
  status 200). Another error document (Stripe's `{error}`, Box's `{type: error, status, code}`) is
  not part of a success body.

*A list's items* (a record repeated on every item; the item's own operation has the rest) also
leave out, whatever else holds (`_Ranker.dropped`; each is one of `SIGNALS`):

- `keys`: identifiers but one — the field the API addresses items by, the last `{param}` of a
  sibling operation one segment below the list (`issue_number` → an issue's `number`: GitHub's `id`
  goes; `signals.py` reads the operation's `Hints`), else the first (Zoom's `id`: its `uuid` goes);
  a handle that is also an identifier (Jira's `key`) stays;
- `given`: a field named like a parent path parameter or a required query parameter of the
  operation (`site_id` in `/sites/{site_id}/deploys`, `namespace`): the caller passed that value;
- `text`: an optional free text (`body`, `content`, `text`, `notes`, `markdown`, `html`, `description`,
  or described as markdown/HTML; unbounded or `maxLength` ≥ `LONG_TEXT`) in an item that has a label
  or a `subject`/`summary` (an issue's `body` beside its `title`, a ticket's `description`;
  a comment's `body`, a message's required `text` stay);
- `bookkeeping`: `etag`, `sequence_id`, and values whose description says "opaque", "internal
  version", "housekeeping", "used by the server" or "Populated by the system. Read-only."
  (Kubernetes' `resourceVersion`, `generation`);
- `checksums`: `sha1`, `md5`, `checksum`, `*_sha` (a file's content hash, `merge_commit_sha`);
- `media`: pictures and previews (`avatar`, `images`, `icon`, `logo`, `thumbnail`, `screenshot`,
  `preview`, … in the name: Netlify's `screenshot_url`, Spotify's `images[]`; a container's or
  droplet's `image` is a name, not a picture, and stays);
- `flags`: `is_*` / `has_*` booleans a record that lists its `required` fields leaves out of it, unless
  a parameter names them (Slack's `is_frozen`, `has_pins`; its required `is_private` stays);
- `foreign`: other records' identifiers (`*_id`, `*Id`, `*_uuid`, `*Uuid`: a deploy's `user_id`, a
  project's `accountId`, a ticket's `group_id` though `{group_id}` is some path's parameter), as lists of
  them (`*_ids`) already are — the addressing key and a person in a role (`_role_id`: `author_id`,
  `requester_id`, `assignee_id`) excepted —,
  records named by a bare identifier: lists of them (`parents[].sha`, a part's `tree.sha`) and objects
  holding only ids, `type`, links and hashes (Box's `file_version: {id, type, sha1}`), and expandable
  fields (an id or the record it names: Stripe's `default_source`, `invoice`), unless a parameter names
  them (a payment list's `customer`, which `?customer=` filters by) or a person in a role (`_role`: `owner`,
  `assigned_to`, `created_by`);
- `nullable`: a part documented as possibly null (`nullable: true`, `type: [object, "null"]`, `anyOf: [X,
  null]`), unless a parameter names it or it has a handle or label: a detail only some items have (GitHub's
  `auto_merge`, Stripe's `discount`, `next_action`), which the item's own operation shows; a part with a name
  is what the item is known by (a stake pool's registered `metadata` with its `name`: kept). (OpenAPI 3.1's
  `allOf: [X], type: [object, "null"]` admits no null under JSON Schema — `allOf` requires X's type — and
  stays.)

*The result's own lists of records are tables* (`table`, `table.py`): a list met at the top or reached from the
one result object through wrappers alone (`[]`, `data[]`, `items[]`, `tracks.items[]`; a wrapper below the result
is an unidentified object carrying exactly one list of records, `_carrier`: a pod's `spec` or `status`, with
several, is a part of one record, and its lists stay objects — tabled, a pod's 15 inner lists made get_pod
10,597 → 12,274 bytes), whose items the rule reduces to at least
`table.MIN_COLUMNS` columns, is sent, from `table.MIN_ROWS` (3) items on, as `{columns: `[…]`, rows: X[].[…]}` —
its keys once, one row of values per item, a nested part flattened into `a.b` columns, null where an item has none,
identifiers, handles and labels first — and as objects when shorter (`length(X || `[]`) >= `3` && {table} ||
X[].{…}`: with a header on every list, an empty page, a single hit and Slack's `ok: false` error grew, 22 of the 83
cases; now 2, Jira's full page 1,009 → 1,470 bytes and a Stripe payment page 1,099 → 1,138). A list of N
objects repeats every key N times: keys were ~45 % of the bytes the object-form suggestions sent. Lists inside a record or an item stay objects (a single issue's `labels`, a pod's `containers`: a header
costs more than the keys of a few items), as do lists of fewer columns. Items of alternative shapes (Box's file,
folder and web link; Slack's channels) are tabled too: their columns are the hash's, the same for every item, and
measured, not tabling them costs 0.75 points. `table.as_objects` writes a table back as objects.

*Ranks* (`_Ranker`, lower first; what a `Budget` keeps): the addressing key and identifiers, labels,
fields the operation's own parameters name (`parameters`: query parameter names and their enum
values, so `sort=created|updated` names `created_at`, `updated_at`; `words`: its summary and
description), states (`STATES`), times (`*_at`, `*Time`, `format: date-time`), enum values
(`annotations`), fields the API takes as a parameter or request field anywhere (`vocabulary`; a
field named like any path parameter ranks as a key), references, links, required fields, counts and
`DETAILS`, other scalars, optional free text, and nested parts — ranked as the state, time, detail
or link they hold (`nesting`: Slack's `topic.value`), else last. Off by default: on the catalog a
budget that keeps every hand-written prune's field saves nothing (README).

What the rule reaches (README, "Suggested prunes"): the catalog's recorded cases shrink by 90.6 %, keeping
every documented field the hand-written prunes keep, each hand-kept value in its table column
(`measure.column_holds`) — 85.9 % with lists of objects, before tables (86.0 % before a nullable part with a name
stayed in list items — Stripe's `shipping`, for its `name` — 85.2 % before a reference in a list's items kept one
name, 84.7 % before `nullable` and expandable fields in `foreign`). The field choice is near its limit: measured
there, the spec's signals do not tell the rest of what the hand prunes keep from what they drop (figures below
measured with lists of objects, before tables):
a ranked budget of 36 fields per list item keeps them all and saves nothing, 32 loses GitHub's `topics`,
24 also `archived`, `pull_request.url` and Netlify's `ssl_url`, and 90 % costs dozens; `links` (one link
per list item, off) gains 0.5 points and loses Netlify's `ssl_url`. `examples` (off) changes nothing. A
budget on a field's *cost* estimated from its schema (a boolean's few bytes against a URL's or a free
text's many) was tried in an experiment outside the repository: not kept and not reproducible from it, so
no figures are given. The hand prunes keep expensive fields too (a user's `login` through its object,
`pull_request.url`, `repository_url`, `ssl_url`, `topics`, Vercel's `meta` and `targets` maps, Box's
`path_collection`), and drop cheap ones by the hundred (Vercel's project settings, Slack's channel flags,
Kubernetes' `spec` booleans).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Any

from .signals import Hints, key_field, named_by, norm, words
from .table import tabled

IDS = ("id", "uid", "gid", "uuid", "key", "sha")  # identifiers; a git object's `sha` is one
HANDLES = ("login", "username", "full_name", "slug", "spdx_id", "ref", "key")  # the first is kept
LABELS = ("display_name", "displayName", "name", "title")  # the first is kept
DETAILS = ("value", "message", "date", "total", "total_count", "next_cursor", "cursor", "next_page", "next")
STATES = ("state", "status", "phase", "reason", "code", "*_code", "*Code")  # a thing's state and outcome
MAX_NESTED = 2  # levels followed below a record
MAX_NESTED_IN_ITEMS = 1  # … below a list's item (its parts repeat on every item)
MAX_WRAPPERS = 5  # unidentified levels followed above the first record
_SECRETS = ("*token*", "*password*", "*secret*")
_DROP = ("self", "selfLink", "href", "node_id", "gravatar_id", "*template*", *_SECRETS)  # scalar fields
_PAGING = ("*page_token", "next_*", "*cursor*")  # paging tokens are not secrets
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _globs(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One compiled regex for shell globs, case-sensitive: what `fnmatch.fnmatchcase` against each says, in one
    match (the rule tests field names against these ~170,000 times when the catalog is measured)."""
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


_STATE_NAME, _SECRET_NAME, _DROP_NAME, _PAGING_NAME = _globs(STATES), _globs(_SECRETS), _globs(_DROP), _globs(_PAGING)
# The signals the rule reads (each can be switched off to measure it: `measure_suggestions.py --signals`) …
SIGNALS = frozenset({"parameters", "keys", "words", "vocabulary", "annotations", "nesting",
                     "text", "bookkeeping", "checksums", "given", "foreign", "media", "flags", "nullable", "table"})
# … and those measured but off: each costs a hand-kept field on the catalog (README, "Suggested prunes")
OPTIONAL = frozenset({"links", "examples"})  # `Hints` and annotations the ranks read


def suggest_prune(shape: dict[str, Any] | None, default: dict[str, Any] | None = None,
                  budget: Budget | None = None, hints: Hints | None = None,
                  signals: frozenset[str] = SIGNALS) -> str | None:
    """A JMESPath prune for results of this shape, or None when the heuristic has nothing to say.

    `default`: the `default` response's shape; when both are objects and share a boolean top-level field
    (one envelope for success and error: Slack's `ok`) its top-level scalar fields are kept too. Whether the
    result is a wrapper or a record is decided on the success shape alone.
    """
    if not shape:
        return None
    ctx = _Context(budget, hints or Hints(), signals)
    if _is(shape, "array") and not _properties(shape):
        item = _object(_items(shape))
        if item is None:
            return None
        body = _walk(item, anchored=_identified(item), level=0, wrappers=1, ctx=ctx)
        if not body:
            return None
        return _table("", body, item, ctx) or f"[].{body}"
    item = _object(shape)
    if item is None:
        return None
    anchored = _identified(item)  # decided on the success shape alone
    extra = _object(default)
    if extra is not None and _success_flag(extra, item):  # an error that comes as a success
        errors = {n: p for n, p in _properties(extra).items() if _is_scalar(p) and n not in _properties(item)}
        records = [{**o, "properties": {**errors, **_properties(o)}} for o in _alternatives(item)]
        item = {"type": "object", "properties": {**errors, **_properties(item)}}
        if len(records) > 1:  # alternative records: each keeps the error's fields too
            item[_ALTERNATIVES] = records
    return _walk(item, anchored=anchored, level=0, wrappers=0, single=True, ctx=ctx, carried=True)


def _table(path: str, body: str, item: dict[str, Any], ctx: _Context) -> str | None:
    """`path[].{body}` as a table (`table.tabled`) when the `table` signal is on: the item's addressing key,
    identifiers, handles and labels first."""
    if "table" not in ctx.signals:
        return None
    props = _properties(item)
    key = key_field(list(props), ctx.hints.keys) if "keys" in ctx.signals else None
    first = [n for n in dict.fromkeys((key, *IDS, *HANDLES, *LABELS)) if n in props]
    return tabled(path, body, tuple(first))


def dropped_link(name: str, beside_html_url: bool = True, nested: bool = False,
                 objects: frozenset[str] = frozenset()) -> bool:
    """Whether a scalar field of this name is a link the suggestion drops (see the module rule).

    `nested`: the field is in a part of a record (its `url` is the reference that part stands for);
    `objects`: the names of the object fields beside it (`repository_url` stands in for `repository`).
    """
    if _DROP_NAME.match(name):
        return not _PAGING_NAME.match(name)
    if not beside_html_url or name == "html_url":
        return False
    if name == "url":
        return not nested
    return name.endswith("_url") and name[:-4] not in objects


def _walk(shape: dict[str, Any], anchored: bool, level: int, wrappers: int, single: bool = False,
          ctx: _Context = None, within: tuple[str, ...] = (),  # type: ignore[assignment]
          carried: bool = False) -> str | None:
    """The multiselect hash for an object: a wrapper (not `anchored`) or a record/part at `level`.

    `single`: the object is (inside) the one result object, not an item of a list; `within`: the names of
    the fields it is nested in, from the result down (`("comments", "metadata", "system")`); `carried`: the
    object is the result or reached from it through wrappers alone (`_carrier`), so its lists of records are the
    result's own (tabled).

    An object that is one of several records (`_object`: a search's `oneOf: [Customer, Order, Product]`) is
    each of them walked as itself, their entries one hash: a key once, its own form (`total: total`) before
    a reduced one (`_unique_keys`). A key several alternatives hold as different objects (an event's
    `payload`: `{amount, currency}` in one kind, `{reason, code}` in another) is walked as the union of those
    objects in each (`_shared`), so one entry keeps what every kind holds there.
    """
    entries: list[tuple[int, str]] = []
    for option in _shared(_alternatives(shape)):
        entries += _entries(option, anchored, level, wrappers, single, ctx, within, carried)
    parts = [text for _, text in _unique_keys(entries)]
    return "{" + ", ".join(parts) + "}" if parts else None


def _shared(options: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Alternative records with each key that several of them hold as different objects (or lists of
    objects) given, in every one, the union of those shapes (`anyOf`, which `_object` merges): walked apart,
    each alternative made its own body for the key and one of them was kept, so the other kinds' fields there
    were silently lost (`payload: payload.{reason, code}` for an item whose payload is `{amount, currency}`).
    A key held as a scalar by some alternative is left as it is: its own form (`payload: payload`) keeps the
    value whole (`_unique_keys`)."""
    if len(options) < 2:
        return options
    held: dict[str, list[Any]] = {}
    for option in options:
        for name, prop in _properties(option).items():
            held.setdefault(name, []).append(prop)
    union: dict[str, Any] = {}
    for name, shapes in held.items():
        distinct = [s for n, s in enumerate(shapes) if s not in shapes[:n]]
        if len(distinct) < 2:
            continue
        if all(_object(s) is not None and not _is(s, "array") for s in distinct):
            union[name] = {"anyOf": [o for s in distinct for o in _options(s)]}
        elif all(_is(s, "array") and not _properties(s) and _object(_items(_unwrap(s))) is not None
                 for s in distinct):
            union[name] = {"type": "array", "items": {"anyOf": [o for s in distinct
                                                                for o in _options(_items(_unwrap(s)))]}}
    if not union:
        return options
    return [{**o, "properties": {n: union.get(n, p) for n, p in _properties(o).items()}} for o in options]


def _entries(shape: dict[str, Any], anchored: bool, level: int, wrappers: int, single: bool,
             ctx: _Context, within: tuple[str, ...], carried: bool = False) -> list[tuple[int, str]]:
    """`_walk`'s ranked `key: expression` entries for one object (one alternative of a union)."""
    props = _properties(shape)
    required = _required(shape)
    html = "html_url" in props
    objects = frozenset(n for n, p in props.items() if _object(p) is not None and not _is(p, "array"))
    part = anchored and level > 0  # an unidentified object below a record
    rank = _Ranker(ctx, props, required, single=single, level=level)
    scored: list[tuple[int, str]] = []
    for name, prop in props.items():
        key = field = _field(name)
        if _deprecated(prop) or grants_access(name, prop) or _rendering(name, props) or _client_address(name, within):
            continue
        if _expandable(prop):  # an id, or the object itself when the request asks to expand it
            if rank.item and "foreign" in ctx.signals and not rank.named(name) and not _role(name):
                continue  # in a list's items, another record's identifier, as `*_id`
            scored.append((rank.reference(name), f"{key}: [{field}][?type(@) != 'object'] | [0]"))
            continue
        if _is_scalar(prop) or _is_scalar_list(prop):
            if not dropped_link(name, html, part, objects) and not (part and _is_scalar_list(prop)) \
                    and not (not single and _is_scalar_list(prop) and _is_id_list(name)):
                scored.append((rank.scalar(name, prop), f"{key}: {field}"))
            continue
        if _SECRET_NAME.match(name):
            continue
        if _is(prop, "array") and not _properties(prop):
            item = _object(_items(prop))
            if item is None:
                if not _types(_items(prop)):
                    scored.append((rank.other(name), f"{key}: {field}"))  # items of undocumented shape: kept whole
                continue
            if anchored and not single and "media" in ctx.signals and _media(name):
                continue  # in a list's items, pictures (`images[]`)
            if anchored and not single and _identified(item) and "foreign" in ctx.signals \
                    and _names(item)[0] in IDS:
                continue  # in a list's items, a list of other records' bare ids (`parents[].sha`), as `*_ids`
            body = _follow(item, anchored, level, wrappers, is_item=True, single=False, ctx=ctx,
                           within=(*within, name))
            if body:
                # the result's own list (reached from the one result object through wrappers alone): a table
                table = _table(field, body, item, ctx) if not anchored and single and carried else None
                scored.append((rank.reference(name) if anchored and _identified(item) else rank.part(name),
                               f"{key}: {table or f'{field}[].{body}'}"))
            continue
        inner = _object(prop)
        if inner is not None:
            if anchored and not single and "media" in ctx.signals and _media(name):
                continue  # in a list's items, a picture (`images`)
            if anchored and not single and "foreign" in ctx.signals and _every(_bare_reference, inner):
                continue  # in a list's items, another record named by a bare id (a file's `file_version`), as `*_id`
            if anchored and _every(_reference, inner):
                if not single:  # in a list's items one name, under the reference's own key (`user: user.login`)
                    scored.append((rank.reference(name), f"{key}: " + " || ".join(
                        f"{field}.{_field(n)}" for n in _union(_name(o) for o in _alternatives(inner) if _identified(o)))))
                    continue
                scored += [(rank.reference(name), f"{_key(name, sub)}: {field}.{_field(sub)}")
                           for sub in _union(n for o in _alternatives(inner) for n in _identity(o, times=True))]
                continue
            if rank.item and "nullable" in ctx.signals and _nullable(prop) and not rank.named(name) \
                    and not any(_labelled(o) for o in _alternatives(inner)):
                continue  # in a list's items, a part documented as possibly null (`auto_merge`, `discount`)
            body = _follow(inner, anchored, level, wrappers, is_item=False, single=single, ctx=ctx,
                           within=(*within, name), carried=carried and _carrier(inner))
            if body:
                scored.append((rank.part(name, inner), f"{key}: {field}.{body}"))
            continue
        if _types(prop) & {"string", "integer", "number", "boolean"} and not _properties(prop):
            # a scalar or a free-form object, not an id (`_expandable`): a value of any JSON form (Blockfrost's
            # `json_metadata`, "Content of the metadata": `oneOf: [string, object]`) — the item's content, kept whole
            scored.append((rank.other(name), f"{key}: {field}"))
        elif _free_form(prop) == "scalars" or (_free_form(prop) == "any" and single and anchored and level == 0):
            # a map of scalars (labels), a free-form object of one record
            scored.append((rank.other(name), f"{key}: {field}"))
        elif not _types(prop) and not _properties(prop):  # unknown shape (undocumented, recursive): a plain value
            scored.append((rank.other(name), f"{key}: [{field}][?type(@) != 'object'] | [0]"))
    if rank.item:
        scored = [(r, t) for r, t in scored if r != DROP]
    scored = _unique_keys(scored)
    budget = ctx.budget
    if anchored and budget is not None:
        limit = (budget.single if single else budget.item) if level == 0 else budget.part
        best = sorted(range(len(scored)), key=lambda i: (scored[i][0], i))[:limit]
        scored = [scored[i] for i in sorted(best)]
    return scored


def _unique_keys(scored: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """One entry per key of the hash: a reference's flattened key (`item_id: item.id`) can be a field's own
    name too (intellifi.nl's Presence has `item` and `item_id`), and JMESPath keeps only the later value.
    The field's own entry (`item_id: item_id`) wins, else the first."""
    keys = [text.split(": ", 1)[0] for _, text in scored]
    if len(set(keys)) == len(keys):
        return scored
    own = {key for key, (_, text) in zip(keys, scored, strict=True) if text == f"{key}: {key}"}
    seen: set[str] = set()
    kept = []
    for key, entry in zip(keys, scored, strict=True):
        if key in seen or (key in own and entry[1] != f"{key}: {key}"):
            continue
        seen.add(key)
        kept.append(entry)
    return kept


KEY, LABEL, NAMED, STATE, TIME, VOCABULARY, REFERENCE, LINK, REQUIRED, OTHER, TEXT, PART = range(12)  # ranks (`Budget`)
DROP = 99  # not in a list's items (the rules of `_Ranker.dropped`)


@dataclass(frozen=True)
class _Context:
    budget: Budget | None
    hints: Hints
    signals: frozenset[str]


class _Ranker:
    """A record's fields ranked (lower: kept first) by what the spec says of them."""

    def __init__(self, ctx: _Context, props: dict[str, Any], required: set[str], single: bool, level: int) -> None:
        self.ctx = ctx
        self.on = ctx.signals
        self.required = required
        self.single = single
        self.item = not single and level == 0
        hints = ctx.hints
        self.key = key_field(list(props), hints.keys) if "keys" in self.on and level == 0 else None
        self.address = key_field(list(props), hints.addresses) if "vocabulary" in self.on and level == 0 else None
        # what names the item for the free-text rule: a label, or a ticket's or message's `subject`/`summary`
        self.labelled = any(n in props and _is_scalar(props[n]) for n in (*LABELS, *_HEADINGS))
        self.first_id = next((n for n in IDS if n in props and _is_scalar(props[n])), None)
        links = [n for n, p in props.items() if _is_scalar(p) and _is_link(n, p)]
        self.objects = {n for n, p in props.items() if _object(p) is not None}
        self.link = min(links, key=lambda n: (n != "html_url", n != "web_url", n != "url")) if links else None

    def named(self, name: str) -> bool:
        hints = self.ctx.hints
        return ("parameters" in self.on and named_by(name, hints.filters)) or \
            ("words" in self.on and named_by(name, hints.words))

    def vocabulary(self, name: str) -> bool:
        return "vocabulary" in self.on and norm(name) in self.ctx.hints.vocabulary

    def scalar(self, name: str, prop: Any) -> int:
        if self.item and self.dropped(name, prop):
            return DROP
        if name in (self.key, self.address) or name in IDS or name in HANDLES:
            return KEY
        if name in LABELS:
            return LABEL
        if self.named(name):
            return NAMED
        if _is_state(name):
            return STATE
        annotations = "annotations" in self.on
        if _is_time(name) or name.endswith(("Time", "_time", "Timestamp")) \
                or (annotations and _annotation(prop, "format") in ("date-time", "date", "unix-time")):
            return TIME
        if "text" in self.on and self.item and self.labelled and name not in self.required \
                and _long_text(name, prop):
            return TEXT
        if annotations and _annotation(prop, "enum"):
            return STATE
        if self.vocabulary(name):
            return VOCABULARY
        if name in ("html_url", "web_url", "url"):
            return LINK
        if (annotations and name in self.required) or name in DETAILS or _is_count(name):
            return REQUIRED
        if "examples" in self.on and (_annotation(prop, "example") is not None or _annotation(prop, "examples")):
            return REQUIRED
        return OTHER

    def dropped(self, name: str, prop: Any) -> bool:
        """Whether a list item's scalar field is left out whatever the budget (see the module rule)."""
        on = self.on
        if "keys" in on and name in IDS and name not in HANDLES and name != (self.key or self.first_id):
            # one identifier: the one the API addresses items by (GitHub's `number`, not its `id`), else the first
            # (Zoom's `id`, not its `uuid`); a handle (Jira's `key`) is not an identifier only
            return True
        if "text" in on and self.labelled and name not in self.required and _long_text(name, prop):
            return True  # an optional free text beside a label (an issue's `body`): the item's own operation has it
        if "bookkeeping" in on and _bookkeeping(name, prop):
            return True
        if "given" in on and norm(name) in self.ctx.hints.given:
            return True  # the value the caller passed (a deploy's `site_id` in `/sites/{site_id}/deploys`)
        if "media" in on and _media(name):
            return True  # a picture or preview of the item (`screenshot_url`, `preview_url`)
        if "flags" in on and self.required and name not in self.required and _is(prop, "boolean") \
                and words(name)[0] in ("is", "has") and not self.named(name):
            return True  # a flag the record's `required` list leaves out (Slack's `is_frozen`): situational
        if "links" in on and _is_link(name, prop) and name != self.link and name[:-4] not in self.objects:
            return True
        if "checksums" in on and name != self.key and (name in ("sha1", "md5", "checksum") or name.endswith("_sha")):
            return True  # a content hash (a file's `sha1`, `merge_commit_sha`)
        if "foreign" in on and re.search(r"(_id|Id|_uuid|Uuid)$", name) and name != self.key \
                and not (name == self.address and self.first_id is None) and not _role_id(name):
            # another record's identifier (a deploy's `user_id`), as `*_ids` lists are. A field named like some
            # path parameter is the item's own key only when the item has no `id` of its own: a ticket's
            # `group_id` (`/groups/{group_id}`) is a group's, and was kept while its `requester_id` went
            return True
        return False

    def reference(self, name: str) -> int:
        return NAMED if self.named(name) else REFERENCE

    def part(self, name: str, shape: Any = None) -> int:
        """A nested object: ranked as what it holds when it holds a state, time, detail or link of its own
        (Slack's `topic.value`, GitHub's `pull_request.url`), else last."""
        if self.named(name):
            return NAMED
        if "nesting" in self.on and shape is not None:
            ranks = [self.scalar(n, p) for n, p in _properties(shape).items() if _is_scalar(p)
                     and (n in DETAILS or _is_state(n) or _is_time(n) or n in ("url", "html_url"))]
            if ranks:
                return max(min(ranks), REQUIRED)
        return PART

    def other(self, name: str) -> int:
        return NAMED if self.named(name) else OTHER


_BOOKKEEPING = re.compile(r"\bopaque\b|housekeeping|\binternal (?:version|use)|used by the server"
                          r"|populated by the system\. read-only", re.IGNORECASE)


def _bookkeeping(name: str, prop: Any) -> bool:
    """A value kept for the server's own use (an `etag`, a version counter, a description saying "opaque",
    "internal version", "housekeeping", "used by the server", "Populated by the system. Read-only.")."""
    described = _annotation(prop, "description")
    return name in ("etag", "sequence_id") or (isinstance(described, str) and bool(_BOOKKEEPING.search(described)))


_TEXT = ("body", "content", "text", "notes", "markdown", "html", "description")
_HEADINGS = ("subject", "summary", "headline")  # a label of a text's own (a ticket's, a message's, an issue's)


LONG_TEXT = 1_000  # a `maxLength` from which a string is free text (Stripe bounds its descriptions at 5,000)


def _long_text(name: str, prop: Any) -> bool:
    """Free text (an issue's `body`, a `description`): a string without format or enum, unbounded or bounded at
    `LONG_TEXT` characters or more, named so or described as markdown/HTML."""
    bound = _annotation(prop, "maxLength")
    if not _is(prop, "string") or _annotation(prop, "format") or _annotation(prop, "enum") \
            or (bound is not None and not (isinstance(bound, int) and bound >= LONG_TEXT)):
        return False
    described = _annotation(prop, "description")
    return words(name)[-1] in _TEXT or (isinstance(described, str) and bool(
        re.search(r"markdown|\bhtml\b|free[- ]form text", described, re.IGNORECASE)))


@dataclass(frozen=True)
class Budget:
    """At most this many fields per record: `single` on the one result object, `item` on a list's
    items, `part` on an object below a record; fields ranked as the module rule says (`_Ranker`),
    then in document order.

    Off by default: measured on the catalog every budget drops fields the hand-written prunes keep
    (the ranks cannot tell Stripe's `currency` or GitHub's `language` from the fields beside them);
    `catalog/_tools/measure_suggestions.py --budgets` prints the trade-off.
    """

    single: int
    item: int
    part: int


def grants_access(name: str, shape: Any) -> bool:
    """Whether a field is a link that lets whoever holds it in (never suggested).

    A link (`*url`, `*uri`, `*link`, `*href`, or `format: uri`) named `start_*` (a host's start
    link, Zoom's `start_url`) or `*signed*` (a presigned download), or whose description says it
    carries a token or must not be shared ("should not be shared", "anyone with this URL", "log in
    as", "token", "signature").
    """
    lowered = name.lower()
    link = lowered.endswith(("url", "uri", "link", "href")) or _annotation(shape, "format") in _URI_FORMATS
    if not link:
        return False
    if lowered.startswith("start_") or "signed" in lowered:
        return True
    description = _annotation(shape, "description")
    return isinstance(description, str) and bool(_GRANTS_ACCESS.search(description))


_URI_FORMATS = ("uri", "uri-reference", "url", "iri")
_GRANTS_ACCESS = re.compile(
    r"should not be shared|must not be shared|anyone with (?:this|the) (?:url|link)|log ?in (?:to [^.]* )?as"
    r"|\btokens?\b|\bsignature\b|pre-?signed", re.IGNORECASE)


def _is_id_list(name: str) -> bool:
    """A list of other records' identifiers (`shared_team_ids`, `volumeIds`): in a list's items, dropped."""
    return name.endswith(("_ids", "Ids", "_uuids"))


# The words that name another rendering of a field, as a prefix or a suffix: `body_html`, `html_body`,
# `plain_body`, `rendered_description`, `raw_subject`, `description_markdown`, `bodyHtml`. Preferred
# first when the plain field itself is absent (`plain_body` kept, `html_body` dropped).
_RENDERINGS = ("plain", "text", "markdown", "md", "raw", "rendered", "formatted", "html")


def _rendering(name: str, props: dict[str, Any]) -> bool:
    """Another rendering of a field beside it: a `_RENDERINGS` word before or after the field's own name
    (`body_html`, `body_text`, `html_body` and `plain_body` beside `body`; `raw_subject` beside
    `subject`); without the plain field, every rendering but the preferred one (`plain_body` beside
    `html_body`). A trial's Zendesk-shaped comments kept `body`, `html_body` and `plain_body`: the same
    text three times."""
    base = _rendered_base(name)
    if base is None or not _is(props[name], "string"):
        return False
    plain = {norm(n): n for n in props}
    if base in plain and plain[base] != name:
        return _is(props[plain[base]], "string")
    forms = sorted((n for n in props if _rendered_base(n) == base and _is(props[n], "string")),
                   key=lambda n: _RENDERINGS.index(_rendering_word(n)))
    return forms[0] != name


_NOT_TEXT = ("url", "uri", "link", "href", "id", "ids", "type", "path", "color", "colour")


def _rendering_word(name: str) -> str:
    parts = words(name)
    return parts[0] if parts[0] in _RENDERINGS else parts[-1]


def _rendered_base(name: str) -> str | None:
    """The field `name` is a rendering of, normalised (`norm`): `html_body` → `body`; None when it is none."""
    parts = words(name)
    if len(parts) < 2 or parts[-1] in _NOT_TEXT:  # `html_url` is a page, not the `url` rendered
        return None
    if parts[-1] in _RENDERINGS:
        return "".join(parts[:-1])
    if parts[0] in _RENDERINGS:
        return "".join(parts[1:])
    return None


def _expandable(shape: Any) -> bool:
    """A value that is an id or the record it names (Stripe's expandable fields: `anyOf: [string, Customer]`):
    besides null only a string or integer identifier and identified objects (`_identified`) or objects of
    undeclared fields (a recursion cut short). A value that may also
    be a list, a number, a boolean or a free-form object is content, not a reference (Blockfrost's required
    `json_metadata`, any JSON value: dropped from list items as another record's id, its endpoint returned hashes)."""
    types = _types(shape)
    if not ("object" in types and types & {"string", "integer"} and types <= {"object", "string", "integer"}):
        return False
    objects = [o for o in _options(shape) if "object" in _types(o)]
    # an object of undeclared fields is a record cut short (recursion: Stripe's `payment_method`, a `$ref` back to a
    # schema being read, is `{type: object}`); a map (`additionalProperties`) or unidentified fields are content
    return all(_identified(o) or not (_properties(o) or "additionalProperties" in o) for o in objects)


def _options(shape: Any) -> list[Any]:
    """A value's alternatives, nested `anyOf`s flattened (a schema without `anyOf` is its own one option)."""
    shape = _unwrap(shape)
    if not isinstance(shape, dict) or "anyOf" not in shape or "properties" in shape:
        return [shape]
    return [o for option in shape["anyOf"] for o in _options(option)]


def _success_flag(error: dict[str, Any], result: dict[str, Any]) -> bool:
    """Whether an error and a result share a boolean top-level field: one envelope whose flag tells them
    apart (Slack's `ok`), so an error can come with status 200. Sharing `type` or `message` proves nothing
    (Box's `ClientError` is `{type: error, message}` beside a comment's `{type: comment, message}`)."""
    mine = _properties(result)
    return any(_types(p) == {"boolean"} and _types(mine.get(n)) == {"boolean"} for n, p in _properties(error).items())


def _required(shape: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(shape, dict):
        for option in [shape, *shape.get("anyOf", ())]:
            if isinstance(option, dict) and isinstance(option.get("required"), list):
                found |= {str(n) for n in option["required"]}
    return found


def _annotation(shape: Any, keyword: str) -> Any:
    shape = _unwrap(shape)
    if not isinstance(shape, dict):
        return None
    if keyword in shape:
        return shape[keyword]
    for option in shape.get("anyOf", ()):
        found = _annotation(option, keyword)
        if found is not None:
            return found
    return None


def _nullable(shape: Any) -> bool:
    """Whether a value may be null: `null` among its types or its `anyOf` options (3.0 `nullable`)."""
    shape = _unwrap(shape)
    if not isinstance(shape, dict):
        return False
    raw = shape.get("type")
    if raw == "null" or (isinstance(raw, list) and "null" in raw):
        return True
    return any(isinstance(o, dict) and o.get("type") == "null" for o in shape.get("anyOf", ()))


def _carrier(shape: dict[str, Any]) -> bool:
    """Whether an unidentified object below the result is a wrapper that carries one list of records (Spotify's
    `tracks: {items: […], total, next, …}`), not a part of one record: it has exactly one field that is a list of
    objects. A pod's `spec` (`containers`, `volumes`, `tolerations`, …) or `status` has several; its
    `affinity` none. Only a list reached from the result through such wrappers is the result's own (a table)."""
    lists = {name for option in _alternatives(shape) for name, prop in _properties(option).items()
             if _is(prop, "array") and not _properties(prop) and _object(_items(prop)) is not None}
    return len(lists) == 1


def _deprecated(shape: Any) -> bool:
    return _annotation(shape, "deprecated") is True


def _follow(item: dict[str, Any], anchored: bool, level: int, wrappers: int, is_item: bool,
            single: bool, ctx: _Context, within: tuple[str, ...] = (), carried: bool = False) -> str | None:
    """The body for a nested object or list item (`None`: dropped); `within` and `carried` as `_walk`'s, its
    own name last."""
    if not anchored:
        if _identified(item):
            return _walk(item, anchored=True, level=0, wrappers=wrappers, single=single, ctx=ctx, within=within)  # the record itself
        if wrappers >= MAX_WRAPPERS:
            return None
        return _walk(item, anchored=False, level=0, wrappers=wrappers + 1, single=single, ctx=ctx, within=within,
                     carried=carried)
    if is_item and _every(_identified, item):  # a list of references: one identifying field (with what an id alone lacks)
        fields = _union(n for o in _alternatives(item) if _identified(o) for n in _named_items(o))
        if len(fields) == 1:
            return _field(fields[0])
        return "{" + ", ".join(f"{_field(n)}: {_field(n)}" for n in fields) + "}"
    if not any(_is_scalar(p) or _is_scalar_list(p) for p in _properties(item).values()):
        # a grouping (`networks: {v4, v6}`): takes no level
        return _walk(item, anchored=True, level=level, wrappers=wrappers, single=single, ctx=ctx, within=within)
    if level + 1 >= (MAX_NESTED if single else MAX_NESTED_IN_ITEMS):  # the last level: what says what state it is in
        options = _alternatives(item)
        fields = [f"{_field(n)}: {_field(n)}" for n in _union(n for o in options for n in _last_level(o))
                  if not _client_address(n, within)]
        fields += _union(f for o in options for f in _last_level_names(o, single or "foreign" not in ctx.signals))
        return "{" + ", ".join(fields) + "}" if fields else None
    return _walk(item, anchored=True, level=level + 1, wrappers=wrappers, single=single, ctx=ctx, within=within)


def _named_items(item: dict[str, Any]) -> list[str]:
    """What a list of identified objects keeps of each: its first handle or label (`labels[].name`); an item
    named by a bare identifier alone also keeps what says what it is — a `*name`/`*title`/`*label`/`*value`
    field (an attachment's `file_name`, a field's `display_value`) and `DETAILS` (a custom field's `value`): `custom_fields[].id` alone was a
    list of numbers (a trial's `[360000, 360001, …]`), the values that made them mean something dropped."""
    first = _names(item)[0]
    if first not in IDS:
        return [first]
    return [first, *(n for n, p in _properties(item).items() if _is_scalar(p) and n != first
                     and (n in DETAILS or n == "label" or words(n)[-1] in ("name", "filename", "title", "label",
                                                                            "value")))]


# What a record says of the client or person behind it — the address it came from (`ip_address`, `client_ip`),
# where it was (`latitude`, `longitude`, `location`) and what it ran (`user_agent`, a comment's `system.client`):
# personal data the model has no use for (a trial's suggestion kept a commenter's IP, then, once that went, their
# geolocation and browser, while dropping who wrote the comment). Addresses go within a client's or a person's
# record (`metadata.system`, `users[]`) or when the name says whose they are (`actor_ip`, `last_login_ip`);
# whereabouts and user agents within a client's (`metadata`, `system`, `device`, …), since a person's profile
# may state a `location` of their choosing. A server's own address (a droplet's `networks.v4[].ip_address`, a
# CDN's `origin.ip_address`) is content and stays.
_IP_NAMES = re.compile(r"^(?:ip|IP|ip_?[aA]ddress|ipAddr|remote_?[aA]ddr(?:ess)?)$|_ip$|_ip_address$|I[pP]$|I[pP]Address$")
_CLIENT_CONTAINERS = frozenset({"metadata", "meta", "system", "client", "request", "device", "browser", "session",
                                "context", "audit", "via"})
_PERSON_CONTAINERS = frozenset({"user", "member", "person", "people", "author", "actor", "requester", "submitter",
                                "reporter", "assignee", "owner", "creator", "sender", "visitor", "customer",
                                "contact", "participant", "attendee", "login", "signin"})
# the words that say an address is a person's or client's (`actor_ip`, `last_login_ip`, `current_sign_in_ip`)
_PERSON_WORDS = frozenset({"client", "remote", "user", "actor", "author", "requester", "visitor", "login", "sign",
                           "signin", "sender", "caller", "customer", "member", "browser", "device"})
_WHEREABOUTS = frozenset({"latitude", "longitude", "lat", "lng", "lon", "location", "geo", "geolocation",
                          "coordinates", "useragent", "client", "browser"})


def _container(word: str) -> str:
    """A container's name compared loosely, a plural as its singular (`users` → `user`, `members[]`)."""
    name = norm(word)
    return name[:-1] if name.endswith("s") and name not in ("status", "ips") else name


def _client_address(name: str, within: tuple[str, ...]) -> bool:
    """Whether `name` is what a record says of its client or person — an IP address, whereabouts or user agent
    (see `_CLIENT_CONTAINERS`, `_PERSON_CONTAINERS`): never suggested."""
    containers = {_container(w) for w in within}
    if _IP_NAMES.search(name):
        return bool(containers & (_CLIENT_CONTAINERS | _PERSON_CONTAINERS)) \
            or any(w.lower() in _PERSON_WORDS for w in words(name)[:-1])
    return norm(name) in _WHEREABOUTS and bool(containers & _CLIENT_CONTAINERS)


# The roles a person plays in a record (`author_id`, `requester_id`, `assignee_id`): which person did what is the
# record's own content — a comment list without `author_id` cannot tell the customer's words from the agent's.
_ROLES = frozenset({"author", "requester", "assignee", "assigned", "owner", "reporter", "submitter", "creator",
                    "sender", "recipient"})


def _role(name: str) -> bool:
    """A field naming the person in one of `_ROLES`, any word of its name (`owner`, `assigned_to`), or the one
    who did what a `*_by` name says (`created_by`, `approved_by`): an expandable one stays in list items."""
    parts = words(name)
    return any(w in _ROLES for w in parts) or (len(parts) >= 2 and parts[-1] == "by")


def _role_id(name: str) -> bool:
    """An identifier naming the person in a role (`_role`: `author_id`, `assigneeId`, `created_by_id`): kept in
    list items."""
    parts = words(name)
    return len(parts) >= 2 and parts[-1] in ("id", "uuid") and _role("_".join(parts[:-1]))


def _identified(shape: dict[str, Any]) -> bool:
    props = _properties(shape)
    return any(n in props and _is_scalar(props[n]) for n in (*IDS, *HANDLES, *LABELS))


def _labelled(shape: dict[str, Any]) -> bool:
    """An object with a scalar handle or label (`HANDLES`, `LABELS`: a stake pool's `metadata.name`)."""
    props = _properties(shape)
    return any(n in props and _is_scalar(props[n]) for n in (*HANDLES, *LABELS))


_MEDIA = ("avatar", "images", "icon", "icons", "logo", "thumbnail", "thumbnails", "screenshot", "preview",
          "picture", "photo", "photos", "banner")


def _media(name: str) -> bool:
    """A picture or preview (`screenshot_url`, `images`, `preview_url`, `avatar_url`): what a model reads no text in."""
    return any(w in _MEDIA for w in words(name))


def _bare_reference(shape: dict[str, Any]) -> bool:
    """Another record named by an identifier alone: besides its ids only its `type`, links and hashes
    (Box's `file_version: {id, type, sha1}`)."""
    scalars = [n for n, p in _properties(shape).items() if _is_scalar(p)]
    return _identified(shape) and _names(shape)[0] in IDS and all(
        n in IDS or n == "type" or n in ("sha1", "md5", "etag") or _is_link(n, None) or dropped_link(n) for n in scalars)


def _reference(shape: dict[str, Any]) -> bool:
    """An object standing for another resource: an identifier with a handle, label or link (a user, an album)."""
    props = {n for n, p in _properties(shape).items() if _is_scalar(p)}
    links = ("url", "href", "self", "uri", "html_url")
    return any(n in props for n in IDS) and any(n in props for n in (*HANDLES, *LABELS, *links))


def _names(shape: dict[str, Any], with_id: bool = False) -> list[str]:
    """An identified object's identifying fields: its first handle, else its first label and (`with_id`, or
    without a label) its first identifier."""
    props = {n: p for n, p in _properties(shape).items() if _is_scalar(p)}
    handle = next((n for n in HANDLES if n in props), None)
    label = next((n for n in LABELS if n in props and n != handle), None)
    ident = next((n for n in IDS if n in props), None) if handle is None and (label is None or with_id) else None
    return [n for n in (handle, label, ident) if n]


def _name(shape: dict[str, Any]) -> str:
    """The one field a reference in a list's items keeps: its first handle, else its first label, else its first
    identifier (a reference has one: `_reference`) — an email-address handle (`format: email`) only when there is no
    label (Box's `login` is contact data and its `name` names the person; without a name an address still reads
    better than a number)."""
    props = {n: p for n, p in _properties(shape).items() if _is_scalar(p)}
    label = next((n for n in LABELS if n in props), None)
    handle = next((n for n in HANDLES if n in props
                   and (label is None or _annotation(props[n], "format") != "email")), None)
    return handle or label or next(n for n in IDS if n in props)


def _identity(shape: dict[str, Any], times: bool = False) -> list[str]:
    """The fields a reference is reduced to: identity, state and details (in document order); on the one
    result object (`times`) also its identifier beside a label, and its times."""
    chosen = set(_names(shape, with_id=times))
    return [n for n, p in _properties(shape).items()
            if _is_scalar(p) and (n in chosen or n in DETAILS or _is_state(n)
                                  or (times and (_is_time(n) or bool(_annotation(p, "enum")))))]


def _last_level(shape: dict[str, Any]) -> list[str]:
    """The fields kept at the last level followed: identity, state, times and details."""
    chosen = set(_names(shape)) if _identified(shape) else set()
    links = [n for n, p in _properties(shape).items() if _is_scalar(p) and _is_link(n, p)]
    chosen |= set(sorted(links, key=lambda n: (n != "url", n != "html_url"))[:1])  # the one it stands for
    return [n for n, p in _properties(shape).items()
            if _is_scalar(p) and (n in chosen or n in DETAILS or _is_time(n) or _is_state(n)
                                  or n == "type" or n.endswith("address"))]



def _last_level_names(shape: dict[str, Any], bare_ids: bool = True) -> list[str]:
    """At the last level, identified objects and lists of them: their names (and an object's times);
    without `bare_ids` (in a list's items) not those named by an identifier alone (`commit.tree.sha`)."""
    found: list[str] = []
    for name, prop in _properties(shape).items():
        if _is(prop, "array"):
            item = _object(_items(prop))
            if item is not None and _identified(item) and (bare_ids or _names(item)[0] not in IDS):
                found.append(f"{_field(name)}: {_field(name)}[].{_field(_names(item)[0])}")
            continue
        inner = _object(prop)
        if inner is not None and _identified(inner) and (bare_ids or _names(inner)[0] not in IDS):
            subs = [n for n, p in _properties(inner).items() if _is_scalar(p) and (n in _names(inner) or _is_time(n))]
            found.append(f"{_field(name)}: {_field(name)}.{{" + ", ".join(f"{_field(n)}: {_field(n)}" for n in subs) + "}")
    return found


def _is_link(name: str, shape: Any) -> bool:
    """A link a part stands for (`pull_request.url`, `build_settings.repo_url`), never API navigation
    (`dropped_link`) nor one that lets its holder in (`grants_access`)."""
    return (name == "url" or name.endswith("_url")) and not dropped_link(name, beside_html_url=False) \
        and not grants_access(name, shape)


def _is_state(name: str) -> bool:
    return _STATE_NAME.match(name) is not None


def _is_count(name: str) -> bool:
    """A count (`comments_count`, `num_members`, `total`)."""
    parts = words(name)
    return parts[-1] in ("count", "total") or parts[0] in ("num", "number", "total") and len(parts) > 1


def _is_time(name: str) -> bool:
    return name.endswith("_at") or name.endswith("At") or name == "date"


def _key(name: str, sub: str) -> str:
    return _field(f"{name}_{sub}")


def _free_form(shape: Any) -> str | None:
    """`scalars` for a map of scalars, `any` for another free-form object, None otherwise."""
    if not isinstance(shape, dict) or _properties(shape):
        return None
    extra = shape.get("additionalProperties")
    if isinstance(extra, dict):
        return "scalars" if _is_scalar(extra) or _is_scalar_list(extra) else "any"
    return "any" if _is(shape, "object") else None


def _properties(shape: Any) -> dict[str, Any]:
    props: dict[str, Any] = {}
    if not isinstance(shape, dict):
        return props
    for option in shape.get("anyOf", [shape]) if "properties" not in shape else [shape]:
        if isinstance(option, dict):
            for name, prop in (option.get("properties") or {}).items():
                props.setdefault(name, prop)
    return props


def _items(shape: dict[str, Any]) -> Any:
    return shape.get("items")


def _unwrap(shape: Any) -> Any:
    """A typeless schema holding only `items` is read as its items' schema (Slack's wrapped objects)."""
    while isinstance(shape, dict) and "items" in shape and "type" not in shape and "properties" not in shape \
            and "anyOf" not in shape:
        shape = shape["items"]
    return shape


def _types(shape: Any) -> set[str]:
    shape = _unwrap(shape)
    if not isinstance(shape, dict):
        return set()
    raw = shape.get("type")
    types = {raw} if isinstance(raw, str) else set(raw or ())
    for option in shape.get("anyOf", ()):
        types |= _types(option)
    return types - {"null"}


def _is(shape: Any, kind: str) -> bool:
    return kind in _types(shape)


def _is_scalar(shape: Any) -> bool:
    types = _types(shape)
    return bool(types) and types <= {"string", "integer", "number", "boolean"}


def _is_scalar_list(shape: Any) -> bool:
    shape = _unwrap(shape)
    return _types(shape) == {"array"} and _is_scalar(shape.get("items"))


def _object(shape: Any) -> dict[str, Any] | None:
    """The object a value may be. Alternative objects are one object with all their fields, so no
    alternative's fields are dropped (a field is possible when any alternative has it): unidentified ones
    (DigitalOcean's `links.pages: anyOf: [{last, next}, {first, prev}, {}]`) are one object; identified ones
    are different records (a search's `oneOf: [Customer, Order, Product]`, Vercel's `gitSource` forms), so
    the merged object also lists them (`_ALTERNATIVES`) and each is walked as itself (`_walk`): merged, a
    product's `sku` would be ranked as one of a customer's fields. Taking the first alternative only (before)
    kept a customer's fields and made an order `{id, status, created_at}` and a product `{name}`."""
    shape = _unwrap(shape)
    if not isinstance(shape, dict):
        return None
    if "properties" in shape and (not _types(shape) or _is(shape, "object")):
        return shape
    found = [o for o in (_object(option) for option in shape.get("anyOf", ())) if o is not None]
    if len(found) < 2:
        return found[0] if found else None
    merged: dict[str, Any] = {"type": "object", "properties": {}}
    for option in found:
        for name, prop in option["properties"].items():
            merged["properties"].setdefault(name, prop)
    if any(_identified(o) for o in found):  # an object of no fields (GitHub's `empty-object`) is no record
        records = [a for o in found for a in _alternatives(o) if _properties(a)]
        if len(records) == 1:
            return records[0]
        merged[_ALTERNATIVES] = records
    return merged


_ALTERNATIVES = "x-alternatives"  # on a merged object (`_object`): the records it may be, each walked as itself


def _alternatives(shape: dict[str, Any]) -> list[dict[str, Any]]:
    """The records an object may be (`_object`): its alternatives, or itself."""
    found = shape.get(_ALTERNATIVES)
    return found if isinstance(found, list) and found else [shape]


def _every(test: Any, shape: dict[str, Any]) -> bool:
    """`test` holds for every record the object may be: a union is reduced to a reference's name (or dropped as
    a bare one) only when each alternative is one — else the alternative that is not would lose its fields
    (Vercel's project `link` forms, one with a `slug`, were reduced to `link.slug`)."""
    return all(test(o) for o in _alternatives(shape))


def _union(values: Any) -> list[str]:
    """Each value once, in the order first met (what several alternatives keep, as one list)."""
    return list(dict.fromkeys(values))


def _field(name: str) -> str:
    return name if _IDENT.match(name) else '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'

