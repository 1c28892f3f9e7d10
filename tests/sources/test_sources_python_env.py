"""A `python:` source's `env:`: the manifest's `${VAR}` values (`.env` beside it included) reach the source's code
through `os.environ` — at import, in a call, in a child process it starts — scrubbed like every secret, rotated by
the reload a `.env` edit triggers; names the process cannot give two values, or that mcprt reads itself, are
refused at `validate`. Served by a real `mcprt up` over streamable HTTP, called with the SDK client.

A trial's migrated FastMCP tools read `os.environ["ACME_API_KEY"]` and got None (`key_status` → `{"set": false}`,
`boom` → `auth failed with key None`) while the same manifest's `${ACME_API_KEY}` resolved from `.env`, and
`env:` on a `python:` source was refused as an unknown key.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import anyio
import pytest

from tests.support.cli import mcprt_cli
from tests.support.served import http_client, mcprt_http, text_of

pytestmark = pytest.mark.xdist_group("test_sources_python_env")

FIRST = "k-test-1234567890abcdef"
ROTATED = "k-test-fedcba0987654321"
OTHER = "other-secret-0123456789abcdef"

# The trial's envtool.py, plus what a production module does: read at import, start a child process
MODULE = '''
import hashlib
import os
import subprocess
import sys

AT_IMPORT = os.environ.get("ACME_API_KEY")


def _digest(value):
    return None if value is None else hashlib.sha256(value.encode()).hexdigest()[:16]


def key_status() -> dict:
    """Say whether the API key is visible to hand-written tools."""
    k = os.environ.get("ACME_API_KEY")
    return {"set": k is not None, "value": k}


def boom() -> str:
    """Raise with the key in the message."""
    raise RuntimeError("auth failed with key " + str(os.environ.get("ACME_API_KEY")))


def digests() -> dict:
    """Digests of the key as read now, at import, and by a child process."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.environ.get('ACME_API_KEY', ''))"],
                           capture_output=True, text=True, check=True).stdout.strip()
    return {"call": _digest(os.environ.get("ACME_API_KEY")), "import": _digest(AT_IMPORT),
            "child": _digest(child or None), "region": os.environ.get("ACME_REGION")}
'''

OTHER_MODULE = '''
import os


def other_status() -> dict:
    """The other source's view."""
    return {"other": os.environ.get("OTHER_TOKEN") is not None, "region": os.environ.get("ACME_REGION")}
'''

MANIFEST = """\
version: 1
sources:
  py:
    python: [envtool:key_status, envtool:boom, envtool:digests]
    env:
      ACME_API_KEY: ${ACME_API_KEY}
      ACME_REGION: eu-west
  other:
    python: othertool:other_status
    env:
      OTHER_TOKEN: ${OTHER_TOKEN}
      ACME_REGION: eu-west
defaults: {timeout: 10s}  # bounds a reload's drain of the replaced sources (their calls' longest timeout)
"""


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def _folder(tmp_path: Path, manifest: str = MANIFEST) -> Path:
    (tmp_path / "envtool.py").write_text(MODULE)
    (tmp_path / "othertool.py").write_text(OTHER_MODULE)
    (tmp_path / ".env").write_text(f"ACME_API_KEY={FIRST}\nOTHER_TOKEN={OTHER}\n")
    (tmp_path / "mcp.yaml").write_text(manifest)
    return tmp_path / "mcp.yaml"


async def test_python_code_reads_the_manifest_env_at_import_in_a_call_and_in_a_child(tmp_path: Path) -> None:
    manifest = _folder(tmp_path)
    with mcprt_http(manifest) as up:
        async with http_client(up.url) as client:
            status = await client.call_tool("key_status", {})
            assert status.structured_content == {"set": True, "value": "[redacted]"}  # seen, and scrubbed
            boom = await client.call_tool("boom", {})
            assert boom.is_error and text_of(boom) == "RuntimeError: auth failed with key [redacted]"
            seen = (await client.call_tool("digests", {})).structured_content
            assert seen == {"call": _digest(FIRST), "import": _digest(FIRST), "child": _digest(FIRST),
                            "region": "eu-west"}
            # each source sees the variables it sets; one name set alike by both is one value
            other = (await client.call_tool("other_status", {})).structured_content
            assert other == {"other": True, "region": "eu-west"}

            # rotating the secret in `.env`: the reload it triggers sets the new value, for a call, a module that
            # read it at import (imported again), a child process
            mark = up.log_mark()
            (tmp_path / ".env").write_text(f"ACME_API_KEY={ROTATED}\nOTHER_TOKEN={OTHER}\n")
            deadline = time.monotonic() + 60
            while "reload applied" not in up.log_since(mark):
                assert time.monotonic() < deadline, up.log_since(mark)
                time.sleep(0.1)
            rotated = (await client.call_tool("digests", {})).structured_content
            assert rotated == {"call": _digest(ROTATED), "import": _digest(ROTATED), "child": _digest(ROTATED),
                               "region": "eu-west"}

            # a name no source sets any more is unset again (the process had none)
            mark = up.log_mark()
            manifest.write_text(MANIFEST.replace("      ACME_REGION: eu-west\n", ""))
            deadline = time.monotonic() + 60
            while "reload applied" not in up.log_since(mark):
                assert time.monotonic() < deadline, up.log_since(mark)
                time.sleep(0.1)
            # once the replaced sources closed (after the calls that began on them: the reload's drain)
            deadline = time.monotonic() + 60
            while (dropped := (await client.call_tool("digests", {})).structured_content)["region"] is not None:
                assert time.monotonic() < deadline, dropped
                await anyio.sleep(0.2)
            assert dropped == {"call": _digest(ROTATED), "import": _digest(ROTATED), "child": _digest(ROTATED),
                               "region": None}
            assert (await client.call_tool("other_status", {})).structured_content == {"other": True, "region": None}
    for secret in (FIRST, ROTATED, OTHER):
        assert secret not in up.log()


def test_two_python_sources_cannot_give_one_name_two_values(tmp_path: Path) -> None:
    manifest = _folder(tmp_path, MANIFEST.replace("      ACME_REGION: eu-west\n  other:",
                                                  "      ACME_REGION: us-east\n  other:"))
    result = mcprt_cli("validate", str(manifest), cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert ("mcp.yaml:12:7: ACME_REGION is set to another value by python source 'py': Python sources share one "
            "process environment (os.environ)") in output
    assert "us-east" not in output and "eu-west" not in output  # values may be secrets: never said


@pytest.mark.parametrize("name", ["MCPRT_LOG_LEVEL", "HTTPS_PROXY", "PATH", "OTEL_SERVICE_NAME"])
def test_names_mcprt_reads_itself_are_refused(tmp_path: Path, name: str) -> None:
    manifest = _folder(tmp_path, MANIFEST.replace("      ACME_REGION: eu-west\n  other:",
                                                  f"      {name}: x\n  other:"))
    result = mcprt_cli("validate", str(manifest), cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert f"mcp.yaml:7:7: a python source's env cannot set {name}: " in output
    assert "set it in mcprt's own environment instead" in output


# A reload that fails on another source: `p` imports slowly, so `q`'s import error cancels p's open while its thread
# runs (`mcprt up` fails fast) — the thread still exported the rotated value
SLOW_MODULE = '''
import hashlib
import os
import subprocess
import sys
import time

