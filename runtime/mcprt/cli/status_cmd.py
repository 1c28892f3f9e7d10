"""`mcprt status URL`: the status page's summary of a running server, in the terminal."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..identity.principal import principal_label
from .common import stdout_console
from ..wording import clause
from .errors import EXIT_OK, guarded

TOKEN_ENV = "MCPRT_TOKEN"
URL_ENV = "MCPRT_URL"  # the running server, when --url (or status's URL) is not given
DEFAULT_URL = "http://127.0.0.1:8765"  # `mcprt up --transport http`'s own default address


def server_url(given: str | None) -> tuple[str, str]:
    """The running server's URL for `status`, `approvals`, `pause`, `resume`, and where it came
    from (said when it cannot be reached): the command line, else $MCPRT_URL, else DEFAULT_URL."""
    if given:
        return given, "given"
    from_env = os.environ.get(URL_ENV, "").strip()
    if from_env:
        return from_env, URL_ENV
    return DEFAULT_URL, "default"


def checked_url(url: str, origin: str) -> str:
    """`url` as an absolute http(s) URL (`host:8765` gets `http://`), for every command that talks to a
    running server (`status`, `approvals`, `pause`, `resume`, `call --url`); McprtError (exit 2) naming
    where it came from when it is none (another scheme, a bad port, an unclosed IPv6 bracket), instead
    of an internal error or a connection error with a hint that cannot help."""
    from ..errors import McprtError

    given = url.strip()
    absolute = given if "://" in given else f"http://{given}"
    where = {URL_ENV: f"{URL_ENV}={given}"}.get(origin, given)
    try:
        parts = urlsplit(absolute)
        parts.port  # noqa: B018  # parsed on access: raises ValueError for ':1' or 99999
    except ValueError as exc:
        raise McprtError(f"{where} is not a valid URL ({exc}); give the server's base URL or MCP endpoint, "
                         "e.g. http://127.0.0.1:8765/mcp") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        what = "names no host" if parts.scheme in ("http", "https") else "is not an http(s) URL"
        raise McprtError(f"{where} {what}; give the server's base URL or MCP endpoint, "
                         "e.g. http://127.0.0.1:8765/mcp")
    return absolute


def unreachable(target: str, error: str, origin: str) -> str:
    """What a connection failure means at the command line: what was tried, where that address came
    from, and how to point the command at the running server instead."""
    where = {"given": "", URL_ENV: f" (from {URL_ENV})",
             "default": f" (the default: no --url given and {URL_ENV} is not set)"}[origin]
    return (f"cannot reach the server at {target}{where}: {clause(error)}. Is `mcprt up --transport http` running "
            f"there? Point at it with --url URL or {URL_ENV}=URL (its base URL or MCP endpoint, "
            f"e.g. http://host:8765/mcp)")


def token_refusal(sent: bool) -> str:
    """What a 401 from a running server means at the command line (`status`, `approvals`, `pause`,
    `call --url`): the token sent was refused, or none was sent, and then how to send one."""
    if sent:
        return "the server did not accept the bearer token sent"
    return f"the server wants a bearer token: pass --token TOKEN or set {TOKEN_ENV}"


def base_path(path: str) -> str:
    """The server's base path from a URL's path a user has at hand: its status page (`…/status`,
    `…/status.json`) or MCP endpoint (`…/mcp`) dropped, any other path kept — the prefix a proxy serves mcprt
    under (`/tools` of `https://gw.example.com/tools`, `server.public_url`'s path). No trailing slash."""
    path = path.rstrip("/")
    for tail in ("/status.json", "/status", "/mcp"):
        if path.endswith(tail):
            return path[: -len(tail)]
    return path


HEALTH_PATH = "/healthz"  # `server.http.HEALTH_PATH`: answered at the server's base with no token (not imported: lazy CLI)


def located_base(url: str, *, trust_env: bool = True) -> str:
    """The running server's base URL (no trailing slash) from an absolute http(s) `url` a user has at hand.

    `base_path` drops a known tail (`/mcp`, `/status`, `/status.json`); what is left may be a proxy's path prefix
    (`https://gw.example.com/tools`) or a custom MCP endpoint (`server.http.path: /rpc`, or `/api/mcp` whose
    `/api` is no prefix), which no URL tells apart. So each candidate — that path, then each of its ancestors, the
    longest first — is asked for its `/healthz` (no token needed, open under every auth): the first answering
    200 is the base. None answering (unreachable, no such server): the first candidate, whose own request then
    reports the fault. A URL with no path left is not probed."""
    from .. import import_httpx

    parts = urlsplit(url)
    path = base_path(parts.path)
    candidates = [path]
    while candidates[-1]:
        candidates.append(candidates[-1].rsplit("/", 1)[0])
    if len(candidates) > 1:
        httpx = import_httpx()
        for candidate in candidates:
            probe = urlunsplit((parts.scheme, parts.netloc, candidate + HEALTH_PATH, "", ""))
            try:
                if httpx.get(probe, timeout=5, trust_env=trust_env).status_code == 200:
                    path = candidate
                    break
            except httpx.HTTPError:
                break  # unreachable: the command's own request says so, with its hint
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def status_command(url: str | None, url_option: str | None, token: str | None, as_json: bool,
                   show_all: bool = False) -> int:
    """`mcprt status` as Typer and `cli.fast` run it: the URL as an argument or `--url` (the same
    one, if both), the exit code (errors exit through `guarded`). `show_all`: a row for every tool,
    never-called ones included (`observability.tool_rows`); `--json` prints every tool anyway."""
    from ..errors import McprtError

    with guarded():
        if url is not None and url_option is not None and url != url_option:
            raise McprtError(f"two servers given ({url} and --url {url_option}): give one")
        code = run_status(url or url_option, token, as_json, show_all)
    return code


def run_status(url: str | None, token: str | None, as_json: bool, show_all: bool = False) -> int:
    """Fetch and print; a refused token or an unreachable server raises McprtError (exit 2). `url`
    None: $MCPRT_URL, else DEFAULT_URL (`server_url`)."""
    from .. import import_httpx

    httpx = import_httpx()

    from ..errors import McprtError

    url, origin = server_url(url)
    token = token or os.environ.get(TOKEN_ENV) or None
    target = located_base(checked_url(url, origin)) + "/status.json"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.get(target, headers=headers, timeout=10)
    except httpx.HTTPError as exc:
        raise McprtError(unreachable(target, f"{type(exc).__name__}: {exc}", origin)) from None
    if response.status_code == 401:
        raise McprtError(f"{target}: HTTP 401: {token_refusal(token is not None)}")
    if response.status_code != 200:
        raise McprtError(f"{target} answered HTTP {response.status_code}")
    data = response.json()
    if as_json:
        import json

        print(json.dumps(data, indent=2))
        return EXIT_OK
    _print(data, show_all)
    return EXIT_OK


def _print(data: dict[str, Any], show_all: bool = False) -> None:
    from rich.table import Table

    from ..observability.log import rfc3339
    from ..observability.tool_rows import tool_rows

    console = stdout_console()
    server = data["server"]
    console.print(f"[bold]{server['name']}[/] · mcprt {server['version']} · {server['transport']}"
                  f"{' at ' + server['endpoint'] if server.get('endpoint') else ''} · {server['sessions']} "
                  f"session{'' if server['sessions'] == 1 else 's'}")
    sources = Table("source", "kind", "health", "restarts", "error", title="Sources", title_justify="left")
    for s in data["sources"]:
        colour = "green" if s["state"] == "up" else "yellow" if s["state"] == "degraded" else "red"
        since = f" (since {rfc3339(s['since'])})" if s.get("since") else ""
        sources.add_row(s["name"], s["kind"], f"[{colour}]{s['state']}[/]", str(s["restarts"]),
                        (s.get("error") or "") + since)
    console.print(sources)
    tools = Table("tool", "source", "calls", "errors", "p50", "p95", "bytes raw → sent", "saved",
                  title="Tools", title_justify="left",
                  caption="sent: what the model reads (the result's blocks; structuredContent unless a text block repeats it)",
                  caption_justify="left")
    chosen = tool_rows(sorted(data["tools"], key=lambda t: (-t["calls"], t["name"])), lambda t: t["calls"],
                       lambda t: t.get("exposure", "tools"), show_all=show_all)
    for t in chosen.shown:
        saved = "" if t["saved_ratio"] is None else f"{t['saved_ratio']:.0%}"
        tools.add_row(t["name"], t["source"], str(t["calls"]), f"{t['error_rate']:.0%}", _ms(t["p50"]), _ms(t["p95"]),
                      f"{t['bytes_raw']} → {t['bytes_sent']}", saved)
    console.print(tools)
    idle = chosen.idle_line()
    if idle:
        console.print(f"{idle}: mcprt status --all lists them", markup=False, highlight=False)
    reload = data.get("reload") or {}
    if reload.get("outcome") in ("abandoned", "refused"):  # refused: `reload.guard`, applied by SIGHUP
        console.print(f"[yellow]last reload {reload['outcome']}[/] ({reload.get('reason')}); the previous tools keep "
                      "serving", highlight=False)
    elif reload.get("ok") is False:
        console.print("[red]last reload failed[/]; the previous tools keep serving:")
        for line in reload.get("errors") or []:
            console.print(f"  {line}", markup=False, highlight=False)
    elif reload.get("ok"):
        console.print(f"last reload ok at {reload.get('at')}")
    _print_approvals(data.get("approvals"), data.get("recent_scope") == "own")
    _print_granted(data.get("granted_approvals"))


def _print_approvals(approvals: Any, own: bool) -> None:
    """`/status.json`'s `approvals` (the pending requests the reader may see: an admin's every one, anyone
    else's own) as a table; nothing when there is none. An admin's items carry their votes, a caller's
    only the count (`policy.http.own_view`)."""
    from rich.table import Table

    from ..observability.log import rfc3339

    if not isinstance(approvals, list) or not approvals:
        return
    table = Table("id", "tool", *(() if own else ("principal",)), "client", "approvals", "open until",
                  title="Your calls waiting for approval" if own else "Pending approvals", title_justify="left")
    for r in approvals:
        given = r.get("approved")
        if given is None:
            # one per voter: a client acting for itself (`by_client`) is not the user of its name
            given = len({(v.get("approver"), bool(v.get("by_client"))) for v in r.get("votes") or [] if v.get("approve")})
        caller = principal_label(str(r.get("principal")), bool(r.get("by_client")))
        table.add_row(str(r.get("id")), str(r.get("tool")), *(() if own else (caller,)),
                      str(r.get("client_id") or "–"), f"{given}/{r.get('required')}",
                      rfc3339(float(r.get("expires") or 0)))
    stdout_console().print(table)


def _print_granted(granted: Any) -> None:
    """`/status.json`'s `granted_approvals` (an admin's: approved requests not yet expired) as a table, each with
    whether a call used it (`policy_cmd.use_text`); nothing when there is none."""
    from rich.table import Table

    from ..observability.log import rfc3339
    from .policy_cmd import use_text

    if not isinstance(granted, list) or not granted:
        return
    table = Table("id", "tool", "principal", "client", "use", "valid until", title="Granted approvals",
                  title_justify="left")
    for r in granted:
        caller = principal_label(str(r.get("principal")), bool(r.get("by_client")))
        table.add_row(str(r.get("id")), str(r.get("tool")), caller, str(r.get("client_id") or "–"), use_text(r),
                      rfc3339(float(r.get("expires") or 0)))
    stdout_console().print(table)


def _ms(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds * 1000:.1f} ms"
