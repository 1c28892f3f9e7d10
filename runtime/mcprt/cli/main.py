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
                    "`mcprt call other.yaml get_pet --args '{\"petId\": 1}'`")
def call(
    targets: Annotated[list[str], typer.Argument(help="[MANIFEST] TOOL", show_default=False)],
    args: Annotated[str, typer.Option("--args", help="Arguments as a JSON object.")] = "{}",
) -> None:
    """Compile, call one tool, print the MCP tools/call result (exit 1 when it is an error result)."""
    from .call_cmd import run_call

    with guarded():
        raise typer.Exit(run_call(targets, args))


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