AT_IMPORT = os.environ.get("ACME_API_KEY")
time.sleep(1.5)


def _digest(value):
    return None if value is None else hashlib.sha256(value.encode()).hexdigest()[:16]


def seen() -> dict:
    """The key as read at import, now, and by a child process."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.environ.get('ACME_API_KEY', ''))"],
                           capture_output=True, text=True, check=True).stdout.strip()
    return {"import": _digest(AT_IMPORT), "call": _digest(os.environ.get("ACME_API_KEY")),
            "child": _digest(child or None), "other": os.environ.get("ACME_OTHER")}
'''

FAILING_MANIFEST = """\
version: 1
sources:
  p:
    python: slowtool:seen
    env: {ACME_API_KEY: "${ACME_API_KEY}"}
  q:
    python: helper:ok
defaults: {timeout: 10s}
"""

V1, V2 = "value-one-0123456789", "value-two-0123456789"  # scrubbed as env values: read back as digests


async def test_a_failed_reload_takes_back_its_values_and_a_later_reload_can_drop_the_name(tmp_path: Path) -> None:
    (tmp_path / "slowtool.py").write_text(SLOW_MODULE)
    (tmp_path / "helper.py").write_text('def ok() -> str:\n    """ok"""\n    return "ok"\n')
    (tmp_path / ".env").write_text(f"ACME_API_KEY={V1}\n")
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(FAILING_MANIFEST)
    with mcprt_http(manifest) as up:
        async with http_client(up.url) as client:
            async def seen() -> dict:
                return (await client.call_tool("seen", {})).structured_content

            first = await seen()

            # q breaks while .env rotates: the reload fails, the previous tools serve on with the previous value
            mark = up.log_mark()
            (tmp_path / "helper.py").write_text('raise RuntimeError("broken")\n')
            (tmp_path / ".env").write_text(f"ACME_API_KEY={V2}\n")
            deadline = time.monotonic() + 60
            while "reload failed" not in up.log_since(mark):
                assert time.monotonic() < deadline, up.log_since(mark)
                time.sleep(0.1)
            time.sleep(2)  # p's cancelled import thread runs to its end
            after_failure = await seen()

            # q mended, .env back to the first value: the module imported under the rejected value is imported again
            mark = up.log_mark()
            (tmp_path / "helper.py").write_text('def ok() -> str:\n    """ok"""\n    return "ok"\n')
            (tmp_path / ".env").write_text(f"ACME_API_KEY={V1}\n")
            manifest.write_text(FAILING_MANIFEST + "# mended\n")
            deadline = time.monotonic() + 60
            while "reload applied" not in up.log_since(mark):
                assert time.monotonic() < deadline, up.log_since(mark)
                time.sleep(0.1)
            mended = await seen()

            # the name dropped from p's env: unset at once, at import too (the process had none)
            mark = up.log_mark()
            manifest.write_text(FAILING_MANIFEST.replace('ACME_API_KEY: "${ACME_API_KEY}"', "ACME_OTHER: x"))
            deadline = time.monotonic() + 60
            while "reload applied" not in up.log_since(mark):
                assert time.monotonic() < deadline, up.log_since(mark)
                time.sleep(0.1)
            dropped = await seen()
    assert first == {"import": _digest(V1), "call": _digest(V1), "child": _digest(V1), "other": None}
    assert after_failure == first, up.log()
    assert mended == first
    assert dropped == {"import": None, "call": None, "child": None, "other": "x"}
