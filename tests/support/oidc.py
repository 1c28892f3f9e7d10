"""A real authorization server for the identity tests: the npm package `oidc-provider` (Node),
configured by `oidc_server.mjs` next to this file, on a free 127.0.0.1 port.

`AuthServer` gets tokens the way real clients do: the client-credentials grant (RFC 6749 §4.4) and,
for a user, the authorization-code grant with PKCE through the provider's development login pages
(`login_through_pages`, also used as the SDK client's browser in the OAuth flow test). Access tokens
are JWTs whose `aud` is the requested `resource` (RFC 8707).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx

from tests.support.node_tools import REPO, npm_installed
from tests.support.components import stop_process

OIDC_PACKAGES = ("oidc-provider@9.13.3",)
FOLDER = REPO / ".node-tools" / "oidc"
SCRIPT = Path(__file__).with_name("oidc_server.mjs")
WEBAPP_REDIRECT = "http://127.0.0.1:9/callback"


def oidc_provider_modules() -> Path | None:
    """node_modules holding oidc-provider (installed on first use), or None without npm."""
    folder = npm_installed(FOLDER, OIDC_PACKAGES)
    return None if folder is None else folder / "node_modules"


@dataclass
class AuthServer:
    """A running oidc-provider; `issuer` is its URL (no trailing slash)."""

    process: subprocess.Popen[str]
    issuer: str = ""
    log: list[str] = field(default_factory=list)

    def client_credentials(self, resource: str, scope: str = "mcp:tools", *, client: str = "svc") -> str:
        """An access token for `client` (svc: 10 minutes, short: 2 seconds) for `resource`."""
        response = httpx.post(
            f"{self.issuer}/token",
            data={"grant_type": "client_credentials", "resource": resource, "scope": scope},
            auth=(client, f"{client}-secret"),
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def user_token(self, resource: str, user: str = "alice", scope: str = "mcp:tools", *, client: str = "webapp") -> str:
        """An access token for `user` through the authorization-code grant with PKCE (client `webapp`, or
        another such client of `oidc_server.mjs`: `desk`, `tray`)."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        query = {
            "client_id": client, "response_type": "code", "redirect_uri": WEBAPP_REDIRECT, "scope": scope,
            "resource": resource, "code_challenge": challenge, "code_challenge_method": "S256",
            "state": secrets.token_urlsafe(8),
        }
        code = login_through_pages(f"{self.issuer}/auth?{urlencode(query)}", WEBAPP_REDIRECT, user)
        response = httpx.post(
            f"{self.issuer}/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": WEBAPP_REDIRECT,
                  "code_verifier": verifier, "resource": resource},
            auth=(client, f"{client}-secret"),
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def rotate_keys(self) -> None:
        """Sign from now on with a new key; the old one is no longer published."""
        assert httpx.post(f"{self.issuer}/__rotate", timeout=10).status_code == 204


def login_through_pages(authorize_url: str, redirect_uri: str, user: str) -> str:
    """The `code` of `authorization_response` (the common case)."""
    return authorization_response(authorize_url, redirect_uri, user)["code"]


def authorization_response(authorize_url: str, redirect_uri: str, user: str) -> dict[str, str]:
    """Play the user's browser: follow the provider's login and consent pages; return the parameters
    it redirects to `redirect_uri` with (code, state, iss — the redirect itself is not followed)."""
    with httpx.Client(timeout=30, follow_redirects=False) as browser:
        url = authorize_url
        for _ in range(20):
            if url.startswith(redirect_uri):
                params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
                assert "code" in params, f"authorization failed: {params}"
                return params
            response = browser.get(url)
            if response.is_redirect:
                url = urljoin(url, response.headers["location"])
                continue
            form = re.search(r'<form[^>]*action="([^"]+)"[^>]*method="post"', response.text)
            assert form is not None, f"no form on the page at {url}: {response.status_code} {response.text[:300]}"
            prompt = re.search(r'name="prompt" value="(\w+)"', response.text)
            fields = {"prompt": prompt.group(1) if prompt else "login"}
            if fields["prompt"] == "login":
                fields |= {"login": user, "password": "any"}
            posted = browser.post(urljoin(url, unescape(form.group(1))), data=fields)
            assert posted.is_redirect, f"the {fields['prompt']} form was not accepted: {posted.text[:300]}"
            url = urljoin(url, posted.headers["location"])
        raise AssertionError("the authorization flow did not reach the redirect URI")


@contextmanager
def auth_server(modules: Path) -> Iterator[AuthServer]:
    """Start oidc_server.mjs; yield once it listens; stop it on leaving."""
    node = shutil.which("node")
    assert node is not None
    process = subprocess.Popen([node, str(SCRIPT), str(modules)], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    server = AuthServer(process)
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            server.log.append(line)
            if line.startswith("listening ") and not server.issuer:
                server.issuer = line.split()[1]
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        ready.wait(60)
        assert server.issuer, "oidc-provider did not start:\n" + "".join(server.log)
        yield server
    finally:
        stop_process(process)
