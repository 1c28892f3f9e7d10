"""The `mcprt` command line. Each command lives in its own module and imports its work lazily, so
`mcprt tools --json` on a warm cache does not pay for importing the server stack."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
import typer.core

from .. import __version__
from ..manifest.names import search_order
from .common import go_offline
from .errors import guarded, set_debug

app = typer.Typer(
    name="mcprt",
    help="Compile a reviewed mcp.yaml into a live MCP server.\n\nExit codes: 0 ok, 1 a failed check, 2 bad input.",
    epilog="Examples: `mcprt validate`, `mcprt tools mcp.yaml --json`, `mcprt up --transport http --port 8765`",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
)

_typer_type_label = typer.core.TyperOption.display_type_rich


def _type_label(self: typer.core.TyperOption, ctx: typer.core._click.Context) -> str | None:
    # Typer labels every option with its Python type (`<bool>`, `<str>`); a flag takes no value, so
    # it gets none; an option with a metavar (PORT, JSON, …) shows it; any other shows its own name
    # in capitals (--url → URL), never a Python type.
    if self.is_bool_flag:
        return ""
    if self.metavar:
        return _typer_type_label(self, ctx)
    return (self.name or "value").upper()


typer.core.TyperOption.display_type_rich = _type_label  # type: ignore[method-assign]
# An argument's metavar (MANIFEST, TOOL, NAME) says what it is; its Python type adds nothing.
typer.core.TyperArgument.display_type_rich = lambda self, ctx: ""  # type: ignore[method-assign]

ManifestArg = Annotated[
    Optional[Path],
    typer.Argument(help=f"Manifest file (default: {search_order()}).", show_default=False,
                   metavar="MANIFEST"),
]


OfflineOpt = Annotated[
    bool,
    typer.Option("--offline", help="Never fetch API descriptions: a URL `openapi:` reads the pinned "
                                   "spec/SOURCE.json (or .yaml) copy beside the manifest (else the cached copy)."),
]


def _version(value: bool) -> None:
    if value:
        print(f"mcprt {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of unexpected errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    set_debug(debug)


@app.command(epilog="Examples: `mcprt validate catalog/quickstart/mcp.yaml`, "
                    "`mcprt validate catalog/github/mcp.yaml --offline` (CI without network or secrets), "
                    "`mcprt validate --strict` (warnings fail too), "
                    "`mcprt validate --offline --no-exec` (an untrusted pull request: nothing is executed)")
def validate(
    manifest: ManifestArg = None,
    offline: Annotated[
        bool,
        typer.Option("--offline", help="Use pinned spec/SOURCE.json (or .yaml) copies for URL specs and placeholders for "
                                       "unset ${VAR}s: checks a manifest in CI without network or secrets."),
    ] = False,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Treat warnings as errors (exit 2), e.g. an API description element "
                                      "that was skipped because it cannot be compiled."),
    ] = False,
    no_exec: Annotated[
        bool,
        typer.Option("--no-exec", help="Execute nothing: static checks only; `python:` and `command:` sources "
                                       "are not imported or started and are reported as unchecked. Use it for "
                                       "untrusted pull requests."),
    ] = False,
) -> None:
    """Check the manifest, its sources and templates; print `file:line:col: message` for each problem."""
    from .validate_cmd import validate_command

    raise typer.Exit(validate_command(manifest, offline, strict, no_exec))


@app.command(epilog="Example: `mcprt schema > schemas/mcprt.schema.json`")
def schema() -> None:
    """Print the manifest's JSON Schema (the file in `schemas/` is this output)."""
    from ..manifest.schema import manifest_schema_text

    with guarded():
        typer.echo(manifest_schema_text(), nl=False)


@app.command(epilog="Examples: `mcprt tools`, `mcprt tools mcp.yaml --json > tools.json`")
def tools(
    manifest: ManifestArg = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print exactly the MCP tools/list result.")] = False,
    offline: Annotated[
        bool,
        typer.Option("--offline", help="Use pinned spec/SOURCE.json (or .yaml) copies for URL specs and placeholders for "
                                       "unset ${VAR}s (nothing is called): lists tools without network or secrets."),
    ] = False,
) -> None:
    """The tool list the server would expose, with each definition's size."""
    from .tools_cmd import tools_command

    raise typer.Exit(tools_command(manifest, as_json, offline))


@app.command(epilog="Examples: `mcprt call list_issues --args '{\"repo\": \"mcprt\"}'`, "
                    "`mcprt call other.yaml get_pet --args '{\"petId\": 1}'`, "
                    "`mcprt call --url http://127.0.0.1:8765/mcp search_notes --args '{\"query\": \"retry\"}'`")
