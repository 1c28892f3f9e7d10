"""record → test → change a prune → test fails with a readable diff → --update → passes.

`mcprt record` calls a real pets API on 127.0.0.1; `mcprt test` replays against its own loopback
upstream (the pets API is not needed then: the test proves it by stopping to use it).
"""

from __future__ import annotations

import json
import shutil

from ruamel.yaml import YAML

from tests.gitops.pets_api import API_KEY, Workspace


def _base(workspace: Workspace) -> str:
    line = next(l for l in workspace.manifest.read_text().splitlines() if "base_url:" in l)
    return line.split("base_url:", 1)[1].strip()


def _load(path):  # type: ignore[no-untyped-def]
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def test_record_then_test_then_prune_change_then_update(workspace: Workspace) -> None:
    recorded = workspace.mcprt("record", "mcp.yaml", "list_pets", "--args", '{"limit": 8}', "--name", "first-eight")
    assert recorded.returncode == 0, recorded.stderr
    assert "recorded list_pets/first-eight" in recorded.stdout
    case_file = workspace.root / "cases" / "list_pets" / "first-eight.yaml"
    snapshot = workspace.root / "cases" / "__snapshots__" / "list_pets" / "first-eight.txt"
    case = _load(case_file)
    assert case["tool"] == "list_pets" and case["operation"] == "listPets"
    assert case["args"] == {"limit": 8}
    assert case["request"]["method"] == "GET"
    assert case["request"]["url"].endswith("/v1/pets?limit=8")
    assert case["response"]["status"] == 200 and len(case["response"]["json"]) == 8
    # The credential never reaches the case file; response noise (cookies, request ids) is not kept.
    text = case_file.read_text()
    assert API_KEY not in text and "session=abc" not in text and "r-1" not in text
    assert "#1 pet-1 (dog)" in snapshot.read_text()

    # The replay needs neither the live upstream (its base URL now points at a closed port) nor the secret.
    workspace.edit(f"base_url: {_base(workspace)}", "base_url: http://127.0.0.1:9/v1")
    passed = workspace.mcprt("test", "mcp.yaml", drop=("PETS_KEY",))
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "ok   list_pets/first-eight" in passed.stdout
    assert "1 passed, 0 failed" in passed.stdout
    # The per-tool byte table: raw bytes → bytes sent, and the reduction.
    table_row = next(line for line in passed.stdout.splitlines() if line.startswith("list_pets "))
    raw, sent, reduction = table_row.split()[2:5]
    assert int(raw.replace(",", "")) > 10 * int(sent.replace(",", "")) and reduction.endswith("%")

    # A prune change alters what the model receives: the test fails with a readable diff.
    workspace.edit("[].{id: id, name: name, tag: tag}", "[].{id: id, name: name, tag: status}")
    failed = workspace.mcprt("test", "mcp.yaml")
    assert failed.returncode == 1
    assert "FAIL list_pets/first-eight" in failed.stdout
    assert "what the model receives changed" in failed.stdout
    assert "-#1 pet-1 (dog)" in failed.stdout and "+#1 pet-1 (available)" in failed.stdout
    assert "mcprt test --update" in failed.stdout

    updated = workspace.mcprt("test", "mcp.yaml", "--update")
    assert updated.returncode == 0, updated.stdout
    assert "snapshot updated" in updated.stdout
    assert "#1 pet-1 (available)" in snapshot.read_text()
    again = workspace.mcprt("test", "mcp.yaml")  # a real process again: exit code 0
    assert again.returncode == 0 and "1 passed, 0 failed" in again.stdout


def test_argument_mapping_regression_fails_on_the_request(workspace: Workspace) -> None:
    recorded = workspace.mcprt("record", "list_pets", "--args", "{}")
    assert recorded.returncode == 0, recorded.stderr
    assert (workspace.root / "cases" / "list_pets" / "default.yaml").is_file()
    # A changed default changes the request the runtime builds: caught before any output comparison.
    workspace.edit("limit: {default: 5}", "limit: {default: 6}")
    failed = workspace.mcprt("test")
    assert failed.returncode == 1
    assert "the request differs from the recorded one" in failed.stdout
    assert 'query limit: recorded "5", sent "6"' in failed.stdout
    # --update rewrites snapshots, never the recorded request.
    assert workspace.mcprt("test", "--update").returncode == 1


def test_record_post_body_and_replay_checks_it(workspace: Workspace) -> None:
    recorded = workspace.mcprt("record", "mcp.yaml", "create_pet", "--args", '{"name": "Rex", "tag": "dog"}')
    assert recorded.returncode == 0, recorded.stderr
    case_file = workspace.root / "cases" / "create_pet" / "name-rex_tag-dog.yaml"
    case = _load(case_file)
    assert case["request"]["method"] == "POST"
    assert case["request"]["json"] == {"name": "Rex", "tag": "dog"}
    assert case["response"]["status"] == 201
    # Hand-edit the recorded body as if the mapping had sent something else.
    case_file.write_text(case_file.read_text().replace("tag: dog\nresponse", "tag: cat\nresponse"))
    assert "tag: cat" in case_file.read_text()
    failed = workspace.mcprt("test")
    assert failed.returncode == 1
    assert 'body $.tag: recorded "cat", sent "dog"' in failed.stdout


def test_record_refuses_to_overwrite_and_rejects_bad_input(workspace: Workspace) -> None:
    assert workspace.mcprt("record", "get_pet", "--args", '{"petId": 3}').returncode == 0
    again = workspace.mcprt("record", "get_pet", "--args", '{"petId": 3}')
    assert again.returncode == 2 and "already exists" in again.stderr
    unknown = workspace.mcprt("record", "get_pets", "--args", "{}")
    assert unknown.returncode == 2 and "did you mean 'get_pet'" in unknown.stderr
    invalid = workspace.mcprt("record", "get_pet", "--args", '{"petId": "x"}')
    assert invalid.returncode == 2 and "nothing recorded" in invalid.stderr
    assert "Traceback" not in unknown.stderr + invalid.stderr + again.stderr


