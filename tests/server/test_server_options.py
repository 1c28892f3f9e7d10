"""Resolving where to serve (flag > env > manifest > default) and the HTTP front door's rules."""

from __future__ import annotations

import pytest
from mcprt.errors import McprtError
from mcprt.manifest.model import Manifest
from mcprt.server.guard import host_allowed, make_policy, origin_allowed, token_accepted
from mcprt.server.options import check_exposure, is_loopback, resolve_options
from mcprt.settings import Settings


def manifest(**http: object) -> Manifest:
    return Manifest.model_validate({"version": 1, "server": {"http": http}})


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)


def test_defaults_are_stdio_and_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MCPRT_TRANSPORT", "MCPRT_HOST", "MCPRT_PORT"):
        monkeypatch.delenv(name, raising=False)
    options = resolve_options(manifest(), settings())
    assert (options.transport, options.host, options.port, options.path) == ("stdio", "127.0.0.1", 8765, "/mcp")
    assert not options.stateless and not options.json_response


def test_flag_beats_environment_beats_manifest() -> None:
    m = manifest(host="127.0.0.2", port=9000, path="/tools", json_response=True)
    assert resolve_options(m, settings()).port == 9000
    from_env = resolve_options(m, settings(host="127.0.0.3", port=9100, transport="http"))
    assert (from_env.transport, from_env.host, from_env.port) == ("http", "127.0.0.3", 9100)
    from_flags = resolve_options(m, settings(host="127.0.0.3", port=9100, transport="http"),
                                 transport="stdio", host="::1", port=9200, stateless=True)
    assert (from_flags.transport, from_flags.host, from_flags.port) == ("stdio", "::1", 9200)
    assert from_flags.stateless and from_flags.json_response and from_flags.path == "/tools"
    assert from_flags.url() == "http://[::1]:9200/tools"
    assert from_flags.url(port=1234) == "http://[::1]:1234/tools"


def test_bad_transport_and_port_are_clear_errors() -> None:
    with pytest.raises(McprtError, match="unknown transport 'websocket'"):
        resolve_options(manifest(), settings(), transport="websocket")
    with pytest.raises(McprtError, match="port 70000 is out of range"):
        resolve_options(manifest(), settings(), port=70000)


def test_trusted_proxies_are_loopback_plus_the_manifests_plus_the_environments() -> None:
    """Whose X-Forwarded-Proto/-For uvicorn believes: the manifest's and MCPRT_TRUSTED_PROXIES' entries add to
    loopback; an entry of the variable that is no address is a clear error naming it (the manifest's are
    refused when it loads: tests/manifest/broken/http_trusted_proxy_not_an_address.yaml)."""
    assert resolve_options(manifest(), settings()).trusted_proxies == ("127.0.0.1", "::1")
    both = resolve_options(manifest(trusted_proxies=["10.0.0.0/8", "127.0.0.1"]),
                           settings(trusted_proxies=" 192.0.2.7 ,, fd00::/8"))
    assert both.trusted_proxies == ("127.0.0.1", "::1", "10.0.0.0/8", "192.0.2.7", "fd00::/8")
    assert resolve_options(manifest(), settings(trusted_proxies="*")).trusted_proxies[-1] == "*"
    with pytest.raises(McprtError, match=r"MCPRT_TRUSTED_PROXIES: 'lb\.internal' is not an IP address or CIDR"):
        resolve_options(manifest(), settings(trusted_proxies="10.0.0.1,lb.internal"))


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.9.9.9", True), ("::1", True), ("localhost", True), ("LOCALHOST", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.4", False), ("myhost", False), ("localhost.evil", False),
])
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_exposure_needs_auth_or_explicit_consent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MCPRT_ALLOW_UNAUTHENTICATED", raising=False)
    public = resolve_options(manifest(), settings(), transport="http", host="0.0.0.0")
    with pytest.raises(McprtError, match="refusing to serve on 0.0.0.0 without authentication"):
        check_exposure(public, manifest())
    check_exposure(resolve_options(manifest(), settings(), transport="stdio", host="0.0.0.0"), manifest())
    authed = Manifest.model_validate({"version": 1, "server": {"auth": {"bearer_tokens": ["s3cret"]}}})
    check_exposure(public, authed)
    empty_token = Manifest.model_validate({"version": 1, "server": {"auth": {"bearer_tokens": [""]}}})
    with pytest.raises(McprtError):
        check_exposure(public, empty_token)
    monkeypatch.setenv("MCPRT_ALLOW_UNAUTHENTICATED", "1")
    check_exposure(public, manifest())


