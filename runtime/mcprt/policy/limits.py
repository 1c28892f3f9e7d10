"""Rate-limit identity: what keys a limit's buckets across reloads, and which limits share one basis.

A bucket outlives a reload while its limit stays the same limit (README "Rate limits"): one concept,
used by the gate (bucket keys), `mcprt validate` (twins need a name) and `mcprt diff` (limits are
paired as their buckets are).
"""

from __future__ import annotations

import hashlib
import json

from ..manifest.policy import Policy, RateLimit


def limit_basis(limit: RateLimit) -> str:
    """What makes `limit` the same limit across reloads, hashed (canonical JSON; 24 hex digits): its
    `name` and `per` when named, else its `match`, `per` and window (the rate's unit in seconds:
    `10/min` → 60), so that a burst 10/min and a daily 1000/day over the same calls stay apart wherever
    they sit in the list. Its count is not part of it: `10/min` → `20/min` keeps the bucket."""
    described = [limit.name, limit.per] if limit.name else [limit.match.model_dump(mode="json"), limit.per,
                                                            limit.limit[1]]
    return hashlib.sha256(json.dumps(described, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:24]


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
    identities = [""] * len(limits)
    seen: dict[str, int] = {}
    for i in sorted(range(len(limits)), key=lambda i: (bases[i], limits[i].limit, i)):
        seen[bases[i]] = n = seen.get(bases[i], 0) + 1
        identities[i] = bases[i] if n == 1 else f"{bases[i]}#{n}"
    return identities


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
