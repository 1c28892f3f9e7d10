"""Python entry points as tools: schemas from type hints and docstrings, calls through the Runtime,
errors as tool results, import problems as manifest diagnostics at the `python:` line."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import pytest

from mcprt.errors import ManifestError
from mcprt.toolset.invoke import call_tool

from sources_support import FIXTURES, call, json_of, running, text_of, write_manifest

from tests.support.cli import mcprt_cli, mcprt_process
from tests.support.raw_stdio import RawStdio


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with typed_tools.py next to where the manifest goes."""
    shutil.copy(FIXTURES / "typed_tools.py", tmp_path / "typed_tools.py")
    return tmp_path


def tools_by_name(compiled) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    return {tool["name"]: tool for tool in compiled.toolset.list_tools()}


async def test_module_source_lists_its_all_with_schemas_from_hints_and_docstrings(project: Path) -> None:
    manifest = write_manifest(project, """
        version: 1
        sources:
          notes:
            python: typed_tools
    """)
    async with running(manifest) as (_, compiled):
        tools = tools_by_name(compiled)

    assert sorted(tools) == sorted(
        ["add", "search_notes", "create_ticket", "fail", "slow", "stats", "pixel", "nothing", "tag_counts",
         "exposed_as"]
    )  # __all__ only: no `shout`, no `_private_helper`, and the constant VERSION is skipped

    add = tools["add"]
    assert add["description"] == "Add two integers."
    assert add["inputSchema"] == {
        "type": "object",
        "properties": {
            "a": {"type": "integer", "description": "The first addend."},
            "b": {"type": "integer", "default": 2, "description": "The second addend, two when omitted."},
        },
        "required": ["a"],
    }

    search = tools["search_notes"]["inputSchema"]
    assert search["required"] == ["query"]
    assert search["properties"]["query"] == {"type": "string", "description": "Words to look for."}
    assert search["properties"]["scope"] == {"type": "string", "enum": ["title", "body"], "default": "title"}
    assert search["properties"]["limit"] == {
        "type": "integer", "minimum": 1, "maximum": 50, "default": 10, "description": "Most notes to return."
    }
    assert search["properties"]["since"] == {
        "anyOf": [{"type": "string", "format": "date"}, {"type": "null"}], "default": None
    }
    assert tools["search_notes"]["description"] == "Search the notes."  # first paragraph only

    ticket = tools["create_ticket"]
    schema = ticket["inputSchema"]
    assert schema["properties"]["ticket"] == {"$ref": "#/$defs/Ticket", "description": "The ticket to file."}
    assert schema["properties"]["notify"]["description"] == "Whether to tell the team."  # NumPy style
    assert schema["$defs"]["Priority"]["enum"] == ["low", "high"]
    assert schema["$defs"]["Ticket"]["properties"]["title"] == {"type": "string", "description": "One-line summary."}
    assert ticket["outputSchema"]["required"] == ["id", "title", "priority", "when"]

    assert tools["stats"]["outputSchema"]["properties"] == {"count": {"type": "integer"}, "mean": {"type": "number"}}
    assert tools["tag_counts"]["inputSchema"]["properties"]["tags"] == {
        "type": "object", "additionalProperties": {"type": "integer"}
    }
    assert tools["pixel"]["inputSchema"] == {"type": "object", "properties": {}}
    assert tools["exposed_as"]["inputSchema"]["properties"] == {"loud": {"type": "boolean", "default": False}}
    assert all("title" not in prop for tool in tools.values() for prop in tool["inputSchema"]["properties"].values())


