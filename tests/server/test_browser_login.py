"""Browser sign-in for the operator pages: a signed cookie, accepted by every process serving the
same tokens (replicas behind a round-robin balancer), refused when forged, expired, for other tokens,
on the MCP endpoint, or on a state-changing request without an allowed Origin. Real `mcprt up`
processes on loopback; httpx plays the browser (the Chromium flow is in tests/policy)."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mcprt.server.browser_login import COOKIE, COOKIE_SECONDS, BrowserLogins
from tests.support.served import UpProcess, child_env, mcprt_http

HERE = Path(__file__).parent
POLICY_TOOLS = HERE.parent / "policy" / "policy_tools.py"
MANIFEST = """\
version: 1
server:
  auth:
    tokens: {alice: "${ALICE_TOKEN}", ci-bot: "${CI_TOKEN}"}
sources:
  ops:
    python: policy_tools
policy:
  admins: [alice]
"""


def _serve(folder: Path, **tokens: str) -> Iterator[UpProcess]:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(POLICY_TOOLS, folder)
    (folder / "mcp.yaml").write_text(MANIFEST)
    with mcprt_http(folder / "mcp.yaml", "--no-reload", env=child_env(**tokens)) as up:
        yield up


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"  # as tests/observability/test_status_page.py
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--no-first-run"]

pytestmark = pytest.mark.xdist_group("test_browser_login")  # one started servers per run, not one per worker


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[UpProcess, UpProcess]]:
    """Two processes with the same tokens, like two replicas."""
    root = tmp_path_factory.mktemp("browser-login")
    tokens = {"ALICE_TOKEN": "tok-alice", "CI_TOKEN": "tok-ci"}
    for a in _serve(root / "a", **tokens):
        for b in _serve(root / "b", **tokens):
            yield a, b


def _sign_in(up: UpProcess, token: str) -> str:
    response = httpx.post(f"{up.base}/status/login", data={"token": token}, timeout=10)
    assert response.status_code == 303, response.text
    cookie = response.cookies.get(COOKIE)
    assert cookie and token not in cookie
    header = response.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=strict" in header and "path=/;" in header
    return cookie


def _get(up: UpProcess, path: str, cookie: str | None) -> httpx.Response:
    cookies = {COOKIE: cookie} if cookie is not None else {}
    return httpx.get(f"{up.base}{path}", cookies=cookies, timeout=10)


def test_a_cookie_from_one_process_admits_the_browser_on_another(pair: tuple[UpProcess, UpProcess]) -> None:
    a, b = pair
    cookie = _sign_in(a, "tok-alice")
    for up in (a, b):
        assert _get(up, "/status.json", cookie).status_code == 200
        page = _get(up, "/status/approvals", cookie)
        assert page.status_code == 200 and "Pending approvals" in page.text  # alice, an admin
    assert _get(b, "/status.json", None).status_code == 401


def test_the_cookie_names_its_principal(pair: tuple[UpProcess, UpProcess]) -> None:
    a, b = pair
    ci = _sign_in(a, "tok-ci")
    refused = _get(b, "/status/approvals", ci)  # ci-bot is signed in but is not a policy admin
    assert refused.status_code == 403 and "ci-bot may not see approvals" in refused.text


def test_forged_or_foreign_cookies_are_refused(pair: tuple[UpProcess, UpProcess], tmp_path: Path) -> None:
    a, b = pair
    cookie = _sign_in(a, "tok-alice")
    name, expiry, mac = cookie.split(".")
    longer = f"{name}.{int(expiry) + 10**6}.{mac}"  # a later expiry under the old signature
    other = BrowserLogins([(b"tok-ci", "ci-bot")]).issue("ci-bot")  # signed for another token set
    for bad in (longer, other, cookie[:-2], "garbage", f"{name}.{expiry}"):
        assert _get(b, "/status.json", bad).status_code == 401, bad
    for other_server in _serve(tmp_path / "c", ALICE_TOKEN="tok-alice-2", CI_TOKEN="tok-ci"):
        assert _get(other_server, "/status.json", cookie).status_code == 401  # rotated tokens sign browsers out


def test_the_mcp_endpoint_never_accepts_the_cookie(pair: tuple[UpProcess, UpProcess]) -> None:
    a, _ = pair
    cookie = _sign_in(a, "tok-alice")
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
    response = httpx.post(a.url, json=initialize, cookies={COOKIE: cookie}, timeout=10,
                          headers={"accept": "application/json, text/event-stream"})
    assert response.status_code == 401


def test_a_cookie_post_needs_an_allowed_origin(pair: tuple[UpProcess, UpProcess]) -> None:
    a, _ = pair
    cookie = _sign_in(a, "tok-alice")
    form = {"target": "tool:write_note", "back": "/status/approvals"}

    def post(path: str, origin: str | None) -> httpx.Response:
        headers = {"origin": origin} if origin else {}
        return httpx.post(f"{a.base}{path}", data=form, cookies={COOKIE: cookie}, headers=headers, timeout=10)

    assert post("/policy/pause", None).status_code == 401  # no Origin: not taken as a browser's form post
    assert post("/policy/pause", "https://evil.example").status_code == 403
    paused = post("/policy/pause", a.base)
    assert paused.status_code == 303, paused.text
    pauses = httpx.get(f"{a.base}/policy/pauses", headers={"authorization": "Bearer tok-alice"}, timeout=10).json()
    assert pauses["tool:write_note"]["by"] == "alice"
    assert post("/policy/resume", a.base).status_code == 303


def test_signed_cookies_expire_and_name_only_configured_principals() -> None:
    logins = BrowserLogins([(b"tok-alice", "alice")])
    issued = logins.issue("alice", now=1_000)
    assert logins.principal(issued, now=1_000 + COOKIE_SECONDS - 1).subject == "alice"
    assert logins.principal(issued, now=1_000 + COOKIE_SECONDS + 1) is None
    with pytest.raises(ValueError):
        logins.issue("mallory")
    assert BrowserLogins([]).principal(issued) is None


def test_oauth_only_servers_keep_the_operator_pages_closed(tmp_path: Path) -> None:
    """With `server.auth.oauth` and no static token, the pages need an access token (they were open)."""
    shutil.copy(POLICY_TOOLS, tmp_path)
    (tmp_path / "mcp.yaml").write_text(
        "version: 1\nserver:\n  auth:\n    oauth: {issuer: 'http://127.0.0.1:9', scopes: [mcp:tools]}\n"
        "sources:\n  ops:\n    python: policy_tools\n")
    with mcprt_http(tmp_path / "mcp.yaml", "--no-reload", env=child_env()) as up:
        for path in ("/status.json", "/metrics", "/status"):
            assert _get(up, path, None).status_code == 401, path
        assert _get(up, "/healthz", None).status_code == 200


@pytest.fixture(scope="module")
def open_policy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    """Tokens, and a policy naming no admins or approvers: every authenticated principal administers;
    reached at a public URL and by a listed Host name besides loopback."""
    folder = tmp_path_factory.mktemp("operator-pages")
    shutil.copy(POLICY_TOOLS, folder)
    (folder / "mcp.yaml").write_text(MANIFEST.replace("  admins: [alice]\n", "  default: allow\n").replace(
        "server:\n", "server:\n  public_url: https://mcp.example.com\n  http: {allowed_hosts: [ops.internal]}\n"))
    with mcprt_http(folder / "mcp.yaml", "--no-reload",
                    env=child_env(ALICE_TOKEN="tok-alice", CI_TOKEN="tok-ci")) as up:
        yield up


def test_pages_below_status_need_a_token_or_the_cookie(open_policy: UpProcess) -> None:
    """Found by a new-user trial: `/status/approvals` (pending requests with their arguments, the
    pause form) was served to anyone, since every path starting with `/status` was left to
    authenticate itself, and that page took a missing principal for `anonymous`."""
    up = open_policy
    for path in ("/status/approvals", "/status/anything", "/statusx"):
        assert _get(up, path, None).status_code == 401, path
    by_token = httpx.get(f"{up.base}/status/approvals", headers={"authorization": "Bearer tok-ci"}, timeout=10)
    assert by_token.status_code == 200 and "Pending approvals" in by_token.text
    assert _get(up, "/status/approvals", _sign_in(up, "tok-ci")).status_code == 200
    for path in ("/status.json", "/metrics"):  # these answer for themselves, and still refuse
        assert _get(up, path, None).status_code == 401, path


def test_forms_posted_from_the_servers_own_origin_are_accepted(open_policy: UpProcess) -> None:
    """Found by review: a form on the status page posts with the page's Origin; only loopback ones passed,
    so behind `server.public_url` or under any other accepted Host the approvals/pause forms got 403."""
    up = open_policy
    cookie = _sign_in(up, "tok-alice")
    port = up.base.rsplit(":", 1)[1]

    def post(host: str, origin: str) -> httpx.Response:
        return httpx.post(f"{up.base}/policy/pause", data={"target": "tool:write_note", "back": "/status"},
                          cookies={COOKIE: cookie}, headers={"host": host, "origin": origin}, timeout=10)

    for host, origin in (("mcp.example.com", "https://mcp.example.com"),  # behind the public URL's balancer
                         (f"ops.internal:{port}", f"http://ops.internal:{port}")):  # the page's own Host
        answer = post(host, origin)
        assert answer.status_code == 303 and answer.headers["location"] == "/status", (origin, answer.text)
    for host, origin in (("mcp.example.com", "https://evil.example"), (f"ops.internal:{port}", "http://ops.internal:1"),
                         ("mcp.example.com", f"http://ops.internal:{port}")):
        assert post(host, origin).status_code == 403, (host, origin)
    httpx.post(f"{up.base}/policy/resume", json={"target": "tool:write_note"},
               headers={"authorization": "Bearer tok-alice"}, timeout=10).raise_for_status()


@pytest.mark.parametrize("call", ["%C2%B2", "1" * 5000, "-1", "%EF%BC%91"])
def test_a_call_id_that_is_not_ascii_digits_is_no_call(open_policy: UpProcess, call: str) -> None:
    """Found by review: `?call=²` passed `str.isdigit` and `int()` raised: a 500 for anyone, signed in or not."""
    up = open_policy
    assert httpx.get(f"{up.base}/status?call={call}", timeout=10).status_code == 401
    login = httpx.post(f"{up.base}/status/login", data={"token": "wrong", "back": f"/status?call={call}"}, timeout=10)
    assert login.status_code == 401 and 'value="/status"' in login.text, login.text[:2000]
    page = httpx.get(f"{up.base}/status?call={call}", headers={"authorization": "Bearer tok-alice"}, timeout=10)
    assert page.status_code == 200


def _rejections(up: UpProcess) -> list[str]:
    return [line for line in up.stderr if "rejected request" in line]


def _await_rejection(up: UpProcess, before: int, needle: str) -> list[str]:
    """The rejection lines logged after the first `before`, once one containing `needle` arrived
    (log lines travel through a pipe and a reader thread; a generous bound only stops a hang)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        lines = _rejections(up)[before:]
        if any(needle in line for line in lines):
            return lines
        time.sleep(0.02)
    raise AssertionError(f"no rejection line with {needle!r} in:\n{up.log()}")


