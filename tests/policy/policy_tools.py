"""Python tools the policy tests govern (a source of the test manifests)."""

from __future__ import annotations


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def delete_item(item: str) -> str:
    """Delete an item."""
    return f"deleted {item}"


def refund(order: str, amount: int) -> str:
    """Refund an order."""
    return f"refunded {amount} on {order}"


def showSecret() -> str:  # noqa: N802 - the issue's example name
    """Show the secret."""
    return "s3cr3t"


def write_note(text: str) -> str:
    """Write a note."""
    return f"wrote {text}"


def transfer(to: str, amount: int) -> str:
    """Move money to an account."""
    return f"moved {amount} to {to}"


def ping() -> str:
    """Check the service answers."""
    return "pong"


def rotate_key(service: str, api_key: str) -> str:
    """Install a new API key for a service."""
    return f"rotated {service} to a key of {len(api_key)} characters ending {api_key[-4:]}"