async def test_calls_run_sync_and_async_functions_and_serialize_what_they_return(project: Path) -> None:
    manifest = write_manifest(project, """
        version: 1
        sources:
          notes:
            python: typed_tools
    """)
    async with running(manifest) as (_, compiled):
        assert await call(compiled, "add", {"a": 40}) == {"content": [{"type": "text", "text": "42"}]}
        found = json_of(await call(compiled, "search_notes", {"query": "milk", "scope": "body", "limit": 1}))
        assert found == [{"title": "groceries", "body": "milk and eggs", "meta": None}]

        filed = await call(compiled, "create_ticket", {"ticket": {"title": "Broken", "priority": "high"}})
        assert filed.get("isError") is None, filed  # the function asserts it received a Ticket instance
        assert filed["structuredContent"] == {"id": 7, "title": "Broken", "priority": "high", "when": "2026-01-02"}

        assert (await call(compiled, "stats", {"values": [1, 2, 6]}))["structuredContent"] == {"count": 3, "mean": 3.0}
        image = (await call(compiled, "pixel"))["content"][0]
        assert image["type"] == "image" and image["mimeType"] == "image/png"
        assert await call(compiled, "nothing") == {"content": [{"type": "text", "text": ""}]}
        assert json_of(await call(compiled, "tag_counts", {"tags": {"b": 2, "a": 1}})) == [
            {"tag": "a", "n": 1}, {"tag": "b", "n": 2}
        ]
        assert text_of(await call(compiled, "slow", {"seconds": 0.01})) == "woke"
        assert text_of(await call(compiled, "exposed_as", {"loud": True})) == "EXPOSED_AS"


async def test_a_raising_function_gives_an_error_result_naming_the_exception(project: Path) -> None:
    manifest = write_manifest(project, """
        version: 1
        sources:
          notes:
            python: typed_tools:fail
    """)
    async with running(manifest) as (_, compiled):
        result = await call(compiled, "fail", {"reason": "the disk is full"})
    assert result == {
        "content": [{"type": "text", "text": "ValueError: cannot do that: the disk is full"}],
        "isError": True,
    }
    assert "Traceback" not in text_of(result)


async def test_bad_arguments_and_timeouts_are_tool_errors(project: Path) -> None:
    manifest = write_manifest(project, """
        version: 1
        sources:
          notes:
            python: [typed_tools:create_ticket, typed_tools:slow]
            tools:
              slow: {timeout: 200ms}
    """)
    async with running(manifest) as (_, compiled):
        bad = await call(compiled, "create_ticket", {"ticket": {"title": "x", "priority": "urgent"}})
        assert bad["isError"] is True
        assert "urgent" in text_of(bad) and "create_ticket" in text_of(bad)
        late = await call_tool(compiled.toolset.get("slow"), {"seconds": 3})
        assert late.is_error is True
        assert text_of(late.to_wire()) == "slow did not finish within 0.2s"
        assert late.outcome == "timeout"  # its own time limit passed while it ran: not a refusal before the call


# A module writing to stdout at import, from a thread it starts (after a while) and at the descriptor level:
# none of it may reach mcprt's machine-readable stdout (it corrupted the stdio protocol and `tools --json`).
NOISY = """
import os
import threading
import time

print("IMPORT-TIME PRINT")
os.write(1, b"FD-1 WRITE\\n")


def _later() -> None:
    time.sleep(0.3)
    print("THREAD PRINT", flush=True)


threading.Thread(target=_later, daemon=True).start()


def hello() -> str:
    \"\"\"Say hello.\"\"\"
    print("CALL PRINT")
    return "hello"
"""


def _noisy_manifest(folder: Path) -> Path:
    (folder / "noisy_tools.py").write_text(NOISY)
    return write_manifest(folder, """
        version: 1
        sources:
          noisy:
            python: noisy_tools
          notes:
            python: typed_tools:slow
            tools:
              slow: {timeout: 200ms}
    """)


def test_what_user_code_prints_never_reaches_the_stdio_protocol(project: Path) -> None:
    """Over stdio every stdout line is a JSON-RPC message; the module's prints are on stderr."""
    server = RawStdio(_noisy_manifest(project), project)
    try:
        server.send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
        assert server.read()["id"] == 1  # read() parses the line: a print before it fails here
        server.wait_for_log("THREAD PRINT")  # the module's thread has printed (0.3 s after import; later under load)
        server.send({"jsonrpc": "2.0", "method": "notifications/initialized"},
                    {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "hello", "arguments": {}}})
        assert server.read_until(2)["result"]["content"] == [{"type": "text", "text": "hello"}]
    finally:
        server.close()
    assert all(text in server.stderr_text() for text in ("IMPORT-TIME PRINT", "FD-1 WRITE", "THREAD PRINT",
                                                          "CALL PRINT"))


