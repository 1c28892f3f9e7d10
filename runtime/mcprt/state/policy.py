"""`PolicyState` in Redis: approvals, rate-limit buckets and pauses shared by every replica.

Round trips per call (the scale-out issue's budget): a call that matches no rate limit and needs no
approval makes none — pauses are read from a local copy kept current by Redis pub/sub (and re-read
every `pause_refresh()` seconds in case a message was missed); a rate-limited call makes exactly one
(`bucket_take`, an atomic Lua script timed by the Redis server's clock, so replicas agree).

Approvals are JSON records (`ApprovalRequest.to_json`) under `<prefix>approval:<id>`, indexed by
key (`<prefix>approval-key:<key>`) and in a sorted set by creation time. Creating and deciding use
optimistic transactions (WATCH/MULTI) so concurrent replicas never lose a vote, and the settling
rule is the one `ApprovalRequest.settle` defines. Each recorded vote (settling or not) is published on
`<prefix>events`, which wakes `approval_wait` on every replica at once (with a one-second re-read as a safety net). A
request that expires undecided is claimed by one replica (`SET NX` on `<prefix>approval-expired:<id>`),
which publishes its `approval_expired` decision.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..observability.log import Outage, log_event
from ..policy.state import ApprovalRequest, Vote, claim, first_paused, pause_reason_of, unclaim
from ..settings import env_limit
from ..stopping import stop_tasks
from .redis_client import events_channel, guarded, listen

if TYPE_CHECKING:
    from redis.asyncio import Redis

PAUSE_REFRESH = 5.0  # seconds between full re-reads of the pause set: default of MCPRT_PAUSE_REFRESH_INTERVAL
# Fields of the pauses hash that are not targets start with "~" (no target does: `policy.state`).
# `~kept` holds the hash's generation: a random id set by the first replica that reads the hash
# without one, i.e. after Redis lost its data (a restart without persistence, FLUSHALL, eviction) or
# when an older version wrote it. Each replica remembers the generation its copy came from; finding
# another one, it merges its copy in (`_MERGE`) — each replica once per loss, even when a pause, a
# resume or a replica started since (holding nothing) wrote to the new hash first.
PAUSES_KEPT = "~kept"
# `~resumed:<target>`: written with the resume that deleted the target (one script), cleared by a new
# pause of it; a merge skips tombstoned targets, so a replica's stale copy never undoes a resume.
RESUMED = "~resumed:"
# `~since`: the Redis time (s) the hash began (its first write after a loss). Every tombstone in it
# is younger, so while the hash is younger than RESUMED_TTL none of them has been dropped yet.
PAUSES_SINCE = "~since"
# Its value is the Redis time (s) of the resume. A tombstone only has to outlive the replica copies
# read before that resume, and a replica merges its copy only when it read it less than half this
# ago (each re-reads the pause set at least every eighth of it, idle or not) or the hash is younger
# than this (`~since`: none of its tombstones is gone yet): so one older than this meets no copy it
# must stop, and `pause_set` drops it. Without the bound there was one per
# target ever resumed, forever.
RESUMED_TTL = 86_400.0  # seconds
WAIT_POLL = 1.0  # seconds between re-reads while waiting for a decision
KEEP_AFTER_EXPIRY = 3600  # seconds a settled/expired approval stays readable

# KEYS[1] = bucket key, KEYS[2..] = the keys earlier versions kept it under; ARGV = rate (tokens/s),
# burst. Returns {allowed, retry_after_ms}. The bucket holds the tokens spent, not those left
# (`PolicyState.bucket_take`: a changed limit keeps them counted). Without a bucket at KEYS[1], the first
# earlier key holding one is read — `spent`, or the oldest format's tokens left (`tokens`, of the same
# burst: its key held the count) — and every earlier key found is deleted: read once.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'spent', 'at')
local spent = tonumber(state[1])
local at = tonumber(state[2])
if spent == nil then
  for i = 2, #KEYS do
    local old = redis.call('HMGET', KEYS[i], 'spent', 'at', 'tokens')
    local old_at = tonumber(old[2])
    if old_at ~= nil then
      if spent == nil then
        if tonumber(old[1]) ~= nil then
          spent = tonumber(old[1]); at = old_at
        elseif tonumber(old[3]) ~= nil then
          spent = math.max(0, burst - tonumber(old[3])); at = old_at
        end
      end
      redis.call('DEL', KEYS[i])
    end
  end
end
if spent == nil then spent = 0; at = now end
spent = math.max(0, spent - math.max(0, now - at) * rate)
local allowed = 0
local retry_ms = 0
if spent + 1 <= burst then
  spent = spent + 1
  allowed = 1
else
  retry_ms = math.ceil((spent + 1 - burst) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'spent', tostring(spent), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(spent / rate * 1000) + 1000)
return {allowed, retry_ms}
"""

