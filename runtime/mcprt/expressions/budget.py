"""The budget a template renders under: output size and time, checked while it runs.

A template is untrusted code (manifests come from pull requests). Capping `*` alone was bypassed by
`'%0200000000d' % 1`, `'x'.center(2e8)`, `|center`, doubling a `namespace` string in a loop and
1,000 iterations × 1 MB (#13). So the sandbox checks, on every attribute lookup, call and operator
(the steps every loop and expression goes through) and on every chunk of output:

- time: `MCPRT_TEMPLATE_TIMEOUT` seconds per render (default 2);
- size: no string or list built, and no output, larger than `MCPRT_TEMPLATE_MAX_OUTPUT` characters
  (default 1,000,000); widths given to padding/format operations, and counts that size the work of a
  filter or global (`batch`, `slice`, `lipsum`), are checked *before* they run.

Every `{% for %}` loop iterates through `steps`, so a loop ticks even when its body does nothing:
nested loops over a list, and `batch(10**9)`, ran past the time limit for minutes (#sec).

A render over budget raises `BudgetExceeded`, which the template layer turns into a tool error.
A render inside an abandoned compile (a superseded reload, see `mcprt.cancellation`) raises
`Abandoned` at its next step, so a slow `description` template stops as soon as nobody wants it.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..cancellation import CancelToken, current_token
from ..settings import env_limit

DEFAULT_TIMEOUT = 2.0
DEFAULT_MAX_OUTPUT = 1_000_000
_WIDTH = re.compile(r"%[-+ #0]*(\*|\d+)?(?:\.(\*|\d+))?|\{[^{}]*?[:!][^{}]*?(\d{4,})[^{}]*\}")


class BudgetExceeded(Exception):
    """A template went over its output or time budget."""


class OutputExceeded(BudgetExceeded):
    """A template built a value, or wrote output, larger than the output limit: what a correct
    template does on a large enough input, so the result shaping retries with a smaller one."""


def max_output() -> int:
    return int(env_limit("MCPRT_TEMPLATE_MAX_OUTPUT", DEFAULT_MAX_OUTPUT))


def timeout() -> float:
    return env_limit("MCPRT_TEMPLATE_TIMEOUT", DEFAULT_TIMEOUT)


class _State(threading.local):
    steps: int = 0  # loop iterations since the render began (see `steps`)
    deadline: float | None = None
    limit: int = DEFAULT_MAX_OUTPUT
    token: CancelToken | None = None  # the compile this render belongs to, if it can be abandoned


_STATE = _State()


@contextmanager
def budget() -> Iterator[int]:
    """Render under a budget (this thread); yields the output limit."""
    previous = (_STATE.deadline, _STATE.limit, _STATE.token)
    _STATE.deadline, _STATE.limit, _STATE.token = time.monotonic() + timeout(), max_output(), current_token()
    try:
        yield _STATE.limit
    finally:
        _STATE.deadline, _STATE.limit, _STATE.token = previous


def tick() -> None:
    """Raise BudgetExceeded when the render's time is up, Abandoned when its compile was abandoned
    (no-op outside a budget)."""
    token = _STATE.token
    if token is not None:
        token.check()
    deadline = _STATE.deadline
    if deadline is not None and time.monotonic() > deadline:
        raise BudgetExceeded(f"the template ran longer than {timeout():g}s")


_STEPS_PER_TICK = 64  # a tick costs ~0.2 µs; 64 empty iterations take a few µs


def steps(iterable: Any) -> Iterator[Any]:
    """`iterable`, ticking every few items: what a `{% for %}` loop iterates over.

    A loop whose body looks nothing up and calls nothing (`{% for i in l %}{% for j in l %}{% endfor
    %}{% endfor %}` over a list of 100,000) never reached `tick`, so it ran for hours past the time
    limit. The count is per render, not per loop, so nested short loops tick too."""
    state = _STATE
    for item in iterable:
        state.steps += 1
        if not state.steps % _STEPS_PER_TICK:
            tick()
        yield item


def check_size(value: Any) -> Any:
    """`value`, unless it is a string or list over the output limit."""
    if isinstance(value, (str, list, tuple, bytes)) and len(value) > _STATE.limit:
        raise OutputExceeded(f"the template built a value of {len(value):,} items, over the limit of "
                             f"{_STATE.limit:,} (MCPRT_TEMPLATE_MAX_OUTPUT)")
    return value


def check_width(*numbers: Any) -> None:
    """Refuse a width/count argument (padding, repetition, a number of batches, slices or
    paragraphs) over the output limit before it is used."""
    for number in numbers:
        if isinstance(number, (int, float)) and not isinstance(number, bool) and abs(number) > _STATE.limit:
            raise BudgetExceeded(f"a width or count of {number:,} is over the template output limit of {_STATE.limit:,}")


def check_format(template: Any) -> None:
    """Refuse `%`/`{}` format strings whose field widths or precisions exceed the output limit."""
    if not isinstance(template, str):
        return
    for match in _WIDTH.finditer(template):
        for group in match.groups():
            if group and group.isdigit():
                check_width(int(group))


def check_output(chunks: Iterator[str]) -> str:
    """Join rendered chunks, stopping as soon as the output or the time goes over budget."""
    parts: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > _STATE.limit:
            raise OutputExceeded(f"the template's output exceeds {_STATE.limit:,} characters "
                                 "(MCPRT_TEMPLATE_MAX_OUTPUT)")
        tick()
        parts.append(chunk)
    return "".join(parts)
