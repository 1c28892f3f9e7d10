"""`python -m mcprt` and the `mcprt` console script: the CLI, with the garbage collector paused
through start-up (see `mcprt.pause_gc_for_startup`). Nothing heavy is imported before the pause;
a plain line of the commands run most often (`up`, `tools`, `validate`, the operator commands)
runs without loading Typer (`cli.fast`)."""

from __future__ import annotations

import sys


def main() -> None:
    if _serves(sys.argv[1:]):
        # First, before anything loads (0.1 s of imports on an idle machine, more under load): a host that stops a
        # server it is starting gets a clean stop, not a process ended by the signal with nothing logged.
        from .early_signals import catch_stop_signals

        catch_stop_signals()
    from . import pause_gc_for_startup

    pause_gc_for_startup()
    from .scrubbing.streams import scrub_standard_streams

    scrub_standard_streams()  # before any logger, console or manifest's code takes a stream: nothing printed leaks a secret
    from .cli.fast import run_fast

    try:
        code = run_fast(sys.argv[1:])
        if code is not None:
            raise SystemExit(code)
        from .cli.main import run

        run()
    except SystemExit as done:
        from .cli.exiting import exit_leaving_abandoned

        exit_leaving_abandoned(done.code)  # a timed-out tool's thread must not hold the exit
        raise



def _serves(argv: list[str]) -> bool:
    """Whether the command line runs `mcprt up`: its first word that is not an option is `up` (the
    options before the command, `--debug` and `--version`, take no value)."""
    return next((word for word in argv if not word.startswith("-")), None) == "up"


if __name__ == "__main__":
    main()
