"""Admin endpoints of policies, served behind the HTTP guard (so a bearer token is needed when
inbound auth is on, and cross-site Origins are refused — which also stops cross-site form posts).

- `GET  /policy/approvals[?all=1]`          → JSON array of requests (`id`, `tool`, `principal`,
  `arguments`, `created`, `expires`, `status`, `votes`, `required`, `approvers`, and their use: `used`,
  `used_by`, `used_session`, `uses` — `approval_json`)
- `GET  /policy/approvals/{id}`             → one request
- `POST /policy/approvals/{id}/approve|deny` → JSON `{"reason": …}` or a form; JSON answer, or a
  303 back to the page for form posts; 409 for a vote against what stands (recorded votes never change)
- `GET  /policy/pauses`, `POST /policy/pause|resume` with `{"target": "tool:NAME"|"source:KEY"|"all"}`
  → `{"target", "paused", "changed", "pauses"}` (`changed` false: it already was in that state — resume
  is idempotent); 404 with the closest name for a tool or source not served (and, for resume, not paused)
- `GET  /status/approvals`                  → an HTML page with approve/deny buttons (also a
  section of `/status` through `observability.sections`, where a caller who is not an admin sees the
  pending requests of the calls they made instead: `render_section(caller=…)`, `pending_json`), and the
  approvals granted with whether a call used each (`render_granted`, `granted_json`: admins only)

Every one of them is for `policy.admins` only (`PolicyService.may_administer`), but deciding, which is for
the request's approvers; whom the policy in force lets decide nothing (`Policy.deciders`) gets 403 before
any state is read, as a non-admin's pause does. When the shared state (Redis) does not answer, each answers
503 with the error tool calls get (`shared state (Redis) is unavailable: …`, naming no address: `outage_answer`;
a form post goes back to its page with it as a note), never a bare 500: an operator hitting the kill switch
during an outage must learn that it did not take.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ..identity.principal import ANONYMOUS, Principal, from_scope, principal_label
from ..errors import StateUnavailable, did_you_mean
from .principals import caller_hint, listed, upgrade_hint
from .service import Conflict, Forbidden, NotFound, PolicyService
from .approvals import uses_now
from .state import ApprovalRequest, settled_by

if TYPE_CHECKING:
    from ..toolset.tool import Tool
    from .gate import PolicyGate

MAX_BODY = 16_384
PAGE_PATH = "/status/approvals"


# Where a form post returns to, given its `back` field: a safe same-site address, or None for PAGE_PATH.
# The server passes the status page's (`observability.status_view`): this layer knows no page above it.
ReturnTo = Callable[[object], "str | None"]


def policy_routes(service: PolicyService, back: ReturnTo = lambda _: None, prefix: str = "") -> list[Route]:
    """The routes above. `back(field)`: the address a form's `back` field names (the status page in the
    view the form was on), or None to return to PAGE_PATH; it must never name another site. `prefix`: the path
    of `server.public_url` (`/tools`), before every address the pages write and every redirect (a proxy strips
    it before forwarding; `ServeOptions.public_prefix`)."""
    home = prefix + PAGE_PATH

    def returning(field: object) -> str:
        return back(field) or home

    async def list_approvals(request: Request) -> Response:
        principal = _principal(request)
        if not service.may_administer(principal):
            return _error(403, service.not_admin(principal, "list approvals"))
        items = await service.state.approval_list(pending_only=request.query_params.get("all") not in ("1", "true"))
        return JSONResponse([approval_json(r, service.gate) for r in items])

    async def get_approval(request: Request) -> Response:
        principal = _principal(request)
        if not service.may_administer(principal):
            return _error(403, service.not_admin(principal, "read approvals"))
        found = await service.state.approval_get(request.path_params["id"])
        return _error(404, "no such approval request") if found is None else JSONResponse(approval_json(found, service.gate))

    async def decide(request: Request) -> Response:
        if request.path_params["verdict"] not in ("approve", "deny"):
            return _error(404, "POST /policy/approvals/ID/approve or /policy/approvals/ID/deny")
        approve = request.path_params["verdict"] == "approve"
        form, fields = await _fields(request)
        if fields is None:
            return _error(400, "send JSON or a form (at most 16 KB)")
        principal = _principal(request)
        deciders = service.gate.policy.deciders() if service.gate is not None else None
        if deciders is not None and not listed(principal, deciders):
            # before the state is read, as pause refuses a non-admin: one who may decide nothing is told
            # so, and learns nothing of the request nor of the state (an outage's 503); a client acting for
            # itself is told how such a caller is listed, never which entries name its id: those go to the
            # operator's log and audit record (`principals.upgrade_hint`), as an approver list never reaches a voter
            refused = f"{principal.label} may not decide approvals (policy.approvals.approvers)"
            # as every refused vote is (`PolicyService.decide`): logged and audited, an operator must see the attempt
            service.refused_outright(request.path_params["id"], principal, "approve" if approve else "deny",
                                     refused + upgrade_hint(principal, deciders))
            refused += caller_hint(principal)
            return _back(returning, fields, refused) if form else _error(403, refused)
        try:
            decided = await service.decide(request.path_params["id"], principal, approve,
                                           _text(fields.get("reason")))
        except Forbidden as exc:
            return _back(returning, fields, str(exc)) if form else _error(403, str(exc))
        except NotFound as exc:
            return _back(returning, fields, str(exc)) if form else _error(404, str(exc))
        except Conflict as exc:
            return _back(returning, fields, str(exc)) if form else _error(409, str(exc))
        if form:
            return _back(returning, fields, None)
        return JSONResponse(approval_json(decided, service.gate))

    async def list_pauses(request: Request) -> Response:
        principal = _principal(request)
        if not service.may_administer(principal):  # who paused what, and why: the operators' business
            return _error(403, service.not_admin(principal, "list pauses"))
        return JSONResponse(await service.state.pause_list())

    async def pause(request: Request) -> Response:
        paused = request.url.path.endswith("/pause")
        principal = _principal(request)
        form, fields = await _fields(request)
        if fields is None:
            return _error(400, "send JSON or a form (at most 16 KB)")
        target = pause_target(fields)
        if target is None:
            return _error(400, 'say what to pause: {"target": "tool:NAME" | "source:KEY" | "all"}')
        # A form (the status pages) goes back to its page with the refusal as a note, as below: a JSON
        # error page would leave the browser off the page and the view it was on.
        if not service.may_administer(principal):
            refused = service.not_admin(principal, "pause or resume")
            return _back(returning, fields, refused) if form else _error(403, refused)
        if service.gate is None:
            refused = "this server has no `policy:` block; add one (even `policy: {}`) to use pauses"
            return _back(returning, fields, refused) if form else _error(409, refused)
        was_paused = target in await service.state.pause_list()
        # A typo would otherwise look paused (or resumed) while the tool it meant keeps its state; a pause
        # of a name no longer served can still be lifted, so resume only asks when nothing is paused there.
        unknown = unknown_target(service.gate.tools, target, paused) if paused or not was_paused else None
        if unknown is not None:
            return _back(returning, fields, unknown) if form else _error(404, unknown)
        if not paused and not was_paused:  # resume is idempotent: say so rather than report a change
            note = f"{target} was not paused"
            if form:
                return _back(returning, fields, note)
            return JSONResponse({"target": target, "paused": False, "changed": False,
                                 "pauses": await service.state.pause_list()})
        await service.pause(target, principal, paused, _text(fields.get("reason")))
        if form:
            return _back(returning, fields, None)
        return JSONResponse({"target": target, "paused": paused, "changed": paused != was_paused,
                             "pauses": await service.state.pause_list()})

    async def page(request: Request) -> Response:
        principal = _principal(request)
        if not service.may_administer(principal):
            return _error(403, service.not_admin(principal, "see approvals"))
        await service.refresh()
        note = request.query_params.get("note")
        body = (f'<p class="note" role="status">{html.escape(note)}</p>' if note else "") + \
            (render_section(service, back=home, prefix=prefix) or "")
        granted = render_granted(service)
        body += f'<section id="granted_approvals"><h2>Granted approvals</h2>{granted}</section>' if granted else ""
        return HTMLResponse(_PAGE.format(body=body))

    def outage_answered(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        # Every handler reads or writes the policy state: with Redis down, that raised StateUnavailable out
        # of the route, a bare HTTP 500 (and a traceback in the log) for `mcprt pause` during an outage.
        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except StateUnavailable as exc:
                form, fields = await _fields(request)  # Starlette keeps the body read by the handler
                if form and fields is not None:
                    return _back(returning, fields, str(exc))
                return outage_answer(exc)

        return answer

    return [Route(path, outage_answered(handler), methods=[method]) for path, handler, method in (
        ("/policy/approvals", list_approvals, "GET"),
        ("/policy/approvals/{id}", get_approval, "GET"),
        ("/policy/approvals/{id}/{verdict:str}", decide, "POST"),
        ("/policy/pauses", list_pauses, "GET"),
        ("/policy/pause", pause, "POST"),
        ("/policy/resume", pause, "POST"),
        (PAGE_PATH, page, "GET"),
    )]


def approval_json(request: ApprovalRequest, gate: PolicyGate | None = None) -> dict[str, Any]:
    """A request as the admin endpoints, `/status.json` and `mcprt approvals` give it: its stored form without the
    internal `key`, with `client_id` (null: the call came through no OAuth client) and its use always present —
    `used` (epoch seconds on the state's clock), `used_by` (the call's id, the audit records' `call`) and
    `used_session` (its MCP session, `Mcp-Session-Id`), null while no call used it — and `uses`, how many calls it
    lets run under `gate`, the policy in force (`approvals.uses_now`: `once`, `valid_for`, or null when that policy
    no longer asks for it). With a shared state (Redis) a use made through any replica shows on every one."""
    data = {**request.to_json(), "client_id": request.client_id, "used": request.used, "used_by": request.used_by,
            "used_session": request.used_session, "uses": uses_now(gate, request)}
    data.pop("key", None)  # an internal fingerprint
    return data


def pause_target(fields: dict[str, Any]) -> str | None:
    """`{"target": "tool:x"}`, or `{"tool": x}` / `{"source": s}` / `{"all": true}`."""
    target = fields.get("target")
    if isinstance(target, str) and (target == "all" or target.partition(":")[0] in ("tool", "source")) \
            and (target == "all" or target.partition(":")[2]):
        return target
    if isinstance(fields.get("tool"), str) and fields["tool"]:
        return f"tool:{fields['tool']}"
    if isinstance(fields.get("source"), str) and fields["source"]:
        return f"source:{fields['source']}"
    if fields.get("all") in (True, "1", "true"):
        return "all"
    return None


def unknown_target(tools: Mapping[str, Tool], target: str, paused: bool = True) -> str | None:
    """Why a pause `target` names no tool or source this server serves now (with the closest
    name), else None. `all` always names something."""
    kind, _, name = target.partition(":")
    if target == "all":
        return None
    known = sorted(tools) if kind == "tool" else sorted({tool.source for tool in tools.values()})
    if name in known:
        return None
    where = f"the manifest's `sources:` lists the {kind}s it serves"
    if kind == "tool":  # in discovery mode `mcprt tools` lists only the meta-tools, and counts the rest
        where = ("`mcprt tools` lists the meta-tools of discovery mode and counts the tools it serves, which its "
                 "search meta-tool finds") if any(not tool.listed for tool in tools.values()) \
            else "`mcprt tools` lists the tools it serves"
    return (f"nothing {'paused' if paused else 'resumed'}: this server has no {kind} '{name}'"
            f"{did_you_mean(name, known)}; {where}")


def own_view(request: ApprovalRequest) -> dict[str, Any]:
    """What the caller of a pending request reads of it (the status page, `/status.json`): what they
    asked (`id`, `tool`, `source`, `client_id` — the OAuth client it came through, or null —, `arguments`
    — as stored: secret-looking values already `[redacted]`),
    `created`, `expires` (epoch seconds), `status`, and its progress: `approved` of `required` approvals.
    Not who may decide it (`approvers`), nor who voted or what they wrote (`votes`): that is the approvers'
    business, and a caller who knew it could press one approver; the count is all that tells them how far
    it is. A denial ends the request (the call's tool error carries the approver's reason)."""
    return {"id": request.id, "tool": request.tool, "source": request.source, "client_id": request.client_id,
            "arguments": request.arguments,
            "created": request.created, "expires": request.expires, "status": request.status,
            "approved": len({v.voter for v in request.votes if v.approve}), "required": request.required}


def pending_json(service: PolicyService, caller: str | None = None) -> list[dict[str, Any]]:
    """The pending approval requests as `/status.json`'s `approvals`: every one as the admin endpoints
    give it (`approval_json`) when `caller` is None (an admin reads them), else only those of calls
    `caller` (a principal's owner key, `Principal.owner`: the status page's own-calls rule) made, as
    `own_view` shows them. Synchronous: the service's snapshot."""
    pending = service.snapshot.pending
    if caller is None:
        return [approval_json(r, service.gate) for r in pending]
    return [own_view(r) for r in pending if r.owner == caller]


def granted_json(service: PolicyService) -> list[dict[str, Any]]:
    """The approved requests not yet expired (`/status.json`'s `granted_approvals`, for admins), as `approval_json`
    gives them: whether each was used, when, by which call and session. Synchronous: the service's snapshot."""
    return [approval_json(r, service.gate) for r in service.snapshot.granted]


def use_cell(request: ApprovalRequest, uses: str | None) -> str:
    """How an approval stands as to its use, in words (HTML-escaped): `used 07:30:01 UTC by call c_… (session …)`,
    `not used: runs one call`, `runs identical calls until 07:40:00 UTC` (`uses`: `approvals.uses_now`)."""
    if request.used is not None:
        session = f" (session <code>{html.escape(request.used_session)}</code>)" if request.used_session else ""
        call = f" by call <code>{html.escape(request.used_by)}</code>" if request.used_by else ""
        return f"used {_clock(request.used)} UTC{call}{session}"
    if uses == "valid_for":
        return f"runs identical calls until {_clock(request.expires)} UTC"
    return "not used: runs one call" if uses == "once" else "not used"


def render_granted(service: PolicyService) -> str | None:
    """The approved requests not yet expired, each with whether a call used it (`use_cell`), or None when there is
    none: an operator tells an unused grant from a spent one. For admins only (the status page's section is)."""
    rows = []
    for r in service.snapshot.granted:
        args = html.escape(json.dumps(r.arguments, ensure_ascii=False, sort_keys=True, default=str)[:2000])
        rid = html.escape(r.id)
        approvers = ", ".join(html.escape(name) for name in settled_by(r.votes, True))
        rows.append(
            f'<tr id="granted-{rid}"><td><code>{rid}</code></td><td>{html.escape(r.tool)}</td>'
            f"<td>{html.escape(principal_label(r.principal, r.by_client))}</td><td>{html.escape(r.client_id or '—')}</td>"
            f"<td><code>{args}</code></td><td>{approvers}</td>"
            f"<td>{use_cell(r, uses_now(service.gate, r))}</td><td>{_clock(r.expires)} UTC</td></tr>")
    if not rows:
        return None
    return ("<table><thead><tr><th>id</th><th>tool</th><th>principal</th><th>client</th><th>arguments</th>"
            "<th>approved by</th><th>use</th><th>valid until</th></tr></thead><tbody>" + "".join(rows)
            + "</tbody></table>")


def _clock(epoch: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(epoch))


def render_own(service: PolicyService, caller: str) -> str | None:
    """The pending approvals of the calls `caller` made (`own_view`: no approvers, no votes, no forms —
    nobody decides their own call — and no pauses), or None when there is none (the section is left out)."""
    rows = []
    for r in pending_json(service, caller):
        args = html.escape(json.dumps(r["arguments"], ensure_ascii=False, sort_keys=True, default=str)[:2000])
        rid = html.escape(r["id"])
        rows.append(
            f'<tr id="approval-{rid}"><td><code>{rid}</code></td><td>{html.escape(r["tool"])}</td>'
            f"<td><code>{args}</code></td><td>{time.strftime('%H:%M:%S', time.gmtime(r['created']))} UTC</td>"
            f"<td>{r['approved']}/{r['required']}</td>"
            f"<td>{time.strftime('%H:%M:%S', time.gmtime(r['expires']))} UTC</td></tr>")
    if not rows:
        return None
    return ('<section id="approvals"><h2>Your calls waiting for approval</h2><p id="approvals-scope" class="muted">'
            "your calls only; an approver decides them (the same call, made again once approved, runs)</p>"
            "<table><thead><tr><th>id</th><th>tool</th><th>arguments</th><th>created</th><th>approvals</th>"
            "<th>open until</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table></section>")


def render_section(service: PolicyService, back: str = PAGE_PATH, caller: str | None = None,
                   prefix: str = "") -> str | None:
    """Pending approvals (approve/deny forms) and pauses (resume forms, a pause form): an HTML
    fragment, every value escaped. Synchronous: reads the service's snapshot. Forms return to `back`
    (this page, or `/status` when the fragment is a section there). `caller`: a reader who does not
    administer the server (a principal's name): only their own pending requests (`render_own`), or None.
    `prefix`: before each form's address (`policy_routes`)."""
    if caller is not None:
        return render_own(service, caller)
    snapshot = service.snapshot
    rows = []
    for r in snapshot.pending:
        args = html.escape(json.dumps(r.arguments, ensure_ascii=False, sort_keys=True, default=str)[:2000])
        votes = ", ".join(html.escape(v.label) for v in r.votes if v.approve)
        rid = html.escape(r.id)
        rows.append(
            f'<tr id="approval-{rid}"><td><code>{rid}</code></td><td>{html.escape(r.tool)}</td>'
            f"<td>{html.escape(principal_label(r.principal, r.by_client))}</td><td>{html.escape(r.client_id or '—')}</td>"
            f"<td><code>{args}</code></td>"
            f"<td>{time.strftime('%H:%M:%S', time.gmtime(r.created))} UTC</td>"
            f"<td>{len([v for v in r.votes if v.approve])}/{r.required}{f' ({votes})' if votes else ''}</td>"
            f"<td>{_form(f'{prefix}/policy/approvals/{rid}/approve', 'Approve', {}, back)}"
            f"{_form(f'{prefix}/policy/approvals/{rid}/deny', 'Deny', {'reason': ''}, back)}</td></tr>")
    table = ("<table><thead><tr><th>id</th><th>tool</th><th>principal</th><th>client</th><th>arguments</th>"
             "<th>created</th>"
             "<th>approvals</th><th></th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>") if rows \
        else "<p>No pending approvals.</p>"
    pauses = "".join(
        f"<li><code>{html.escape(t)}</code> by {html.escape(str(info.get('by')))} "
        f"{_form(prefix + '/policy/resume', 'Resume', {'target': t}, back)}</li>" for t, info in snapshot.pauses.items())
    paused = f"<ul>{pauses}</ul>" if pauses else "<p>Nothing is paused.</p>"
    pause_form = (f'<form method="post" action="{html.escape(prefix)}/policy/pause"><input type="hidden" name="back" '
                  f'value="{html.escape(back)}">'
                  '<input name="target" placeholder="tool:NAME, source:KEY or all" aria-label="pause target">'
                  '<button type="submit">Pause</button></form>')
    return (f'<section id="approvals"><h2>Pending approvals</h2>{table}</section>'
            f'<section id="pauses"><h2>Paused</h2>{paused}{pause_form}</section>')


def _form(action: str, label: str, hidden: dict[str, str], back: str) -> str:
    inputs = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                     for k, v in hidden.items() if k != "reason")
    reason = '<input name="reason" placeholder="reason" aria-label="reason">' if "reason" in hidden else ""
    return (f'<form method="post" action="{html.escape(action)}" style="display:inline">'
            f'<input type="hidden" name="back" value="{html.escape(back)}">{inputs}{reason}'
            f'<button type="submit">{html.escape(label)}</button></form>')