def test_host_rules() -> None:
    policy = make_policy(tokens=[], bind_host="127.0.0.1", allowed_hosts=["mcp.example.com", "api.example.com:8443"],
                         max_request_bytes=1000)
    for ok in ("127.0.0.1:8765", "localhost:1", "LOCALHOST", "[::1]:8765", "mcp.example.com",
               "mcp.example.com:443", "api.example.com:8443"):
        assert host_allowed(policy, ok), ok
    for bad in ("evil.example", "api.example.com:9000", "localhost.evil.example:80", "", None,
                "127.0.0.1.evil.example"):
        assert not host_allowed(policy, bad), bad
    assert host_allowed(make_policy(tokens=[], bind_host="127.0.0.1", allowed_hosts=["*"], max_request_bytes=1),
                        "anything.example")
    wide = make_policy(tokens=[], bind_host="10.1.2.3", max_request_bytes=1)
    assert host_allowed(wide, "10.1.2.3:8765") and not host_allowed(wide, "10.1.2.4:8765")


def test_a_trailing_root_dot_names_the_same_host() -> None:
    """`Host: mcprt.default.svc.cluster.local.` (a fully qualified name, RFC 1034 §3.1; the same host,
    RFC 3986 §3.2.2) got 421 while the name without the dot passed; in the allowed lists and in Origin too."""
    policy = make_policy(tokens=[], bind_host="0.0.0.0", allowed_hosts=["mcprt.default.svc.cluster.local",
                         "dotted.example.", "api.example.com:8443"], public_url="https://mcp.example.com./",
                         allowed_origins=["https://app.example.com.", "https://b.example.com"], max_request_bytes=1)
    for ok in ("mcprt.default.svc.cluster.local.", "MCPRT.default.svc.cluster.local.:8765", "dotted.example",
               "dotted.example.:80", "api.example.com.:8443", "mcp.example.com", "mcp.example.com.", "localhost.:8765"):
        assert host_allowed(policy, ok), ok
    for bad in ("evil.example.", "api.example.com.:9000", "mcprt.default.svc.cluster.local..", ".", "..",
                "mcprt.default.svc.cluster.local.evil.", "127.0.0.1.evil.example."):
        assert not host_allowed(policy, bad), bad
    for ok in ("https://app.example.com", "https://app.example.com.", "https://b.example.com.", "http://localhost.:3000"):
        assert origin_allowed(policy, ok), ok
    for bad in ("https://evil.example.", "https://b.example.com.:444", "https://b.example.com.."):
        assert not origin_allowed(policy, bad), bad