def test_admitted_requests_log_no_rejection(open_policy: UpProcess) -> None:
    """Found by a new-user trial: every view of the signed-in status page (it refreshes every 15 s),
    and a sign-in, logged `rejected request: bearer token reason=missing` though admitted."""
    up = open_policy
    # The module's server is shared: a previous test's last rejection can still be on its way through the
    # pipe. A refusal of a path only this test asks for orders the log: what came before it is not ours.
    mark = f"/status/mark-{uuid.uuid4().hex}"
    assert _get(up, mark, None).status_code == 401
    _await_rejection(up, 0, f"path={mark}")
    before = next(i for i, line in enumerate(_rejections(up)) if f"path={mark}" in line) + 1
    cookie = _sign_in(up, "tok-alice")
    for path in ("/status", "/status", "/status.json", "/status/approvals"):  # (the cookie is not for /metrics)
        assert _get(up, path, cookie).status_code == 200, path
    assert _get(up, "/status", None).status_code == 401  # a first visit gets the sign-in form, not a rejection
    # Refusals are still logged once each, with their path; the last one orders the log.
    assert _get(up, "/metrics", None).status_code == 401
    assert httpx.get(f"{up.base}/status.json", headers={"authorization": "Bearer nope"}, timeout=10).status_code == 401
    assert httpx.post(f"{up.base}/status/login", data={"token": "nope"}, timeout=10).status_code == 401
    assert httpx.get(f"{up.base}/policy/pauses", timeout=10).status_code == 401
    lines = _await_rejection(up, before, "path=/policy/pauses")
    assert len(lines) == 4, lines
    assert "reason=missing" in lines[0] and "path=/metrics" in lines[0]
    assert "reason=wrong" in lines[1] and "path=/status.json" in lines[1]
    assert "reason=wrong" in lines[2] and "path=/status/login" in lines[2]
    assert "reason=missing" in lines[3]


