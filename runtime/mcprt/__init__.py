"""mcprt: a declarative runtime that compiles one reviewed manifest into a live MCP server."""

import gc as _gc

__version__ = "0.3.0"

_startup_pause = False


def pause_gc_for_startup() -> None:
    """Pause the cyclic garbage collector from the moment the CLI starts (`mcprt.__main__`).

    Start-up allocates hundreds of thousands of objects that live as long as the process (imported
    modules, pydantic models, the compiled tool set) and almost no garbage cycles; collections
    triggered by allocation counts would scan them again and again (measured: imports of `mcprt up`
    0.45 → 0.37 s CPU). The first compile ends the pause (`end_gc_pause`). Reference counting
    frees memory as usual meanwhile.
    """
    global _startup_pause
    if _gc.isenabled():
        _gc.disable()
        _startup_pause = True


def end_gc_pause() -> None:
    """End the start-up pause, if there is one: what start-up built is moved out of the collector's
    generations first (`gc.freeze()`), so the first collection does not scan it all."""
    global _startup_pause
    if _startup_pause:
        _startup_pause = False
        _gc.freeze()
        _gc.enable()


_PLUGINS_SWITCH = "PYDANTIC_DISABLE_PLUGINS"


def import_before_plugin_scan(*modules: str) -> None:
    """Import mcprt's own model modules (settings, manifest) with pydantic's plugin lookup put off.

    Pydantic looks its plugins up (entry-point group `pydantic`: every installed distribution's
    metadata is read, ≈0.015 s of CPU) when the first model class is built, and mcprt's settings and
    manifest models are built at import. Imported here with `PYDANTIC_DISABLE_PLUGINS=__all__`
    (pydantic's documented switch, read on every lookup), those classes get no plugins and the
    lookup waits for the next model class: a user's Python tool's types, or the SDK's types once
    `mcprt up` has answered its first tools/list. So plugins still see the user's models, and
    `mcprt tools` on an OpenAPI source never scans. A switch the user set is left as it is; ours is
    removed before the caller goes on (no thread or subprocess exists yet to inherit it).
    """
    import importlib
    import os

    if _PLUGINS_SWITCH in os.environ:
        for name in modules:
            importlib.import_module(name)
        return
    os.environ[_PLUGINS_SWITCH] = "__all__"
    try:
        for name in modules:
            importlib.import_module(name)
    finally:
        del os.environ[_PLUGINS_SWITCH]


def import_httpx():  # type: ignore[no-untyped-def]  # the httpx module; typed where it is used
    """The `httpx` module, imported without its command-line entry point `httpx._main`.

    `httpx/__init__.py` imports `httpx._main` (the `httpx` console script) for `httpx.main`, and with it
    click, rich's syntax and progress modules and pygments: half of httpx's import cost (≈0.09 of 0.19 s
    of CPU) for a function mcprt never calls. httpx guards that import with `except ImportError` (then
    `httpx.main` says the CLI's extras are missing), and a module set to None in `sys.modules` raises
    ImportError (the import system's documented rule), so the client-only commands (`status`,
    `approvals`, `pause`, `resume`) import it through here. The marker is removed again, but
    `httpx.main` stays httpx's stand-in in this process (no user code runs in these commands). Once httpx is imported, this only returns it.
    """
    import sys

    if "httpx" not in sys.modules and "httpx._main" not in sys.modules:
        sys.modules["httpx._main"] = None  # type: ignore[assignment]
        try:
            import httpx as lean
        finally:
            if sys.modules.get("httpx._main", 0) is None:
                del sys.modules["httpx._main"]
        return lean
    import httpx

    return httpx


def lazy_exports(package: str, homes: dict[str, str]):  # type: ignore[no-untyped-def]  # a module __getattr__
    """A package's `__getattr__` (PEP 562) that imports each exported name from its submodule
    (`homes`: name → submodule) on first use and keeps it on the package.

    For packages whose submodules are imported on paths that need only them (`mcprt.server.options`
    before the MCP SDK, `mcprt.sources.openapi.cache` on a manifest without OpenAPI): importing a
    submodule runs the package's `__init__` first, which must then not import the rest.
    Unknown names raise AttributeError (so `from package import unknown` is an ImportError).
    """
    import importlib
    import sys

    def __getattr__(name: str) -> object:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{home}"), name)
        setattr(sys.modules[package], name, value)  # found directly from now on
        return value

    return __getattr__
