"""Find the functions a `python:` entry names: parse the entry, import the module, pick the callables.

The manifest's folder is made importable so that `python: mytools.notes:search` finds
`./mytools/notes.py` next to `mcp.yaml`. A module already imported from somewhere else (another
manifest's folder with a module of the same name) is imported again. So is every module loaded from
the manifest's folder tree when *any* of them changed on disk since it was imported — the entry
module and the helpers it imports (`import helper` → `./helper.py`) alike — so what runs is always
the files next to the manifest as they are now. `tree_files(base_dir)` lists those modules' files,
which the source reports for hot reload to watch.

"Changed" is decided by content: each module of a manifest's folder is loaded by `FreshSourceLoader`,
which compiles the bytes it read (no `__pycache__`: a `.pyc` is trusted by the source's mtime in whole
seconds and its size, so a same-second, same-size save ran the old code) and records their sha256 as
what that module *is*. A record taken from the file's stat after the import named the newer file when a
save landed during a slow import (a reload abandoned for that save left its import in sys.modules, and
the next reload reused it as if it were the new file: old code served until a restart).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.machinery
import inspect
import os
import re
import sys
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from ...errors import FilePlace, McprtError, PlacedError, SourceConfigError
from ...file_identity import content_digest
from .raised import exception_text

_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_lock = threading.Lock()  # sys.path and sys.modules are process-wide
# module name → (its file, sha256 of the bytes its import compiled), recorded by `FreshSourceLoader` as it reads them
_imported_digests: dict[str, tuple[str, str]] = {}
_folders: set[str] = set()  # manifest folders on sys.path, whose modules `FreshSourceLoader` loads
_resolved_as: dict[str, str] = {}  # a manifest folder as named (absolute, symlinks kept) → the folder it resolved to


class FreshSourceLoader(importlib.machinery.SourceFileLoader):
    """Loads a module of a manifest's folder from its source, never from a `.pyc`, and records the sha256
    of exactly the bytes it compiled (`_imported_digests`): what runs is what the record says, whatever
    was saved during the import. The code is kept in memory by file and digest (`_compiled`), so a module
    imported again unchanged (every module of the tree is, after one helper changed) is not compiled again:
    compiling costs a few ms for a module of a few hundred lines, ~0.15 s for 130 KB of source."""

    def get_code(self, fullname: str) -> Any:
        path = str(Path(self.get_filename(fullname)))
        data = self.get_data(path)
        digest = hashlib.sha256(data).hexdigest()
        _imported_digests[fullname] = (path, digest)
        kept = _compiled.get(path)
        if kept is not None and kept[0] == digest:
            return kept[1]
        code = self.source_to_code(data, path)
        _compiled[path] = (digest, code)
        return code


_compiled: dict[str, tuple[str, Any]] = {}  # file → (sha256 of its bytes, the code compiled from them): the last only


def _folder_finder(entry: str) -> Any:
    """`sys.path_hooks` entry: the finder of a manifest folder or of a package inside it (`pkg.__path__`), whose
    `.py` modules `FreshSourceLoader` loads; ImportError (the next hook) for any other folder."""
    if entry not in _folders and not _package_in_folder(entry):
        raise ImportError(entry)
    extensions = (importlib.machinery.ExtensionFileLoader, importlib.machinery.EXTENSION_SUFFIXES)
    sources = (FreshSourceLoader, importlib.machinery.SOURCE_SUFFIXES)
    return importlib.machinery.FileFinder.path_hook(extensions, sources)(entry)


@dataclass(frozen=True)
class Entry:
    """One `python:` entry: `module` or `module:function`."""

    text: str
    module: str
    attr: str | None
    position: int | None  # index in a list of entries (for messages), None for a single entry

    @property
    def where(self) -> tuple[str | int, ...]:
        """The entry's place below its source (`python`, or `python[i]` in a list)."""
        return ("python",) if self.position is None else ("python", self.position)

    def label(self) -> str:
        where = f"entry {self.position + 1} " if self.position is not None else ""
        return f"{where}'{self.text}'"


