"""Part 3: what pruning saves and what it costs.

  - bytes: raw (from upstream) vs sent (to the model) for every recorded case of every
    `catalog/*/mcp.yaml` that has cases, replayed through the real pipeline by `mcprt.testing`
    (snapshots are compared, never written)
  - time: `shape_result` with a compiled Shaping (JMESPath prune + auto-prune + output template)
    on a ~100 KB JSON body of GitHub-like issues, per call. Goal ≤ 1 ms.

    /work/venv/bin/python bench/pruning.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from common import REPO, log
from report import Goal, Section

LIST_VIEW = "[].{number: number, title: title, state: state, user: user.login, labels: labels[].name}"
TEMPLATE = ("{% for i in result %}#{{ i.number }} {{ i.title }} ({{ i.state }}, @{{ i.user }}) "
            "{{ i.labels | join(',') }}\n{% endfor %}")


def issue(number: int) -> dict[str, Any]:
    """One GitHub-like issue (~3.3 KB): nested users, labels, many *_url keys, some nulls."""
    api = f"https://api.github.example/repos/octo/hello/issues/{number}"
    user = {"login": f"user{number % 17}", "id": 1000 + number, "node_id": "MDQ6VXNlcjE=",
            "avatar_url": "https://avatars.example/u/1?v=4", "gravatar_id": "", "type": "User", "site_admin": False,
            **{f"{k}_url": f"https://api.github.example/users/user{number % 17}/{k}"
               for k in ("html", "followers", "following", "gists", "starred", "subscriptions", "organizations",
                         "repos", "events", "received_events")}}
    return {
        "url": api, "repository_url": "https://api.github.example/repos/octo/hello",
        "labels_url": f"{api}/labels{{/name}}", "comments_url": f"{api}/comments", "events_url": f"{api}/events",
        "html_url": f"https://github.example/octo/hello/issues/{number}", "id": 90000 + number,
        "node_id": "I_kwDOAbc123", "number": number, "title": f"Crash when parsing input number {number}",
        "user": user,
        "labels": [{"id": 7 + n, "node_id": "LA_x", "url": f"https://api.github.example/labels/l{n}",
                    "name": name, "color": "d73a4a", "default": n == 0, "description": None}
                   for n, name in enumerate(("bug", "triage"))],
        "state": "open" if number % 3 else "closed", "locked": False, "assignee": None, "assignees": [],
        "milestone": None, "comments": number % 9, "created_at": "2026-11-01T10:00:00Z",
        "updated_at": "2026-11-02T10:00:00Z", "closed_at": None, "author_association": "NONE",
        "active_lock_reason": None,
        "body": "Steps to reproduce: run the parser on the attached file and watch it fail. " * 4,
        "reactions": {"url": f"{api}/reactions", "total_count": 0, "+1": 0, "-1": 0, "laugh": 0},
        "timeline_url": f"{api}/timeline", "performed_via_github_app": None, "state_reason": None,
    }


def issues_of_about(target: int) -> list[dict[str, Any]]:
    from mcprt.shaping import json_size

    body: list[dict[str, Any]] = []
    while json_size(body) <= target:
        body.append(issue(len(body) + 1))
    body.pop()  # just under the target, so the default 100 KB result limit does not shorten it
    return body


def per_call(function: Callable[[], object], repeat: int, number: int) -> float:
    """Median seconds per call over `repeat` runs of `number` calls (after one warm-up call)."""
    function()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            function()
        runs.append((time.perf_counter() - start) / number)
    return statistics.median(runs)


def catalog_bytes(section: Section) -> None:
    try:
        from mcprt.testing.cases import find_cases
        from mcprt.testing.runner import run_manifest_cases
    except ImportError as exc:
        section.notes.append(f"catalog bytes skipped: mcprt.testing is not importable ({exc})")
        return
    manifests = sorted(REPO.glob("catalog/*/mcp.yaml"))
    with_cases = [m for m in manifests if _has_cases(find_cases, m)]
    if not with_cases:
        section.notes.append(f"catalog bytes skipped: none of the {len(manifests)} catalog manifests "
                             f"({', '.join(m.parent.name for m in manifests) or 'none'}) has recorded cases yet")
        return
    rows = []
    raw_total = sent_total = 0
    for manifest in with_cases:
        log(f"pruning: replaying the cases of {manifest.parent.name}")
        try:
            report = run_manifest_cases(manifest, update=False)
        except Exception as exc:  # a broken catalog entry is reported, not fatal to the benchmark
            section.notes.append(f"{manifest.parent.name}: cases could not run: {exc}")
            continue
        for outcome in report.outcomes:
            if outcome.run is None:
                section.notes.append(f"{outcome.case.id}: {outcome.error}")
                continue
            raw, sent = outcome.run.raw_bytes, outcome.run.sent_bytes
            raw_total += raw
            sent_total += sent
            rows.append([f"{manifest.parent.name}: {outcome.case.id}", f"{raw:,}", f"{sent:,}",
                         f"{1 - sent / raw:.1%}" if raw else "—", outcome.status])
    rows.append(["**total**", f"{raw_total:,}", f"{sent_total:,}",
                 f"{1 - sent_total / raw_total:.1%}" if raw_total else "—", ""])
    section.extra_tables.append((["catalog case", "raw bytes", "sent bytes", "saved", "snapshot"], rows))


def _has_cases(find_cases: Callable[[Any], list], manifest: Any) -> bool:
    try:
        return bool(find_cases(manifest))
    except Exception:
        return False


def run(quick: bool = False) -> Section:
    from mcprt.manifest.model import AutoPrune
    from mcprt.shaping import Shaping, compile_autoprune, compile_prune, compile_template, json_size, shape_result
    from mcprt.contracts import UpstreamResult

    section = Section(title="3. Pruning: bytes saved and time per call",
                      headers=["on a ~100 KB body", "per call (ms, median)", "sent bytes"])
    catalog_bytes(section)

    body = issues_of_about(100_000)
    raw = json_size(body)
    pruner = compile_prune(LIST_VIEW)
    autoprune = compile_autoprune(AutoPrune(drop_nulls=True, drop_empty=True, drop_keys=["*_url", "node_id"]))
    template = compile_template(TEMPLATE, kind="output")
    upstream = UpstreamResult(kind="json", body=body, raw_bytes=raw, status=200)
    cases = [
        ("prune (JMESPath) only", Shaping(pruner=pruner, tool="list_issues")),
        ("prune + auto-prune → JSON", Shaping(pruner=pruner, autoprune=autoprune, tool="list_issues")),
        ("prune + auto-prune + output template", Shaping(pruner=pruner, autoprune=autoprune, output=template,
                                                           tool="list_issues")),
        ("auto-prune only (whole body kept)", Shaping(autoprune=autoprune, tool="list_issues")),
        ("no shaping (compact JSON of the body)", Shaping(tool="list_issues")),
    ]
    repeat, number = (3, 50) if quick else (7, 200)
    timings = {}
    for name, shaping in cases:
        seconds = per_call(lambda: shape_result(upstream, shaping), repeat, number)
        timings[name] = seconds
        section.rows.append([f"`shape_result`: {name}", f"{seconds * 1e3:.3f}",
                             f"{shape_result(upstream, shaping).sent_bytes:,}"])
    section.notes.append(f"body: {len(body)} GitHub-like issues, {raw:,} bytes of compact JSON")
    goal = timings["prune + auto-prune + output template"]
    section.goals.append(Goal("prune + templates per call, 100 KB body", f"{goal * 1e3:.3f} ms", "≤ 1 ms",
                              goal <= 0.001))
    return section


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Pruning benchmark (part 3).")
    parser.add_argument("--quick", action="store_true")
    print(run(parser.parse_args().quick).markdown())
