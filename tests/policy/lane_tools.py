"""Sync Python tools that hold their worker thread (a source of the served policy test manifest, with
`concurrency: 2`): `hold` until the test releases it, `nap` for a while, `quick` not at all."""

from __future__ import annotations

import time
from pathlib import Path

RELEASED = Path(__file__).with_name("released")  # the test creates it: every `hold` returns


def hold(seconds: float) -> str:
    """Hold a worker thread until released, or `seconds` passed."""
    ends = time.monotonic() + seconds
    while not RELEASED.exists() and time.monotonic() < ends:
        time.sleep(0.02)
    return "held"


def nap(seconds: float) -> str:
    """Sleep."""
    time.sleep(seconds)
    return "rested"


def quick() -> str:
    """Answer at once."""
    return "quick"
