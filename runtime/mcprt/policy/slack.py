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


def escaped(text: str) -> str:
    """`text` with `&`, `<`, `>` as Slack's entities (`&` first, so an entity is not escaped twice)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code(value: object) -> str:
    """`value` (its `str`) as an inline code span: escaped, backticks replaced, and line breaks made
    spaces (a span cannot cross a line, and a broken one would leave the rest as formatted text)."""
    text = " ".join(str(value).splitlines()) or " "
    return f"`{escaped(text).replace('`', BACKTICK_STAND_IN)}`"


SECTION_TEXT_LIMIT = 3000
"""Characters of a Block Kit section's text (Slack's limit: a longer one fails the whole message)."""

_SHOWN = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "`": BACKTICK_STAND_IN}


def code_block(text: str, limit: int = SECTION_TEXT_LIMIT) -> str:
    """`text` as a preformatted block of at most `limit` characters: escaped, backticks replaced, so
    nothing in it ends the block; cut with `…` where escaping made it longer (`<` is 4 characters
    sent), never inside an entity — a text of `<`s must not make Slack refuse the message."""
    pieces = [_SHOWN.get(char, char) for char in text]
    room = limit - 6  # the fences
    if sum(map(len, pieces)) > room:
        kept, room = [], room - 1  # room for the `…`
        for piece in pieces:
            if len(piece) > room:
                break
            kept.append(piece)
            room -= len(piece)
        pieces = [*kept, "…"]
    return f"```{''.join(pieces)}```"
