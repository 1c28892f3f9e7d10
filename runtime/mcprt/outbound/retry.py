"""When to try an upstream request again, and how long to wait first.

Only idempotent requests are retried, on connect errors, 429 and 503. Waits grow exponentially with
jitter (so many clients do not retry in step) unless the server says when in `Retry-After`; no wait
ever reaches past the call's deadline.
"""

from __future__ import annotations

import math

import random
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

RETRYABLE_STATUSES = frozenset({429, 503})
BASE_DELAY_S = 0.2
MAX_DELAY_S = 10.0
# A retry needs time left to actually run: never start one with less than this remaining.
MIN_ATTEMPT_S = 0.1
_RANDOM = random.Random()


def backoff_delay(retry_index: int, *, rng: random.Random | None = None) -> float:
    """Wait before retry number `retry_index` (0-based): exponential, "equal jitter" (half fixed)."""
    ceiling = min(MAX_DELAY_S, BASE_DELAY_S * 2.0 ** min(retry_index, 32))
    jitter = (rng or _RANDOM).uniform(0, ceiling / 2)
    return ceiling / 2 + jitter


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (RFC 9110 §10.2.3: delay-seconds or HTTP-date); None if
    absent or invalid — a negative number is no delay-seconds (`-5` read as 0 s told the model to retry at
    once). An HTTP-date gives whole seconds, rounded up (`88.2321s` was printed: the date has second precision)."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 and math.isfinite(seconds) else None  # NaN, inf, negatives: no delay
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return float(max(0, math.ceil((when - (now or datetime.now(timezone.utc))).total_seconds())))


def fits_before_deadline(wait: float, remaining: float) -> bool:
    """Whether waiting `wait` seconds still leaves room for another attempt."""
    return wait + MIN_ATTEMPT_S < remaining
