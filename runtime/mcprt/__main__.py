"""`python -m mcprt` and the `mcprt` console script: the CLI, with the garbage collector paused
through start-up (see `mcprt.pause_gc_for_startup`). Nothing heavy is imported before the pause."""

from __future__ import annotations


def main() -> None:
    from . import pause_gc_for_startup

    pause_gc_for_startup()
    from .cli.main import run

    run()


if __name__ == "__main__":
    main()