def parse_entries(spec: str | list[str]) -> list[Entry]:
    """Check the shape of every entry; raise one error naming each malformed one."""
    texts = [spec] if isinstance(spec, str) else list(spec)
    if not texts:
        raise McprtError("`python` lists no entry; give `package.module:function` or `package.module`")
    entries: list[Entry] = []
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for index, text in enumerate(texts):
        position = index if isinstance(spec, list) else None
        module, sep, attr = text.strip().partition(":")
        entry = Entry(text, module, attr if sep else None, position)
        if not _DOTTED.match(module) or (sep and not _DOTTED.match(attr)):
            problems.append((entry.where, f"{entry.label()} is not `package.module:function` or `package.module`"))
            continue
        entries.append(entry)
    if problems:
        raise SourceConfigError(problems)
    return entries


def _package_in_folder(entry: str) -> bool:
    """Whether `entry` is a package's folder inside a manifest folder (`pkg/sub`, each part a name: a regular
    package, or a namespace package — a folder without `__init__.py`, PEP 420) and no `sys.path` entry of its own:
    a virtualenv (`.venv`, `lib/python3.12`: not names) or a checkout's `src` on sys.path beside the manifest is
    installed code, loaded as Python always does."""
    if entry in sys.path:
        return False
    for folder in _folders:
        if entry.startswith(folder + os.sep):
            return all(part.isidentifier() for part in Path(entry).relative_to(folder).parts)
    return False


def make_importable(base_dir: Path) -> None:
    """Put `base_dir` first on sys.path, exactly once (moved to the front if already there). When the folder as
    the manifest names it now resolves elsewhere (git-sync re-points `repo -> rev2`; a ConfigMap mounted at a
    symlinked path), the modules imported from its earlier resolution are forgotten and that folder leaves
    sys.path: kit.py of `rev2` ran `from helper import N` against `rev1`'s helper, still in sys.modules."""
    named = os.path.abspath(base_dir)
    folder = str(base_dir.resolve())
    with _lock:
        before = _resolved_as.get(named)
        if before is not None and before != folder:
            _leave_root(Path(before))
        _resolved_as[named] = folder
        if folder not in _folders:  # its finder (cached per folder) becomes ours: modules read fresh
            _folders.add(folder)
            sys.path_importer_cache.pop(folder, None)
        if _folder_finder not in sys.path_hooks:
            sys.path_hooks.insert(0, _folder_finder)
        while folder in sys.path:
            sys.path.remove(folder)
        sys.path.insert(0, folder)
        importlib.invalidate_caches()


def _leave_root(root: Path) -> None:
    """Forget every module imported from `root` (a manifest folder's earlier resolution) and take it off
    sys.path, unless another manifest folder still resolves there."""
    _forget_tree(root)
    folder = str(root)
    if folder in _resolved_as.values():
        return
    _folders.discard(folder)
    while folder in sys.path:
        sys.path.remove(folder)
    sys.path_importer_cache.pop(folder, None)


def import_fresh(entry: Entry, base_dir: Path) -> ModuleType:
    """Import `entry.module`, re-importing it when the copy in sys.modules is not the current file."""
    name = entry.module
    with _lock:
        local = _local_file(name, base_dir)
        loaded = sys.modules.get(name)
        top = name.partition(".")[0]
        if local is not None and top in sys.stdlib_module_names:
            raise McprtError(f"{entry.label()}: the module name '{top}' is taken by Python's standard library; "
                             "rename the file")
        if local is not None and _installed_elsewhere(top, base_dir) and top in mcprt_import_names():
            # the manifest's folder comes first on sys.path: `mcp.py` there would be what mcprt's own `import mcp`
            # gets later (a trial's server listed its tools, then died on the first call loading the SDK)
            raise McprtError(f"{entry.label()}: the module name '{top}' is taken by the package "
                             f"'{mcprt_import_names()[top]}', which mcprt itself imports; rename the file")
        if loaded is not None and local is not None and _is_stale(name, loaded, local):
            _forget(top)
        if local is not None and _tree_changed(base_dir):
            _forget_tree(base_dir)  # a helper changed: re-import every module of the folder tree
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            raise _placed(f"{entry.label()}: cannot import '{name}': {exc}", raised_at(exc, base_dir)) from None
        except SyntaxError as exc:
            where = f" ({Path(exc.filename).name}, line {exc.lineno})" if exc.filename else ""
            raise _placed(f"{entry.label()}: cannot import '{name}': {exc.msg}{where}", syntax_at(exc)) from None
        except BaseException as exc:  # noqa: BLE001 — the module's own code failed while importing, whatever it
            # raised (`sys.exit()`, argparse's SystemExit): an import runs in a worker thread (open_python_source),
            # where nothing from outside is thrown in, and such an exception ended the load, or the server
            raise _placed(f"{entry.label()}: importing '{name}' failed: {exception_text(exc)}",
                          raised_at(exc, base_dir)) from None
        return module