def test_a_token_in_the_address_is_refused_and_sets_no_cookie(open_policy: UpProcess) -> None:
    """Found by a pentest trial: `/status?token=…` answered 303 with a sign-in cookie, so the long-lived
    static token (it opens the MCP endpoint too) landed in proxy access logs and browser and shell history,
    though the threat model promises no token in a query string (RFC 6750 §5.3). Now 400 and the sign-in
    form saying why, whatever the token (a valid one is not even checked), and no cookie."""
    up = open_policy
    mark = up.log_mark()
    # RFC 6750 §2.3's own name too, in any case: a trial's `?access_token=` got 401 and the form, as if unsent
    for name, token in (("token", "tok-alice"), ("token", "nope"), ("token", ""), ("access_token", "tok-alice"),
                        ("Access_Token", "tok-alice")):
        refused = httpx.get(f"{up.base}/status?{name}={token}&all=1", timeout=10, follow_redirects=False)
        assert refused.status_code == 400, refused.text
        assert COOKIE not in refused.cookies and "set-cookie" not in refused.headers
        assert "a token in the address (?token= or ?access_token=) is not accepted" in refused.text
        assert 'action="/status/login"' in refused.text and 'value="/status?all=1"' in refused.text
        assert not token or token not in refused.text
        assert refused.headers["referrer-policy"] == "same-origin"  # the address goes to no other site
    assert "status sign-in refused: a token in the address" in up.wait_log_beyond(
        "status sign-in refused: a token in the address", 4)
    assert "tok-alice" not in up.log_since(mark)
    # with a valid bearer header too: the address still must not carry one
    both = httpx.get(f"{up.base}/status?token=tok-alice", headers={"authorization": "Bearer tok-alice"}, timeout=10)
    assert both.status_code == 400


def test_a_browser_refused_a_token_in_the_address_signs_in_with_the_form(open_policy: UpProcess) -> None:
    """The same in Chromium: the page refusing `?token=` is the form, which signs in by POST and lands
    on the view asked for, with no token in its address."""
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is required (.ci/install-system-packages installs it)")
    from playwright.sync_api import sync_playwright

    up = open_policy
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        try:
            page = browser.new_page()
            first = page.goto(f"{up.base}/status?token=tok-alice&all=1", timeout=30_000)
            assert first is not None and first.status == 400
            assert "is not accepted" in page.inner_text(".bad")
            assert not page.context.cookies()
            page.fill("input[name=token]", "tok-alice")
            page.click("button[type=submit]")
            page.wait_for_url("**/status?all=1", timeout=30_000)
            assert "Sign in" not in page.content() and "tok-alice" not in page.url, page.content()
            assert [cookie["name"] for cookie in page.context.cookies()] == [COOKIE]
        finally:
            browser.close()