def call(
    targets: Annotated[list[str], typer.Argument(help="The manifest (optional) and the tool; only the tool with --url.",
                                                 show_default=False, metavar="[MANIFEST] TOOL")],
    args: Annotated[str, typer.Option("--args", help="Arguments as a JSON object.", metavar="JSON")] = "{}",
    offline: OfflineOpt = False,
    url: Annotated[Optional[str], typer.Option("--url", help="Call a running MCP server (streamable HTTP) "
                                                            "instead of compiling a manifest.", metavar="URL")] = None,
    header: Annotated[Optional[list[str]], typer.Option("--header", help="'Name: value' sent with --url "
                                                                         "(repeatable).", metavar="HEADER")] = None,
    token: Annotated[Optional[str], typer.Option("--token", metavar="TOKEN", show_default=False,
                                                 help="Bearer token sent with --url (default: MCPRT_TOKEN).")] = None,
) -> None:
    """Call one tool and print the MCP tools/call result (exit 1 when it is an error result).

    Without `--url` the manifest is compiled and the tool called in-process; with `--url` the tool
    of a running server is called over streamable HTTP with the MCP SDK's client.
    """
    with guarded():
        if url is not None:
            from ..errors import McprtError
            from .call_cmd import parse_args
            from .remote_call_cmd import parse_headers, run_remote_call

            if len(targets) != 1:
                raise McprtError("with --url, give only the tool name: mcprt call --url URL TOOL --args JSON")
            raise typer.Exit(run_remote_call(url, targets[0], parse_args(args), parse_headers(header or []), token))
        if header or token:
            from ..errors import McprtError

            raise McprtError(f"{'--header' if header else '--token'} is for --url (sent to a running server)")
        from .call_cmd import run_call

        go_offline(offline)
        raise typer.Exit(run_call(targets, args))


@app.command(epilog="Examples: `mcprt init --openapi api.yaml`, "
                    "`mcprt init --openapi https://example.com/openapi.json --tag pets --out pets/mcp.yaml`")
def init(
    openapi: Annotated[str, typer.Option("--openapi", help="The API description: a path or URL.", metavar="SPEC")],
    tag: Annotated[Optional[list[str]], typer.Option("--tag", help="Include the operations of this tag "
                                                                   "(repeatable; default: all).", metavar="TAG")] = None,
    out: Annotated[Path, typer.Option("--out", help="Manifest to write.", metavar="FILE")] = Path("mcp.yaml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite --out if it exists.")] = False,
    no_input: Annotated[bool, typer.Option("--no-input", "--yes", "-y",
                                           help="Ask nothing: without --tag, include every operation. "
                                                "(On a terminal, init otherwise offers the tags to choose.)")] = False,
) -> None:
    """Write a commented manifest for an OpenAPI description: every operation, readable names, suggested prunes."""
    from .init_cmd import run_init

    with guarded():
        raise typer.Exit(run_init(openapi, tag or [], out, force, no_input))


@app.command(epilog="Example: `mcprt pin mcp.yaml` (then commit `spec/`)")
def pin(manifest: ManifestArg = None,
        offline: Annotated[bool, typer.Option("--offline", help="Pin from the spec cache only, never the network "
                                              "(a URL without a cached copy keeps its pinned copy).")] = False) -> None:
    """Write the pinned copy `spec/<source>.*` of every URL spec beside the manifest (for offline use and CI)."""
    from .pin_cmd import run_pin

    with guarded():
        raise typer.Exit(run_pin(manifest, offline))


@app.command(epilog="Example: `mcprt show catalog/github/mcp.yaml get_issue`")
def show(
    targets: Annotated[list[str], typer.Argument(help="The manifest (optional) and the tool.", show_default=False,
                                                 metavar="[MANIFEST] TOOL")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the facts as one JSON object.")] = False,
    offline: OfflineOpt = False,
) -> None:
    """One tool as the model sees it, where it comes from, the overrides applied and a sample rendering."""
    from .show_cmd import run_show

    go_offline(offline)
    with guarded():
        raise typer.Exit(run_show(targets, as_json, offline))


@app.command(epilog="Examples: `mcprt up`, `mcprt up mcp.yaml --transport http --port 8765`")
def up(
    manifest: ManifestArg = None,
    transport: Annotated[Optional[str], typer.Option(help="stdio or http (default: MCPRT_TRANSPORT, else stdio).",
                                                                metavar="stdio|http")] = None,
    host: Annotated[Optional[str], typer.Option(help="HTTP bind address (beats env and manifest).", metavar="HOST")] = None,
    port: Annotated[Optional[int], typer.Option(help="HTTP port (beats env and manifest).", metavar="PORT")] = None,
    stateless: Annotated[bool, typer.Option("--stateless", help="Stateless HTTP, for replicas behind a load balancer.")] = False,
    no_reload: Annotated[bool, typer.Option("--no-reload", help="Do not watch the manifest for changes.")] = False,
    metrics_port: Annotated[
        Optional[int],
        typer.Option("--metrics-port", metavar="PORT",
                     help="stdio: serve /metrics and /status on 127.0.0.1:PORT (0: any free port)."),
    ] = None,
    offline: OfflineOpt = False,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Refuse to start (exit 2) when any source cannot be opened, instead of serving the "
                         "others while a proxied server that is down is retried (also MCPRT_STRICT=1); for CI.")] = False,
) -> None:
    """Serve the manifest's tools over stdio or streamable HTTP, reloading on change."""
    from .up_cmd import up_command

    raise typer.Exit(up_command(manifest, transport, host, port, stateless, no_reload, metrics_port, offline,
                                strict))


