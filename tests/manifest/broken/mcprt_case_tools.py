"""Two plain functions for the duplicate-tool-name cases (a `python:` source)."""


def alpha_pets() -> list[str]:
    """List the pets."""
    return ["rex"]


def beta_owners() -> list[str]:
    """List the owners."""
    return ["ann"]


def gamma_search(words: str, limit: int = 5, loud: bool = False) -> str:
    """Search with typed arguments (for the argument-value cases)."""
    return words
