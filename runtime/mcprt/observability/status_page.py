"""The status page (`GET /status`): server-rendered HTML, inline CSS and SVG, no script, no CDN.

Parts, in order: the server; its sources with health; the tools (those `tool_rows` gives a row) with calls, error rate, p50/p95
latency and bytes raw → sent (% saved); the last reload; calls and bytes saved over the last hour;
the latest calls with a payload inspector (`?call=ID`: the upstream body beside the result the
model received, redacted and capped); then each section registered in `sections.SECTIONS`.
`summary()` is the same content as JSON (`GET /status.json`, read by `mcprt status URL`).

Who sees what (`Viewer`): the server's administrators (`policy.admins`, else the approvers, else anyone
who authenticated: the rule of the `/policy` endpoints, decided by the server) see every call, its
caller, arguments and bodies, and every section. Anyone else sees the aggregate health (server, sources,
tools, reload, the hour's chart) and only their own calls: the latest calls, the inspector (`?call=ID` of
another's call reads as not kept) and `/status.json`'s `recent`; of the sections, only what is theirs —
the pending approvals of calls they made (no forms, no other caller's, no pauses), the same rule
(`viewer.Viewer.owns`). One caller's arguments and upstream answers are never another's to read.
Both are scrubbed of configured secrets where they are written (`_e`, the one way a value reaches the
page; `summary`'s whole document): a failed reload's errors quote an import-time exception, a source's
error an upstream's answer, a reason or a call's error its message, and any of them may hold a key.
"""

from __future__ import annotations

import html
import time
from typing import Any

from .log import duration_text
from .recent import CallRecorder, Payloads, RecentCall, ToolFigures
from .sections import SECTIONS
from .state import ServerState, ToolInfo
from .status_view import View
from .tool_rows import META, tool_rows
from .viewer import ADMIN, Viewer
from ..scrubbing import SECRETS
from ..wording import noun

REFRESH_SECONDS = 15
_SENT_TITLE = ("raw: the upstream body; sent: what the model reads (the result's text, or its "
               "structuredContent when it has no content blocks)")




def summary(state: ServerState, recorder: CallRecorder, viewer: Viewer = ADMIN) -> dict[str, Any]:
    """The status page's figures as JSON (times in seconds, sizes in bytes); `server.instance` says which process
    answered (`hostname`, `pid`, with shared state `replica`), `server.requests_in_flight` / `tasks_running` /
    `draining` what it holds, `state` the shared state (`up`, `writable`, `detail`: "ok", "unreachable since …",
    "writes refused since …: …"; null without one); `recent` holds the calls (each `id`, `call` — the audit
    record's — `time`, `principal`, `tool`, `outcome`, `latency` s, `bytes_raw`, `bytes_sent`)
    `viewer` may see (`Viewer.sees`), `recent_scope` says which: `all`, or `own` (a non-admin's); then each
    registered section's `data` the viewer may read, under its key (`approvals`: the pending requests, a
    non-admin's own only); scrubbed of configured secrets."""
    tools = []
    for tool in state.tools:
        f = recorder.tools.get(tool.name) or ToolFigures()
        tools.append({
            "name": tool.name, "source": tool.source, "exposure": tool.exposure, "calls": f.calls,
            "errors": f.errors, "error_rate": round(f.error_rate, 4), "p50": f.percentile(0.5),
            "p95": f.percentile(0.95), "bytes_raw": f.raw_bytes, "bytes_sent": f.sent_bytes,
            "saved_ratio": None if f.saved_ratio is None else round(f.saved_ratio, 4),
        })
    document: dict[str, Any] = {
        "server": {"name": state.name, "version": state.version, "transport": state.transport,
                   "endpoint": state.endpoint, "started": state.started, "sessions": state.sessions,
                   # which replica answered, and what it holds: what an operator checks before a SIGTERM
                   "instance": state.instance, "requests_in_flight": state.requests_in_flight,
                   "tasks_running": state.tasks_running, "draining": state.draining},
        # the shared state (Redis) as this replica sees it; null without one
        "state": None if state.state_up is None else {
            "up": state.state_up, "writable": state.state_writable, "detail": state.state_detail},
        "sources": [{"name": s.name, "kind": s.kind, "state": s.state, "restarts": s.restarts, "error": s.error,
                     "since": s.since} for s in state.sources],
        "tools": tools,
        "reload": state.reload,
        "audit": _audit_json(state),
        # `principal` and `call` as the audit log names them, so an entry joins its audit record; a
        # non-admin's list holds only their own calls (`Viewer.sees`), so no other caller is named to them
        "recent": [{"id": c.id, "call": c.call, "time": c.time, "principal": c.principal, "tool": c.tool,
                    "outcome": c.outcome, "latency": c.latency, "bytes_raw": c.raw_bytes, "bytes_sent": c.sent_bytes}
                   for c in reversed(recorder.recent) if viewer.sees(c)],
        "recent_scope": "all" if viewer.admin else "own",
    }
    for section in list(SECTIONS):
        if section.data is not None and section.shown_to(viewer) and section.key not in document:
            try:
                document[section.key] = section.data(viewer)
            except Exception:  # noqa: BLE001 - a broken section must not take the summary down
                document[section.key] = None
    return SECRETS.scrub_value(document)


