"""One rule for a credential written literally, shared by `mcprt validate` and `mcprt diff`
(`scrubbing.literal`), and the URL masking `mcprt diff` shows settings through."""

from __future__ import annotations

import pytest

from mcprt.scrubbing import is_literal_credential, mask_url_credentials


@pytest.mark.parametrize(("name", "value", "credential"), [
    ("X-Partner-Token", "pt-literal", True),  # by its name, however short
    ("X-Custom", "Bearer sk-live-SECRET123456", True),  # by its value: a scheme word, then a token
    ("", "ghp_abcdef1234567890XYZ", True),
    ("X-Api-Version", "2024-01-01", False),
    ("X-Trace", "on", False),
    ("Accept", "application/vnd.pets+json", False),
    ("Accept", "application/vnd.github.v3+json", False),  # a media type with a digit is still a media type
    ("Content-Type", "application/vnd.api.v2024-01+json; charset=utf-8", False),
    ("DATA_DIR", "/srv/data2024/reports", False),  # a path, absolute or relative, is a setting
    ("CACHE", "../build/v2024release7", False),
    ("NODE_OPTIONS", "--max-old-space-size=4096", False),  # a long command-line option too
    ("X-Sig-Like", "/abc+def9ghi/jkl=mnop1234", True),  # base64 with `+`/`=` is no path
    ("User-Agent", "mcprt-integration-tests", False),  # letters only: a word, not a token
    ("X-Api-Key", "", False),  # empty: nothing to hide
    # review of mendrev3, problem 1: settings an upstream echoes, redacted from every result by their looks
    ("X-Upstream-Host", "api-v2.eu-west-1.example.com", False),  # a host name
    ("ENDPOINT", "s3.eu-west-1.amazonaws.com", False),
    ("X-Release", "v2024.10.01-beta1", False),  # a calendar version
    ("VERSION", "1.2.3-rc.1+build.20240101", False),  # SemVer 2.0 with pre-release and build
    ("X-Tenant", "123e4567-e89b-12d3-a456-426614174000", False),  # a UUID
    ("DATA_SUBDIR", "data2024/reports/q1", False),  # a relative path
    ("IMAGE", "ghcr.io/acme/api-server-v2", False),
    # review of mendrev3, problem 2: neither a leading `/` nor `--` clears a value that holds a token
    ("EXTRA_ARGS", "--api-key=sk9live4Partner7Secret2025abc", True),  # by the option's name and value
    ("EXTRA_ARGS", "--opt=sk9live4Partner7Secret2025abc", True),  # by the value alone
    ("EXTRA_ARGS", "--auth-mode=basic", False),  # a credential-like name, a short value: a setting
    ("X-Blob", "/9j4AAQSkZJRgABAQ1x2y3z", True),  # base64 that starts with `/`
    ("X-Aws", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", True),  # slashes, yet random parts
    ("X-Custom", "Bearer /abc/def9ghijklmnopq", True),  # a scheme word says what follows is a credential
])
def test_a_literal_credential_by_its_name_or_its_value(name: str, value: str, credential: bool) -> None:
    assert is_literal_credential(name, value) is credential


@pytest.mark.parametrize(("text", "shown"), [
    ('"https://proxy.example/?access_token=ghp_abcdef1234567890XYZ"', '"https://proxy.example/?access_token=***"'),
    ("https://a.example/x?page=2&api_key=k1&q=dogs#top", "https://a.example/x?page=2&api_key=***&q=dogs#top"),
    ("https://a.example/x?sig=0123456789abcdefXYZ", "https://a.example/x?sig=***"),
    ("https://a.example/x?cursor=Zm9vYmFyMTIzNDU2Nzg5MA", "https://a.example/x?cursor=***"),  # token-like value
    ("https://a.example/x?access_token=${TOKEN}", "https://a.example/x?access_token=${TOKEN}"),  # a name, kept
    ("https://admin:pw@a.example/x?page=2", "https://***@a.example/x?page=2"),
    ("no url here ?token=abc", "no url here ?token=abc"),
])
def test_a_url_shown_has_its_credentials_masked(text: str, shown: str) -> None:
    assert mask_url_credentials(text) == shown
