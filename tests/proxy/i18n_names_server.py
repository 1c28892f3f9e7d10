"""An SDK (`MCPServer`) stdio server whose tools have argument names model APIs refuse as property keys (a Python
function's own parameter names, as the SDK lists them): `挨拶(名前, größe)` answers what it was given, and
`登録(名前, 住所)` has two all-CJK names (served as two `arg_<hash>`), and `clash(gr_e, größe)` two names that
would both be served as `gr_e`."""

from __future__ import annotations

from mcp.server import MCPServer

server = MCPServer("i18n-names", log_level="CRITICAL")


@server.tool()
def 挨拶(名前: str, größe: int = 1) -> str:
    """名前で挨拶する。"""
    return f"こんにちは、{名前}さん ({größe})"


@server.tool()
def 登録(名前: str, 住所: str) -> str:
    """Two names with nothing ASCII: two arguments, each `arg` and a hash of its name."""
    return f"{名前} {住所}"


@server.tool()
def clash(gr_e: str, größe: str) -> str:
    """Two names that are both `gr_e` once made safe."""
    return f"{gr_e} {größe}"


if __name__ == "__main__":
    server.run("stdio")
