"""The text of an exception the user's Python code raised — a tool, resource or prompt function, a generator's
cleanup, a module being imported — as the model, the operator or the manifest's error reads it.

`ExceptionType: message`, as Python's traceback ends (`ValueError: cannot do that`), or the type alone when the
message is empty (`KeyError()` → `KeyError`). The exception is the user's object: its `__str__` may raise, or
return something that is not a `str`. Python's traceback then reads `Weird: <exception str() failed>`; so does
this text, with the type of what `__str__` raised, and the failure stays the function's own. Rendered with an
f-string as before, the `RuntimeError` of a trial's `Weird.__str__` escaped the handler and the model read
"internal error in mcprt while calling badstr: RuntimeError": the user's exception type hidden, the fault blamed
on mcprt. `repr()` is never used (a broken `__repr__` changes nothing here).

What the user's code raises need not be an `Exception`: `SystemExit` (`sys.exit()`, argparse), `KeyboardInterrupt`
raised by hand, a `BaseException` subclass of its own. Each is the function's failure too (`stops_the_call` says
which are not): caught as `Exception` only, a review's `raise MyBase()` ended `mcprt up` for every client.
"""

from __future__ import annotations

import anyio

from ...errors import ToolCallError
from .frameworks import is_tool_error


def exception_message(exc: BaseException) -> str | None:
    """`str(exc)` — what a `ToolCallError` the function raised says, passed on verbatim — or None when the
    exception's `__str__` raises or returns no `str` (then say `exception_text(exc)`)."""
    try:
        return str(exc)
    except BaseException:  # noqa: BLE001 — the user's `__str__`: whatever it raises (a review's raised SystemExit,
        return None  # which ended the server), the exception is still theirs


def exception_text(exc: BaseException) -> str:
    """`Type: message` (`Type` alone for an empty message), or `Type: <exception str() failed: RuntimeError>` when
    the message cannot be rendered (the type being what its `__str__` raised). Never raises for the user's
    exception."""
    name = type(exc).__name__
    try:
        message = str(exc)
    except BaseException as failure:  # noqa: BLE001 — see exception_message
        return f"{name}: <exception str() failed: {type(failure).__name__}>"
    return f"{name}: {message}".rstrip(": ")


def stops_the_call(exc: BaseException) -> bool:
    """True for what ends a call from outside rather than fails it, which must propagate: the call's cancellation
    (anyio's cancelled class: its time limit, the client's `notifications/cancelled`, the server stopping) and
    `GeneratorExit` (the call's coroutine being closed). Anything else the function raised is its own failure —
    `SystemExit`, a `BaseException` subclass, and `KeyboardInterrupt` too: `mcprt up` handles SIGINT itself (no
    Ctrl-C becomes a KeyboardInterrupt) and a worker thread never receives a signal, so one in a call is the
    function's own `raise`, which must not end the server for every client. Call it on the event loop (the
    cancelled class is the running backend's)."""
    return isinstance(exc, (GeneratorExit, anyio.get_cancelled_exc_class()))


def tool_error_text(exc: BaseException) -> str | None:
    """The text a tool error answers with, as is — its message (its type and message when that cannot be
    rendered) — for mcprt's `ToolCallError` and a framework's `ToolError` (`frameworks.is_tool_error`): the
    one rule of tools and offers alike. None for any other exception (its type goes with its message)."""
    if not (isinstance(exc, ToolCallError) or is_tool_error(exc)):
        return None
    text = exception_message(exc)
    return exception_text(exc) if text is None else text
