"""The rule turning a source's call outcomes into its health (`observability.source_health`): runs of
calls, not one call; reachability as the transport reported it; verdicts tied to the source instance
and aging to `unknown`; a bounded, scrubbed error. The served path is in test_metrics_audit
(test_a_dead_upstream_is_down_until_it_answers)."""

from __future__ import annotations

from mcprt.observability.events import CallEvent, Outcome
from mcprt.observability.source_health import ERROR_LIMIT, STALE_AFTER, CallHealth

SECRET = "sk-live-0123456789"


class Sources:
    """The `instance_of` a server gives CallHealth: the object now serving each name (a reload swaps it)."""

    def __init__(self) -> None:
        self.now: dict[str, object] = {"api": object()}

    def reopen(self, name: str) -> None:
        self.now[name] = object()


def call(status: int | None, outcome: Outcome = "upstream_error", *, at: float = 1000.0, unreachable: bool = False,
         error: str | None = "failed", arguments: dict | None = None) -> CallEvent:
    if status is not None and status < 400:
        outcome, error = "ok", None
    return CallEvent(at, "get", "api", outcome, 0.01, 0, 0, arguments=arguments, upstream_status=status,
                     error=error, unreachable=unreachable)


def states(health: CallHealth, events: list[CallEvent]) -> list[str]:
    shown = []
    for event in events:
        health.on_event(event)
        verdict = health.verdict("api", event.time)
        shown.append(verdict.state if verdict else "up")
    return shown


def test_one_5xx_among_good_answers_does_not_flap() -> None:
    """`ok, 500, ok, 503, 404` read up → degraded → up → degraded → up: an alert on mcprt_source_up flapped."""
    sources = Sources()
    health = CallHealth(sources.now.get)
    assert states(health, [call(200), call(500), call(200), call(503), call(404)]) == ["up"] * 5


def test_a_run_of_5xx_degrades_and_a_run_of_answers_restores() -> None:
    sources = Sources()
    health = CallHealth(sources.now.get)
    run = [call(500, at=1), call(502, at=2), call(503, at=3), call(200, at=4), call(500, at=5), call(200, at=6),
           call(404, at=7)]
    assert states(health, run) == ["up", "up", "degraded", "degraded", "degraded", "degraded", "up"]


def test_only_an_unreachable_upstream_is_down() -> None:
    """A call past its own time-out, an over-long answer, a failed token fetch, a Python function timing
    out: `upstream_error` without a status, each marked the whole source `down`."""
    sources = Sources()
    health = CallHealth(sources.now.get)
    own_failures = [call(None, error="get did not finish within 5s"),
                    call(None, error="the answer exceeds max_response_bytes"),
                    call(None, error="could not get an access token")]
    assert states(health, own_failures) == ["up"] * 3
    assert states(health, [call(None, unreachable=True, error="connection refused")]) == ["down"]
    assert states(health, [call(503)]) == ["degraded"]  # it answers again, badly


def test_a_reopened_source_starts_afresh_and_an_old_verdict_goes_stale() -> None:
    sources = Sources()
    health = CallHealth(sources.now.get)
    health.on_event(call(None, unreachable=True, at=1000.0))
    assert health.verdict("api", 1000.0).state == "down"
    assert health.verdict("api", 1000.0 + STALE_AFTER + 1).state == "unknown"  # nothing confirmed it since
    sources.reopen("api")  # a reload reopened it (e.g. a new base_url)
    assert health.verdict("api", 1001.0) is None


def test_the_error_kept_is_a_short_scrubbed_summary() -> None:
    """A 50,000-character upstream error body was kept and shown whole, echoing argument values."""
    sources = Sources()
    health = CallHealth(sources.now.get, secrets=[SECRET])
    body = f"upstream said: key {SECRET} rejected for ssn 123-45-6789\n" + "x" * 50_000
    for _ in range(3):
        health.on_event(call(503, error=body, arguments={"ssn": "123-45-6789"}))
    error = health.verdict("api", 1000.0).error
    assert error.startswith("HTTP 503: upstream said:") and len(error) <= len("HTTP 503: ") + ERROR_LIMIT, error
    assert SECRET not in error and "123-45-6789" not in error and "\n" not in error, error
