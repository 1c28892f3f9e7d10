"""Rate-limit identity: what keys a limit's buckets across reloads and upgrades, and which limits share one basis.

A bucket outlives a reload while its limit stays the same limit (README "Rate limits"): one concept,
used by the gate (bucket keys), `mcprt validate` (twins need a name) and `mcprt diff` (limits are
paired as their buckets are).
"""

from __future__ import annotations

import hashlib
import json

from ..manifest.policy import Policy, RateLimit


BUCKET = "rl\x1f"  # a bucket's key is BUCKET + identity + "\x1f" + scope (`PolicyGate._take_tokens`)


def _hashed(described: list[object]) -> str:
    return hashlib.sha256(json.dumps(described, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:24]


def _by_position(bases: list[str]) -> list[str]:
    """`base`, `base#2`, … in list order (how the versions before count numbering told twins apart)."""
    seen: dict[str, int] = {}
    numbered = []
    for base in bases:
        seen[base] = n = seen.get(base, 0) + 1
        numbered.append(base if n == 1 else f"{base}#{n}")
    return numbered


def limit_basis(limit: RateLimit) -> str:
    """What makes `limit` the same limit across reloads, hashed (canonical JSON; 24 hex digits): its
    `name` and `per` when named, else its `match`, `per` and window (the rate's unit in seconds:
    `10/min` → 60), so that a burst 10/min and a daily 1000/day over the same calls stay apart wherever
    they sit in the list. Its count is not part of it: `10/min` → `20/min` keeps the bucket."""
    return _hashed([limit.name, limit.per] if limit.name else [limit.match.model_dump(mode="json"), limit.per,
                                                               limit.limit[1]])


def limit_identities(policy: Policy) -> list[str]:
    """One identity per `policy.rate_limits` entry, keying its buckets: `limit_basis`; limits sharing a
    basis (unnamed twins: the same match, per and window) are numbered by count, lowest first — `base`,
    `base#2`, … — and only equal counts by position. So reordering twins hands no bucket over: each keeps
    the one of the limit with its count (position is what a reorder changes; the count is what tells two
    limits over the same calls in the same window apart). Equal-count twins are the same limit twice,
    so which holds which bucket does not matter. A count moved past a twin's, or a lower twin added,
    renumbers them: `limit_twins` makes `mcprt validate` warn, and `mcprt diff` pairs limits by this."""
    limits = policy.rate_limits
    bases = [limit_basis(limit) for limit in limits]
    ranked = sorted(range(len(limits)), key=lambda i: (bases[i], limits[i].limit, i))
    identities = [""] * len(limits)
    for i, identity in zip(ranked, _by_position([bases[i] for i in ranked])):
        identities[i] = identity
    return identities


def legacy_heads(policy: Policy) -> list[tuple[str, ...]]:
    """Per `policy.rate_limits` entry, the heads (key before `\x1f<scope>`) earlier versions kept the same
    limit's buckets under, newest first, so that an upgrade does not hand every caller a fresh allowance
    (the shared state reads one once, when the current key has no bucket, and deletes it:
    `PolicyState.bucket_take`):

    - 2026-12-01, before twins were numbered by count: `limit_basis` numbered by position;
    - 2026-12-01, before the window was part of it: `name`+`per`, else `match`+`per`, by position;
    - before 2026-12-01: the label (`name` or `rate_limits[N]`) and the rate (`10/60`), its bucket holding
      the tokens left, not those spent.

    A head that is any entry's current one is left out: it is that entry's bucket now (twins whose
    position order differed from their count order may so get each other's bucket once, at the upgrade)."""
    limits = policy.rate_limits
    current = {BUCKET + identity for identity in limit_identities(policy)}
    by_window = _by_position([limit_basis(limit) for limit in limits])
    by_match = _by_position([_hashed([limit.name, limit.per] if limit.name else [limit.match.model_dump(mode="json"),
                                                                                 limit.per]) for limit in limits])
    heads = []
    for i, limit in enumerate(limits):
        by_rate = f"{BUCKET}{limit.name or f'rate_limits[{i}]'}\x1f{limit.limit[0]}/{limit.limit[1]:g}"
        found = dict.fromkeys(h for h in (BUCKET + by_window[i], BUCKET + by_match[i], by_rate) if h not in current)
        heads.append(tuple(found))
    return heads


def limit_twins(policy: Policy) -> list[tuple[int, int]]:
    """(index, earlier index) of each unnamed rate limit with the same `match`, `per` and window as an
    earlier unnamed one: only their counts tell their buckets apart (`limit_identities`), so a count
    changed past the other's, or a twin added, hands one's bucket to the other at a reload (they need a
    `name`)."""
    first: dict[str, int] = {}
    twins = []
    for i, limit in enumerate(policy.rate_limits):
        if limit.name:
            continue
        base = limit_basis(limit)
        if base in first:
            twins.append((i, first[base]))
        else:
            first[base] = i
    return twins
