"""A `python:` module quoting the configured secret (`$API_KEY`) everywhere a Python developer would:
bytes results at several offsets, a bytes resource, prints to stdout and stderr, a docstring and a
parameter's default. The values are written out (not read from the environment) as in the trial."""

from __future__ import annotations

import sys

KEY = "sk-live-SUPERSECRET-1234567890"


def enc(form: str) -> bytes:
    """Bytes holding the key behind `form` (a prefix: the key at that byte offset)."""
    return (form + KEY).encode()


def printer() -> str:
    """Prints the key to stdout and to stderr."""
    print("print key", KEY)
    print(f"stderr key {KEY}", file=sys.stderr)
    sys.stdout.write("split " + KEY[:9])
    sys.stdout.write(KEY[9:] + "\n")
    return "ok"


def described(key: str = KEY) -> str:
    """Uses key sk-live-SUPERSECRET-1234567890 internally."""
    return "done"


def blob_resource() -> bytes:
    return b"key=" + KEY.encode()


def large_resource() -> bytes:
    """1.5 MB (base64 past the 1,000,000 characters scrubbed off the event loop), the key near the end."""
    return bytes(range(256)) * 6000 + KEY.encode() + b"end"
