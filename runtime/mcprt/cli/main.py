"""The `mcprt` command line. Each command lives in its own module and imports its work lazily, so
`mcprt tools --json` on a warm cache does not pay for importing the server stack."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .. import __version__
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

ManifestArg = Annotated[
    Optional[Path],
    typer.Argument(help="Manifest file (default: ./mcp.yaml, then ./mcp.toml).", show_default=False),
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
                    "`mcprt validate catalog/github/mcp.yaml --offline` (CI without network or secrets)")
def validate(
    manifest: ManifestArg = None,
    offline: Annotated[
        bool,
        typer.Option("--offline", help="Use pinned spec/<source>.* copies for URL specs and placeholders for "
                                       "unset ${VAR}s: checks a manifest in CI without network or secrets."),
    ] = False,
) -> None:
    """Check the manifest, its sources and templates; print `file:line:col: message` for each problem."""
    from .validate_cmd import run_validate

    with guarded():
        raise typer.Exit(run_validate(manifest, offline))


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
) -> None:
    """The tool list the server would expose, with each definition's size."""
    from .tools_cmd import run_tools

    with guarded():
        raise typer.Exit(run_tools(manifest, as_json))


@app.command(epilog="Examples: `mcprt call list_issues --args '{\"repo\": \"mcprt\"}'`, "
                    "`mcprt call other.yaml get_pet --args '{\"petId\": 1}'`, "
                    "`mcprt call --url http://127.0.0.1:8765/mcp search_notes --args '{\"query\": \"retry\"}'`")
def call(
    targets: Annotated[list[str], typer.Argument(help="[MANIFEST] TOOL, or TOOL with --url", show_default=False)],
    args: Annotated[str, typer.Option("--args", help="Arguments as a JSON object.")] = "{}",
    url: Annotated[Optional[str], typer.Option("--url", help="Call a running MCP server (streamable HTTP) "
                                                            "instead of compiling a manifest.")] = None,
    header: Annotated[Optional[list[str]], typer.Option("--header", help="'Name: value' sent with --url "
                                                                         "(repeatable).")] = None,
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
            raise typer.Exit(run_remote_call(url, targets[0], parse_args(args), parse_headers(header or [])))
        if header:
            from ..errors import McprtError

            raise McprtError("--header is for --url (headers sent to a running server)")
        from .call_cmd import run_call

        raise typer.Exit(run_call(targets, args))


@app.command(epilog="Examples: `mcprt init --openapi api.yaml`, "
                    "`mcprt init --openapi https://example.com/openapi.json --tag pets --out pets/mcp.yaml`")
def init(
    openapi: Annotated[str, typer.Option("--openapi", help="The API description: a path or URL.")],
    tag: Annotated[Optional[list[str]], typer.Option("--tag", help="Include the operations of this tag "
                                                                   "(repeatable; default: all).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Manifest to write.")] = Path("mcp.yaml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite --out if it exists.")] = False,
) -> None:
    """Write a commented manifest for an OpenAPI description: every operation, readable names, suggested prunes."""
    from .init_cmd import run_init

    with guarded():
        raise typer.Exit(run_init(openapi, tag or [], out, force))


@app.command(epilog="Example: `mcprt pin mcp.yaml` (then commit `spec/`)")
def pin(manifest: ManifestArg = None) -> None:
    """Write the pinned copy `spec/<source>.*` of every URL spec beside the manifest (for offline use and CI)."""
    from .pin_cmd import run_pin

    with guarded():
        raise typer.Exit(run_pin(manifest))


