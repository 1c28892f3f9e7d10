"""Who is calling: the principal attached to each request (static named tokens, OAuth 2.1 access
tokens, the stdio parent process, or nobody when inbound auth is off)."""

from .principal import ANONYMOUS, STDIO, Principal, from_scope

__all__ = ["ANONYMOUS", "STDIO", "Principal", "from_scope"]
