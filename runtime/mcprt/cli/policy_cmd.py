"""`mcprt approvals list|approve ID|deny ID` and `mcprt pause|resume`: clients of a running server's
policy endpoints (`mcprt.policy.http`). The token comes from `--token` or `MCPRT_TOKEN`; it is sent
only to the given URL and never printed."""

from __future__ import annotations

import json
import sys
import time
from typing import Any
from urllib.parse import urlsplit

from ..errors import McprtError
from .errors import EXIT_OK, guarded
from .status_cmd import checked_url, located_base, server_url, token_refusal, unreachable

TIMEOUT = 15.0


def admin_base(url: str | None) -> tuple[str, str]:
    """The server's base URL from what a user has at hand: `http://h:p`, `http://h:p/`, the MCP
    endpoint (`http://h:p/mcp`, a custom `server.http.path`) or the status page, under a proxy's path prefix too
    (`status_cmd.located_base`), and where it came from (`status_cmd.server_url`: None means $MCPRT_URL, else the
    default)."""
    url, origin = server_url(url)
    return located_base(checked_url(url, origin), trust_env=False), origin


def _request(method: str, base: tuple[str, str], path: str, token: str | None,
             body: dict[str, Any] | None = None) -> Any:
    from .. import import_httpx

    httpx = import_httpx()

    url = base[0] + path
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.request(method, url, json=body, headers=headers, timeout=TIMEOUT, trust_env=False)
    except httpx.HTTPError as exc:
        raise McprtError(unreachable(base[0], f"{type(exc).__name__}: {exc}", base[1])) from None
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code >= 400:
        detail = data.get("error") if isinstance(data, dict) else None
        if response.status_code == 401:  # the server's words cannot tell a wrong token from none
            detail = token_refusal(token is not None)
        raise McprtError(f"{method} {urlsplit(url).path}: HTTP {response.status_code}: "
                         f"{detail or response.text[:200]}")
    return data


def approvals_command(action: str, approval_id: str | None, url: str | None, token: str | None, as_json: bool,
                      reason: str | None, show_all: bool) -> int:
    """`mcprt approvals` as Typer and `cli.fast` run it: the exit code (errors exit through `guarded`)."""
    with guarded():
        code = run_approvals(action, approval_id, url, token, as_json, reason, show_all)
    return code


def pause_command(tool: str | None, source: str | None, everything: bool, url: str | None, token: str | None,
                  as_json: bool, reason: str | None) -> int:
    """`mcprt pause` as Typer and `cli.fast` run it: the exit code (errors exit through `guarded`)."""
    with guarded():
        code = run_pause(True, tool, source, everything, url, token, as_json, reason)
    return code


def resume_command(tool: str | None, source: str | None, everything: bool, url: str | None, token: str | None,
                   as_json: bool) -> int:
    """`mcprt resume` as Typer and `cli.fast` run it: the exit code (errors exit through `guarded`)."""
    with guarded():
        code = run_pause(False, tool, source, everything, url, token, as_json, None)
    return code


def run_approvals(action: str, approval_id: str | None, url: str | None, token: str | None, as_json: bool,
                  reason: str | None, show_all: bool) -> int:
    base = admin_base(url)
    if action == "list":
        items = _request("GET", base, "/policy/approvals" + ("?all=1" if show_all else ""), token)
        if as_json:
            print(json.dumps(items, ensure_ascii=False, indent=2))
            return EXIT_OK
        from ..observability.log import json_line  # here: the CLI's other commands start without the log module

        if not items:
            print("no pending approvals")
        for item in items:
            created = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(item["created"]))
            # the arguments a client chose, on an approver's terminal: with U+2028 or an RLO raw they could split
            # the line or reverse what it seems to ask for (review of fixi1, problem 7); escaped as the logs are
            args = json_line(item["arguments"], sort_keys=True)
            got = sum(1 for v in item.get("votes", []) if v.get("approve"))
            why = f"  ({json_line(item['reason'])[1:-1]})" if item["status"] != "pending" and item.get("reason") else ""
            # who asked as everywhere else (`mcprt status`, the status page, the audit log): `client:svc` for an OAuth
            # client acting for itself — the approvers deciding here must not read it as the user or token `svc`
            use = f"  {use_text(item)}" if item["status"] == "approved" else ""
            print(f"{item['id']}  {item['status']:<8} {item['tool']}  by {requester(item)}  {created} UTC  "
                  f"{got}/{item['required']} approvals  {args[:200]}{why}{use}")
        return EXIT_OK
    if action not in ("approve", "deny"):
        raise McprtError(f"unknown action {action!r}: use list, approve ID or deny ID")
    if not approval_id:
        raise McprtError(f"`mcprt approvals {action}` needs the request ID (see `mcprt approvals list`)")
    body = {"reason": reason} if reason else {}
    item = _request("POST", base, f"/policy/approvals/{approval_id}/{action}", token, body)
    if as_json:
        print(json.dumps(item, ensure_ascii=False, indent=2))
    else:
        got = sum(1 for v in item.get("votes", []) if v.get("approve"))
        print(f"{item['id']}: {item['status']} ({got}/{item['required']} approvals)")
    return EXIT_OK


def requester(item: dict[str, Any]) -> str:
    """Who made the call of an approval request (`/policy/approvals`' JSON), written as policies and every other view
    write callers (`principal_label`: `client:<id>` for an OAuth client acting for itself), with the OAuth client
    another caller's call came through: `svc`, `client:svc`, `alice (client webapp)`."""
    from ..identity.principal import principal_label

    label = principal_label(str(item.get("principal")), bool(item.get("by_client")))
    client = item.get("client_id")
    return f"{label} (client {client})" if client and not item.get("by_client") else label


def use_text(item: dict[str, Any]) -> str:
    """How an approved request (`/policy/approvals`' JSON: `used`, `used_by`, `used_session`, `uses`) stands as to its
    use: `used 2026-12-02T07:30:01Z by call c_… (session …)`, `not used: runs one call`, `runs identical calls until
    …`, or `not used` (the policy in force no longer asks for it, or a server before `uses` answered)."""
    from ..observability.log import rfc3339

    if item.get("used") is not None:
        call = f" by call {item['used_by']}" if item.get("used_by") else ""
        session = f" (session {item['used_session']})" if item.get("used_session") else ""
        return f"used {rfc3339(float(item['used']))}{call}{session}"
    if item.get("uses") == "valid_for":
        return f"runs identical calls until {rfc3339(float(item['expires']))}"
    return "not used: runs one call" if item.get("uses") == "once" else "not used"


def run_pause(paused: bool, tool: str | None, source: str | None, everything: bool, url: str | None,
              token: str | None, as_json: bool, reason: str | None) -> int:
    chosen = [t for t in (f"tool:{tool}" if tool else None, f"source:{source}" if source else None,
                          "all" if everything else None) if t]
    if len(chosen) != 1:
        raise McprtError("say what to " + ("pause" if paused else "resume") + ": a TOOL, --source KEY or --all")
    body: dict[str, Any] = {"target": chosen[0]}
    if reason:
        body["reason"] = reason
    result = _request("POST", admin_base(url), f"/policy/{'pause' if paused else 'resume'}", token, body)
    if as_json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        done = "paused" if paused else "resumed"
        if result.get("changed") is False:
            done = "already paused" if paused else "was not paused (nothing to resume)"
        print(f"{chosen[0]}: {done}"
              + (f"; paused now: {', '.join(result['pauses'])}" if result.get("pauses") else "; nothing paused"),
              file=sys.stdout)
    return EXIT_OK