def _placed(message: str, place: FilePlace | None) -> McprtError:
    return McprtError(message) if place is None else PlacedError(message, place)


def syntax_at(exc: SyntaxError) -> FilePlace | None:
    """Where a syntax error is: its file (as Python opened it, symlinks kept: `raised_at` says why), line and
    column (Python's `offset` is 1-based already); None when Python names no file on disk (code compiled from a
    string)."""
    if not exc.filename or not exc.lineno or not Path(exc.filename).is_file():
        return None
    return os.path.abspath(exc.filename), exc.lineno, max(exc.offset or 1, 1)


def raised_at(exc: BaseException, base_dir: Path) -> FilePlace | None:
    """The line of the manifest folder's own code that raised `exc` while a module was imported: the innermost
    traceback frame in a `.py` file under `base_dir` that is not an installed package's (a virtualenv inside
    the folder), so an error raised inside a library names the user's line that called it. Its column is
    Python's (3.11+ records one, 0-based: +1), else 1. None when no frame is the folder's (a module not found
    by the import system itself).

    The file is named as Python opened it (made absolute, symlinks kept), not resolved: in a ConfigMap mount
    `kit.py` is a symlink into the kubelet's `..<timestamp>` folder, which the next update deletes, so a resolved
    name would point the operator at a folder that is gone. Symlinks are followed only to decide whether the file
    is the folder's."""
    root = base_dir.resolve()
    found: FilePlace | None = None
    for frame in traceback.extract_tb(exc.__traceback__):
        path = Path(frame.filename)
        if path.suffix != ".py" or not path.is_absolute() or frame.lineno is None:
            continue
        real = path.resolve()
        if not real.is_relative_to(root) or _INSTALLED.intersection(real.relative_to(root).parts):
            continue
        column = getattr(frame, "colno", None)
        found = (os.path.abspath(frame.filename), frame.lineno, column + 1 if column is not None else 1)
    return found


_INSTALLED = frozenset({"site-packages", "dist-packages"})


def refuse_shadowing_files(base_dir: Path, entries: list[Entry]) -> None:
    """McprtError when a module or package in `base_dir` (the folder put first on sys.path) other than the entries'
    own (`import_fresh` says those at their key) takes a top-level name a package mcprt imports takes: mcprt's
    own later `import mcp.server` — and the code's `import anyio` — would load that file instead. A helper
    `mcp.py` the manifest never names passed `validate`, and `up` died on the first call after the handshake."""
    named = {entry.module.partition(".")[0] for entry in entries}
    taken = []
    for path in sorted(base_dir.iterdir()) if base_dir.is_dir() else ():
        top = path.stem if path.suffix == ".py" else path.name if (path / "__init__.py").is_file() else None
        if top is None or top in named or top not in mcprt_import_names() or not _installed_elsewhere(top, base_dir):
            continue
        taken.append(f"'{path.name}' is named like the package '{mcprt_import_names()[top]}'")
    if taken:
        raise McprtError(f"{'; '.join(taken)}, which mcprt itself imports: the manifest's folder comes first on "
                         "sys.path, so mcprt and your code would load the file instead of the package; rename it")