def render(state: ServerState, recorder: CallRecorder, view: View = View(), note: str | None = None,
           viewer: Viewer = ADMIN) -> str:
    """The whole page. Every value from outside is escaped here. `view` (`status_view`): `show_all`, a
    row for every tool, never-called ones included (`tool_rows`: by default many of those are one line);
    `call`, the call the inspector shows. Every link and form keeps the part of it that it does not change.
    `note`: what a form posted from this page was told (`?note=`: a refused pause), shown at the top.
    `viewer`: who reads it (the module docstring: a non-admin sees their own calls and no admin section)."""
    parts = [
        _head(state, refresh=view.call is None),
        _server(state),
        f'<p id="note" class="bad" role="status">{_e(note)}</p>' if note else "",
        _sources(state),
        _tools(state, recorder, view),
        _reload(state),
        _audit(state),
        _chart(recorder),
        _recent(recorder, view, viewer),
    ]
    for section in list(SECTIONS):
        if not section.shown_to(viewer):
            continue
        try:
            body = section.render(view.address(), viewer)
        except Exception as exc:  # a broken section must not take the page down
            body = f'<p class="bad">this section failed: {_e(type(exc).__name__)}</p>'
        if body is None:  # nothing of this viewer's to show
            continue
        parts.append(f'<section id="{_e(section.key)}"><h2>{_e(section.title)}</h2>{body}</section>')
    parts.append("</main></body></html>")
    return "\n".join(parts)


def login_page(message: str | None = None, view: View = View()) -> str:
    """The form a browser without a credential gets (it posts the token once; a cookie follows), then
    returns to the `view` it asked for."""
    note = f'<p class="bad">{_e(message)}</p>' if message else ""
    return (_head(None, refresh=False) + '<section><h2>Sign in</h2>' + note +
            f'<form method="post" action="{_e(view.prefix)}/status/login">'
            f'<input type="hidden" name="back" value="{_e(view.address())}"><label>Bearer token '
            '<input type="password" name="token" autocomplete="current-password" autofocus></label> '
            '<button type="submit">Open the status page</button></form></section></main></body></html>')


