"""`mcprt init --openapi` through the real CLI, and the suggested-prune heuristic measured on the catalog."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from mcprt.authoring.measure import Prepared, measure_entry, prepare, source_paths, table
from mcprt.authoring.suggest import OPTIONAL, SIGNALS, Budget
from mcprt.manifest.model import BASE_URL_PLACEHOLDER

from tests.support.cli import mcprt_cli as mcprt

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "tests" / "fixtures" / "specs"
CATALOG = ROOT / "catalog"
# every document of the corpus (fragments that other files `$ref` are not documents)
DOCUMENTS = sorted(
    str(p.relative_to(SPECS)) for p in SPECS.rglob("*")
    if p.suffix in (".json", ".yaml") and not any(part in ("common", "paths", "schemas") for part in p.parts)
    and p.name not in ("Pet.json", "NewPet.json", "parameters.json")
)


def _base_url_set(text: str) -> str:
    """A written manifest with `init`'s `base_url` placeholder set, as its user does (Petstore's server is relative)."""
    return text.replace(f'"{BASE_URL_PLACEHOLDER}"', "http://127.0.0.1:9")


# Each document's tests run on one worker (one `xdist_group` per document) and share `init`'s manifest of all of
# its operations (`_written`): both tests read it, only their own copy is edited.
PER_DOCUMENT = [pytest.param(d, marks=pytest.mark.xdist_group(f"test_init:{d}")) for d in DOCUMENTS]


@dataclass(frozen=True)
class Written:
    """What `mcprt init --openapi DOCUMENT --out FOLDER/api/mcp.yaml` gave: exit code, stderr and the file."""
    returncode: int
    stderr: str
    text: str
    out: Path


_WRITTEN: dict[str, Written] = {}


def _written(document: str, tmp_path_factory: pytest.TempPathFactory) -> Written:
    """`init` of all of `document`'s operations, run once per worker (the manifest's `openapi:` is relative to
    its folder: `_init_all` reuses it only where the test's own folder lies as deep)."""
    if document not in _WRITTEN:
        out = tmp_path_factory.mktemp("init_all") / "api" / "mcp.yaml"
        made = mcprt("init", "--openapi", str(SPECS / document), "--out", str(out))
        _WRITTEN[document] = Written(made.returncode, made.stderr, out.read_text() if out.exists() else "", out)
    return _WRITTEN[document]


def _init_all(document: str, out: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str]:
    """`mcprt init --openapi DOCUMENT --out OUT` (exit code, stderr), OUT written: the shared run's copy when
    the `openapi:` path it wrote is the one OUT's folder needs, else a run of its own."""
    written = _written(document, tmp_path_factory)
    spec = SPECS / document
    if os.path.relpath(spec, written.out.parent) != os.path.relpath(spec, out.parent):
        made = mcprt("init", "--openapi", str(spec), "--out", str(out))
        return made.returncode, made.stderr
    if written.returncode == 0:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(written.text)
    return written.returncode, written.stderr


@pytest.mark.parametrize("document", PER_DOCUMENT)
def test_init_writes_a_manifest_that_validates(document: str, tmp_path: Path,
                                               tmp_path_factory: pytest.TempPathFactory) -> None:
    out = tmp_path / "api" / "mcp.yaml"
    returncode, stderr = _init_all(document, out, tmp_path_factory)
    assert returncode == 0, stderr
    assert "Traceback" not in stderr
    text = out.read_text()
    assert "# tools/list: " in text and "version: 1" in text
    checked = mcprt("validate", str(out))
    if BASE_URL_PLACEHOLDER in text:  # the description names no usable server: refused until it is set
        line = next(n for n, row in enumerate(text.splitlines(), 1) if BASE_URL_PLACEHOLDER in row)
        assert checked.returncode == 2 and f"mcp.yaml:{line}:15: " in checked.stderr, checked.stderr
        out.write_text(_base_url_set(text))
        checked = mcprt("validate", str(out))
    assert checked.returncode == 0, checked.stderr


# What `validate --strict` may still refuse in a manifest `init` wrote: review items left to the author, not faults
# of `init`'s writing. A credential is the author's choice (`init` writes the declared ways commented, "keep
# one"); tools with the same description or names over 48 characters are per-tool review; the description's own
# warnings (a `$ref` refused, a nameless parameter, no `paths`) `init` prints on its stderr too; a `$ref` to a
# file outside the manifest's folder tree (here a temporary folder: MCPRT_INCLUDE_PATHS) is where it is written.
AUTHOR_REVIEW = ("which the source does not configure", "have the same description", "longer than 48 characters",
                 "MCPRT_INCLUDE_PATHS")


def _first_tag(document: str) -> str | None:
    from mcprt.authoring.scaffold import open_spec, tag_counts

    counts = tag_counts(open_spec(str(SPECS / document), Path("mcp.yaml"), None).compiled)
    return counts[0][0] if counts else None


@pytest.mark.parametrize("document", PER_DOCUMENT)
def test_init_output_leaves_validate_strict_only_what_its_author_must_decide(
        document: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Found by the big-API trial (fault 5): `init --tag issues` on GitHub wrote `path_slashes: [path, dir]`, worked
    out from the whole document, so `validate --strict` failed on init's own output (`path_slashes` names 'dir',
    which is no path parameter …). What `init` says of the source as a whole is now read off the operations it
    includes, and no strict warning is left at anything `init` wrote, with or without a tag (its first).

    Not "init's output passes `--strict`" (the review of initfix, problem 5: this test was named so): `--strict`
    still fails where only the author can decide (`AUTHOR_REVIEW`: the auth a description asks for and the source
    does not configure, descriptions alike, names over 48 characters), as init itself warned (`own`); this test
    checks that no other warning is left (blockfrost: 6 auth warnings; GitHub: 23)."""
    tag = _first_tag(document)
    for variant, tags in (("all", ()), ("tagged", ("--tag", tag) if tag else None)):
        if tags is None:  # the document tags no operation: the manifest of all of them is its only one
            continue
        out = tmp_path / variant / "mcp.yaml"
        if tags:
            made = mcprt("init", "--openapi", str(SPECS / document), "--out", str(out), *tags)
            returncode, stderr = made.returncode, made.stderr
        else:  # the same run as test_init_writes_a_manifest_that_validates's
            returncode, stderr = _init_all(document, out, tmp_path_factory)
        assert returncode == 0, stderr
        out.write_text(_base_url_set(out.read_text()))
        checked = mcprt("validate", "--strict", str(out))
        own = [line.split("warning: ", 1)[1] for line in stderr.splitlines() if line.startswith("warning: ")]
        said = [line for line in checked.stderr.splitlines() if re.match(r".*mcp\.yaml:\d+:\d+: ", line)]
        refused, allowed_at = [], set()
        for line in said:  # "… and N more warnings of this kind" is of the kind of a line said at its place
            place = re.match(r".*mcp\.yaml:\d+:\d+: ", line).group(0)  # type: ignore[union-attr]
            if "more warnings of this kind" in line:
                allowed = place in allowed_at
            else:
                allowed = (": note: " in line or any(r in line for r in AUTHOR_REVIEW)
                           # init names the description by the path it was given, validate relative to the
                           # manifest (`../../…` from a fresh clone's temporary folder): compare the words after it
                           or any(warning[:60] in line or warning[-60:] in line for warning in own))
                if allowed:
                    allowed_at.add(place)
            if not allowed:
                refused.append(line)
        assert not refused, (variant, checked.stderr)
        assert checked.returncode == 0 or "treated as errors (--strict)" in checked.stderr, checked.stderr


def test_init_lists_every_operation_names_poor_ones_and_comments_out_other_tags(tmp_path: Path) -> None:
    spec = tmp_path / "api.yaml"
    spec.write_text("""openapi: 3.0.3