def test_what_user_code_prints_never_reaches_a_commands_json(project: Path) -> None:
    """`mcprt tools --json` and `mcprt call` print JSON a script reads: the module's prints go to stderr."""
    listed = mcprt_process("tools", str(_noisy_manifest(project)), "--json", forked=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert [tool["name"] for tool in json.loads(listed.stdout)["tools"]] == ["hello", "slow"]
    assert "IMPORT-TIME PRINT" in listed.stderr and "FD-1 WRITE" in listed.stderr


@pytest.mark.parametrize("command", [["show", "{manifest}", "hello", "--json"],
                                     ["diff", "{manifest}", "{manifest}", "--format", "json"]])
def test_what_user_code_prints_never_reaches_show_or_diff_json(project: Path, command: list[str]) -> None:
    """`mcprt show --json` and `mcprt diff --format json` compile the manifest, importing its modules:
    their prints went to stdout ahead of the JSON, which no longer parsed."""
    manifest = str(_noisy_manifest(project))
    done = mcprt_process(*(word.format(manifest=manifest) for word in command), cwd=project, forked=True,
                         timeout=120)
    assert done.returncode == 0, done.stderr
    json.loads(done.stdout)  # stdout is the JSON alone
    assert "IMPORT-TIME PRINT" in done.stderr and "FD-1 WRITE" in done.stderr


def test_what_user_code_prints_never_reaches_record_or_test_output(project: Path) -> None:
    """`mcprt record` and `mcprt test` call the tools: the module's prints and the function's were in
    their report on stdout, between its lines."""
    manifest = str(_noisy_manifest(project))
    recorded = mcprt_process("record", manifest, "hello", "--args", "{}", cwd=project, forked=True, timeout=120)
    assert recorded.returncode == 0, recorded.stderr
    assert recorded.stdout.splitlines()[0].startswith("recorded hello/default: ")
    tested = mcprt_process("test", manifest, cwd=project, forked=True, timeout=120)
    assert tested.returncode == 0, tested.stderr
    assert tested.stdout.splitlines()[0].startswith("ok   hello/default")
    for done in (recorded, tested):
        assert not any(text in done.stdout for text in ("PRINT", "FD-1")), done.stdout
        assert "CALL PRINT" in done.stderr


def test_mcprt_call_exits_after_reporting_a_timeout_leaving_the_thread(project: Path) -> None:
    """A sync function past its timeout runs on in its thread (Python cannot stop one): the server
    abandons it, and so does a one-shot `mcprt call` — it waited for the function (10 s after a 2 s
    timeout) because the interpreter joins every thread at exit."""
    manifest = _noisy_manifest(project)  # its prints must not reach the printed JSON either
    started = time.monotonic()
    done = mcprt_process("call", str(manifest), "slow", "--args", '{"seconds": 60}', forked=True, timeout=120)
    assert time.monotonic() - started < 30, "it waited for the abandoned thread"
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["content"][0]["text"] == "slow did not finish within 0.2s"


async def test_overrides_apply_to_python_tools_by_name_or_full_path(project: Path) -> None:
    manifest = write_manifest(project, """
        version: 1
        sources:
          notes:
            python: [typed_tools:add, typed_tools:search_notes]
            prefix: py_
            tools:
              typed_tools:add:
                name: plus_forty
                args:
                  b: {fixed: 40}
              search_notes:
                prune: "[].title"
    """)
    async with running(manifest) as (_, compiled):
        tools = tools_by_name(compiled)
        assert sorted(tools) == ["plus_forty", "py_search_notes"]
        assert list(tools["plus_forty"]["inputSchema"]["properties"]) == ["a"]
        assert text_of(await call(compiled, "plus_forty", {"a": 2})) == "42"
        assert json_of(await call(compiled, "py_search_notes", {"query": "milk", "scope": "body"})) == [
            "groceries", "meeting"
        ]


# 5000 rows of about 200 JSON bytes each: 1 MB raw, far over the 100 KB result limit, a 4-byte result once pruned
ROWS = """
from collections.abc import Iterator


def rows() -> Iterator[dict]:
    \"\"\"Rows, yielded.\"\"\"
    for i in range(5000):
        yield {"id": i, "text": "x" * 180}


def rows_list() -> list[dict]:
    \"\"\"Rows, returned.\"\"\"
    return list(rows())
"""


@pytest.mark.parametrize("tool", ["rows", "rows_list"])
async def test_a_generator_is_shaped_whole_bounded_by_the_upstream_limit_not_the_result_limit(
        tmp_path: Path, tool: str) -> None:
    """`max_result_bytes` limits the result after `prune:`/`output:` shaped it; a generator's raw items
    are bounded by `max_response_bytes`, as an HTTP body is. The generator was stopped at the result
    limit: `prune: "length(@)"` over 5000 rows said 453 (with a note), where a returned list said 5000."""
    (tmp_path / "rows_tools.py").write_text(ROWS)
    manifest = write_manifest(tmp_path, """
        version: 1
        sources:
          rows:
            python: [rows_tools:rows, rows_tools:rows_list]
            tools:
              rows: {prune: "length(@)", max_result_bytes: 2KB}
              rows_list: {prune: "length(@)", max_result_bytes: 2KB}
    """)
    async with running(manifest) as (_, compiled):
        assert await call(compiled, tool) == {"content": [{"type": "text", "text": "5000"}]}


@pytest.mark.parametrize("where", ["defaults", "source"])
def test_a_generator_past_the_upstream_limit_is_stopped_with_a_note_naming_it(tmp_path: Path, where: str) -> None:
    """Consumption stops once the raw items pass `max_response_bytes` (an endless generator would fill
    memory); the result says so, naming that limit. Set per source, as an OpenAPI source's is, it wins over
    `defaults:` (a Python source's was refused as an unknown key: only `defaults:` could set it, for every
    source at once). Through `mcprt call`."""
    (tmp_path / "rows_tools.py").write_text(ROWS)
    limits = ("50KB", "") if where == "defaults" else ("1MB", "\n            max_response_bytes: 50KB")
    manifest = write_manifest(tmp_path, f"""
        version: 1
        defaults: {{max_response_bytes: {limits[0]}}}
        sources:
          rows:
            python: rows_tools:rows{limits[1]}
            tools:
              rows: {{prune: "length(@)"}}
    """)
    done = mcprt_cli("call", str(manifest), "rows", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    count, note = (block["text"] for block in json.loads(done.stdout)["content"])
    assert 240 <= int(count) <= 260, count  # 50 KB of ~200-byte rows
    assert f"stopped after {count} items" in note and "(max_response_bytes, 50000 bytes)" in note


async def test_the_manifest_folder_is_importable_once_and_its_own_module_wins(tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    for folder, answer in ((first, 1), (second, 2)):
        folder.mkdir()
        (folder / "samename_tools.py").write_text(f"def answer() -> int:\n    'The answer.'\n    return {answer}\n")
        write_manifest(folder, "version: 1\nsources:\n  s:\n    python: samename_tools\n")
    for folder, answer in ((first, "1"), (second, "2"), (first, "1")):
        async with running(folder / "mcp.yaml") as (runtime, compiled):
            assert text_of(await call(compiled, "answer")) == answer
            assert runtime.pool.running["s"].local_files() == [folder / "samename_tools.py"]
    assert sys.path.count(str(first.resolve())) == 1
    assert sys.path.count(str(second.resolve())) == 1

    (first / "samename_tools.py").write_text("def answer() -> int:\n    'Changed.'\n    return 11\n")
    async with running(first / "mcp.yaml") as (_, compiled):  # a changed file is imported again
        assert text_of(await call(compiled, "answer")) == "11"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("no_such_module:run", "source 'broken': 'no_such_module:run': cannot import 'no_such_module': "
                               "No module named 'no_such_module'"),
        ("typed_tools:missing", "source 'broken': 'typed_tools:missing': module 'typed_tools' has no attribute "
                                "'missing'"),
        ("typed_tools:VERSION", "source 'broken': 'typed_tools:VERSION': 'VERSION' is a str value, not a function"),
        ("typed_tools:shout", "source 'broken': 'typed_tools:shout': parameter 'text' has no type hint; "
                              "annotate it (e.g. `text: str`)"),
        ("[typed_tools:add, 'bad entry']", "source 'broken': entry 2 'bad entry' is not "
                                          "`package.module:function` or `package.module`"),
    ],
)
def test_import_problems_are_diagnostics_at_the_python_line(project: Path, entry: str, message: str) -> None:
    """At the entry itself: the `python:` value, or the item of a list of entries."""
    manifest = write_manifest(project, f"""
        version: 1
        sources:
          broken:
            python: {entry}
    """)
    result = mcprt_cli("validate", str(manifest), timeout=60)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    first_line = result.stderr.splitlines()[0]
    where = "4:31" if entry.startswith("[") else "4:13"  # a list's second entry starts at column 31
    assert first_line == f"{manifest}:{where}: {message}" or first_line.startswith(f"{manifest}:{where}: {message}"), (
        first_line
    )


async def test_a_module_failing_at_import_is_reported_with_its_error(tmp_path: Path) -> None:
    (tmp_path / "explodes.py").write_text("raise RuntimeError('no config found')\n")
    (tmp_path / "typo.py").write_text("def f(:\n    pass\n")
    manifest = write_manifest(tmp_path, """
        version: 1
        sources:
          a:
            python: explodes
          b:
            python: typo:f
    """)
    with pytest.raises(ManifestError) as caught:
        async with running(manifest):
            pass
    messages = [d.message for d in caught.value.diagnostics]
    assert "source 'a': 'explodes': importing 'explodes' failed: RuntimeError: no config found" in messages
    assert any(m.startswith("source 'b': 'typo:f': cannot import 'typo': ") and "typo.py, line 1" in m
               for m in messages), messages


async def test_a_module_that_cannot_be_imported_is_one_error_however_many_entries_name_it(tmp_path: Path) -> None:
    """One syntax error in a module named by a tool entry, resources and prompts was reported once per
    entry (eleven identical errors for a trial's shop module); the first entry naming it reports it."""
    (tmp_path / "shop.py").write_text("def ok() -> int:\n    return 1\n\ndef broken(:\n    pass\n")
    (tmp_path / "fine.py").write_text("def about() -> str:\n    'About.'\n    return 'x'\n")
    manifest = write_manifest(tmp_path, """
        version: 1
        sources:
          s:
            python: [shop:ok, shop:broken]
            resources:
              "shop://a": shop:ok
              "shop://{id}": shop:broken
              "shop://about": fine:about
              "shop://missing": fine:nothing
            prompts: [shop:ok]
    """)
    with pytest.raises(ManifestError) as caught:
        async with running(manifest):
            pass
    found = {d.message: d for d in caught.value.diagnostics}
    assert len(found) == 2, found
    [syntax] = [d for m, d in found.items() if m.startswith("source 's': entry 1 'shop:ok': cannot import 'shop': ")]
    assert "shop.py, line 4" in syntax.message
    assert (Path(syntax.file).name, syntax.line, syntax.col) == ("shop.py", 4, 12)  # the syntax error's own place
    assert "source 's': 'fine:nothing': module 'fine' has no attribute 'nothing' (it has: about)" in found


INVENTORY = '''
class Inventory:
    count = 5

    def __init__(self) -> None:
        self.items = 3

    @classmethod
    def restock(cls, n: int = 1) -> int:
        """Restock the shelves."""
        return cls.count + n

    @staticmethod
    def price(sku: str) -> float:
        """Price of a SKU."""
        return 9.5

    def take(self, n: int = 1) -> int:
        """Take some."""
        self.items -= n
        return self.items

    @property
    def stock(self) -> int:  # run only when an entry names it: suggesting a name must not run it
        raise RuntimeError("the stock database is down")


inventory = Inventory()
'''


async def test_an_entry_may_name_a_method_by_a_dotted_path_as_an_entry_point_does(tmp_path: Path) -> None:
    """`module:object.attr` (PyPA entry points' object reference): a classmethod, a staticmethod, a
    bound method of a module-level object; the tool is named by the last part, overrides take the
    whole path. It was refused: "is not `package.module:function`"."""
    (tmp_path / "inv.py").write_text(INVENTORY)
    manifest = write_manifest(tmp_path, """
        version: 1
        sources:
          s:
            python: [inv:Inventory.restock, inv:Inventory.price, inv:inventory.take]
            tools:
              inv:Inventory.price: {name: sku_price}
    """)
    async with running(manifest) as (_, compiled):
        assert sorted(tools_by_name(compiled)) == ["restock", "sku_price", "take"]
        assert text_of(await call(compiled, "restock", {"n": 2})) == "7"
        assert text_of(await call(compiled, "sku_price", {"sku": "a"})) == "9.5"
        assert text_of(await call(compiled, "take", {"n": 2})) == "1"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("inv:Inventory.restok", "'Inventory' has no attribute 'restok' (did you mean 'restock'?)"),
        ("inv:Inventory.take", "'self' is unbound: name the method through an object of its class "
                               "(`module:instance.method`), or make it a classmethod or staticmethod"),
        ("inv:inventory.nope.x", "'inventory' has no attribute 'nope' (it has: price, restock, take)"),
        ("inv:inventory.restok", "'inventory' has no attribute 'restok' (did you mean 'restock'?)"),
        ("inv:inventory.stock", "reading 'stock' of 'inventory' failed: RuntimeError: the stock database is down"),
        ("inv:Inventory..take", "is not `package.module:function` or `package.module`"),
    ],
)
async def test_a_dotted_entry_that_names_no_usable_function_says_why(tmp_path: Path, entry: str, message: str) -> None:
    (tmp_path / "inv.py").write_text(INVENTORY)
    manifest = write_manifest(tmp_path, f"""
        version: 1
        sources:
          s:
            python: {entry}
    """)
    with pytest.raises(ManifestError) as caught:
        async with running(manifest):
            pass
    [problem] = [d.message for d in caught.value.diagnostics]
    assert problem.endswith(message), problem


async def test_a_whole_module_entry_says_how_to_leave_out_a_helper_that_cannot_be_a_tool(tmp_path: Path) -> None:
    """`python: m` takes every public function of a module without `__all__`: a helper with `*args`
    (never meant as a tool) failed the source with no word on how to leave it out."""
    (tmp_path / "m.py").write_text("def log(*parts) -> None:\n    print(*parts)\n\n"
                                   "def add(a: int) -> int:\n    'Add.'\n    return a\n")
    manifest = write_manifest(tmp_path, "version: 1\nsources:\n  s:\n    python: m\n")
    with pytest.raises(ManifestError) as caught:
        async with running(manifest):
            pass
    assert [d.message for d in caught.value.diagnostics] == [
        "source 's': 'm': 'm:log': parameter '*parts' cannot be described as a tool argument (`m` has no "
        "`__all__`, so each of its public functions is a tool: list the tools in `__all__`, or start a helper's "
        "name with `_`)"]
    (tmp_path / "m.py").write_text("__all__ = ['add']\n\n" + (tmp_path / "m.py").read_text())
    async with running(manifest) as (_, compiled):
        assert list(tools_by_name(compiled)) == ["add"]