@app.command(epilog="Example: `mcprt show catalog/github/mcp.yaml get_issue`")
def show(
    targets: Annotated[list[str], typer.Argument(help="[MANIFEST] TOOL", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print the facts as one JSON object.")] = False,
    offline: Annotated[bool, typer.Option("--offline", help="As `validate --offline`: pinned specs, placeholder "
                                                            "variables.")] = False,
) -> None:
    """One tool as the model sees it, where it comes from, the overrides applied and a sample rendering."""
    from .show_cmd import run_show

    with guarded():
        raise typer.Exit(run_show(targets, as_json, offline))


@app.command(epilog="Examples: `mcprt up`, `mcprt up mcp.yaml --transport http --port 8765`")
def up(
    manifest: ManifestArg = None,
    transport: Annotated[Optional[str], typer.Option(help="stdio or http (default: MCPRT_TRANSPORT, else stdio).")] = None,
    host: Annotated[Optional[str], typer.Option(help="HTTP bind address (beats env and manifest).")] = None,
    port: Annotated[Optional[int], typer.Option(help="HTTP port (beats env and manifest).")] = None,
    stateless: Annotated[bool, typer.Option("--stateless", help="Stateless HTTP, for replicas behind a load balancer.")] = False,
    no_reload: Annotated[bool, typer.Option("--no-reload", help="Do not watch the manifest for changes.")] = False,
) -> None:
    """Serve the manifest's tools over stdio or streamable HTTP, reloading on change."""
    from .up_cmd import run_up

    with guarded():
        raise typer.Exit(run_up(manifest, transport=transport, host=host, port=port, stateless=stateless,
                                reload=not no_reload))


@app.command(epilog="Examples: `mcprt test`, `mcprt test catalog/github/mcp.yaml --update`")
def test(
    manifest: ManifestArg = None,
    update: Annotated[bool, typer.Option("--update", help="Rewrite snapshots from the current output.")] = False,
) -> None:
    """Replay the manifest's recorded cases through pruning and templates; compare with snapshots."""
    from .test_cmd import run_test

    with guarded():
        raise typer.Exit(run_test(manifest, update))


@app.command(epilog="Example: `mcprt record mcp.yaml list_issues --args '{\"repo\": \"mcprt\"}'`")
def record(
    targets: Annotated[list[str], typer.Argument(help="[MANIFEST] TOOL", show_default=False)],
    args: Annotated[str, typer.Option("--args", help="Arguments as a JSON object.")] = "{}",
    name: Annotated[Optional[str], typer.Option(help="Case name (default: derived from the arguments).")] = None,
) -> None:
    """Call the live upstream once and store the case for `mcprt test`."""
    from .record_cmd import run_record

    with guarded():
        raise typer.Exit(run_record(targets, args, name))


@app.command(epilog="Examples: `mcprt diff old.yaml mcp.yaml`, `mcprt diff HEAD~1:mcp.yaml mcp.yaml --format markdown`")
def diff(
    old: Annotated[str, typer.Argument(help="Old manifest: a path or REV:path.")],
    new: Annotated[str, typer.Argument(help="New manifest: a path or REV:path.")],
    format: Annotated[str, typer.Option("--format", help="text, markdown or json.")] = "text",
    fail_on: Annotated[Optional[str], typer.Option("--fail-on", help="`breaking` or `any`: exit 1 when found.")] = None,
) -> None:
    """What the model would see change between two manifests."""
    from .diff_cmd import run_diff

    with guarded():
        raise typer.Exit(run_diff(old, new, format, fail_on))


@app.command(epilog="Examples: `mcprt catalog list`, `mcprt catalog search deploys`, `mcprt catalog show github`, "
                    "`mcprt catalog init petstore`")
def catalog(
    action: Annotated[str, typer.Argument(help="list, search, show or init")] = "list",
    name: Annotated[Optional[list[str]], typer.Argument(help="Entry name (show, init) or words (search).")] = None,
) -> None:
    """Browse the catalog of ready-made manifests: `list` (tools, tool-list bytes, measured reduction), `search
    WORDS`, `show NAME`; `init NAME` copies one here."""
    from .catalog_cmd import run_catalog

    with guarded():
        raise typer.Exit(run_catalog(action, name or []))


def run() -> None:
    app()