info: {title: Chain Explorer, version: "1"}
servers: [{url: "https://explorer.example.com/api"}]
paths:
  /:
    get:
      operationId: get
      tags: [health]
      summary: API root
      responses: {'200': {description: ok, content: {application/json: {schema: {type: object, properties: {url: {type: string}, version: {type: string}}}}}}}
  /addresses/{address}/txs:
    get:
      tags: [addresses]
      summary: Transactions of an address
      parameters: [{name: address, in: path, required: true, schema: {type: string}}]
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema:
                type: array
                items:
                  type: object
                  properties:
                    tx_hash: {type: string}
                    block_height: {type: integer}
                    block_time: {type: integer}
                    explorer_url: {type: string}
                    block: {type: object, properties: {hash: {type: string}, url: {type: string}, epoch: {type: object, properties: {no: {type: integer}}}}}
""")
    out = tmp_path / "mcp.yaml"
    made = mcprt("init", "--openapi", str(spec), "--tag", "addresses", "--out", str(out))
    assert made.returncode == 0, made.stderr
    text = out.read_text()
    # the excluded operation is listed, commented out, with its override key; the poor operationId renamed
    assert "      # GET / [health] — API root\n      # get:\n      #   name: get_root\n" in text
    assert '      # GET /addresses/{address}/txs [addresses] — Transactions of an address\n' \
           '      "GET /addresses/{address}/txs":\n        name: list_addresses_txs\n' in text
    # an unidentified item and its unidentified `block` are wrappers: their fields are followed (no html_url: URLs kept)
    # (read back as YAML: a prune longer than a line is written as a folded block)
    from ruamel.yaml import YAML

    tools = YAML(typ="safe").load(text)["sources"]["chain_explorer"]["tools"]
    # the result's own list is a table: the wrapper `block` flattened into its columns (`authoring/table.py`)
    assert tools["GET /addresses/{address}/txs"]["prune"] == (
        'length(@ || `[]`) >= `3` && {columns: `["tx_hash", "block_height", "block_time", "explorer_url", '
        '"block.hash", "block.url", "block.epoch.no"]`, rows: [].[tx_hash, block_height, block_time, explorer_url, '
        "block.hash, block.url, block.epoch.no]} || [].{tx_hash: tx_hash, block_height: block_height, "
        "block_time: block_time, explorer_url: explorer_url, block: block.{hash: hash, url: url, epoch: "
        "epoch.{no: no}}}")
    assert "include: {tags: [addresses]}" in text
    assert mcprt("init", "--openapi", str(spec), "--out", str(out)).returncode == 2  # never overwrites silently
    listed = mcprt("tools", str(out), "--json")
    assert listed.returncode == 0, listed.stderr
    assert '"name":"list_addresses_txs"' in listed.stdout and "get_root" not in listed.stdout


def test_source_paths_name_the_fields_a_prune_reads() -> None:
    assert source_paths("[].{a: user.login, l: labels[].name, n: number}") == {"[].user.login", "[].labels[].name",
                                                                                "[].number"}
    assert source_paths("{t: total_count, i: items[].{r: repository.full_name}}") == {
        "total_count", "items[].repository.full_name"}


ENTRIES = sorted(p.parent.name for p in CATALOG.glob("*/mcp.yaml") if (p.parent / "cases").is_dir())
# the whole catalog's byte reduction with the rule (90.6% when measured, the result's own lists of 3 items or more
# sent as tables — 90.5% with a header on every list, inner lists of a single result tabled too;
# 85.9% with lists of objects; 86.0% before a nullable part with a
# handle or label stayed in list items; 85.2% before a reference in a list's
# items kept one name under its own key; 84.7% before possibly-null parts and
# expandable fields left list items; 84.5% before a help-desk trial's renderings, `description` and bounded
# free-text rules; 84.8% before an unknown-shape `{}` alternative stopped dropping the documented objects beside
# it — DigitalOcean's `links.pages`, Slack's channel `latest` — whose bytes are now kept); the goal: 0.90
REACHED = 0.90


@pytest.fixture(scope="module")
def prepared() -> list[Prepared]:
    """Every catalog entry with recorded cases, compiled once for the measures below."""
    return [prepare(CATALOG / e / "mcp.yaml") for e in ENTRIES]


@pytest.mark.xdist_group("test_init_prepared")  # `prepared` compiled once per run, not once per worker
def test_suggested_prunes_on_the_catalog(prepared: list[Prepared]) -> None:
    """Every documented field a hand-written prune keeps is kept, per entry, and the bytes saved.

    The goal, ≥ 90% on the whole catalog without losing a hand-kept field, is reached: 90.6% (README, "Suggested
    prunes"), the result's own lists sent as tables — 85.9% as objects, the field choice near its limit (the
    budget test below). A field a table keeps has its values in its column, row by row (`measure.column_holds`).
    """
    entries = [measure_entry(p) for p in prepared]
    report = table(entries)  # the per-entry figures, as `python catalog/_tools/measure_suggestions.py` prints them
    print("\n" + report)
    assert {e.entry: e.missing for e in entries if e.missing} == {}, report
    figures = {e.entry: 1 - e.sent_bytes / e.raw_bytes for e in entries}
    assert figures["github"] >= 0.93 and figures["stripe"] >= 0.92 and figures["jira"] >= 0.95, report
    assert all(e.sent_bytes < e.raw_bytes for e in entries)
    assert 1 - sum(e.sent_bytes for e in entries) / sum(e.raw_bytes for e in entries) >= REACHED, report
    objects = [measure_entry(p, signals=SIGNALS - {"table"}) for p in prepared]  # the same fields, as objects
    assert not any(e.missing for e in objects)
    assert 0.855 < 1 - sum(e.sent_bytes for e in objects) / sum(e.raw_bytes for e in objects) < REACHED
    # left out of the measure: fields the entries vouch for as sent but undocumented (validate --strict), and
    # Jira's issue `fields`, a free-form map in its description (no schema-driven rule can name its members)
    assert {e.entry for e in entries if e.undocumented} == {"asana", "jira", "slack", "zoom"}
    assert all(p.startswith("search_issues: issues[].fields.") for e in entries if e.entry == "jira"
               for p in e.undocumented)


@pytest.mark.xdist_group("test_init_prepared")  # `prepared` compiled once per run, not once per worker
def test_an_unknown_shape_alternative_keeps_what_the_other_alternatives_keep(prepared: list[Prepared]) -> None:
    """Found by a new-user trial: DigitalOcean's `links.pages` is `anyOf: [{last, next}, {first, prev}, {}]`,
    and the `{}` (any value) alternative made the suggestion `[pages][?type(@) != 'object'] | [0]`: always
    empty on real responses. The recorded page's links now come through the suggestion whole."""
    import jmespath

    from mcprt.authoring.suggest import suggest_prune

    entry = next(p for p in prepared if p.entry == "digitalocean")
    case = next(c for c in entry.cases if c.tool == "list_droplets")
    suggestion = suggest_prune(case.signals.success, case.signals.default, None, case.signals.hints)
    assert "links: links.{pages: pages.{" in suggestion, suggestion
    for name in ("first", "prev", "next", "last"):  # each alternative's fields
        assert f"{name}: {name}" in suggestion.split("links: links.", 1)[1], suggestion
    pages = case.body["links"]["pages"]
    kept = jmespath.search(suggestion, case.body)["links"]["pages"]
    assert pages and {k: v for k, v in kept.items() if v is not None} == pages  # the absent alternative: nulls


@pytest.mark.xdist_group("test_init_prepared")  # `prepared` compiled once per run, not once per worker
def test_an_error_response_feeds_a_success_prune_only_when_it_can_come_as_a_success(prepared: list[Prepared]) -> None:
    """Found by a new-user trial: every DigitalOcean suggestion kept its `default` error's `{id, message,
    request_id}`. An error comes as a success only in the success's envelope (Slack's `ok`, status 200);
    DigitalOcean documents 4xx responses (errors by status), Box's `ClientError` shares no flag."""
    from mcprt.authoring.suggest import suggest_prune

    def suggested(entry: str, tool: str) -> str:
        found = next(p for p in prepared if p.entry == entry)
        case = next(c for c in found.cases if c.tool == tool)
        return suggest_prune(case.signals.success, case.signals.default, None, case.signals.hints) or ""

    for tool in ("list_droplets", "get_droplet", "droplet_action", "list_droplet_actions"):
        top = suggested("digitalocean", tool)
        assert not top.startswith(("{id: id", "{message")) and "request_id" not in top, top
    comment = suggested("box", "add_comment")
    assert "help_url" not in comment and "request_id" not in comment and "code: code" not in comment, comment
    history = suggested("slack", "channel_history")  # Slack answers errors with 200: its error fields stay
    assert history.startswith("{callstack: callstack, error: error, needed: needed, provided: provided"), history
    assert "ok: ok" in history, history