def _installed_elsewhere(top: str, base_dir: Path) -> bool:
    """Whether `top` is also importable from a sys.path entry other than `base_dir` (a few stats: the costlier
    `mcprt_import_names` is read only for a name that shadows something)."""
    folder = str(base_dir.resolve())
    others = [entry for entry in sys.path if entry and Path(entry).resolve() != Path(folder)]
    try:
        return importlib.machinery.PathFinder.find_spec(top, others) is not None
    except (ImportError, ValueError):
        return False


@functools.cache
def mcprt_import_names() -> dict[str, str]:
    """Top-level import name → distribution, for mcprt and every distribution it requires, transitively (its
    installed metadata's `Requires-Dist`, extras left out): the names a module beside a manifest may not take,
    since that folder comes first on sys.path. Derived, not listed, so a new dependency is covered by itself.
    Only `mcprt` when mcprt runs without installed metadata. One pass over the installed distributions, their
    METADATA read as text (a lookup by name lists site-packages again each time: 1.4 s for mcprt's ~80)."""
    from importlib import metadata

    installed: dict[str, tuple[Any, str, list[str]]] = {}  # canonical name → (distribution, name, requirements)
    for distribution in metadata.distributions():
        text = distribution.read_text("METADATA") or distribution.read_text("PKG-INFO") or ""
        name = _HEADER_NAME.search(text)
        if name is None:
            continue
        installed.setdefault(_canonical(name.group(1)), (distribution, name.group(1), _REQUIRES.findall(text)))
    names: dict[str, str] = {"mcprt": "mcprt"}
    seen: set[str] = set()
    pending = ["mcprt"]
    while pending:
        wanted = _canonical(pending.pop())
        if wanted in seen or wanted not in installed:
            continue
        seen.add(wanted)
        distribution, label, requires = installed[wanted]
        for top in _top_level_names(distribution):
            names.setdefault(top, label)
        for requirement in requires:
            if re.search(r"\bextra\s*==", requirement):
                continue
            match = _REQUIREMENT_NAME.match(requirement)
            if match:
                pending.append(match.group(0))
    return names


_HEADER_NAME = re.compile(r"^Name:\s*(\S+)", re.MULTILINE)
_REQUIRES = re.compile(r"^Requires-Dist:\s*(.+)$", re.MULTILINE)
_REQUIREMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _top_level_names(distribution: Any) -> set[str]:
    """The importable top-level names an installed distribution provides: its `top_level.txt` when it has one
    (setuptools writes it), else the first part of each file its RECORD lists (`pkg/…`, `mod.py`, `ext.so`)."""
    listed = distribution.read_text("top_level.txt")
    if listed:
        return {line.strip() for line in listed.splitlines() if line.strip().isidentifier()}
    found: set[str] = set()
    for file in distribution.files or ():
        parts = file.parts
        if not parts or parts[0] in ("..", "__pycache__") or parts[0].endswith((".dist-info", ".data")):
            continue
        top = parts[0] if len(parts) > 1 else parts[0].split(".", 1)[0]
        if top.isidentifier() and (len(parts) > 1 or parts[0].endswith((".py", ".so", ".pyd"))):
            found.add(top)
    return found


def _canonical(distribution: str) -> str:
    """A distribution's name as PEP 503 normalizes it (`ruamel.yaml` → `ruamel-yaml`)."""
    return re.sub(r"[-_.]+", "-", distribution).lower()


class AlreadyReported(McprtError):
    """An entry's module failed to import, which the diagnostic of an earlier entry naming it says."""


class ModuleImports:
    """The imports of one load of a source (its `python:` entries, resources and prompts): each module
    imported once, in the order first named (`modules`). A module that fails to import is reported
    by the first entry naming it; the others raise `AlreadyReported`, so one syntax error is one
    diagnostic, not one per function the module gives."""

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir
        self.modules: list[ModuleType] = []
        self._imported: dict[str, ModuleType] = {}
        self._failed: set[str] = set()

    def module(self, entry: Entry) -> ModuleType:
        """The entry's module; McprtError (the first time) or AlreadyReported when it cannot be imported."""
        if entry.module in self._failed:
            raise AlreadyReported(f"{entry.label()}: module '{entry.module}' cannot be imported")
        found = self._imported.get(entry.module)
        if found is None:
            try:
                found = import_fresh(entry, self.base_dir)
            except McprtError:
                self._failed.add(entry.module)
                raise
            self._imported[entry.module] = found
            if found not in self.modules:
                self.modules.append(found)
        return found