# KEYS[1] = the pauses hash; ARGV[1] = a new generation (used when the hash has none), ARGV[2] =
# RESUMED_TTL (s), ARGV[3] = '1' when the copy was read less than half of it ago, then target, JSON
# info, target, JSON info, … (a replica's copy). Atomic, so a resume between the read that saw
# another generation and this merge still wins. The copy is written only where no tombstone it must
# yield to can be gone yet (`_merge_pauses`). Returns {generation, targets written back, 1 if the
# copy was used}.
_MERGE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local generation = redis.call('HGET', KEYS[1], '""" + PAUSES_KEPT + """')
if not generation then
  generation = ARGV[1]
  redis.call('HSET', KEYS[1], '""" + PAUSES_KEPT + """', generation)
  redis.call('HSETNX', KEYS[1], '""" + PAUSES_SINCE + """', tostring(now))
end
local since = tonumber(redis.call('HGET', KEYS[1], '""" + PAUSES_SINCE + """'))
local used = ARGV[3] == '1' or (since ~= nil and now - since <= tonumber(ARGV[2]))
local written = {}
if used then
  for i = 4, #ARGV, 2 do
    if redis.call('HEXISTS', KEYS[1], '""" + RESUMED + """' .. ARGV[i]) == 0
       and redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then
      table.insert(written, ARGV[i])
    end
  end
end
return {generation, written, used and 1 or 0}
"""


# KEYS[1] = the pauses hash; ARGV = target, JSON info ("" to resume), RESUMED_TTL (s). The pause or the
# resume (with its tombstone, atomically: no merge slips in between), then tombstones older than the
# TTL go; an older version's tombstone ("1") gets the time now, so it lives one TTL from here.
_SET_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local tombstone = '""" + RESUMED + """'
if redis.call('HEXISTS', KEYS[1], '""" + PAUSES_KEPT + """') == 0 then  -- a fresh hash: when it began
  redis.call('HSETNX', KEYS[1], '""" + PAUSES_SINCE + """', tostring(now))
end
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('HDEL', KEYS[1], tombstone .. ARGV[1])
else
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('HSET', KEYS[1], tombstone .. ARGV[1], tostring(now))
end
local ttl = tonumber(ARGV[3])
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(field, 1, #tombstone) == tombstone then
    local raw = redis.call('HGET', KEYS[1], field)
    local at = tonumber(raw)
    if raw == '1' or at == nil then  -- '1': an older version's tombstone (tonumber reads it as 1970)
      redis.call('HSET', KEYS[1], field, tostring(now))
    elseif now - at > ttl then
      redis.call('HDEL', KEYS[1], field)
    end
  end
end
return 1
"""


def pause_refresh() -> float:
    """Seconds between two full re-reads of the pause set by a replica that serves calls
    (`MCPRT_PAUSE_REFRESH_INTERVAL`, a positive number, at least 0.1 — `envcheck.MINIMUMS` —, default
    `PAUSE_REFRESH`). Pub/sub brings
    pauses and resumes at once; this bounds how long a replica that missed a message (its subscription
    was down) or whose Redis lost its data keeps its old copy. Each re-read is one Redis round trip per
    replica per interval under traffic."""
    return env_limit("MCPRT_PAUSE_REFRESH_INTERVAL", PAUSE_REFRESH)


