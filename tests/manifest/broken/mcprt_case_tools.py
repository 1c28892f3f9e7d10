"""Two plain functions for the duplicate-tool-name cases (a `python:` source)."""


def alpha_pets() -> list[str]:
    """List the pets."""
    return ["rex"]


def beta_owners() -> list[str]:
    """List the owners."""
    return ["ann"]