def tree_files(base_dir: Path) -> list[Path]:
    """Files of the imported modules that live in `base_dir`'s tree (installed packages excluded), named under
    `base_dir` as given (`as_named`)."""
    with _lock:
        return as_named(sorted({path for _, path in _tree_modules(base_dir)}), base_dir)


def as_named(paths: list[Path], base_dir: Path) -> list[Path]:
    """`paths` with each one under `base_dir`'s resolution named under `base_dir` as the manifest names it
    (absolute, symlinks kept): `repo/kit.py`, not `rev1/kit.py` — a git-sync swap re-points `repo`, and a
    file compared by its old resolution never changed (SIGHUP reused the old source; the reload log named
    `/…/rev1/kit.py`). Others as they are."""
    named, root = Path(os.path.abspath(base_dir)), base_dir.resolve()
    return [named / path.relative_to(root) if path.is_relative_to(root) else path for path in paths]


def _tree_modules(base_dir: Path) -> list[tuple[str, Path]]:
    """(name, file) of every module in sys.modules imported from `base_dir` as a root: its file is
    where its dotted name puts it under `base_dir` (`pkg.helper` → `pkg/helper.py`). Code under the
    folder imported through another root (an installed package, a virtualenv, mcprt itself when a
    manifest sits in its checkout) is not the user's module and is left alone."""
    root = base_dir.resolve()
    found = []
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not file or not name or name == "__main__":
            continue
        stem = root.joinpath(*name.split("."))
        path = Path(file)
        if path in (stem.with_name(stem.name + ".py"), stem / "__init__.py"):
            found.append((name, path))
    return found


def _tree_changed(base_dir: Path) -> bool:
    """Whether any module of `base_dir`'s tree differs on disk from what its import compiled (one it did not
    compile — imported before the folder was a manifest's — counts as changed)."""
    return any(_differs_from_import(name, path) for name, path in _tree_modules(base_dir))


def _differs_from_import(name: str, path: Path) -> bool:
    imported = _imported_digests.get(name)
    return imported is None or imported != (str(path), content_digest(path))


def forget_tree(base_dir: Path) -> None:
    """Make every module imported from `base_dir`'s tree be imported again on its next use (the variables a
    source's `env:` sets changed: a module may have read one at import)."""
    with _lock:
        _forget_tree(base_dir)


def _forget_tree(base_dir: Path) -> None:
    """Drop every module of `base_dir`'s tree from sys.modules, namespace packages (PEP 420: no `__file__`)
    included: `from pkg import util` takes `util` from the `pkg` module's attribute when it has one, so a kept
    namespace `pkg` served the old `util` however often `pkg.util` itself was imported again."""
    names = [name for name, _ in _tree_modules(base_dir)] + _tree_namespaces(base_dir)
    for name in names:
        sys.modules.pop(name, None)
        _imported_digests.pop(name, None)
    importlib.invalidate_caches()


def _tree_namespaces(base_dir: Path) -> list[str]:
    """Names of the namespace packages in sys.modules whose folder is where their dotted name puts it under
    `base_dir` (`pkg.sub` → `pkg/sub/`)."""
    root = base_dir.resolve()
    found = []
    for name, module in list(sys.modules.items()):
        if getattr(module, "__file__", None) or not name:
            continue
        try:
            locations = list(getattr(module, "__path__", None) or ())
        except Exception:  # noqa: BLE001 — a module's own `__path__` object; not one of ours then
            continue
        if str(root.joinpath(*name.split("."))) in locations:
            found.append(name)
    return found


