"""Text that looks the same but is stored in another Unicode normalization form (UAX #15).

macOS input methods, some JavaScript clients and files saved on a Mac write `größe` decomposed (NFD: `o` + U+0308),
most other tools composed (NFC): the two render alike, compare unequal and name different files on Linux. A message
that says only "no such file" or "did you mean 'größe'?" for a look-alike leaves the reader nowhere (trial_i18n fault
10); these helpers find the look-alike and say which form each is in.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterable
from pathlib import Path


def form_of(text: str) -> str:
    """The normalization form `text` is in: `NFC`, `NFD`, or `mixed` (neither); ASCII text is NFC."""
    if unicodedata.is_normalized("NFC", text):
        return "NFC"
    return "NFD" if unicodedata.is_normalized("NFD", text) else "mixed"


def same_text(a: str, b: str) -> bool:
    """Whether `a` and `b` differ only in their normalization form (canonically equivalent, not equal)."""
    return a != b and unicodedata.normalize("NFC", a) == unicodedata.normalize("NFC", b)


def alike_in(word: str, choices: Iterable[str]) -> str | None:
    """The one of `choices` that is `word` in another normalization form (`same_text`), else None."""
    return next((choice for choice in choices if same_text(choice, word)), None)


def in_another_form(word: str, alike: str) -> str:
    """`the same text in another Unicode form: NFD here, NFC there` — the one wording of a did-you-mean that names
    what looks like `word` itself (`errors.did_you_mean`, `toolset.build.close_names`, `unknown_argument`)."""
    return f"the same text in another Unicode form: {form_of(word)} here, {form_of(alike)} there"


def look_alike(path: Path) -> Path | None:
    """The entry of `path`'s folder whose name is `path`'s name in another normalization form, when `path` itself
    is missing; None otherwise (the folder unreadable too). Only the one folder is listed."""
    folder = path.parent
    try:
        names = os.listdir(folder)
    except OSError:
        return None
    wanted = unicodedata.normalize("NFC", path.name)
    for name in names:
        if name != path.name and unicodedata.normalize("NFC", name) == wanted:
            return folder / name
    return None


def look_alike_hint(path: Path) -> str:
    """`; the folder has '<name>', the same name in another Unicode form (NFD; NFC written here): …` for a
    missing `path` whose look-alike exists, else ""."""
    found = look_alike(path)
    if found is None:
        return ""
    return (f"; the folder has {found.name!r}, the same name in another Unicode form ({form_of(found.name)} on disk, "
            f"{form_of(path.name)} written here): rename the file, or write its name as it is stored")