def test_a_wildcard_bind_accepts_the_names_it_is_reached_by() -> None:
    """A new-user trial ran the shipped Kubernetes files (bind 0.0.0.0): every MCP request got 421,
    for the pod's IP, the host name the banner printed ("from other machines http://vm:18768/mcp"),
    the Service's names and the balancer's. The address a connection arrived on, this machine's
    name, `public_url`'s host and MCPRT_ALLOWED_HOSTS (added to the manifest's list) now pass."""
    import socket

    options = resolve_options(manifest(allowed_hosts=["a.example"]), settings(allowed_hosts=" mcprt, mcprt.ns.svc ,"),
                              host="0.0.0.0")
    assert options.allowed_hosts == ("a.example", "mcprt", "mcprt.ns.svc")
    policy = make_policy(tokens=[], bind_host="0.0.0.0", allowed_hosts=options.allowed_hosts,
                         public_url="https://MCP.example.com", max_request_bytes=1)
    for ok in (f"{socket.gethostname()}:18768", "mcprt", "mcprt.ns.svc:80", "a.example", "mcp.example.com:8443",
               "mcp.example.com"):
        assert host_allowed(policy, ok), ok
    assert host_allowed(policy, "10.1.2.3:18768", local_address="10.1.2.3")  # the pod's IP
    assert host_allowed(policy, "[fd00::2]:18768", local_address="fd00::2")
    # a review: on a dual-stack `::` bind an IPv4 client's connection arrives on `::ffff:10.1.2.3`
    assert host_allowed(policy, "10.1.2.3:18768", local_address="::ffff:10.1.2.3")
    assert not host_allowed(policy, "10.1.2.4:18768", local_address="::ffff:10.1.2.3")
    for bad in ("10.1.2.4:18768", "evil.example", "mcprt.evil.example", "example.com"):
        assert not host_allowed(policy, bad, local_address="10.1.2.3"), bad
    # a loopback bind gains no machine name: a page rebinding that name to 127.0.0.1 stays refused
    assert socket.gethostname() == "localhost" or not host_allowed(
        make_policy(tokens=[], bind_host="127.0.0.1", max_request_bytes=1), socket.gethostname())


def test_origin_rules() -> None:
    policy = make_policy(tokens=[], bind_host="127.0.0.1", allowed_origins=["https://app.example.com/"],
                         max_request_bytes=1)
    for ok in (None, "http://localhost:5173", "https://127.0.0.1", "http://[::1]:3000",
               "https://app.example.com", "HTTPS://APP.EXAMPLE.COM"):
        assert origin_allowed(policy, ok), ok
    for bad in ("http://evil.example", "null", "http://localhost.evil.example", "https://app.example.com:444",
                "file://localhost"):
        assert not origin_allowed(policy, bad), bad
    assert origin_allowed(make_policy(tokens=[], bind_host="127.0.0.1", allowed_origins=["*"], max_request_bytes=1),
                          "http://evil.example")


def test_the_servers_own_origin_is_allowed() -> None:
    """Found by review: the status page's forms post with the page's Origin, which was refused (403) unless
    loopback or listed: behind `server.public_url`, or reached by any other accepted Host, they never worked."""
    public = make_policy(tokens=[], bind_host="0.0.0.0", public_url="https://mcp.example.com/mcp", max_request_bytes=1)
    for ok in ("https://mcp.example.com", "https://MCP.example.com:443", "https://mcp.example.com/"):
        assert origin_allowed(public, ok), ok
    for bad in ("http://mcp.example.com", "https://mcp.example.com:8443", "https://evil.example"):
        assert not origin_allowed(public, bad), bad
    plain = make_policy(tokens=[], bind_host="0.0.0.0", allowed_hosts=["ops.internal"], max_request_bytes=1)
    own = "http://ops.internal:8080"  # the request's scheme and (accepted) Host
    for ok in ("http://ops.internal:8080", "HTTP://OPS.INTERNAL:8080/"):
        assert origin_allowed(plain, ok, own), ok
    for bad in ("https://ops.internal:8080", "http://ops.internal", "http://ops.internal:9090", "null"):
        assert not origin_allowed(plain, bad, own), bad
    assert not origin_allowed(plain, "http://ops.internal:8080")  # not the request's own origin: still refused
    assert origin_allowed(plain, "http://ops.internal", "http://ops.internal:80")  # the default port, either way


def test_token_rules() -> None:
    policy = make_policy(tokens=["alpha", "beta"], bind_host="127.0.0.1", max_request_bytes=1)
    assert token_accepted(policy, "Bearer alpha") and token_accepted(policy, "bearer beta")
    for bad in (None, "", "Bearer", "Bearer alph", "Bearer alphaa", "Basic alpha", "alpha"):
        assert not token_accepted(policy, bad), bad
    assert token_accepted(make_policy(tokens=[], bind_host="127.0.0.1", max_request_bytes=1), None)