def functions_of(entry: Entry, module: ModuleType) -> list[tuple[str, Any]]:
    """The (name, callable) pairs an entry names: one function, `__all__`, or the public functions.

    The attribute may be a dotted path, as in a Python entry point's object reference
    (`module:object.attr`, PyPA "Entry points specification"): `shop:Inventory.restock` (a
    classmethod or staticmethod), `shop:inventory.take` (a bound method of a module-level object);
    its name is the last part (`restock`)."""
    if entry.attr is not None:
        value: Any = module
        owner = f"module '{entry.module}'"
        for part in entry.attr.split("."):
            try:
                # the author's own code may run here (a property, `__getattr__`): whatever it raises is
                # this entry's problem, said as such, not a bare traceback that ends the load
                value, owner = getattr(value, part), f"'{part}'"
            except AttributeError:
                raise McprtError(f"{entry.label()}: {owner} has no attribute '{part}'{_near_miss(value, part)}") \
                    from None
            except BaseException as exc:  # noqa: BLE001 — as an import's (import_fresh)
                raise McprtError(f"{entry.label()}: reading '{part}' of {owner} failed: "
                                 f"{exception_text(exc)}") from None
        problem = _not_a_function(value)
        if problem:
            raise McprtError(f"{entry.label()}: '{entry.attr}' is {problem}, not a function")
        return [(entry.attr.rpartition(".")[2], value)]
    exported = getattr(module, "__all__", None)
    if exported is not None:
        found = [(str(n), getattr(module, n)) for n in exported if hasattr(module, n)]
        found = [(n, f) for n, f in found if _not_a_function(f) is None]
    else:
        found = _public_functions(module)
    if not found:
        raise McprtError(f"{entry.label()}: module '{entry.module}' has no public functions")
    return found


def _near_miss(owner: Any, name: str) -> str:
    """' (did you mean …?)' for a close public name of a module or object, else the names it has."""
    import difflib

    if isinstance(owner, ModuleType):
        public = [n for n, _ in _public_functions(owner)]
    else:  # looked up statically: a property is not run (it may raise, or be slow) just to suggest a name
        public = [n for n in dir(owner) if not n.startswith("_") and _static_callable(owner, n)]
    close = difflib.get_close_matches(name, public, n=1, cutoff=0.6)
    more = f", … {len(public) - 10} more" if len(public) > 10 else ""
    return (f" (did you mean '{close[0]}'?)" if close else
            f" (it has: {', '.join(public[:10])}{more})" if public else "")


def _static_callable(owner: Any, name: str) -> bool:
    value = inspect.getattr_static(owner, name, None)
    if isinstance(value, (staticmethod, classmethod)):
        value = value.__func__
    return callable(value)


def module_files(modules: list[ModuleType]) -> list[Path]:
    files: list[Path] = []
    for module in modules:
        file = getattr(module, "__file__", None)
        if file and Path(file) not in files:
            files.append(Path(file))
    return files


def _public_functions(module: ModuleType) -> list[tuple[str, Any]]:
    """Functions defined in the module itself (not imported into it), not starting with `_`."""
    return [
        (name, value)
        for name, value in vars(module).items()
        if not name.startswith("_")
        and inspect.isfunction(value)
        and getattr(value, "__module__", None) == module.__name__
    ]


def _not_a_function(value: Any) -> str | None:
    if inspect.isclass(value):
        return "a class"
    if inspect.ismodule(value):
        return "a module"
    if not callable(value):
        return f"a {type(value).__name__} value"
    return None


def _local_file(name: str, base_dir: Path) -> Path | None:
    """Where `name` would be found in `base_dir`, if it is there."""
    stem = base_dir.resolve().joinpath(*name.split("."))
    for candidate in (stem.with_suffix(".py"), stem / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _is_stale(name: str, loaded: ModuleType, local: Path) -> bool:
    file = getattr(loaded, "__file__", None)
    if not file or Path(file).resolve() != local.resolve():
        return True
    return _differs_from_import(name, Path(file))


def _forget(top: str) -> None:
    """Drop a top-level module and its submodules so the next import reads the files again."""
    for key in [k for k in sys.modules if k == top or k.startswith(top + ".")]:
        del sys.modules[key]
        _imported_digests.pop(key, None)
    importlib.invalidate_caches()
