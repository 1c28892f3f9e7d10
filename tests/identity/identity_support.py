"""What the identity tests share: a Python tool whose `output:` template shows who called it, so the
principal is observed where it matters — in the call pipeline, through a real `mcprt up`."""

from __future__ import annotations

from pathlib import Path

WHO_TOOLS = '''
"""Tools for the identity tests."""


def echo(text: str) -> str:
    """Return the text unchanged."""
    return text
'''

# principal.* as an output template sees it: kind, subject, client, scopes, a claim.
WHO_TEMPLATE = (
    "{{ principal.kind }}|{{ principal.sub }}|{{ principal.client_id }}|{{ principal.scopes | join(',') }}"
    "|{{ principal.claims.email | default('-') }}|{{ result }}"
)


def who_source(folder: Path) -> list[str]:
    """Write who_tools.py into `folder`; the manifest lines of a `who` source using it."""
    (folder / "who_tools.py").write_text(WHO_TOOLS)
    return [
        "  who:",
        "    python: who_tools",
        "    tools:",
        f"      echo: {{output: \"{WHO_TEMPLATE}\"}}",
    ]