@app.command(epilog="Examples: `mcprt test`, `mcprt test catalog/github/mcp.yaml --update`")
def test(
    manifest: ManifestArg = None,
    update: Annotated[bool, typer.Option("--update", help="Rewrite snapshots from the current output.")] = False,
    offline: OfflineOpt = False,
) -> None:
    """Replay the manifest's recorded cases through pruning and templates; compare with snapshots."""
    from .test_cmd import run_test

    go_offline(offline)
    with guarded():
        raise typer.Exit(run_test(manifest, update))


@app.command(epilog="Example: `mcprt record mcp.yaml list_issues --args '{\"repo\": \"mcprt\"}'`")
def record(
    targets: Annotated[list[str], typer.Argument(help="The manifest (optional) and the tool.", show_default=False,
                                                         metavar="[MANIFEST] TOOL")],
    args: Annotated[str, typer.Option("--args", help="Arguments as a JSON object.", metavar="JSON")] = "{}",
    name: Annotated[Optional[str], typer.Option(help="Case name (default: derived from the arguments).", metavar="NAME")] = None,
    offline: OfflineOpt = False,
) -> None:
    """Call the live upstream once and store the case for `mcprt test`."""
    from .record_cmd import run_record

    go_offline(offline)
    with guarded():
        raise typer.Exit(run_record(targets, args, name))


@app.command(epilog="Examples: `mcprt diff old.yaml mcp.yaml`, `mcprt diff HEAD~1:mcp.yaml mcp.yaml --format markdown`")
def diff(
    old: Annotated[str, typer.Argument(help="Old manifest: a path or REV:path.", metavar="OLD")],
    new: Annotated[str, typer.Argument(help="New manifest: a path or REV:path.", metavar="NEW")],
    format: Annotated[str, typer.Option("--format", help="text, markdown or json.", metavar="FORMAT")] = "text",
    fail_on: Annotated[Optional[str], typer.Option("--fail-on", help="`breaking` or `any`: exit 1 when found.", metavar="WHAT")] = None,
    offline: OfflineOpt = False,
) -> None:
    """What the model would see change between two manifests."""
    from .diff_cmd import run_diff

    go_offline(offline)
    with guarded():
        raise typer.Exit(run_diff(old, new, format, fail_on))


@app.command(epilog="Examples (as `.pre-commit-hooks.yaml` runs it): `mcprt hook test`, "
                    "`mcprt hook validate api/mcp.yaml`")
def hook(
    action: Annotated[str, typer.Argument(help="validate or test", metavar="CHECK")],
    manifests: Annotated[Optional[list[Path]], typer.Argument(
        help="The manifests to check (default: every mcp.yaml, mcp.yml and mcp.toml git tracks).",
        show_default=False, metavar="[MANIFEST]...")] = None,
) -> None:
    """The pre-commit hooks: `mcprt validate --offline` or `mcprt test` each manifest whose files the commit
    changes (the manifest, its includes, `.env`, API descriptions, Python modules, a command's script, cases),
    as git says: staged under `git commit`, between `PRE_COMMIT_FROM_REF` and `PRE_COMMIT_TO_REF` when set;
    every manifest otherwise (`pre-commit run --all-files`)."""
    from .hook_cmd import hook_command

    with guarded():
        raise typer.Exit(hook_command(action, manifests or []))


@app.command(epilog="Examples: `mcprt catalog list`, `mcprt catalog search deploys`, `mcprt catalog show github`, "
                    "`mcprt catalog init petstore`")