def test_a_base_url_from_an_unset_variable_replays_without_it(workspace: Workspace) -> None:
    """`mcprt test` gives an unset variable a placeholder; one that starts `base_url` gets a URL (the loader
    checks base_url as one), and the replay keeps the recorded base path."""
    base = _base(workspace)
    workspace.env["PETS_BASE"] = base.removesuffix("/v1")
    workspace.edit(f"base_url: {base}", 'base_url: "${PETS_BASE}/v1"')
    assert workspace.mcprt("record", "get_pet", "--args", '{"petId": 3}').returncode == 0
    passed = workspace.mcprt("test", "mcp.yaml", drop=("PETS_BASE", "PETS_KEY"))
    assert passed.returncode == 0, passed.stdout + passed.stderr


def test_a_variable_inside_base_url_replays_without_it(workspace: Workspace) -> None:
    """An unset variable anywhere in base_url's host or port (not only at its start) gets a placeholder
    the loader's URL check accepts: `mcprt test` and `validate --offline` pass without the variable."""
    base = _base(workspace)  # http://127.0.0.1:PORT/v1
    host, port = base.removeprefix("http://").removesuffix("/v1").split(":")
    workspace.env |= {"PETS_HOST": host, "PETS_PORT": port}
    assert workspace.mcprt("record", "get_pet", "--args", '{"petId": 3}').returncode == 0
    for written in (f'"http://{host}:${{PETS_PORT}}/v1"', f'"http://${{PETS_HOST}}:{port}/v1"',
                    '"http://${PETS_HOST}:${PETS_PORT}/v1"'):
        workspace.edit(f"base_url: {_base(workspace)}", f"base_url: {written}")
        for command in (("test", "mcp.yaml"), ("validate", "--offline", "mcp.yaml")):
            ran = workspace.mcprt(*command, drop=("PETS_HOST", "PETS_PORT", "PETS_KEY"))
            assert ran.returncode == 0, (written, command, ran.stdout + ran.stderr)
    # What the author wrote around the placeholder is still checked.
    workspace.edit(f"base_url: {_base(workspace)}", 'base_url: "ftp://127.0.0.1:${PETS_PORT}/v1"')
    refused = workspace.mcprt("validate", "--offline", "mcp.yaml", drop=("PETS_HOST", "PETS_PORT", "PETS_KEY"))
    assert refused.returncode == 2 and "got another scheme" in refused.stdout + refused.stderr, refused.stderr


def test_record_refuses_a_secret_in_the_arguments_or_the_case_name(workspace: Workspace) -> None:
    """A case holds no secret: the source's key as an argument (path, body) or as --name is refused before
    anything is sent, naming where it is, never the key; no case file is written (its name would hold it)."""
    attempts = [("get_pet", {"petId": API_KEY}, (), "`petId`"),
                ("create_pet", {"name": "x", "tag": f"k={API_KEY}"}, (), "`tag`"),
                ("get_pet", {"petId": 3}, ("--name", f"with-{API_KEY}"), "--name")]
    for tool, args, name, where in attempts:
        refused = workspace.mcprt("record", tool, "--args", json.dumps(args), *name)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert f"nothing recorded: {where} holds the value of a secret" in refused.stderr
        assert API_KEY not in refused.stdout + refused.stderr
    cases = workspace.root / "cases"
    assert not cases.exists() or not [p for p in cases.rglob("*") if p.is_file()]


def test_hand_written_case_from_documented_example(workspace: Workspace) -> None:
    """A case written from an API's documentation: no headers, JSON in YAML, URL on the documented host."""
    folder = workspace.root / "cases" / "get_pet"
    folder.mkdir(parents=True)
    documented = {"id": 4, "name": "Lassie", "status": "sold", "category": {"id": 1, "name": "Dogs"},
                  "photoUrls": ["https://example.com/l.jpg"], "tags": [{"id": 1, "name": "tv"}]}
    (folder / "documented.yaml").write_text(
        "tool: get_pet\nargs: {petId: 4}\nrequest: {method: GET, url: 'https://pets.example.com/v1/pets/4'}\n"
        f"response:\n  status: 200\n  json: {json.dumps(documented)}\n"
    )
    first = workspace.mcprt("test")
    assert first.returncode == 1 and "no snapshot yet" in first.stdout and '"name": "Lassie"' in first.stdout
    assert workspace.mcprt("test", "--update").returncode == 0
    snapshot = (workspace.root / "cases" / "__snapshots__" / "get_pet" / "documented.txt").read_text()
    assert '"category": "Dogs"' in snapshot and "photoUrls" not in snapshot
    # A snapshot whose case is deleted is reported, and removed by --update.
    shutil.copy(folder / "documented.yaml", folder / "second.yaml")
    assert workspace.mcprt("test", "--update").returncode == 0
    (folder / "second.yaml").unlink()
    stale = workspace.mcprt("test")
    assert stale.returncode == 0 and "stale snapshot" in stale.stderr
    assert "removed stale snapshot" in workspace.mcprt("test", "--update").stderr


def test_broken_case_file_is_a_clear_error(workspace: Workspace) -> None:
    folder = workspace.root / "cases" / "get_pet"
    folder.mkdir(parents=True)
    (folder / "bad.yaml").write_text("tool: get_pet\nargs: [1]\n")
    result = workspace.mcprt("test")
    assert result.returncode == 2
    assert "bad.yaml: `args` must be a mapping" in result.stderr and "Traceback" not in result.stderr