@pytest.mark.xdist_group("test_init_prepared")  # `prepared` compiled once per run, not once per worker
def test_no_field_budget_keeps_every_hand_kept_field(prepared: list[Prepared]) -> None:
    """Why the rule has no budget (README): ranked by every signal the spec gives, 36 fields per list item keep
    every hand-kept field and save nothing, 32 already drop one the spec says nothing special about (GitHub's
    `topics` among a repository's ~90 fields), and 90% costs dozens of them."""
    def measured(budget: Budget) -> tuple[float, set[str]]:
        entries = [measure_entry(p, budget) for p in prepared]
        lost = {f"{e.entry}: {m}" for e in entries for m in e.missing}
        return 1 - sum(e.sent_bytes for e in entries) / sum(e.raw_bytes for e in entries), lost

    rule = measured(Budget(single=999, item=999, part=999))
    reduction, lost = measured(Budget(single=999, item=36, part=999))
    assert not lost and reduction - rule[0] < 0.001, (reduction, rule, lost)
    reduction, lost = measured(Budget(single=999, item=32, part=999))
    assert lost == {"github: search_repositories: items[].topics"} and reduction - rule[0] < 0.005, (reduction, lost)
    reduction, lost = measured(Budget(single=20, item=10, part=3))
    assert reduction - rule[0] > 0.03 and len(lost) >= 100, (reduction, len(lost))