def _principal(request: Request) -> Principal:
    return from_scope(request.scope) or ANONYMOUS


async def _fields(request: Request) -> tuple[bool, dict[str, Any] | None]:
    """(is a form post, the fields) from a JSON or urlencoded body; None when unreadable or too big."""
    body = await request.body()
    if len(body) > MAX_BODY:
        return False, None
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        try:
            parsed = parse_qs(body.decode(), keep_blank_values=True)
        except UnicodeDecodeError:
            return True, None
        return True, {k: v[-1] for k, v in parsed.items()}
    if not body.strip():
        return False, {}
    try:
        data = json.loads(body)
    except ValueError:
        return False, None
    return False, data if isinstance(data, dict) else None


def _text(value: Any) -> str | None:
    return value.strip()[:500] or None if isinstance(value, str) else None


def _back(resolve: ReturnTo, fields: dict[str, Any], note: str | None) -> Response:
    """After a form post: back to the page it came from (one of our two pages), with a note on failure."""
    target = resolve(fields.get("back")) or PAGE_PATH  # never an open redirect (`policy_routes`)
    if note:
        from urllib.parse import urlencode

        target += ("&" if "?" in target else "?") + urlencode({"note": note})
    return RedirectResponse(target, status_code=303)


def outage_answer(exc: StateUnavailable) -> JSONResponse:
    """503 `{"error": "shared state (Redis) is unavailable: …; try again shortly"}` (RFC 9110 §15.6.4: a
    condition that passes): the answer of every HTTP endpoint whose shared state did not answer — these
    routes, and any other through `server.http`'s exception handler. Its words name no address and no
    password (`state.redis_client.unavailable`)."""
    return _error(503, str(exc))


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>mcprt approvals</title>
<style>body{{font:14px system-ui,sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}}code{{font-size:12px}}
.note{{background:#fee;padding:6px}}</style></head><body><h1>mcprt approvals</h1>{body}</body></html>"""