# --- parts ----------------------------------------------------------------------------------------

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
main{max-width:1200px;margin:0 auto;padding:16px 24px}
h1{font-size:22px;margin:8px 0}h2{font-size:16px;margin:0 0 8px}
section{background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:12px 16px;margin:12px 0}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eef0f4}
th{font-weight:600;color:#4a5263}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#157a3a}.bad{color:#b42318}.warn{color:#b54708}.muted{color:#6b7385}
.badge{display:inline-block;padding:0 6px;border-radius:8px;font-size:12px;background:#eef0f4}
.badge.up{background:#d1fadf;color:#05603a}.badge.restarting{background:#fef0c7;color:#93370d}
.badge.error,.badge.closed,.badge.down{background:#fee4e2;color:#912018}.badge.degraded{background:#fef0c7;color:#93370d}
.panes{display:grid;grid-template-columns:1fr 1fr;gap:12px}
pre{background:#0f1420;color:#e6e9ef;padding:8px;border-radius:4px;max-height:420px;overflow:auto;
white-space:pre-wrap;word-break:break-all;font-size:12px}
a{color:#2453c4}tr.sel{background:#eef4ff}
"""


def _head(state: ServerState | None, *, refresh: bool) -> str:
    title = f"{state.name} · mcprt status" if state else "mcprt status"
    meta = f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">' if refresh else ""
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">{meta}'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f'<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>')


def _server(state: ServerState) -> str:
    up = duration_text(time.time() - state.started)
    served = sum(1 for t in state.tools if t.exposure != META)  # operations; the meta-tools only reach them
    where = f" at <code>{_e(state.endpoint)}</code>" if state.endpoint else ""
    return (f'<h1 id="server">{_e(state.name)}</h1><p class="muted">mcprt {_e(state.version)} · '
            f'{_e(state.transport)}{where} · up {up} · <span id="sessions">{state.sessions}</span> '
            f'{noun(state.sessions, "session")} · {served:,} {noun(served, "tool")}</p>')


def _sources(state: ServerState) -> str:
    rows = "".join(
        f'<tr id="source-{_e(s.name)}"><td>{_e(s.name)}</td><td>{_e(s.kind)}</td>'
        f'<td><span class="badge {_e(s.state)}">{_e(s.state)}</span></td><td class="n">{s.restarts}</td>'
        f'<td class="bad">{_e(s.error or "")}{_since(s.since)}</td></tr>'
        for s in state.sources
    )
    return ('<section id="sources"><h2>Sources</h2><table><tr><th>source</th><th>kind</th><th>health</th>'
            f'<th class="n">restarts</th><th>error</th></tr>{rows}</table></section>')


def _tools(state: ServerState, recorder: CallRecorder, view: View) -> str:
    def calls(tool: ToolInfo) -> int:
        return (recorder.tools.get(tool.name) or ToolFigures()).calls

    ordered = sorted(state.tools, key=lambda t: (-calls(t), t.name))
    short = tool_rows(ordered, calls, lambda t: t.exposure)  # its `idle` says whether a short list differs
    rows = []
    for tool in (ordered if view.show_all else short.shown):
        f = recorder.tools.get(tool.name) or ToolFigures()
        saved = "" if f.saved_ratio is None else f"{f.saved_ratio:.0%}"
        rate_class = "bad" if f.error_rate >= 0.1 else ""
        rows.append(
            f'<tr id="tool-{_e(tool.name)}" data-tool="{_e(tool.name)}"><td>{_e(tool.name)}</td>'
            f'<td>{_e(tool.source)}</td><td class="n calls">{f.calls}</td>'
            f'<td class="n errors {rate_class}">{f.error_rate:.0%}</td>'
            f'<td class="n p50">{_ms(f.percentile(0.5))}</td><td class="n p95">{_ms(f.percentile(0.95))}</td>'
            f'<td class="n bytes">{_bytes(f.raw_bytes)} → {_bytes(f.sent_bytes)}</td>'
            f'<td class="n saved">{saved}</td></tr>'
        )
    idle = "" if view.show_all else short.idle_line()
    more = (f'<p id="idle-tools" class="muted">{_e(idle)}: <a href="{_e(view.with_(show_all=True).address())}">'
            'show them</a></p>') if idle else ""
    if view.show_all and short.idle:  # a way back to the short list
        more = (f'<p id="idle-tools" class="muted">every tool is shown: <a href="'
                f'{_e(view.with_(show_all=False).address())}">show only the called ones</a></p>')
    return ('<section id="tools"><h2>Tools</h2><table><tr><th>tool</th><th>source</th><th class="n">calls</th>'
            '<th class="n">errors</th><th class="n">p50</th><th class="n">p95</th>'
            f'<th class="n" title="{_SENT_TITLE}">bytes raw → sent</th><th class="n">saved</th></tr>'
            f'{"".join(rows)}</table>{more}</section>')


def _reload(state: ServerState) -> str:
    r = state.reload or {}
    if r.get("ok") is None:
        body = '<p class="muted">no reload since start</p>'
    elif r.get("ok"):
        body = f'<p class="ok">ok at {_e(r.get("at"))} ({_e(r.get("trigger"))})</p>'
    elif r.get("outcome") in ("abandoned", "refused"):  # refused: `reload.guard`, applied by SIGHUP
        body = (f'<p class="bad">{_e(r["outcome"])} at {_e(r.get("at"))} ({_e(r.get("trigger"))}): {_e(r.get("reason"))}; '
                'the previous tools keep serving</p>')
    else:
        lines = "".join(f"<li><code>{_e(line)}</code></li>" for line in r.get("errors") or [])
        body = (f'<p class="bad">failed at {_e(r.get("at"))} ({_e(r.get("trigger"))}); the previous tools '
                f'keep serving</p><ul>{lines}</ul>')
    totals = (f'<p class="muted">{r.get("reloads", 0)} applied, {r.get("failures", 0)} failed, '
              f'{r.get("abandoned", 0)} abandoned, {r.get("refused", 0)} refused</p>')
    return f'<section id="reload"><h2>Last reload</h2>{body}{totals}</section>'


def _audit_json(state: ServerState) -> dict[str, Any] | None:
    """The audit log's state (`audit.AuditHealth`), None without one: `state` ok/failing, `since` (epoch
    seconds) and `error` while failing, records `pending` and `dropped`, `failed_writes`, `refusing`."""
    audit = state.audit
    if audit is None:
        return None
    return {"state": audit.state, "since": audit.since, "error": audit.error, "pending": audit.pending,
            "dropped": audit.dropped, "failed_writes": audit.failed_writes, "refusing": audit.refusing}


def _audit(state: ServerState) -> str:
    audit = state.audit
    if audit is None:
        return ""
    if audit.state == "ok":
        body = '<p class="ok">writing</p>'
    else:
        since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(audit.since or 0))
        calls = "every tool call is refused until it recovers" if audit.refusing else "calls are served unrecorded"
        body = (f'<p class="bad">failing since {_e(since)}: {_e(audit.error)}; {audit.pending} records wait in '
                f'memory, retried every second; {_e(calls)}</p>')
    counts = f'<p class="muted">{audit.dropped} records dropped, {audit.failed_writes} failed writes since start</p>'
    return f'<section id="audit"><h2>Audit log</h2>{body}{counts}</section>'


def _chart(recorder: CallRecorder) -> str:
    minutes = recorder.last_hour()
    width, height, bar = 600, 80, 10
    top_calls = max((c for _, c, _ in minutes), default=0) or 1
    top_saved = max((s for _, _, s in minutes), default=0) or 1
    bars, points = [], []
    for i, (ago, calls, saved) in enumerate(minutes):
        h = calls / top_calls * (height - 4)
        bars.append(f'<rect x="{i * bar}" y="{height - h:.1f}" width="{bar - 2}" height="{h:.1f}" fill="#8fb0f0">'
                    f'<title>{ago} min ago: {calls} {noun(calls, "call")}, {saved} {noun(saved, "byte")} saved</title></rect>')
        points.append(f"{i * bar + bar / 2:.0f},{height - saved / top_saved * (height - 4):.1f}")
    total_calls = sum(c for _, c, _ in minutes)
    total_saved = sum(s for _, _, s in minutes)
    return (f'<section id="hour"><h2>Last hour</h2><svg viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" role="img" aria-label="calls and bytes saved per minute">{"".join(bars)}'
            f'<polyline points="{" ".join(points)}" fill="none" stroke="#157a3a" stroke-width="2"/></svg>'
            f'<p class="muted">bars: calls per minute ({total_calls} in the hour); line: bytes saved '
            f'({_bytes(total_saved)} in the hour)</p></section>')


def _recent(recorder: CallRecorder, view: View, viewer: Viewer) -> str:
    selected = view.call
    rows = []
    for c in reversed(recorder.recent):
        if not viewer.sees(c):
            continue
        cls = ' class="sel"' if c.id == selected else ""
        outcome_class = "ok" if c.outcome == "ok" else "bad"
        rows.append(
            f'<tr id="call-{c.id}"{cls}><td><a href="{_e(view.with_(call=c.id).address())}">{_clock(c.time)}</a></td><td>{_e(c.tool)}</td>'
            f'<td class="{outcome_class}">{_e(c.outcome)}</td><td class="n">{_ms(c.latency)}</td>'
            f'<td class="n">{_bytes(c.raw_bytes)} → {_bytes(c.sent_bytes)}</td><td>{_e(c.principal or "")}</td></tr>'
        )
    table = ('<table><tr><th>time (UTC)</th><th>tool</th><th>outcome</th><th class="n">latency</th>'
             f'<th class="n">bytes raw → sent</th><th>principal</th></tr>{"".join(rows)}</table>')
    if not rows:
        table = '<p class="muted">no calls yet</p>' if viewer.admin else '<p class="muted">no calls of yours yet</p>'
    if not viewer.admin:  # said, so an empty or short list is not read as the server's traffic
        table = ('<p id="recent-scope" class="muted">your calls only: the server\'s administrators '
                 '(<code>policy.admins</code>) see every caller\'s</p>') + table
    chosen = recorder.call(selected) if selected is not None else None
    if chosen is not None and not viewer.sees(chosen):
        chosen = None  # another caller's call reads as one no longer kept: whether it exists is theirs too
    inspector = _inspector(chosen, recorder.payloads(chosen), viewer) if chosen else (
        '<p class="muted">choose a call to see the upstream body beside what the model received</p>'
        if selected is None else '<p class="warn">that call is no longer kept</p>')
    return (f'<section id="recent"><h2>Latest calls</h2>{table}</section>'
            f'<section id="inspector"><h2>Payload inspector</h2>{inspector}</section>')


def _approval(c: RecentCall, viewer: Viewer) -> str:
    """The approval request `c` opened or waited on, with where it stands when it is still pending and
    `viewer` may read it (the `approvals` section's data: an admin's every request, a caller's own), else
    only its id: decided, expired or closed requests are the approvers' and the audit log's to tell."""
    if c.approval_id is None:
        return ""
    section = next((s for s in SECTIONS if s.key == "approvals" and s.data is not None and s.shown_to(viewer)), None)
    try:
        pending = section.data(viewer) if section is not None and section.data is not None else []
    except Exception:  # noqa: BLE001 - the inspector still shows the call
        pending = []
    found = next((r for r in pending or [] if isinstance(r, dict) and r.get("id") == c.approval_id), None)
    if found is None:
        return f'<p id="approval">approval request <code>{_e(c.approval_id)}</code>: no longer pending</p>'
    given = found.get("approved")
    if given is None:  # an admin's item carries the votes themselves
        given = sum(1 for v in found.get("votes") or [] if isinstance(v, dict) and v.get("approve"))
    return (f'<p id="approval">approval request <a href="#approval-{_e(c.approval_id)}"><code>{_e(c.approval_id)}'
            f'</code></a>: pending, {_e(given)} of {_e(found.get("required"))} approval(s), open until '
            f'{_clock(float(found.get("expires") or 0))} UTC</p>')


def _inspector(c: RecentCall, p: Payloads, viewer: Viewer = ADMIN) -> str:
    import json

    def pane(title: str, text: str | None, size: int, cut: bool, key: str) -> str:
        note = " (cut for display)" if cut else ""
        missing = "nothing (see the error)" if c.error else "no longer kept (older calls give up their bodies first)"
        content = _e(text) if text is not None else f'<span class="muted">{missing}</span>'
        return f'<div id="{key}"><h3>{title} · {_bytes(size)}{note}</h3><pre>{content}</pre></div>'

    args = _e(json.dumps(p.arguments, ensure_ascii=False, default=str))
    status = f" · upstream HTTP {c.upstream_status}" if c.upstream_status is not None else ""
    ratio = c.saved_ratio  # a failed call has none: its error text is not a shaped answer
    saved = "" if ratio is None else f" · {ratio:.0%} saved" if ratio >= 0 else f" · {-ratio:.0%} added by shaping"
    error = f'<p class="bad">{_e(c.error)}</p>' if c.error else ""
    sent_title = "Sent to the model" if c.outcome == "ok" else "Sent to the model (the error)"
    return (f'<p id="inspected" data-call="{c.id}"><b>{_e(c.tool)}</b> at {_clock(c.time)} · {_e(c.outcome)}'
            f'{status} · {_ms(c.latency)}{saved}</p><p>arguments: <code>{args}</code></p>{error}{_approval(c, viewer)}'
            f'<div class="panes">{pane("Upstream body", p.raw, c.raw_bytes, p.raw_cut, "raw")}'
            f'{pane(sent_title, p.sent, c.sent_bytes, p.sent_cut, "sent")}</div>')


# --- formatting -----------------------------------------------------------------------------------


def _e(value: Any) -> str:
    """`value` as HTML text, scrubbed of configured secrets first (an escaped secret is a form too, but
    scrubbing the text before escaping needs no HTML form of it)."""
    return html.escape("" if value is None else SECRETS.scrub_text(str(value)), quote=True)


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


def _bytes(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


def _since(epoch: float | None) -> str:
    return "" if epoch is None else f' <span class="muted">(since {_clock(epoch)} UTC)</span>'


def _clock(epoch: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(epoch))


