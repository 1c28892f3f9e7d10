"""Interactive tag selection for `mcprt init` on a terminal: the document's tags with operation counts.

Shown only when stdin and stderr are terminals and neither `--tag` nor `--no-input` was given; the
list and the prompt go to stderr (stdout stays free). An answer is tag numbers or names separated by
commas or spaces (`1,3`, `pets store`); Enter takes every operation (no `include`). An unknown
number or name is named and the question asked again; end of input (Ctrl-D) takes every operation.
"""

from __future__ import annotations

import sys


def interactive() -> bool:
    """Whether a person is at the terminal to answer."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def choose_tags(counts: list[tuple[str, int]], untagged: int) -> list[str]:
    """The tags chosen from `counts` ([(tag, operations)]); [] for all operations."""
    if not counts:
        return []
    width = len(str(len(counts)))
    print("Tags of this API (operations):", file=sys.stderr)
    for i, (tag, n) in enumerate(counts, 1):
        print(f"  {i:>{width}}. {tag} ({n})", file=sys.stderr)
    if untagged:
        print(f"  ({untagged} operation{'s' if untagged != 1 else ''} without a tag: listed commented out when "
              "you choose tags)", file=sys.stderr)
    while True:
        print("Include which tags? Numbers or names, separated by commas or spaces; Enter for all: ",
              end="", file=sys.stderr, flush=True)
        line = sys.stdin.readline()
        if not line:  # end of input
            print(file=sys.stderr)
            return []
        chosen, unknown = _parse(line, [tag for tag, _ in counts])
        if not unknown:
            return chosen
        print(f"no tag {', '.join(repr(u) for u in unknown)}: answer with the numbers 1–{len(counts)} or the names "
              "shown", file=sys.stderr)


def _parse(line: str, tags: list[str]) -> tuple[list[str], list[str]]:
    chosen: list[str] = []
    unknown: list[str] = []
    by_name = {t.lower(): t for t in tags}
    for word in line.replace(",", " ").split():
        tag = tags[int(word) - 1] if word.isdigit() and 1 <= int(word) <= len(tags) else by_name.get(word.lower())
        if tag is None:
            unknown.append(word)
        elif tag not in chosen:
            chosen.append(tag)
    return chosen, unknown