def catalog(
    action: Annotated[str, typer.Argument(help="list, search, show or init", metavar="ACTION")] = "list",
    name: Annotated[Optional[list[str]], typer.Argument(help="Entry name (show, init) or words (search).",
                                                        metavar="NAME|WORDS")] = None,
) -> None:
    """Browse the catalog of ready-made manifests: `list` (tools, tool-list bytes, measured reduction), `search
    WORDS`, `show NAME`; `init NAME` copies one here."""
    from .catalog_cmd import run_catalog

    with guarded():
        raise typer.Exit(run_catalog(action, name or []))


@app.command(epilog="Examples: `mcprt status http://127.0.0.1:8765/mcp`, `MCPRT_TOKEN=… mcprt status --url host:8765 --json`")
def status(
    url: Annotated[Optional[str], typer.Argument(
        metavar="[URL]", show_default=False,
        help="The server: its base URL, MCP endpoint or status page (default: $MCPRT_URL, else http://127.0.0.1:8765).")] = None,
    # --url as on approvals/pause/resume, so one spelling points every operator command at a server
    # (and the unreachable-server hint, shared by all four, names an option that exists here too).
    url_option: Annotated[Optional[str], typer.Option(
        "--url", metavar="URL", show_default=False, help="The same as URL, as the other operator commands take it.")] = None,
    token: Annotated[Optional[str], typer.Option("--token", metavar="TOKEN", show_default=False,
                                                 help="Bearer token (default: MCPRT_TOKEN).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
    show_all: Annotated[bool, typer.Option(
        "--all", help="A row for every tool, never-called ones included (more than 10 are one line by default).")] = False,
) -> None:
    """Show a running server's sources, tools (calls, errors, latency, bytes saved) and last reload."""
    from .status_cmd import status_command

    raise typer.Exit(status_command(url, url_option, token, as_json, show_all))


UrlOpt = Annotated[Optional[str], typer.Option(
    "--url", show_default=False,
    help="The running server, e.g. http://host:8765 (its MCP URL works too; default: $MCPRT_URL, else http://127.0.0.1:8765).")]
TokenOpt = Annotated[Optional[str], typer.Option("--token", envvar="MCPRT_TOKEN", show_default=False,
                                                 help="Bearer token (default: $MCPRT_TOKEN).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ReasonOpt = Annotated[Optional[str], typer.Option("--reason", help="Why (recorded; a denial reason is shown to the model).")]
PauseReasonOpt = Annotated[Optional[str], typer.Option(
    "--reason", help="Why (recorded, up to 500 characters; each refused call's tool error carries it).")]


@app.command(epilog="Examples: `mcprt approvals list --url http://127.0.0.1:8765 --json`, "
                    "`mcprt approvals approve ap_x1y2 --url http://127.0.0.1:8765`")
def approvals(
    action: Annotated[str, typer.Argument(help="list, approve or deny")] = "list",
    approval_id: Annotated[Optional[str], typer.Argument(metavar="ID", help="The request (approve/deny).")] = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
    reason: ReasonOpt = None,
    show_all: Annotated[bool, typer.Option("--all", help="list: decided and closed requests too.")] = False,
) -> None:
    """List pending approval requests of a running server, or approve/deny one."""
    from .policy_cmd import approvals_command

    raise typer.Exit(approvals_command(action, approval_id, url, token, as_json, reason, show_all))


@app.command(epilog="Examples: `mcprt pause delete_repo --url URL`, `mcprt pause --source github --url URL`, "
                    "`mcprt pause --all --url URL`")
def pause(
    tool: Annotated[Optional[str], typer.Argument(metavar="TOOL", help="A tool to pause.")] = None,
    source: Annotated[Optional[str], typer.Option("--source", help="Pause every tool of this source.")] = None,
    everything: Annotated[bool, typer.Option("--all", help="Pause every tool.")] = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
    reason: PauseReasonOpt = None,
) -> None:
    """Kill switch: refuse calls to a tool, a source or everything at once, until resumed (no reload)."""
    from .policy_cmd import pause_command

    raise typer.Exit(pause_command(tool, source, everything, url, token, as_json, reason))


@app.command(epilog="Examples: `mcprt resume delete_repo --url URL`, `mcprt resume --all --url URL`")
def resume(
    tool: Annotated[Optional[str], typer.Argument(metavar="TOOL", help="A paused tool.")] = None,
    source: Annotated[Optional[str], typer.Option("--source", help="A paused source.")] = None,
    everything: Annotated[bool, typer.Option("--all", help="Lift the pause of everything.")] = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Lift a pause set by `mcprt pause` (idempotent: says so, exit 0, when the target was not paused)."""
    from .policy_cmd import resume_command

    raise typer.Exit(resume_command(tool, source, everything, url, token, as_json))


def run() -> None:
    app()
