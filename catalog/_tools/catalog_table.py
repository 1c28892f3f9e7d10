"""The catalog table of the repository README, from each entry's README (whose figures the catalog tests
keep equal to the measured ones):

    python catalog/_tools/catalog_table.py            # print it
    python catalog/_tools/catalog_table.py --write    # replace it in README.md
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

CATALOG = Path(__file__).resolve().parents[1]
README = CATALOG.parent / "README.md"
BEGIN, END = "<!-- catalog-table:begin -->", "<!-- catalog-table:end -->"
TOTAL = re.compile(r"\| \*\*total\*\* \| \*\*([\d,]+)\*\* \| \*\*([\d,]+)\*\* \|")
FIGURES = re.compile(r"Figures: \*\*(\d+) tools\*\*, \*\*([\d,]+) bytes\*\* of tools/list")


def table() -> str:
    rows = []
    all_raw = all_sent = 0
    for folder in sorted(p for p in CATALOG.iterdir() if (p / "cases").is_dir() and (p / "README.md").is_file()):
        text = (folder / "README.md").read_text(encoding="utf-8")
        total, figures = TOTAL.search(text), FIGURES.search(text)
        if total is None or figures is None:
            continue
        raw, sent = (int(g.replace(",", "")) for g in total.groups())
        cases = len(list((folder / "cases").glob("*/*.yaml")))
        all_raw, all_sent = all_raw + raw, all_sent + sent
        rows.append(f"| {folder.name} | {figures.group(1)} | {figures.group(2)} | {cases} | {raw:,} | {sent:,} | "
                    f"{100 * (1 - sent / raw):.1f}% |")
    rows.append(f"| **all** | | | | **{all_raw:,}** | **{all_sent:,}** | **{100 * (1 - all_sent / all_raw):.1f}%** |")
    head = ("| entry | tools | tools/list bytes | cases | raw bytes | sent to the model | reduction |\n"
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
    return head + "\n".join(rows) + "\n"


def main() -> None:
    text = table()
    if "--write" not in sys.argv:
        print(text, end="")
        return
    readme = README.read_text(encoding="utf-8")
    start, end = readme.index(BEGIN) + len(BEGIN), readme.index(END)
    README.write_text(readme[:start] + "\n" + text + readme[end:], encoding="utf-8")


if __name__ == "__main__":
    main()
