"""Interactive tag selection for `mcprt init` on a terminal: the document's tags with operation counts.

Shown only when stdin and stderr are terminals and neither `--tag` nor `--no-input` was given; the
list and the prompt go to stderr (stdout stays free). An answer is tag numbers or names separated by
commas or spaces (`1,3`, `pets store`, `Droplet Actions, SSH Keys`: a name of several words is matched
whole); Enter takes every operation (no `include`). An unknown number or name is named (with a close
tag name, or the tags containing it as a word: `blocks` → `Cardano » Blocks`) and the question asked
again; end of input (Ctrl-D) aborts: `init` writes nothing and exits 1 (taking every operation would
answer a question the person walked away from).
"""

from __future__ import annotations

import re
import sys

from ..wording import noun


def interactive() -> bool:
    """Whether a person is at the terminal to answer."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def choose_tags(counts: list[tuple[str, int]], untagged: int) -> list[str] | None:
    """The tags chosen from `counts` ([(tag, operations)]); [] for all operations; None when input ended
    (Ctrl-D) before an answer was taken: the caller aborts."""
    if not counts:
        return []
    width = len(str(len(counts)))
    print("Tags of this API (operations):", file=sys.stderr)
    for i, (tag, n) in enumerate(counts, 1):
        print(f"  {i:>{width}}. {tag} ({n})", file=sys.stderr)
    if untagged:
        print(f"  ({untagged} {noun(untagged, 'operation')} without a tag: listed commented out when "
              "you choose tags)", file=sys.stderr)
    while True:
        print("Include which tags? Numbers or names, separated by commas or spaces; Enter for all: ",
              end="", file=sys.stderr, flush=True)
        line = sys.stdin.readline()
        if not line:  # end of input
            print(file=sys.stderr)
            return None
        chosen, unknown = _parse(line, [tag for tag, _ in counts])
        if not unknown:
            return chosen
        print(f"no tag {', '.join(unknown)}: answer with the numbers 1–{len(counts)} or the names "
              "shown", file=sys.stderr)


def _parse(line: str, tags: list[str]) -> tuple[list[str], list[str]]:
    """(chosen tags, unknown words with a hint). Names match case-insensitively, and a name of several
    words (DigitalOcean's `Droplet Actions`) is matched whole: the longest run of words naming a tag wins."""
    chosen: list[str] = []
    unknown: list[str] = []
    by_name = {t.lower(): t for t in tags}
    for part in line.split(","):
        words = part.split()
        i = 0
        while i < len(words):
            found, used = None, 1
            for j in range(len(words), i, -1):  # the longest run of words that names a tag
                found = by_name.get(" ".join(words[i:j]).lower())
                if found is not None:
                    used = j - i
                    break
            word = words[i]
            if found is None and word.isdigit() and 1 <= int(word) <= len(tags):
                found = tags[int(word) - 1]
            if found is None:
                unknown.append(repr(word) + tag_hint(word, by_name))
            elif found not in chosen:
                chosen.append(found)
            i += used
    return chosen, unknown


def tag_hint(word: str, by_name: dict[str, str]) -> str:
    """` (did you mean 'Tag'?)` (`by_name`: lower-cased tag → tag as written): the tags that contain `word` as
    a word, case-insensitively (Blockfrost's `blocks` → `Cardano » Blocks`; up to three), else the tag closest
    to it (a typo: `Pett` → `pet`), else an empty string."""
    import difflib

    within = re.compile(rf"(?<!\w){re.escape(word.lower())}(?!\w)")
    containing = [tag for lowered, tag in by_name.items() if within.search(lowered)]
    if containing:
        shown = " or ".join(repr(tag) for tag in containing[:3]) + (" or another" if len(containing) > 3 else "")
        return f" (did you mean {shown}?)"
    close = difflib.get_close_matches(word.lower(), list(by_name), n=1, cutoff=0.6)
    return f" (did you mean '{by_name[close[0]]}'?)" if close else ""