class RedisPolicyState:
    """`mcprt.policy.state.PolicyState` on a shared Redis (see the module docstring)."""

    outlives_upgrades = True  # buckets an earlier version wrote may be here (`bucket_take`'s `legacy`)

    def __init__(self, client: Redis, *, prefix: str, resumed_ttl: float = RESUMED_TTL) -> None:
        self._client = client
        self._resumed_ttl = resumed_ttl  # seconds a resume's tombstone lives (`RESUMED_TTL`)
        self._copy_read = float("-inf")  # time.monotonic() of the last full read of the pause set
        self._refresher: asyncio.Task[None] | None = None
        self._prefix = prefix
        self._channel = events_channel(prefix)
        # handlers of the other kinds of message on the events channel (kind → handler(value)), e.g.
        # "session-ended" (`state.sessions`): one subscription per replica carries them all
        self.on_event: dict[str, Callable[[str], None]] = {}
        self._take = client.register_script(_TAKE)
        self._merge = client.register_script(_MERGE)
        self._set_pause = client.register_script(_SET_PAUSE)
        self._pauses: dict[str, dict[str, Any]] = {}
        self._pauses_read = 0.0
        self._pause_refresh = pause_refresh()  # read once: `pause_check` runs on every call
        self._pauses_generation: bytes | None = None  # the `~kept` of the hash `_pauses` was read from
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._expiry_tried: set[str] = set()  # ids this replica already tried to claim (won or lost)
        self._listener: asyncio.Task[None] | None = None
        self._rereads: set[asyncio.Task[None]] = set()  # re-reads a "pauses" message started (stopped by aclose)
        # the periodic and per-call re-reads fail together while Redis is away: one line when they
        # start failing and one when they work again, not one per attempt (720 an hour per replica)
        self._refreshes = Outage("pauses not refreshed: this replica keeps its last copy until the shared "
                                 "state answers", "pauses refreshed again")

    # --- keys ---------------------------------------------------------------------------------

    def _k(self, *parts: str) -> str:
        return self._prefix + ":".join(parts)

    # --- pub/sub ------------------------------------------------------------------------------

    async def read(self) -> None:
        """Read the pauses once, listening for nothing: all a one-shot call needs (`mcprt.oneshot`), which
        checks them once and ends. A serving replica calls `start`."""
        await self._read_pauses()

    async def start(self) -> None:
        """Read the pauses and start listening for changes made by any replica."""
        await self.read()
        if self._listener is None:
            self._listener = asyncio.get_running_loop().create_task(self._listen(),
                                                                    name="shared state events listener")
        if self._refresher is None:
            self._refresher = asyncio.get_running_loop().create_task(self._keep_copy_fresh(),
                                                                     name="pause copy refresher")

    async def _keep_copy_fresh(self) -> None:
        """Re-read the pause set every eighth of `RESUMED_TTL` even when no call asks (an idle
        replica's copy must stay young enough to be merged back after a loss: `_merge_pauses`)."""
        while True:
            await asyncio.sleep(self._resumed_ttl / 8)
            await self._read_pauses_quietly()

    async def _listen(self) -> None:
        # re-reading the pauses on each (re)subscription catches anything missed meanwhile
        await listen(self._client, self._channel, self._on_message, name="shared state events",
                     on_subscribed=self._read_pauses)

    def _on_message(self, data: Any) -> None:
        text = data.decode() if isinstance(data, bytes) else str(data)
        kind, _, value = text.partition(" ")
        if kind == "approval":
            for event in self._waiters.get(value, ()):
                event.set()
        elif kind == "pauses":
            self._pauses_read = 0.0  # re-read on the next check
            reread = asyncio.get_running_loop().create_task(self._read_pauses_quietly(), name="pause re-read")
            self._rereads.add(reread)  # kept, so `aclose` stops it: left alone it outlived the client
            reread.add_done_callback(self._rereads.discard)
        elif kind in self.on_event:
            self.on_event[kind](value)

    async def _publish(self, message: str) -> None:
        await guarded(self._client.publish(self._channel, message))

    # --- rate limits --------------------------------------------------------------------------

    async def bucket_take(self, key: str, rate: float, burst: int, legacy: tuple[str, ...] = ()) -> tuple[bool, float]:
        keys = [self._k("bucket", k) for k in (key, *legacy)]
        allowed, retry_ms = await guarded(self._take(keys=keys, args=[rate, burst]))
        return bool(allowed), float(retry_ms) / 1000.0

    # --- approvals ----------------------------------------------------------------------------

    async def _load(self, approval_id: str) -> ApprovalRequest | None:
        raw = await guarded(self._client.get(self._k("approval", approval_id)))
        return None if raw is None else ApprovalRequest.from_json(json.loads(raw))

    async def now(self) -> float:
        """The Redis server's clock (TIME), so replicas whose own clocks disagree agree on approvals."""
        seconds, micros = await guarded(self._client.time())
        return float(seconds) + float(micros) / 1_000_000

    def _ttl_ms(self, request: ApprovalRequest, now: float) -> int:
        return max(1000, int((request.expires - now + KEEP_AFTER_EXPIRY) * 1000))

    async def approval_create(self, request: ApprovalRequest) -> ApprovalRequest:
        key_ref = self._k("approval-key", request.key)
        result: list[ApprovalRequest] = []
        now = await self.now()

        async def create(pipe: Any) -> None:
            existing_id = await pipe.get(key_ref)
            if existing_id is not None:
                raw = await pipe.get(self._k("approval", existing_id.decode()))
                if raw is not None:
                    existing = ApprovalRequest.from_json(json.loads(raw))
                    if existing.status == "pending" and existing.expires >= now:
                        result.append(existing)
                        pipe.multi()
                        return
            pipe.multi()
            ttl = self._ttl_ms(request, now)
            pipe.set(self._k("approval", request.id), json.dumps(request.to_json()), px=ttl)
            pipe.set(key_ref, request.id, px=ttl)
            pipe.zadd(self._k("approvals"), {request.id: request.created})
            result.append(request)

        await guarded(self._client.transaction(create, key_ref))
        return result[-1]

    async def approval_get(self, approval_id: str) -> ApprovalRequest | None:
        return await self._load(approval_id)

    async def approval_find(self, key: str) -> ApprovalRequest | None:
        approval_id = await guarded(self._client.get(self._k("approval-key", key)))
        if approval_id is None:
            return None
        request = await self._load(approval_id.decode())
        return request if request is not None and request.expires >= await self.now() else None

    async def _indexed(self) -> list[ApprovalRequest]:
        """Every stored request (expired ones too, for KEEP_AFTER_EXPIRY), oldest first; ids whose
        record Redis already dropped leave the index."""
        index = self._k("approvals")
        ids = [i.decode() for i in await guarded(self._client.zrange(index, 0, -1))]
        if not ids:
            return []
        raws = await guarded(self._client.mget([self._k("approval", i) for i in ids]))
        gone = [i for i, raw in zip(ids, raws) if raw is None]
        if gone:
            await guarded(self._client.zrem(index, *gone))
        return [ApprovalRequest.from_json(json.loads(raw)) for raw in raws if raw is not None]

    async def approval_list(self, *, pending_only: bool = True) -> list[ApprovalRequest]:
        requests = await self._indexed()
        now = await self.now()
        live = [r for r in requests if r.expires >= now]
        return [r for r in live if r.status == "pending" or not pending_only]

    async def approval_decide(self, approval_id: str, vote: Vote) -> ApprovalRequest | None:
        record_key = self._k("approval", approval_id)
        result: list[ApprovalRequest | None] = []
        changed: list[bool] = []
        now = await self.now()

        async def decide(pipe: Any) -> None:
            raw = await pipe.get(record_key)
            request = None if raw is None else ApprovalRequest.from_json(json.loads(raw))
            if request is None or request.expires < now:
                result.append(None)
                pipe.multi()
                return
            recorded = request.status == "pending" and all(v.voter != vote.voter for v in request.votes)
            if recorded:
                request.votes.append(vote)
                request.settle(now)
            pipe.multi()
            pipe.set(record_key, json.dumps(request.to_json()), px=self._ttl_ms(request, now))
            result.append(request)
            changed.append(recorded)

        await guarded(self._client.transaction(decide, record_key))
        request = result[-1]
        if request is not None and changed and changed[-1]:
            await self._publish(f"approval {approval_id}")
        return request

    async def approval_close(self, approval_id: str, reason: str) -> ApprovalRequest | None:
        def close(request: ApprovalRequest, now: float) -> None:
            request.status, request.decided, request.reason = "closed", now, reason

        return await self._change_pending(approval_id, close)

    async def approval_use(self, approval_id: str, call_id: str | None,
                           session_id: str | None = None) -> tuple[ApprovalRequest | None, bool]:
        """`PolicyState.approval_use` in one optimistic transaction (WATCH/MULTI on the record): of two
        replicas claiming one approval at once, the second's transaction fails, re-reads it used, and leaves it."""
        record_key = self._k("approval", approval_id)
        result: list[tuple[ApprovalRequest | None, bool]] = []
        now = await self.now()

        async def use(pipe: Any) -> None:  # run again from the top when another replica wrote the record meanwhile
            raw = await pipe.get(record_key)
            request = None if raw is None else ApprovalRequest.from_json(json.loads(raw))
            pipe.multi()
            if request is None or request.expires < now:
                result.append((None, False))
                return
            won = claim(request, call_id, now, session_id)
            if won:
                pipe.set(record_key, json.dumps(request.to_json()), px=self._ttl_ms(request, now))
            result.append((request, won))

        await guarded(self._client.transaction(use, record_key))
        return result[-1]

    async def approval_unuse(self, approval_id: str, call_id: str) -> bool:
        """`PolicyState.approval_unuse` in one optimistic transaction on the record, as `approval_use`: the
        compare on `used_by` and the write are one step, so a use another replica's call took is never undone."""
        record_key = self._k("approval", approval_id)
        result: list[bool] = []
        now = await self.now()

        async def unuse(pipe: Any) -> None:
            raw = await pipe.get(record_key)
            request = None if raw is None else ApprovalRequest.from_json(json.loads(raw))
            pipe.multi()
            done = request is not None and request.expires >= now and unclaim(request, call_id)
            if done:
                assert request is not None
                pipe.set(record_key, json.dumps(request.to_json()), px=self._ttl_ms(request, now))
            result.append(done)

        await guarded(self._client.transaction(unuse, record_key))
        return result[-1]

    async def approval_requorum(self, approval_id: str, required: int, approvers: list[str]) -> ApprovalRequest | None:
        def requorum(request: ApprovalRequest, now: float) -> None:
            request.required, request.approvers = required, list(approvers)
            request.settle(now)

        return await self._change_pending(approval_id, requorum)

    async def _change_pending(self, approval_id: str,
                              change: Callable[[ApprovalRequest, float], None]) -> ApprovalRequest | None:
        """Apply `change` to a pending, unexpired request in one optimistic transaction (WATCH/MULTI) and
        wake every replica's waiters; None (nothing written) when it is not such a request."""
        record_key = self._k("approval", approval_id)
        result: list[ApprovalRequest | None] = []
        now = await self.now()

        async def apply(pipe: Any) -> None:
            raw = await pipe.get(record_key)
            request = None if raw is None else ApprovalRequest.from_json(json.loads(raw))
            pipe.multi()
            if request is None or request.expires < now or request.status != "pending":
                result.append(None)
                return
            change(request, now)
            pipe.set(record_key, json.dumps(request.to_json()), px=self._ttl_ms(request, now))
            result.append(request)

        await guarded(self._client.transaction(apply, record_key))
        if result[-1] is not None:
            await self._publish(f"approval {approval_id}")
        return result[-1]

    async def approval_claim_expired(self) -> list[ApprovalRequest]:
        """Pending records past `expires`, each claimed by one replica only: a `SET NX` on
        `<prefix>approval-expired:<id>` decides which replica publishes the expiry (the first to sweep)."""
        now = await self.now()
        claimed: list[ApprovalRequest] = []
        indexed = await self._indexed()
        # A claim is tried once per replica: the record stays indexed for an hour past `expires`.
        self._expiry_tried &= {request.id for request in indexed}
        for request in indexed:
            if request.status != "pending" or request.expires >= now or request.id in self._expiry_tried:
                continue
            self._expiry_tried.add(request.id)
            # Outlives the record (kept KEEP_AFTER_EXPIRY past `expires`), so no replica claims it twice.
            won = await guarded(self._client.set(self._k("approval-expired", request.id), "1", nx=True,
                                                     px=2 * KEEP_AFTER_EXPIRY * 1000))
            if won:
                claimed.append(request)
        return claimed

    async def approval_wait(self, approval_id: str, timeout: float, *, seen: int) -> ApprovalRequest | None:
        deadline = time.monotonic() + timeout
        event = asyncio.Event()
        self._waiters.setdefault(approval_id, set()).add(event)
        try:
            while True:
                request = await self._load(approval_id)
                left = deadline - time.monotonic()
                if request is None or request.status != "pending" or len(request.votes) > seen or left <= 0:
                    return request
                event.clear()
                try:
                    await asyncio.wait_for(event.wait(), min(WAIT_POLL, left))
                except TimeoutError:
                    pass
        finally:
            waiters = self._waiters.get(approval_id)
            if waiters is not None:
                waiters.discard(event)
                if not waiters:
                    del self._waiters[approval_id]

    # --- pauses -------------------------------------------------------------------------------

    async def _read_pauses(self) -> None:
        raw = await guarded(self._client.hgetall(self._k("pauses")))
        generation = raw.get(PAUSES_KEPT.encode())
        if generation is None or generation != self._pauses_generation:
            await self._merge_pauses()
            raw = await guarded(self._client.hgetall(self._k("pauses")))
        self._pauses = _pauses_of(raw)
        self._pauses_read = self._copy_read = time.monotonic()

    async def _merge_pauses(self) -> None:
        """Write this replica's copy of the pauses into a hash of another generation than the one the
        copy came from (Redis lost its data): a kill switch must not turn off by itself. Per target only
        where the hash has neither that target (HSETNX: a pause written meanwhile is kept) nor its
        resume tombstone (a resume made meanwhile is kept). Logged by each replica that wrote something."""
        # A copy read long ago may predate a resume whose tombstone is gone by now (`RESUMED_TTL`) and
        # undo it. But tombstones only exist in the new hash, all younger than it: while the hash is
        # younger than the TTL none is gone, however old the copy (a long outage before the loss does
        # not turn the kill switches off). Both judged in the script, on Redis's clock.
        age = time.monotonic() - self._copy_read
        args = [secrets.token_hex(8), self._resumed_ttl, "1" if age < self._resumed_ttl / 2 else "0"]
        args += [part for target, info in self._pauses.items() for part in (target, json.dumps(info))]
        self._pauses_generation, written, used = await guarded(self._merge(keys=[self._k("pauses")], args=args))
        if self._pauses and not used:
            log_event("pauses not restored from this replica's copy: read too long before the loss", logging.WARNING,
                      targets=",".join(sorted(self._pauses)), age_s=round(age))
        if written:
            log_event("pauses lost from the policy state; restored from this replica's copy", logging.WARNING,
                      targets=",".join(sorted(t.decode() for t in written)))
            await self._publish("pauses changed")

    async def _read_pauses_quietly(self) -> None:
        try:
            await self._read_pauses()
        except Exception as exc:
            self._refreshes.failed(error=str(exc))
        else:
            self._refreshes.worked()

    async def pause_set(self, target: str, paused: bool, *, by: str, reason: str | None = None) -> None:
        info = json.dumps({"by": by, "since": time.time(), "reason": reason}) if paused else ""
        await guarded(self._set_pause(keys=[self._k("pauses")], args=[target, info, self._resumed_ttl]))
        await self._read_pauses()
        await self._publish("pauses changed")

    async def pause_list(self) -> dict[str, dict[str, Any]]:
        await self._read_pauses()
        return {target: dict(info) for target, info in self._pauses.items()}

    async def pause_check(self, targets: tuple[str, ...]) -> str | None:
        """From the local copy (no round trip); re-read when older than `pause_refresh()`. While Redis
        is away the last copy stays in force (and pub/sub brings changes once it is back)."""
        if time.monotonic() - self._pauses_read > self._pause_refresh:
            self._pauses_read = time.monotonic()  # one attempt per period, not one per call
            await self._read_pauses_quietly()
        return first_paused(self._pauses, targets)

    async def pause_reason(self, target: str) -> str | None:
        return pause_reason_of(self._pauses, target)

    async def aclose(self) -> None:
        """Stop listening, refreshing and re-reading, within `stopping.STOP_WITHIN` seconds even when a
        task is mid-command (`stopping.stop_tasks`: a cancel lost in redis-py's send hung this for
        ever), then wake every `approval_wait`. The client is the caller's to close."""
        tasks, self._listener, self._refresher = [self._listener, self._refresher, *self._rereads], None, None
        await stop_tasks(tasks, what="shared policy state")  # each task it logs is named (`start`, `_on_message`)
        for waiters in self._waiters.values():
            for event in waiters:
                event.set()


def _pauses_of(raw: dict[bytes, bytes]) -> dict[str, dict[str, Any]]:
    """The pauses hash as target → {by, since, reason}, without its `~` fields (marker, tombstones)."""
    return {k.decode(): json.loads(v) for k, v in raw.items() if not k.startswith(b"~")}