@pytest.mark.xdist_group("test_init_prepared")  # `prepared` compiled once per run, not once per worker
def test_each_signal_is_measured_on_its_own(prepared: list[Prepared], monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """`measure_suggestions.py --signals` prints, per signal, what switching it on changes (the README's table).

    The script's own `main` runs in this process on the entries the module compiled once (`prepared`, the
    same manifests in the same order as the script finds them): compiling the catalog again in a
    subprocess cost ~6 s of CPU and measured nothing more."""
    script = _measure_script()
    by_manifest = {CATALOG / p.entry / "mcp.yaml": p for p in prepared}
    monkeypatch.setattr(script, "prepare", lambda manifest: by_manifest[manifest.resolve()])
    returncode = script.main(["--signals"])
    out = capsys.readouterr().out
    assert returncode == 0, out
    rows = {line.split("|")[1].strip(): line for line in out.splitlines() if line.startswith("| `")}
    assert set(rows) == {f"`{s}`" for s in SIGNALS} | {f"`{s}` (off)" for s in OPTIONAL}, out
    # 86.0% before a nullable part with a name stayed in list items, 85.2% before one name per reference
    # (85.9% with lists of objects: the `table` form, from 3 items on, saves 4.7 points and loses nothing)
    assert "| all of `SIGNALS` (the rule) | 90.6% / 0 |" in out and "| `table` | +4.7 pt / +0 |" in out, out
    # the parameters keep what they name in list items: a payment list's expandable `customer` (`?customer=`)
    assert "| `parameters` | -0.0 pt / -1 |" in out and "| `nullable` | +0.2 pt / +0 |" in out, out
    # one link per list item (off) gains bytes and costs Netlify's ssl_url
    assert "| `links` (off) | +0.4 pt / +1 |" in out, out


def _measure_script() -> ModuleType:
    """`catalog/_tools/measure_suggestions.py`, imported from its file (it is a script, not a package module)."""
    spec = importlib.util.spec_from_file_location("measure_suggestions", CATALOG / "_tools" / "measure_suggestions.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_tag_no_operation_carries_is_refused_before_writing(tmp_path: Path) -> None:
    """Found by a new-user trial: `init --tag nope` wrote a manifest with every tool commented out
    (`tools:` null, so it did not validate, and a `# TOOLS_LIST_SIZE` placeholder left in its header)."""
    out = tmp_path / "api" / "mcp.yaml"
    untagged = mcprt("init", "--openapi", str(CATALOG / "quickstart" / "notes-api.yaml"), "--tag", "nope",
                     "--out", str(out))
    assert untagged.returncode == 2 and "Traceback" not in untagged.stderr
    assert "--tag 'nope': no operation of " in untagged.stderr and "it tags no operation" in untagged.stderr
    assert not out.exists()
    petstore = str(CATALOG / "petstore" / "spec" / "petstore.yaml")
    typo = mcprt("init", "--openapi", petstore, "--tag", "Pett", "--tag", "store", "--out", str(out))
    assert typo.returncode == 2 and "(did you mean 'pet'?)" in typo.stderr
    assert "its tags (operations): pet (4), store (3), user (1)" in typo.stderr and not out.exists()
    other_case = mcprt("init", "--openapi", petstore, "--tag", "PET", "--out", str(out))  # as `include` matches
    assert other_case.returncode == 0, other_case.stderr
    assert "include: {tags: [PET]}" in out.read_text() and "TOOLS_LIST_SIZE" not in out.read_text()


def test_readable_names_of_long_operation_ids_fit_the_64_character_rule(tmp_path: Path) -> None:
    """Found by a new-user trial: `init` on GitHub's full description wrote 25 `name:`s over 64 characters
    (`actions_get_fork_pr_contributor_approval_permissions_organization`), so the manifest it had just
    written failed `validate` at each of them. These are two of GitHub's operationIds, sharing a long head."""
    long_ids = ["actions/get-github-actions-default-workflow-permissions-organization",
                "actions/set-github-actions-default-workflow-permissions-organization"]
    spec = tmp_path / "api.yaml"
    spec.write_text("openapi: 3.0.3\ninfo: {title: Long names, version: '1'}\n"
                    "servers: [{url: 'https://api.example.com'}]\npaths:\n  /orgs/{org}/actions/permissions/workflow:\n"
                    "    parameters: [{name: org, in: path, required: true, schema: {type: string}}]\n"
                    f"    get: {{operationId: {long_ids[0]}, responses: {{'204': {{description: ok}}}}}}\n"
                    f"    put: {{operationId: {long_ids[1]}, responses: {{'204': {{description: ok}}}}}}\n")
    out = tmp_path / "mcp.yaml"
    made = mcprt("init", "--openapi", str(spec), "--out", str(out))
    assert made.returncode == 0, made.stderr
    assert "does not validate" not in made.stderr
    names = [line.split("name: ", 1)[1] for line in out.read_text().splitlines() if line.startswith("        name: ")]
    assert len(names) == 2 and len(set(names)) == 2, names
    assert all(len(n) <= 64 for n in names), names
    assert names[0].startswith("actions_get_github_actions_") and names[1].startswith("actions_set_github_actions_")
    checked = mcprt("validate", str(out))
    assert checked.returncode == 0, checked.stderr
    listed = mcprt("tools", str(out), "--json")
    assert sorted(t["name"] for t in json.loads(listed.stdout)["tools"]) == sorted(names)


def test_each_auth_hint_is_a_working_auth_once_uncommented(tmp_path: Path) -> None:
    """Found by a new-user trial: the hint was always `# auth: {bearer: "${API_TOKEN}"}`, also for an API
    that declares only an API key in a header (Petstore's `api_key`) or basic auth. Now each declared way
    has its own line; each, uncommented alone with its variables set, validates and configures the scheme."""
    out = tmp_path / "mcp.yaml"
    made = mcprt("init", "--openapi", str(SPECS / "readme" / "3.1" / "security.json"), "--out", str(out))
    assert made.returncode == 0, made.stderr
    text = out.read_text()
    hints = [line for line in text.splitlines() if line.startswith("    # auth: ")]
    assert '    # auth: {api_key: {in: header, name: X-API-KEY, value: "${API_KEY}"}}   # `apiKey_header` (API key ' \
           'in header `X-API-KEY`)' in hints
    assert any(h.startswith('    # auth: {api_key: {in: query, name: apiKey, value: "${API_KEY}"}}') for h in hints)
    assert any(h.startswith('    # auth: {basic: {username: "${API_USERNAME}", password: "${API_PASSWORD}"}}')
               for h in hints)
    assert any(h.startswith('    # auth: {oauth2: {token_url: "http://example.com/oauth/token"') for h in hints)
    assert not any("mutualTLS" in h for h in hints)  # no `auth` form sends a client certificate
    env = dict(API_KEY="k-123", API_USERNAME="u", API_PASSWORD="p-123", API_TOKEN="t-123", CLIENT_ID="c",
               CLIENT_SECRET="s-123")
    for hint in hints:
        one = tmp_path / f"hint{hints.index(hint)}.yaml"
        one.write_text(text.replace(hint, hint.replace("    # auth: ", "    auth: ", 1)))
        run = mcprt("validate", str(one), env=env)
        assert run.returncode == 0, (hint, run.stderr)
        assert "Traceback" not in run.stderr


def test_a_credential_declared_as_a_parameter_is_kept_from_the_model(tmp_path: Path) -> None:
    """Found by a new-user trial: Slack's description declares `token` ("Authentication token") as a query
    or header parameter of every method; the manifest `init` wrote made it a required argument the model
    had to fill with a secret. `init` now lists it under `credential_parameters`."""
    out = tmp_path / "mcp.yaml"
    made = mcprt("init", "--openapi", str(CATALOG / "slack" / "spec" / "slack.json"), "--out", str(out))
    assert made.returncode == 0, made.stderr
    assert "    credential_parameters: [token]" in out.read_text()
    listed = mcprt("tools", str(out), "--json")
    assert listed.returncode == 0, listed.stderr
    tools = json.loads(listed.stdout)["tools"]
    assert len(tools) == 4
    for tool in tools:
        assert "token" not in tool["inputSchema"].get("properties", {}), tool["name"]
        assert "token" not in tool["inputSchema"].get("required", []), tool["name"]
    # a `token` that is an ordinary argument (GitHub's package restore: "package token") stays one; a
    # parameter named as a credential needs no description
    spec = tmp_path / "api.yaml"
    spec.write_text("""openapi: 3.0.3
info: {title: Tokens, version: '1'}
servers: [{url: 'https://api.example.com'}]
paths:
  /packages/{name}/restore:
    post:
      operationId: restorePackage
      parameters:
        - {name: name, in: path, required: true, schema: {type: string}}
        - {name: token, in: query, description: package token, schema: {type: string}}
        - {name: api_key, in: query, schema: {type: string}}
      responses: {'204': {description: restored}}
""")
    mixed = tmp_path / "mixed.yaml"
    assert mcprt("init", "--openapi", str(spec), "--out", str(mixed)).returncode == 0
    assert "    credential_parameters: [api_key]" in mixed.read_text()
    # an API without such parameters gets no such line
    plain = tmp_path / "petstore.yaml"
    assert mcprt("init", "--openapi", str(CATALOG / "petstore" / "spec" / "petstore.yaml"), "--out",
                 str(plain)).returncode == 0
    assert "credential_parameters" not in plain.read_text()


def test_signature_parameters_are_kept_from_the_model_and_sigv4_is_said_unsupported(tmp_path: Path) -> None:
    """Found by a new-user trial: an AWS description (`hmac`, `x-amazon-apigateway-authtype: awsSigv4`)
    made `X-Amz-Security-Token`, `X-Amz-Signature`, `X-Amz-Credential`… tool arguments (the model was
    asked for credentials) and `init` suggested `auth: {bearer}`, which cannot sign a request."""
    out = tmp_path / "mcp.yaml"
    spec = Path(__file__).parents[1] / "fixtures" / "specs" / "apis-guru" / "amazonaws-healthlake.json"
    made = mcprt("init", "--openapi", str(spec), "--out", str(out))
    assert made.returncode == 0, made.stderr
    text = out.read_text()
    assert "bearer" not in text and "auth:" not in text, text[:2000]
    assert "# `hmac` (AWS Signature Version 4, which mcprt does not support: it does not sign requests)" in text
    listed = mcprt("tools", str(out), "--json")
    assert listed.returncode == 0, listed.stderr
    arguments = {name for tool in json.loads(listed.stdout)["tools"] for name in tool["inputSchema"]["properties"]}
    # `X-Amz-Target` too: its one-value enum is sent by mcprt (inputs.sole_value), not asked of the model
    assert not {name for name in arguments if name.lower().startswith("x-amz-")}, arguments
    checked = mcprt("validate", str(out))
    assert "needs auth `hmac` (AWS Signature Version 4, which mcprt does not support" in checked.stderr, checked.stderr


def test_one_operation_is_counted_in_the_singular(tmp_path: Path) -> None:
    """A new-user trial read `1 operations, 1 included (1 tools, …)` and `bytes for 1 tools`."""
    spec = tmp_path / "one.json"
    spec.write_text(json.dumps({"openapi": "3.1.0", "info": {"title": "One", "version": "1"}, "paths": {
        "/ping": {"get": {"operationId": "ping", "responses": {"200": {"description": "ok"}}}}}}))
    done = mcprt("init", "--openapi", str(spec), "--out", str(tmp_path / "one.yaml"))
    assert done.returncode == 0, done.stderr
    assert ": 1 operation, 1 included (1 tool, " in done.stderr, done.stderr
    text = (tmp_path / "one.yaml").read_text()
    assert ": 1 operation of One." in text and " bytes for 1 tool (" in text, text


def test_the_summary_counts_included_prunes_and_points_big_lists_at_discovery(tmp_path: Path) -> None:
    """Found by a new-user trial: `init --tag issues` on GitHub's description said "58 included …, 604 with a
    suggested prune" (the prunes of the 1,165 commented-out operations counted), and a 1.4 MB tools/list
    got no word about narrowing it or about discovery mode."""
    petstore = str(CATALOG / "petstore" / "spec" / "petstore.yaml")
    tagged = mcprt("init", "--openapi", petstore, "--tag", "store", "--out", str(tmp_path / "store.yaml"))
    assert tagged.returncode == 0, tagged.stderr
    text = (tmp_path / "store.yaml").read_text()
    active = sum(1 for line in text.splitlines() if line.startswith("        prune: "))
    assert active == 1 and "      #   prune: " in text  # the other operations' prunes are written, commented out
    assert "3 included (3 tools, " in tagged.stderr and f"), {active} with a suggested prune." in tagged.stderr
    assert "expose: discovery" not in tagged.stderr
    big = mcprt("init", "--openapi", str(SPECS / "github-subset.json"), "--out", str(tmp_path / "gh.yaml"))
    assert big.returncode == 0, big.stderr
    size = re.search(r"79 included \(79 tools, ([\d,]+) bytes of tools/list\)", big.stderr)
    assert size is not None and int(size.group(1).replace(",", "")) > 100_000, big.stderr
    assert (f"a tools/list of {size.group(1)} bytes goes into the model's context in every conversation: keep fewer "
            "operations (--tag, `include`) or set `server.expose: discovery`") in big.stderr


def test_the_source_key_reads_a_possessive_title_as_words(tmp_path: Path) -> None:
    """Found by a new-user trial: GitHub's title "GitHub's official OpenAPI spec + Octokit extension" gave the
    source key and server name `github_s_official`, Netlify's "Netlify's API documentation" `netlify_s_api`."""
    for entry, key in (("github", "github_official_openapi"), ("netlify", "netlify_api_documentation")):
        out = tmp_path / entry / "mcp.yaml"
        made = mcprt("init", "--openapi", str(next((CATALOG / entry / "spec").iterdir())), "--out", str(out))
        assert made.returncode == 0, made.stderr
        text = out.read_text()
        assert f"server:\n  name: {key}\n" in text and f"sources:\n  {key}:\n" in text, text[:800]


def test_what_yaml_would_read_as_another_type_is_quoted_and_the_source_key_starts_with_a_letter(
        tmp_path: Path) -> None:
    """Found by the APIs.guru sweep (docs/corpus.md): bigoven.com's title "1,000,000+ Recipe …" gave the server
    name and source key `1_000_000`, which YAML reads as the integer 1000000; 1forge.com's "1Forge Finance APIs"
    gave the source key `1forge_finance_apis`, which a source key may not be. Override keys written plain had
    the same kind of fault: an operationId `true` or `null` was read back as a bool or null key."""
    out = tmp_path / "api" / "mcp.yaml"
    made = mcprt("init", "--openapi", str(SPECS / "kinds" / "yaml-lookalikes.json"), "--out", str(out))
    assert made.returncode == 0, made.stderr
    text = out.read_text()
    assert "server:\n  name: api_1_000_000\n" in text and "sources:\n  api_1_000_000:\n" in text, text[:900]
    for key in ("true", "null", "1e3", "2024-01-01"):
        assert re.search(rf'^      (# )?"{key}":', text, re.M), text
    # keys with nothing set are listed as comments: made entries (deleting `# `), they still read back as strings
    out.write_text(re.sub(r'^      # ("[^"]+": \{\})$', r"      \1", text, flags=re.M))
    shown = mcprt("tools", str(out), "--json")
    assert shown.returncode == 0, shown.stderr
    assert [tool["name"] for tool in json.loads(shown.stdout)["tools"]] == ["true", "null", "1e3", "delete_recipes"]


def test_a_manifest_too_big_for_the_limit_leaves_out_prunes_then_operations_and_still_validates(
        tmp_path: Path) -> None:
    """Found by the APIs.guru sweep (docs/corpus.md): init wrote manifests over MCPRT_MAX_MANIFEST_BYTES (1 MB),
    which then did not load — docusign.net (402 operations, 1.7 MB, mostly suggested prunes), autotask.net,
    microsoft.com/graph and graph-beta (22,361 operations, 12.9 MB). The same kind at smaller limits: first the
    longest prunes go (a commented-out operation's before an included one's), then the commented-out operations,
    then every block; each step says so in the header and on stderr, and each manifest validates."""
    blockfrost = str(SPECS / "vendors" / "blockfrost.yaml")
    tags = ["--tag", "Cardano » Blocks", "--tag", "Cardano » Accounts"]  # 23 of 129 operations
    # (34,000: a table's guard, `columns`, object alternative and comment take ~4.3 KB more than the same prunes as
    # objects alone, which fit 30,000; the included 21 prunes measure 32,463 bytes)
    steps = [(34_000, "suggested prunes are left out (the commented-out operations' first, then the longest)"),
             (9_000, "The 106 operations outside the chosen tags are not listed, and "),
             (3_000, "The 129 operations are not listed under `tools:`")]
    for limit, said in steps:
        out = tmp_path / str(limit) / "mcp.yaml"
        run_env = {"MCPRT_MAX_MANIFEST_BYTES": str(limit)}
        made = mcprt("init", "--openapi", blockfrost, *tags, "--out", str(out), env=run_env)
        assert made.returncode == 0, made.stderr
        assert said in made.stderr and f"MCPRT_MAX_MANIFEST_BYTES ({limit:,} bytes)" in made.stderr, made.stderr
        pruned = int(re.search(r", (\d+) with a suggested prune", made.stderr).group(1))
        assert pruned == out.read_text().count("\n        prune:"), made.stderr  # what the summary counts is written
        text = out.read_text()
        assert len(text.encode()) <= limit and " ".join(said.split()[:4]) in " ".join(text.split()), text[:1500]
        checked = mcprt("validate", str(out), env=run_env)
        assert checked.returncode == 0, checked.stderr
        assert "ok — 23 tools from 1 source" in checked.stderr
    # the first step keeps every included operation's prune: only commented-out ones lost theirs
    first = (tmp_path / "34000" / "mcp.yaml").read_text()
    assert first.count("\n        prune:") == 21


def test_suggested_prunes_of_an_allof_with_a_oneof_check_clean_and_name_each_key_once(tmp_path: Path) -> None:
    """Found by the APIs.guru sweep (docs/corpus.md) on intellifi.nl: a referenced record whose schema is an
    allOf of properties and a oneOf lost its properties when a prune looked it up (so `validate` said the
    suggested `item.id` "cannot exist"), and the suggestion wrote `item_id: item.id` beside the record's own
    `item_id: item_id` (JMESPath keeps the later: one value lost). Both in kinds/allof-oneof-reference.json."""
    out = tmp_path / "api" / "mcp.yaml"
    made = mcprt("init", "--openapi", str(SPECS / "kinds" / "allof-oneof-reference.json"), "--out", str(out))
    assert made.returncode == 0, made.stderr
    text = out.read_text()
    assert 'prune: "{id: id, item_id: item_id, proximity: proximity, item_url: item_url}"' in text, text
    # in a list's items the reference keeps one name under its own key (`item_id`, another record's id, goes)
    assert ('{count: count, results: length(results || `[]`) >= `3` && {columns: `["id", "item", "proximity", '
            '"item_url"]`, rows: results[].[id, item.id, proximity, item_url]} || results[].{id: id, item: item.id, '
            'proximity: proximity, item_url: item_url}}') in " ".join(text.split()), text
    checked = mcprt("validate", str(out))
    assert checked.returncode == 0 and "warning" not in checked.stderr, checked.stderr
    # a hand-written prune reading the allOf's own properties through the reference checks clean too
    out.write_text(text.replace("{id: id, item_id: item_id,", "{id: id, item: item.{label: label, protocol: protocol},"
                                " item_id: item_id,"))
    checked = mcprt("validate", str(out))
    assert checked.returncode == 0 and "warning" not in checked.stderr, checked.stderr
    assert "item: item.{label: label" in out.read_text()


def test_init_refuses_an_out_file_it_cannot_write_in_its_format(tmp_path: Path) -> None:
    """Found by a new-user trial: `init --out mcp.toml` wrote YAML into the .toml file, then said
    "TOML syntax error … written, but it does not validate yet". Nothing is written now."""
    petstore = str(CATALOG / "petstore" / "spec" / "petstore.yaml")
    for name in ("mcp.toml", "mcp.json", "mcp"):
        made = mcprt("init", "--openapi", petstore, "--out", str(tmp_path / name))
        assert made.returncode == 2 and "Traceback" not in made.stderr, made.stderr
        assert "init writes a commented YAML manifest, so the file must end in .yaml or .yml" in made.stderr
        assert not (tmp_path / name).exists()
    assert mcprt("init", "--openapi", petstore, "--out", str(tmp_path / "mcp.yml")).returncode == 0


def test_the_header_speaks_of_commented_out_operations_only_when_tags_were_chosen(tmp_path: Path) -> None:
    """Found by a new-user trial: without --tag the header still said "operations outside the chosen tags are
    commented out" (none are); it now says how to leave one out, and that advice validates."""
    petstore = str(CATALOG / "petstore" / "spec" / "petstore.yaml")
    every = tmp_path / "every.yaml"
    assert mcprt("init", "--openapi", petstore, "--out", str(every)).returncode == 0
    text = every.read_text()
    assert "outside the chosen" not in text and "`enabled: false` leaves one out" in text
    every.write_text(_base_url_set(text).replace("      addPet:\n", "      addPet:\n        enabled: false\n", 1))
    checked = mcprt("validate", str(every))
    assert checked.returncode == 0 and "7 tools from 1 source" in checked.stderr, checked.stderr
    tagged = tmp_path / "tagged.yaml"
    assert mcprt("init", "--openapi", petstore, "--tag", "pet", "--out", str(tagged)).returncode == 0
    header = " ".join(line[2:] for line in tagged.read_text().splitlines()[:6] if line.startswith("# "))
    assert "operations outside the chosen tags are commented out (to add one, add its tag to `include` and delete " \
           "its `# `)" in header


def test_a_commented_out_operation_is_added_as_the_header_says(tmp_path: Path) -> None:
    """Found by a new-user trial: the README said enabling a commented-out operation "is deleting `# `", but
    `include: {tags: [store]}` still left it out, and validate said only "source … has no operation 'addPet'".
    The header now says to add its tag to `include` too, and the error names `include`."""
    out = tmp_path / "mcp.yaml"
    made = mcprt("init", "--openapi", str(CATALOG / "petstore" / "spec" / "petstore.yaml"), "--tag", "store",
                 "--out", str(out))
    assert made.returncode == 0, made.stderr
    text = out.read_text()
    assert "      # addPet:\n      #   name: add_pet\n" in text
    out.write_text(_base_url_set(text).replace("      # addPet:\n      #   name: add_pet\n",
                                               "      addPet:\n        name: add_pet\n"))
    only_deleted = mcprt("validate", str(out))
    # a note, not an error (fault 1 of the big-API trial: an override naming what is not served must not stop
    # the rest), naming `include` and the key; the tool is not served until its tag is included
    assert only_deleted.returncode == 0, only_deleted.stderr
    assert ("note: source 'swagger_petstore_openapi': 1 `tools:` override names an operation outside those its "
            "`include` selects ('addPet')") in only_deleted.stderr, only_deleted.stderr
    assert "3 tools from 1 source" in only_deleted.stderr
    out.write_text(out.read_text().replace("include: {tags: [store]}", "include: {tags: [store, pet]}"))
    added = mcprt("validate", str(out))
    assert added.returncode == 0, added.stderr
    assert "7 tools from 1 source" in added.stderr  # store's 3 and pet's 4


def test_long_suggested_prunes_are_folded_to_readable_lines(tmp_path: Path) -> None:
    """Found by a new-user trial: a suggested prune was one JSON-quoted line (GitHub's issue: ~2,500
    characters), unreadable in review and in a diff. It is now a folded block of lines of at most 120
    characters, broken at the spaces after commas, so the value read back is the suggestion itself."""
    from mcprt.authoring.signals import operation_signals
    from mcprt.authoring.suggest import suggest_prune
    from mcprt.sources.openapi import load_document

    spec = CATALOG / "github" / "spec" / "github.json"
    out = tmp_path / "mcp.yaml"
    made = mcprt("init", "--openapi", str(spec), "--out", str(out))
    assert made.returncode == 0, made.stderr
    lines = out.read_text().splitlines()
    assert all(len(line) <= 120 for line in lines if not line.lstrip().startswith("#")), \
        max(lines, key=len)
    assert "        prune: >-" in lines
    from ruamel.yaml import YAML

    tools = next(iter(YAML(typ="safe").load(out.read_text())["sources"].values()))["tools"]
    written = {key: (override or {}).get("prune") for key, override in tools.items()}
    signals = operation_signals(load_document(str(spec), tmp_path, None))
    suggested = {key: suggest_prune(found.success, found.default, hints=found.hints)
                 for key, found in signals.items()}
    for key, prune in written.items():
        if prune is not None:
            assert prune == suggested[key], key  # folding gives the suggestion back exactly
    assert sum(1 for p in written.values() if p) == 12
    checked = mcprt("validate", str(out))
    assert checked.returncode == 0, checked.stderr


def _answer(field: str) -> str:
    """A 200 response of an object with `id` and `field`, as YAML flow (Swagger 2.0 and OpenAPI 3 alike)."""
    schema = f"{{type: object, properties: {{id: {{type: integer}}, {field}: {{type: string}}}}}}"
    return f"{{'200': {{description: ok, schema: {schema}, content: {{application/json: {{schema: {schema}}}}}}}}}"


@pytest.mark.parametrize("head", ["openapi: 3.0.3", "swagger: '2.0'\nhost: api.example.com\nschemes: [https]"])
def test_a_repeated_operation_id_is_keyed_by_method_and_path_and_the_manifest_validates(
        head: str, tmp_path: Path) -> None:
    """Found by a new-user trial: two operations sharing the operationId `dupOp` were both written under the key
    `dupOp`, a YAML duplicate-key error: init exited 2 and left the invalid file, its header still holding the
    `# TOOLS_LIST_SIZE` placeholder. The second is keyed `GET /dup2` (the key that always works), and what init
    writes validates."""
    spec = tmp_path / "api.yaml"
    servers = "servers: [{url: 'https://api.example.com'}]\n" if head.startswith("openapi") else ""
    spec.write_text(f"{head}\ninfo: {{title: Dup, version: '1'}}\n{servers}paths:\n"
                    f"  /dup1: {{get: {{operationId: dupOp, responses: {_answer('first')}}}}}\n"
                    f"  /dup2: {{get: {{operationId: dupOp, responses: {_answer('second')}}}}}\n"
                    "  /dup3: {post: {operationId: dupOp, responses: {'200': {description: ok}}}}\n")
    out = tmp_path / "t" / "mcp.yaml"
    made = mcprt("init", "--openapi", str(spec), "--out", str(out), "--no-input")
    assert made.returncode == 0, made.stderr
    text = out.read_text()
    assert "      dupOp:\n" in text and '      "GET /dup2":\n' in text and '      "POST /dup3":\n' in text
    assert "TOOLS_LIST_SIZE" not in text and sorted(p.name for p in out.parent.iterdir()) == ["mcp.yaml"]
    # each is pruned by its own response (the suggestions were once looked up by the repeated operationId)
    assert 'dupOp:\n        name: dup_op\n        prune: "{id: id, first: first}"' in text, text
    assert '"GET /dup2":\n        name: dup_op_2\n        prune: "{id: id, second: second}"' in text, text
    checked = mcprt("validate", str(out))
    assert checked.returncode == 0, checked.stderr
    listed = mcprt("tools", str(out), "--json")
    assert sorted(t["name"] for t in json.loads(listed.stdout)["tools"]) == ["dup_op", "dup_op_2", "dup_op_3"]


def test_non_ascii_operation_ids_get_readable_ascii_names(tmp_path: Path) -> None:
    """Found by a new-user trial: `récupérerÉlément` was named `r_cup_rer_l_ment`, `größe` and `grüße` `gr_e` and
    `gr_e_2`. Letters are transliterated; an operationId with no Latin letter is poor (`<verb>_<path words>`)."""
    spec = tmp_path / "api.yaml"
    spec.write_text("openapi: 3.0.3\ninfo: {title: Names, version: '1'}\nservers: [{url: 'https://api.example.com'}]\n"
                    "paths:\n  /élément:\n    get: {operationId: récupérerÉlément, responses: {'200': {description: ok}}}\n"
                    "  /größe:\n    get: {operationId: größe, responses: {'200': {description: ok}}}\n"
                    "    post: {operationId: grüße, responses: {'200': {description: ok}}}\n"
                    "  /pets/{id}:\n    get: {operationId: 取得, responses: {'200': {description: ok}}}\n")
    out = tmp_path / "mcp.yaml"
    made = mcprt("init", "--openapi", str(spec), "--out", str(out), "--no-input")
    assert made.returncode == 0, made.stderr
    listed = mcprt("tools", str(out), "--json")
    assert [t["name"] for t in json.loads(listed.stdout)["tools"]] == [
        "recuperer_element", "grosse", "grusse", "get_pets"]


def test_the_verb_of_a_poor_name_follows_the_response_and_a_verb_in_the_path(tmp_path: Path) -> None:
    """Found by a new-user trial on Blockfrost: single-object GETs were named as lists (`GET /health` →
    `list_health`, `GET /epochs/{number}/parameters` → `list_epochs_parameters`) and `POST
    /ipfs/pin/remove/{IPFS_path}` was `create_ipfs_pin_remove`. The operations here are Blockfrost's, shortened."""
    obj = "{'200': {description: ok, content: {application/json: {schema: {type: object, properties: {a: {type: string}}}}}}}"
    arr = "{'200': {description: ok, content: {application/json: {schema: {type: array, items: {type: string}}}}}}"
    page = ("{'200': {description: ok, content: {application/json: {schema: {type: object, properties: "
            "{data: {type: array, items: {type: string}}}}}}}}")
    operations = [("/health", "get", obj), ("/blocks/latest", "get", obj), ("/epochs/{number}/parameters", "get", obj),
                  ("/ipfs/pin/remove/{IPFS_path}", "post", obj), ("/tx/submit", "post", obj), ("/pins", "post", obj),
                  ("/addresses/{address}/txs", "get", arr), ("/epochs/{number}/stakes/{pool_id}", "get", arr),
                  ("/pages", "get", page), ("/undocumented", "get", "{'200': {description: ok}}")]
    paths = "".join(f"  {path}:\n    {method}: {{responses: {answer}}}\n" for path, method, answer in operations)
    spec = tmp_path / "api.yaml"
    spec.write_text("openapi: 3.0.3\ninfo: {title: Chain, version: '1'}\nservers: [{url: 'https://api.example.com'}]\n"
                    f"paths:\n{paths}")
    out = tmp_path / "mcp.yaml"
    made = mcprt("init", "--openapi", str(spec), "--out", str(out), "--no-input")
    assert made.returncode == 0, made.stderr
    listed = mcprt("tools", str(out), "--json")
    assert [t["name"] for t in json.loads(listed.stdout)["tools"]] == [
        "get_health", "get_blocks_latest", "get_epochs_parameters", "remove_ipfs_pin", "submit_tx", "create_pins",
        "list_addresses_txs", "list_epochs_stakes_by_pool_id", "list_pages", "list_undocumented"]


def test_a_tag_given_as_one_word_of_a_longer_tag_is_suggested(tmp_path: Path) -> None:
    """Found by a new-user trial: Blockfrost's tags are `Cardano » Blocks`, `Cardano » Epochs`…, and `--tag blocks`
    was refused with no "did you mean" (difflib finds nothing that close)."""
    spec = tmp_path / "api.yaml"
    spec.write_text("openapi: 3.0.3\ninfo: {title: Chain, version: '1'}\nservers: [{url: 'https://api.example.com'}]\n"
                    "paths:\n" + "".join(f"  /{t}: {{get: {{tags: ['Cardano » {t.title()}'], responses: "
                                         "{'200': {description: ok}}}}\n" for t in ("blocks", "epochs", "blocksets")))
    out = tmp_path / "mcp.yaml"
    made = mcprt("init", "--openapi", str(spec), "--tag", "blocks", "--out", str(out))
    assert made.returncode == 2 and "--tag 'blocks': no operation of " in made.stderr
    assert "(did you mean 'Cardano » Blocks'?)" in made.stderr and not out.exists()


def test_a_manifest_that_would_not_validate_is_not_written(tmp_path: Path) -> None:
    """The kind behind the repeated operationId: init checks what it made before writing. An operationId spelled
    as another operation's `METHOD /path` still gives two blocks one key (no key is left to tell them apart), so
    init says so, writes nothing (no file, no placeholder, no folder it made) and exits 2."""
    spec = tmp_path / "api.yaml"
    spec.write_text("openapi: 3.0.3\ninfo: {title: K, version: '1'}\nservers: [{url: 'https://api.example.com'}]\n"
                    "paths:\n  /a: {get: {operationId: 'GET /b', responses: {'200': {description: ok}}}}\n"
                    "  /b: {get: {responses: {'200': {description: ok}}}}\n")
    out = tmp_path / "new" / "mcp.yaml"
    made = mcprt("init", "--openapi", str(spec), "--out", str(out), "--no-input")
    assert made.returncode == 2, made.stderr
    assert re.search(rf'{re.escape(str(out))}:\d+:\d+: YAML syntax error: duplicate key "GET /b"', made.stderr)
    assert f"{out}: not written: the manifest init made does not validate" in made.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["api.yaml"]


_PAIR = ("openapi: 3.0.3\ninfo: {title: Pair, version: '1'}\nservers: [{url: 'https://api.example.com'}]\npaths:\n"
         "  /größe:\n    get: {operationId: größe, responses: {'200': {description: ok}}}\n"
         "  /grosse:\n    delete: {operationId: grosse, responses: {'200': {description: ok}}}\n")


def test_a_transliterated_name_never_takes_another_operations_name(tmp_path: Path) -> None:
    """Found by review: `init` named `größe` `grosse` and so renamed the operation `grosse` `grosse_2`. A written
    name is checked against every default and written name: the ASCII-named operation keeps its name."""
    spec = tmp_path / "api.yaml"
    spec.write_text(_PAIR, encoding="utf-8")
    out = tmp_path / "mcp.yaml"
    made = mcprt("init", "--openapi", str(spec), "--out", str(out), "--no-input")
    assert made.returncode == 0, made.stderr
    assert "name: grosse_2" in out.read_text(encoding="utf-8")
    listed = mcprt("tools", str(out), "--json")
    assert [t["name"] for t in json.loads(listed.stdout)["tools"]] == ["grosse_2", "grosse"]


def test_a_manifest_written_before_transliteration_keeps_its_names_and_overrides(tmp_path: Path) -> None:
    """Found by review: with served names transliterated, the manifest main's `init` wrote for `größe` and `grosse`
    no longer loaded (`operation 'größe' is already overridden as 'größe'`), and an override of `grosse` landed on
    `GET /größe`. Served default names are not transliterated, so it loads with the names it had."""
    (tmp_path / "api.yaml").write_text(_PAIR, encoding="utf-8")
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text("version: 1\nsources:\n  pair:\n    openapi: api.yaml\n    tools:\n      größe: {}\n"
                        "      grosse:\n        description: Deletes a grosse (dangerous).\n", encoding="utf-8")
    listed = mcprt("tools", str(manifest), "--json")
    assert listed.returncode == 0, listed.stderr
    tools = {t["name"]: t for t in json.loads(listed.stdout)["tools"]}
    assert list(tools) == ["gr_e", "grosse"]
    assert tools["grosse"]["description"] == "Deletes a grosse (dangerous)."
    assert tools["gr_e"].get("description") != "Deletes a grosse (dangerous)."


def test_init_leaves_a_file_of_its_old_draft_name_alone_and_no_draft_behind(tmp_path: Path) -> None:
    """Found by review: `init` checked its manifest in a draft of a fixed name beside `out` and deleted it after,
    so a user's own `.mcp.yaml.init-draft.yaml` was overwritten and removed. The draft now has a fresh name."""
    spec = tmp_path / "api.yaml"
    spec.write_text(_PAIR.replace("größe", "size"), encoding="utf-8")
    project = tmp_path / "proj"
    project.mkdir()
    mine = project / ".mcp.yaml.init-draft.yaml"
    mine.write_text("# the user's own file\n", encoding="utf-8")
    made = mcprt("init", "--openapi", str(spec), "--out", str(project / "mcp.yaml"), "--no-input")
    assert made.returncode == 0, made.stderr
    assert mine.read_text(encoding="utf-8") == "# the user's own file\n"
    assert sorted(p.name for p in project.iterdir()) == [".mcp.yaml.init-draft.yaml", "mcp.yaml"]


def test_init_writes_the_servers_base_url_or_a_placeholder_validate_refuses(tmp_path: Path) -> None:
    """Found trying `init` on descriptions without a usable server: it wrote `base_url: http://127.0.0.1:8080`,
    an address that looked live and validated, so calls went to whatever listened there. Now: what the
    description says (a relative URL resolved against the description's URL, variables from their defaults),
    else a marked placeholder that `validate` refuses at its line:col."""
    from tests.authoring.test_authoring_cli import static_files

    def spec(servers: list[dict[str, object]] | None) -> dict[str, object]:
        op = {"operationId": "getA", "responses": {"200": {"description": "ok"}}}
        return {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {"/a": {"get": op}},
                **({"servers": servers} if servers is not None else {})}

    cases = {  # name: (servers, what the comment quotes, or None when the spec's server is used)
        "none": (None, "names no server"),
        "empty": ([], "names no server"),
        "relative": ([{"url": "/v2"}], "server '/v2' is relative"),
        "undefaulted": ([{"url": "https://{region}.example.com", "variables": {"region": {"enum": ["eu"]}}}],
                        "server 'https://{region}.example.com' has a variable without a default"),
        "defaulted": ([{"url": "https://{region}.example.com/{v}",
                        "variables": {"region": {"default": "eu"}, "v": {"default": "v1"}}}], None),
    }
    for name, (servers, said) in cases.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(spec(servers)))
    for name, (servers, said) in cases.items():
        out = tmp_path / name / "mcp.yaml"
        assert mcprt("init", "--openapi", str(tmp_path / f"{name}.json"), "--out", str(out)).returncode == 0, name
        text = out.read_text()
        if said is None:
            assert "base_url" not in text and "127.0.0.1" not in text, text
            continue
        (line,) = [row for row in text.splitlines() if "base_url:" in row]
        assert line.startswith(f'    base_url: "{BASE_URL_PLACEHOLDER}"  # ') and said in line, line
        assert "127.0.0.1" not in text
        row = text.splitlines().index(line) + 1
        checked = mcprt("validate", str(out))
        assert checked.returncode == 2, checked.stderr
        assert f"mcp.yaml:{row}:15: sources.t.base_url: still the placeholder `mcprt init` writes" in checked.stderr
    (tmp_path / "v2").mkdir()
    (tmp_path / "v2" / "a").write_text('{"where": "served-at-v2"}')
    with static_files(tmp_path) as base:  # a relative server of a description read from a URL: against that URL
        out = tmp_path / "served" / "mcp.yaml"
        assert mcprt("init", "--openapi", f"{base}/relative.json", "--out", str(out),
                     env={"MCPRT_CACHE_DIR": str(tmp_path / "cache")}).returncode == 0
        assert "base_url" not in out.read_text()
        called = mcprt("call", str(out), "get_a", "--args", "{}", env={"MCPRT_CACHE_DIR": str(tmp_path / "cache")})
        assert called.returncode == 0, called.stdout + called.stderr
        (content,) = json.loads(called.stdout)["content"]  # the static server names no JSON type: bytes
        assert base64.b64decode(content["resource"]["blob"]) == b'{"where": "served-at-v2"}'


def test_the_oauth2_hint_asks_for_the_scopes_the_operations_require(tmp_path: Path) -> None:
    """Found by a new-user trial: `# auth: {oauth2: …}` left out `scopes`, so the token, once uncommented,
    lacked what the operations require (`security: [{cc: [read]}]`) and every call was refused."""
    spec = tmp_path / "api.json"
    spec.write_text(json.dumps({
        "openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "servers": [{"url": "https://api.example.com"}],
        "components": {"securitySchemes": {"cc": {"type": "oauth2", "flows": {"clientCredentials": {
            "tokenUrl": "https://auth.example.com/token", "scopes": {"read": "r", "write:all": "w", "admin": "a"}}}}}},
        "paths": {"/a": {"get": {"operationId": "a", "security": [{"cc": ["read"]}],
                                 "responses": {"200": {"description": "ok"}}}},
                  "/b": {"post": {"operationId": "b", "security": [{"cc": ["read", "write:all"]}],
                                  "responses": {"200": {"description": "ok"}}}}}}))
    out = tmp_path / "mcp.yaml"
    made = mcprt("init", "--openapi", str(spec), "--out", str(out))
    assert made.returncode == 0, made.stderr
    hints = [line for line in out.read_text().splitlines() if line.startswith("    # auth: ")]
    assert hints == ['    # auth: {oauth2: {token_url: "https://auth.example.com/token", client_id: "${CLIENT_ID}", '
                     'client_secret: "${CLIENT_SECRET}", scopes: [read, "write:all"]}}   # `cc` (OAuth2 '
                     'clientCredentials)'], hints
    one = tmp_path / "uncommented.yaml"
    one.write_text(out.read_text().replace(hints[0], hints[0].replace("    # auth: ", "    auth: ", 1)))
    checked = mcprt("validate", str(one), env={"CLIENT_ID": "c", "CLIENT_SECRET": "s-123"})
    assert checked.returncode == 0, checked.stderr


def test_path_parameters_that_hold_a_path_are_listed_under_path_slashes(tmp_path: Path) -> None:
    """A path value holding `/` is refused unless its parameter is in `path_slashes`: a manifest `init`
    wrote for GitHub refused every `contents/{path}` call with a file in a folder. `init` now lists the
    path parameters named (`path`, `file_path`) or described as a path, with why, and no others."""
    spec = tmp_path / "api.yaml"
    spec.write_text("""openapi: 3.0.3
info: {title: Paths, version: '1'}
servers: [{url: 'https://api.example.com'}]
paths:
  /repos/{owner}/{repo}/contents/{path}:
    get:
      operationId: getContent
      parameters:
        - {name: owner, in: path, required: true, schema: {type: string}}
        - {name: repo, in: path, required: true, schema: {type: string}}
        - {name: path, in: path, required: true, description: path parameter, schema: {type: string}}
      responses: {'200': {description: ok}}
  /files/{file_path}/raw:
    get:
      operationId: rawFile
      parameters:
        - {name: file_path, in: path, required: true, schema: {type: string}}
      responses: {'200': {description: ok}}
  /projects/{id}:
    get:
      operationId: getProject
      parameters:
        - {name: id, in: path, required: true, description: The ID or URL-encoded path of the project,
           schema: {type: string}}
        - {name: paths, in: query, schema: {type: string}}
      responses: {'200': {description: ok}}
""")
    out = tmp_path / "mcp.yaml"
    made = mcprt("init", "--openapi", str(spec), "--out", str(out))
    assert made.returncode == 0, made.stderr
    [line] = [line for line in out.read_text().splitlines() if "path_slashes" in line]
    assert line.startswith("    path_slashes: [path, file_path, id]   # these hold a path: '/' is sent"), line
    assert "could reach another endpoint" in line
    checked = mcprt("validate", str(out))
    assert checked.returncode == 0 and "path_slashes" not in checked.stderr, checked.stderr  # no unknown name
    # an API whose path parameters are ids gets no such line
    plain = tmp_path / "petstore.yaml"
    assert mcprt("init", "--openapi", str(CATALOG / "petstore" / "spec" / "petstore.yaml"), "--out",
                 str(plain)).returncode == 0
    assert "path_slashes" not in plain.read_text()


def test_init_says_what_the_output_schemas_cost_and_how_to_leave_them_out(tmp_path: Path) -> None:
    """Big-API trial, fault 8: the outputSchemas init's suggested prunes declare made GitHub's tools/list 28% bigger
    (1,115,765 → 1,425,455 bytes), and nothing said so or named `output_schema: false`. init now says both sizes,
    in the header and on stderr; the size it gives without them is what the manifest with that line lists."""
    out = tmp_path / "mcp.yaml"
    made = mcprt("init", "--openapi", str(SPECS / "vendors" / "blockfrost.yaml"), "--out", str(out))
    assert made.returncode == 0, made.stderr
    said = re.search(r"(\d+) tools? declares? an outputSchema \(the shape of what its prune keeps\): ([\d,]+) of the "
                     r"([\d,]+) bytes \(\d+%\); `output_schema: false` on the source \(or on one tool\) leaves them "
                     r"out: ([\d,]+) bytes\.", made.stderr)
    assert said, made.stderr
    typed, share, size, without = (int(group.replace(",", "")) for group in said.groups())
    assert typed > 0 and size - without == share > 0
    header = " ".join(line[2:] for line in out.read_text().splitlines() if line.startswith("# "))
    assert f"leaves them out: {without:,} bytes." in header, header
    checked = mcprt("validate", str(out))
    assert checked.returncode == 0 and f"{size:,} bytes of tools/list" in checked.stderr, checked.stderr
    text = out.read_text()
    out.write_text(re.sub(r"^(    openapi: .*)$", r"\1\n    output_schema: false", text, count=1, flags=re.M))
    plain = mcprt("validate", str(out))
    assert plain.returncode == 0 and f"{without:,} bytes of tools/list" in plain.stderr, plain.stderr
