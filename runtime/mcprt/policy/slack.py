"""Slack `mrkdwn` text built from values a client controls (a model's arguments, a proxied server's
tool names, an OAuth subject): shown as the text it is, never as formatting, links or mentions.

Slack's "Formatting text for app surfaces" (api.slack.com/reference/surfaces/formatting, *Escaping
text*) gives three characters control meaning in any text object — `&`, `<` and `>`, which open links
(`<https://x|Approve here>`) and mentions (`<!channel>`, `<@U123>`) — and says to send them as
`&amp;`, `&lt;` and `&gt;`. It has no escape for the backtick, so a value inside a code span or block,
where `*`, `_` and `~` are inert, has each backtick replaced by U+02CB MODIFIER LETTER GRAVE ACCENT
(`ˋ`, which looks alike and closes nothing): a value's ``` cannot end the block and go on as message
text. The exact values travel in the message's `metadata`, which Slack does not render.
"""

from __future__ import annotations

BACKTICK_STAND_IN = "\u02cb"
"""What a backtick in a value becomes inside a code span or block (Slack has no escape for it)."""

SECTION_TEXT_LIMIT = 3000
"""Characters of a Block Kit section's text (Slack's limit: a longer one fails the whole message)."""

NAME_LIMIT = 200
"""Characters a code span (`code`) shows of a value by default: a caller's name (an OAuth `sub` has no
length limit) next to others in one section stays far below `SECTION_TEXT_LIMIT`."""

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}  # Slack's *Escaping text*: the one rule, in both tables
_IN_CODE = {**_ESCAPES, "`": BACKTICK_STAND_IN}


def escaped(text: str) -> str:
    """`text` with `&`, `<`, `>` as Slack's entities."""
    return "".join(_ESCAPES.get(char, char) for char in text)


def code(value: object, limit: int = NAME_LIMIT) -> str:
    """`value` (its `str`) as an inline code span of at most `limit` characters: escaped, backticks
    replaced, line breaks made spaces (a span cannot cross a line, and a broken one would leave the rest
    as formatted text), cut with `…` as `code_block` cuts."""
    text = " ".join(str(value).splitlines()) or " "
    return f"`{_fitted(text, limit - 2)}`"


def code_block(text: str, limit: int = SECTION_TEXT_LIMIT) -> str:
    """`text` as a preformatted block of at most `limit` characters: escaped, backticks replaced, so
    nothing in it ends the block; cut with `…` where escaping made it longer (`<` is 4 characters
    sent) — a text of `<`s must not make Slack refuse the message."""
    return f"```{_fitted(text, limit - 6)}```"


def _fitted(text: str, room: int) -> str:
    """`text` as shown in code (`_IN_CODE`) in at most `room` characters: when longer, cut before the
    first character that does not fit with a `…` after it, never inside an entity."""
    pieces = [_IN_CODE.get(char, char) for char in text]
    if sum(map(len, pieces)) <= room:
        return "".join(pieces)
    kept, room = [], room - 1  # room for the `…`
    for piece in pieces:
        if len(piece) > room:
            break
        kept.append(piece)
        room -= len(piece)
    return "".join(kept) + "…"
