"""Reading mcprt's text log lines as a log pipeline does (README "Logs")."""

from __future__ import annotations

import json
import re

# `msg="…"`: a message with `=`, `"` or a character to escape, quoted as a logfmt value
_QUOTED = re.compile(r'msg=("(?:\\.|[^"\\])*")')


def message_of(line: str, logger: str) -> str:
    """The message of a text log `line` written by `logger` (`HH:MM:SS LEVEL logger: message key=…`):
    a quoted `msg` field unescaped (its escapes are JSON's: `\\"`, `\\\\`, `\\n`, `\\u2028`), else the
    rest of the line. ValueError when the line is not `logger`'s."""
    rest = line.split(f"{logger}: ", 1)[1]
    quoted = _QUOTED.match(rest)
    return json.loads(quoted.group(1)) if quoted else rest
