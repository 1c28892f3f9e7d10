"""Loads a manifest file into a validated `Manifest`, collecting every problem at once.

Pipeline: read text → parse YAML/TOML with positions → merge included manifests → interpolate
`${VAR}` → validate with the pydantic models → check expressions and templates. Each step adds
diagnostics instead of stopping, as far as the next step can still run, so a user sees all the
mistakes of a file in one go.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from ..cancellation import check_abandoned
from ..errors import Diagnostic, ManifestError, ManifestNotFound
from ..home_paths import HomeNotFound, expand_home, unexpanded_variables_note
from ..unicode_forms import look_alike_hint
from . import envvars, parse_cache, python_env
from .checks import check_expressions
from .limits import LimitExceeded, include_allowed, max_manifest_bytes, read_capped
from .model import Defaults, Manifest, Placement, SourceBase, auth_entries
from .names import DEFAULT_NAMES
from .positions import Path as NodePath
from .positions import Position, PositionIndex
from .pydantic_errors import diagnostics_from
from .secrets import (
    empty_secrets, literal_secrets, register_secrets, shared_inbound_tokens, short_secrets, templated_secrets,
)
from .unused_values import validate_leaving_out
from .yaml_reader import read_yaml


@dataclass
class LoadedManifest:
    """A validated manifest and what is needed to report on it and to watch it."""

    path: Path
    manifest: Manifest
    index: PositionIndex
    source_dirs: dict[str, Path]  # where each source's relative paths resolve (its manifest's folder)
    files: list[Path]  # the manifest, the manifests it includes, and the `.env` files read
    env_paths: set[NodePath] = field(default_factory=set)  # nodes whose value came from a variable
    warnings: list[Diagnostic] = field(default_factory=list)
    # the `defaults` of a source an included manifest defines, when that manifest has `defaults:`
    source_defaults: dict[str, Defaults] = field(default_factory=dict)
    # the merged data as written, before `${VAR}` substitution: what a report may show of a setting
    # (`mcprt diff`), since a substituted value can be a credential (`https://admin:${PASS}@…`)
    written: dict[str, Any] = field(default_factory=dict)
    # sources left out unopened (`validate --no-exec`: `python:`/`command:` ones), by name: their tools are
    # unknown, so what names them waits as for a source that is down (`policy.checks`), never "no such source"
    withheld: dict[str, SourceBase] = field(default_factory=dict)
    # a partial manifest's (`ManifestError.partial`) sources the schema left out, whole or one override of
    # theirs: what they serve is not what is written (a tool's `name` dropped), so what names them waits as for
    # a source that is down (`policy.checks`), never "matches no tool" on the strength of the first error
    left_out: frozenset[str] = frozenset()
    # a partial manifest's settings the schema left out (`_without_invalid_parts`): `("server", "observability")`
    # for an error inside one `server:` or `defaults:` block (`_BLOCKED_SETTINGS`), `("policy",)` for a whole
    # top-level one. The model holds its default in their place, which is no setting the author wrote: a check
    # reading one (`settled`) is skipped, never run on the stand-in (a trial: one wrong `server.observability.audit` left `server` out,
    # and every policy principal was "never a caller: server.auth gives anonymous, stdio" though
    # `server.auth.tokens` named them all)
    left_out_settings: frozenset[tuple[str, ...]] = frozenset()

    def settled(self, path: tuple[str, ...]) -> bool:
        """Whether the setting at `path` (`("server", "auth")`) is the one written: False when it, a setting
        holding it, or one inside it was left out for a schema error (`left_out_settings`)."""
        return not any(path[:len(out)] == out or out[:len(path)] == path for out in self.left_out_settings)

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def defaults_for(self, source: str) -> Defaults:
        """The `defaults` a source's tools inherit: its own manifest's (an included one's `defaults:`,
        key by key over the including manifest's), else the manifest's."""
        return self.source_defaults.get(source, self.manifest.defaults)

    def locate(self, path: NodePath, prefer: str = "value") -> Position:
        return self.index.locate(path, prefer)  # type: ignore[arg-type]

    def diagnostic(self, path: NodePath, message: str, *, severity: str = "error", prefer: str = "value") -> Diagnostic:
        where = self.locate(path, prefer)
        return Diagnostic(where.file, where.line, where.col, message, severity)  # type: ignore[arg-type]


def find_manifest(explicit: str | Path | None, cwd: Path | None = None) -> Path:
    """The file to load: the given one (a folder: its mcp.yaml, mcp.yml or mcp.toml), else
    ./mcp.yaml, ./mcp.yml, then ./mcp.toml. Raises `ManifestNotFound` saying where it looked and
    how to create one when there is none."""
    names = ", ".join(DEFAULT_NAMES[:-1]) + f" or {DEFAULT_NAMES[-1]}"
    if explicit is not None:
        path = expand_home(explicit)  # a host's args reach us without a shell: `~/proj/mcp.yaml` (`home_paths`)
        if path.is_dir():
            for name in DEFAULT_NAMES:
                if (path / name).is_file():
                    return path / name
            raise _not_found(str(path), f"no {' or '.join(DEFAULT_NAMES)} in this folder",
                             f"{path.resolve()} has no {names}", path / "mcp.yaml")
        if not path.exists():
            note = unexpanded_variables_note(str(explicit))
            if note is not None:  # the file is there: no `init` offered to create it
                raise ManifestNotFound([Diagnostic(str(path), 1, 1, "file not found")],
                                       message=f"{explicit} does not exist; {note}")
            raise _not_found(str(path), "file not found", f"{path} does not exist (looked for {path.resolve()})", path)
        return path
    base = cwd or Path.cwd()
    for name in DEFAULT_NAMES:
        if (base / name).is_file():
            return base / name
    raise _not_found("mcp.yaml", f"no manifest given and no {names} here",
                     f"no manifest given, and {base.resolve()} has no {names}", None)


def _not_found(shown: str, diagnostic: str, what: str, target: Path | None) -> ManifestNotFound:
    # `init` and `catalog init` write commented YAML (init refuses another suffix): a missing `mcp.toml` is
    # offered the command that works, `--out mcp.yaml`, and told why, never `--out mcp.toml`
    yaml_target = target if target is None or target.suffix.lower() in (".yaml", ".yml") else target.with_suffix(".yaml")
    out = f" --out {yaml_target}" if yaml_target is not None else ""
    written = "; init writes YAML only, and mcprt reads YAML and TOML alike" if yaml_target != target else ""
    message = (f"{what}. Create one with `mcprt init --openapi SPEC{out}` (from an API description{written}) or "
               f"`mcprt catalog init NAME` (a ready-made one)"
               + ("" if target is not None else ", or give the manifest's path"))
    return ManifestNotFound([Diagnostic(shown, 1, 1, diagnostic)], message=message)


def not_utf8(data: bytes, start: int) -> tuple[int, int, str]:
    """(line, column, message) for a manifest whose bytes `data` are not UTF-8 text from byte `start` on: the first
    bad byte's place (the column in characters, as every other diagnostic's) and the encoding it most likely is
    (a UTF-16 byte order mark or NUL bytes; else a legacy 8-bit one such as Latin-1 or Windows-1252)."""
    line_start = data.rfind(b"\n", 0, start) + 1
    line = data.count(b"\n", 0, start) + 1
    column = len(data[line_start:start].decode("utf-8", errors="replace")) + 1
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        guess = "it starts with a UTF-16 byte order mark"
    elif b"\x00" in data:
        guess = "it holds NUL bytes: UTF-16 or UTF-32 text"
    else:
        guess = "a legacy 8-bit encoding such as Latin-1 (ISO-8859-1) or Windows-1252"
    return line, column, f"cannot read the file: it is not UTF-8 text (the byte 0x{data[start]:02X} here; {guess}): save it as UTF-8"


def read_manifest_file(path: Path, shown: str | None = None) -> tuple[Any, PositionIndex, list[Diagnostic]]:
    """Parse one manifest file (YAML or TOML by its suffix) into plain data with positions.

    `shown` is how diagnostics name the file (default: the path as given). The file is read each time;
    its text is parsed once per process (`parse_cache`): the result is the caller's own to change.
    """
    shown = shown or str(path)
    try:
        data = read_capped(path, max_manifest_bytes(), "a manifest", "MAX_MANIFEST_BYTES")
        text = data.decode("utf-8")
        if "\x00" in text:  # valid UTF-8, but no manifest holds NUL: UTF-16 without a byte order mark
            raise UnicodeDecodeError("utf-8", data, data.index(b"\x00"), data.index(b"\x00") + 1, "NUL")
    except FileNotFoundError:
        said = "file not found" + look_alike_hint(path)
        return None, PositionIndex(Position(shown, 1, 1)), [Diagnostic(shown, 1, 1, said)]
    except LimitExceeded as exc:
        return None, PositionIndex(Position(shown, 1, 1)), [Diagnostic(shown, 1, 1, str(exc))]
    except UnicodeDecodeError as exc:
        line, column, said = not_utf8(data, exc.start)
        return None, PositionIndex(Position(shown, 1, 1)), [Diagnostic(shown, line, column, said)]
    except OSError as exc:
        return None, PositionIndex(Position(shown, 1, 1)), [Diagnostic(shown, 1, 1, f"cannot read the file: {exc.strerror or exc}")]
    toml = path.suffix.lower() == ".toml"
    if toml:
        from .toml_reader import read_toml  # tomllib only for a TOML manifest

        reader = read_toml
    else:
        reader = read_yaml
    try:
        data, index, errors = parse_cache.parsed(text, shown, toml, reader)
    except RecursionError:
        return None, PositionIndex(Position(shown, 1, 1)), [Diagnostic(shown, 1, 1, "the manifest nests too deeply")]
    if errors:
        return None, index, errors
    if data is None or data == {}:
        return None, index, [Diagnostic(shown, 1, 1, "the manifest is empty: it needs at least `version: 1` and `sources`")]
    if not isinstance(data, dict):
        return None, index, [Diagnostic(shown, index.root.line, index.root.col, "the manifest must be a mapping of keys")]
    return data, index, []


# Where an unset variable is harmless over stdio, and when it is needed (said in the warning).
STDIO_UNUSED: dict[NodePath, str] = {
    ("server", "auth"): "to serve over HTTP (server.auth; stdio is never authenticated)",
}


def load_manifest(path: str | Path | None = None, *, env: dict[str, str] | None = None,
                  transport: str = "http", include_roots: Sequence[Path] = (),
                  dotenv_at: Callable[[Path], Path | None] | None = None) -> LoadedManifest:
    """Load and validate; raise ManifestError with every diagnostic when anything is wrong.

    `include_roots`: folders this load may also include from, besides the including manifest's tree and
    `MCPRT_INCLUDE_PATHS` (`limits.include_allowed`): a revision's copies of those (`mcprt diff REV:path`).

    `dotenv_at`: the folder whose `.env` an included manifest's folder reads (None, the default: that folder;
    the function's None: no `.env`). `mcprt diff` reads a revision's copy's from the working-tree folder it
    stands for, so both sides open their sources with one machine's variables.

    `transport`: what the manifest is loaded for. `"http"` (the default, the strictest) needs every
    `${VAR}`; `"stdio"` (also `mcprt validate`/`tools` unless `MCPRT_TRANSPORT=http`) lets the
    variables under `server.auth` be unset, with a warning each: stdio never uses them."""
    manifest_path = find_manifest(path)
    data, index, errors = read_manifest_file(manifest_path)
    if errors:
        raise ManifestError(errors)
    files = [manifest_path]
    source_dirs = {name: manifest_path.parent for name in (data.get("sources") or {})} if isinstance(
        data.get("sources"), dict
    ) else {}
    warnings: list[Diagnostic] = []
    included_defaults: dict[str, list[tuple[Any, PositionIndex]]] = {}
    includers: dict[Path, Path] = {}
    errors += _merge_includes(manifest_path, data, index, source_dirs, files, warnings, seen={manifest_path.resolve()},
                              included_defaults=included_defaults, includers=includers, include_roots=include_roots)

    environment = env if env is not None else envvars.environment_for(manifest_path.parent)
    environments = _environments(manifest_path.parent, environment, set(source_dirs.values()), files, includers,
                                 dotenv_at)
    unused = STDIO_UNUSED if transport == "stdio" else None
    scoped = {("sources", name): environments[folder] for name, folder in source_dirs.items()
              if environments[folder] is not environment}
    written = data  # `interpolate` builds new containers: this stays as written
    from_files: dict[NodePath, str] = {}
    data, env_paths, env_errors, unset = envvars.interpolate(data, environment, index, unused, scoped, files,
                                                             from_files)
    errors += env_errors

    # before the root validates: an included manifest's bad `defaults:` is reported with the root's errors
    source_defaults, defaults_errors = _included_defaults(
        data.get("defaults"), included_defaults,
        {name: environments[folder] for name, folder in source_dirs.items()}, environment, files)
    errors += defaults_errors

    failed: set[NodePath] = set()
    expression_errors = check_expressions(data, index, failed)
    errors += expression_errors
    _leave_out(data, failed)  # later stages check the rest; these errors are reported once
    manifest: Manifest | None = None
    try:
        manifest = validate_leaving_out(data, unset, set(unused or ()), env_paths)
    except ValidationError as exc:
        # A value whose `${…}` failed (unset, misspelt) is reported once, for that reason only: what it became
        # in its place ("" or the reference as written) is no value the author wrote.
        warned = {(d.file, d.line, d.col) for d in env_errors}
        errors += [d for d in diagnostics_from(exc, data, index, env_paths, written) if (d.file, d.line, d.col) not in warned]
        salvaged, left_out, left_out_settings = _without_invalid_parts(data, exc)
        # The valid part's warnings in the same run: fixing the error must not reveal more. Not the policy's
        # warnings on rule targets (policy/checks.py): they judge the built tool set, which a partial manifest
        # does not make, so a target in a left-out source would be called unknown falsely.
        if salvaged is not None:
            warnings += _manifest_warnings(salvaged, env_paths, index, written)
        partial = LoadedManifest(manifest_path, salvaged, index, source_dirs, files, env_paths, [],
                                 source_defaults, written, left_out=left_out,
                                 left_out_settings=left_out_settings) if salvaged is not None else None
        # `server.auth` as written: two entries with one token are said in the same pass (a review: a wrong
        # `observability.audit` hid the clash until it was fixed)
        if partial is not None and salvaged is not None and partial.settled(("server", "auth")):
            reported = {(d.file, d.line, d.col) for d in errors}
            errors += [d for d in shared_inbound_tokens(salvaged, index, unset)
                       if (d.file, d.line, d.col) not in reported]
        raise ManifestError(sorted(errors) + warnings, partial=partial) from None
    warnings += _manifest_warnings(manifest, env_paths, index, written)
    reported = {(d.file, d.line, d.col) for d in errors}  # an unset variable is already reported there
    errors += [d for d in empty_secrets(manifest, env_paths, index, from_files) if (d.file, d.line, d.col) not in reported]
    errors += shared_inbound_tokens(manifest, index, unset)
    errors += templated_secrets(manifest, index, written, lambda at: scoped.get(at[:2], environment))
    register_secrets(manifest, written)
    errors += _per_user_credential_errors(manifest, index) + _auth_clash_errors(manifest, index)
    errors += python_env.conflicts(manifest, index)
    loaded = LoadedManifest(manifest_path, manifest, index, source_dirs, files, env_paths, warnings, source_defaults,
                            written)
    blocking = [d for d in errors if d.severity == "error"]
    if blocking:
        # Only expressions failed: the later stages (sources, the build's template checks) still run on
        # the rest, so every template's error is reported in one pass. Not after any other error: an
        # unset credential must not open its source.
        only_expressions = all(d in expression_errors for d in blocking)
        raise ManifestError(sorted(errors) + warnings, partial=loaded if only_expressions else None)
    loaded.warnings += [d for d in errors if d.severity == "warning"]
    return loaded


def _environments(root: Path, environment: dict[str, str], folders: set[Path], files: list[Path],
                  includers: Mapping[Path, Path],
                  dotenv_at: Callable[[Path], Path | None] | None = None) -> dict[Path, Mapping[str, str]]:
    """The variables of each folder a source was defined in: the root's `environment`, or for an included
    manifest's folder its `.env` under its *including* manifest's folder's variables, down the include
    chain (`includers`: folder → the folder of the manifest that first included one there), so the
    process environment beats the root's `.env`, which beats each nearer-to-root `.env`
    (`envvars.included_environment`): an included `.env` never changes a value its includer sets. Every
    `.env` read is added to `files` (hot reload watches them). `dotenv_at` as for `load_manifest`."""
    top = root.resolve()
    found: dict[Path, Mapping[str, str]] = {top: environment}

    def home(folder: Path) -> Path | None:  # where `folder`'s `.env` is read
        return dotenv_at(folder) if dotenv_at is not None else folder

    root_home = home(root)
    if root_home is not None and (root_home / ".env").is_file():
        files.append(root_home / ".env")

    def of(folder: Path) -> Mapping[str, str]:
        folder = folder.resolve()
        if folder not in found:
            found[folder] = environment  # while its includers' are built (the chain is acyclic; this is a guard)
            includer = includers.get(folder)
            above = of(includer) if includer is not None else environment
            at = home(folder)
            found[folder] = envvars.included_environment(at, above) if at is not None else above
            if at is not None and (at / ".env").is_file():
                files.append(at / ".env")
        return found[folder]

    return {folder: of(folder) for folder in {root, *folders}}


def _included_defaults(root: Any, chains: dict[str, list[tuple[Any, PositionIndex]]],
                       environments: Mapping[str, Mapping[str, str]],
                       environment: Mapping[str, str],
                       files: list[Path] | None = None) -> tuple[dict[str, Defaults], list[Diagnostic]]:
    """Each included source's `Defaults`: its manifests' `defaults:` (outermost first) merged key by key
    over the including manifest's (`root`, already interpolated), so an included manifest's sources are
    shaped as when it is loaded alone, as far as the root sets nothing it leaves unset. Each source's
    chain reads that source's `environments` entry (its manifest's `.env` under the root's). Errors are at
    the included file's lines; a source whose defaults fail keeps the manifest's."""
    found: dict[str, Defaults] = {}
    errors: list[Diagnostic] = []
    reported: set[tuple[str, int, int]] = set()
    for name, chain in chains.items():
        merged: Any = root if isinstance(root, dict) else {}
        failed = False
        for raw, child_index in chain:
            wrapped, _, env_errors, _ = envvars.interpolate({"defaults": raw}, environments.get(name, environment),
                                                            child_index, files_read=files)
            new = [d for d in env_errors if (d.file, d.line, d.col) not in reported]
            try:  # as a manifest of only `defaults`: errors located at ("defaults", …) in the included file
                Manifest.model_validate({"version": 1, **wrapped})
            except ValidationError as exc:
                new += diagnostics_from(exc, wrapped, child_index)
            reported |= {(d.file, d.line, d.col) for d in new}
            errors += new
            failed = failed or bool(env_errors) or bool(new)
            merged = _deep_merge(merged, wrapped["defaults"])
        if not failed:
            try:
                found[name] = Defaults.model_validate(merged)
            except ValidationError:
                pass  # the including manifest's own `defaults:` fail: reported where they are
    return found, errors


def _deep_merge(base: Any, over: Any) -> Any:
    if not isinstance(base, dict) or not isinstance(over, dict):
        return over
    return {**base, **{key: _deep_merge(base.get(key), value) for key, value in over.items()}}


def manifest_files(path: Path, include_roots: Sequence[Path] = ()) -> list[Path]:
    """`path` and every manifest it includes (recursively, each once, in include order): the files
    whose folders hold manifest-relative things such as recorded cases. Reads only the files'
    `include:` lists; what is wrong with them is reported by `load_manifest`, not here.
    `include_roots` as for `load_manifest`."""
    data, index, errors = read_manifest_file(path)
    files = [path]
    if not errors:
        _merge_includes(path, data, index, {}, files, [], seen={path.resolve()}, include_roots=include_roots)
    return files


def _leave_out(data: dict[str, Any], failed: set[NodePath]) -> None:
    """Remove the expressions that do not compile from `data` (a tool whose `prune` failed also loses
    its `output`: checked against the unpruned result, its look-ups would be reported falsely)."""
    for path in failed:
        override = data
        for key in path[:-1]:
            override = override[key]
        override.pop(path[-1], None)
        if path[-1] == "prune":
            override.pop("output", None)


# A source's maps of per-item overrides: an error inside one item leaves out that item, not the source.
_OVERRIDE_MAPS = ("tools", "resources", "prompts")


# Top-level settings whose blocks are left out one by one (`server.observability`, not all of `server`;
# `defaults.timeout`, not all of `defaults`): the checks of the others (policy principals against `server.auth`,
# like descriptions under `defaults.descriptions`) still see what was written.
_BLOCKED_SETTINGS = ("server", "defaults")

_Salvage = tuple[Manifest | None, frozenset[str], frozenset[tuple[str, ...]]]


def _without_invalid_parts(data: dict[str, Any], error: ValidationError) -> _Salvage:
    """The manifest without the parts that failed validation, or None; the sources it left out whole or in
    part (`LoadedManifest.left_out`); and the settings it left out (`LoadedManifest.left_out_settings`).

    A part is a top-level setting, one block of `server:` (`server.observability`), a source, or one override
    of a source (`tools.<operation>`, `resources.<uri>`, `prompts.<name>`): lets the stages after validation run
    on what is valid, so one pass reports every problem — a schema error in one source, or in one tool's
    override, no longer hides a tool-override typo in another (or in the same source)."""
    bad_sources: set[Any] = set()
    bad_items: set[tuple[Any, str, Any]] = set()  # (source, map, key)
    bad_keys: set[Any] = set()
    bad_blocks: set[tuple[str, str]] = set()  # (setting, block): `("server", "observability")`
    for err in error.errors(include_url=False):
        loc = tuple(err["loc"])
        if not loc or loc[0] == "version":
            return None, frozenset(), frozenset()
        if loc[0] == "sources" and len(loc) >= 2:
            item = _override_item(loc)
            if item is not None:
                bad_items.add(item)
            else:
                bad_sources.add(loc[1])
        elif loc[0] == "sources":
            return None, frozenset(), frozenset()
        elif loc[0] in _BLOCKED_SETTINGS and len(loc) >= 2 and isinstance(data.get(loc[0]), dict) \
                and isinstance(loc[1], str) and loc[1] in data[loc[0]]:
            bad_blocks.add((str(loc[0]), loc[1]))
        else:
            bad_keys.add(loc[0])
    bad_blocks = {block for block in bad_blocks if block[0] not in bad_keys}
    found = _salvaged(data, bad_keys, bad_blocks, bad_sources, bad_items)
    if found is None and bad_blocks:  # the blocks left are wrong together (a check across them): the whole setting
        bad_keys |= {setting for setting, _ in bad_blocks}
        bad_blocks = set()
        found = _salvaged(data, bad_keys, bad_blocks, bad_sources, bad_items)
    if found is None:
        return None, frozenset(), frozenset()
    settings = frozenset({(str(key),) for key in bad_keys} | bad_blocks)
    return found, frozenset(str(name) for name in bad_sources | {item[0] for item in bad_items}), settings


def _salvaged(data: dict[str, Any], bad_keys: set[Any], bad_blocks: set[tuple[str, str]], bad_sources: set[Any],
              bad_items: set[tuple[Any, str, Any]]) -> Manifest | None:
    """`data` without those parts (`_without_invalid_parts`), validated; None when it still fails."""
    salvaged = {k: v for k, v in data.items() if k not in bad_keys}
    for setting, block in bad_blocks:
        salvaged[setting] = {k: v for k, v in salvaged[setting].items() if k != block}
    if isinstance(salvaged.get("sources"), dict):
        sources = {k: v for k, v in salvaged["sources"].items() if k not in bad_sources}
        for name, field_name, key in bad_items:
            source = sources.get(name)
            if isinstance(source, dict) and isinstance(source.get(field_name), dict):
                sources[name] = {**source, field_name: {k: v for k, v in source[field_name].items() if k != key}}
        salvaged["sources"] = sources
    try:
        return Manifest.model_validate(salvaged)
    except ValidationError:
        return None


def _override_item(loc: tuple[Any, ...]) -> tuple[Any, str, Any] | None:
    """(source, map, key) when an error lies inside one override of a source: `loc` is
    `("sources", name, [union tag,] "tools", key, …)`; else None (the source itself is at fault)."""
    for at in (2, 3):  # the source union's tag (`openapi`, `python`, …) may sit between name and field
        if len(loc) > at + 1 and loc[at] in _OVERRIDE_MAPS and isinstance(loc[at + 1], str):
            return loc[1], str(loc[at]), loc[at + 1]
    return None


def _manifest_warnings(manifest: Manifest, env_paths: set[NodePath], index: PositionIndex, written: Any) -> list[Diagnostic]:
    """The warnings a manifest's own text earns (literal or short secrets, a plain-http OAuth issuer), the
    same for a valid manifest and for the valid part of one failing the schema (so none waits for a fix)."""
    return (literal_secrets(manifest, env_paths, index) + short_secrets(manifest, index, written)
            + _plain_http_issuer(manifest, index))


def _plain_http_issuer(manifest: Manifest, index: PositionIndex) -> list[Diagnostic]:
    """Warn when OAuth metadata and keys would come over plain HTTP from another machine (anyone on
    the path could swap the keys and mint tokens); loopback issuers (tests, sidecars) are fine."""
    oauth = manifest.server.auth.oauth if manifest.server.auth is not None else None
    if oauth is None:
        return []
    found = []
    for key, url in (("issuer", oauth.issuer), ("jwks_url", oauth.jwks_url)):
        parts = urlsplit(url or "")
        if parts.scheme == "http" and (parts.hostname or "") not in ("localhost", "127.0.0.1", "::1"):
            where = index.locate(("server", "auth", "oauth", key))
            found.append(Diagnostic(where.file, where.line, where.col, f"{key} uses plain http://: the signing keys "
                                    "could be replaced on the way; use https://", "warning"))
    return found


def _per_user_credential_errors(manifest: Manifest, index: PositionIndex) -> list[Diagnostic]:
    """`token_exchange` / `forward_claims` need a caller with an OAuth token; only per-request
    (OpenAPI) sources can send a different credential for each caller."""
    oauth = manifest.server.auth.oauth if manifest.server.auth is not None else None
    found: list[Diagnostic] = []
    for name, source in manifest.sources.items():
        for at, auth in auth_entries(getattr(source, "auth", None)):
            if not auth.per_user:
                continue
            base = ("sources", name, "auth", *at)
            key = "token_exchange" if auth.token_exchange is not None else "forward_claims"
            where = index.locate((*base, key), prefer="key")
            kinds = auth.kinds_of_keys[key]  # one rule with the unknown-key hint (pydantic_errors.key_homes)
            if source.kind_key not in kinds:
                message = (f"`{key}` works only for {' and '.join(kinds)} sources: a {source.kind_key} source keeps "
                           "one upstream session for every caller, so it cannot carry per-user credentials")
            elif oauth is None:
                message = (f"`{key}` needs `server.auth.oauth`: only an OAuth access token identifies the caller "
                           "(static tokens and stdio carry no claims or token to exchange)")
            else:
                missing = [c for c in (auth.forward_claims or {}).values() if c not in oauth.kept_claims]
                if not missing:
                    continue
                where = index.locate((*base, "forward_claims"), prefer="key")
                message = (f"forward_claims uses claim(s) {', '.join(missing)} that the principal does not keep; "
                           "add them to server.auth.oauth.claims")
            found.append(Diagnostic(where.file, where.line, where.col, message))
    return found


def _auth_clash_errors(manifest: Manifest, index: PositionIndex) -> list[Diagnostic]:
    """Two `auth` entries of one source that set the same header, query parameter or cookie, or an entry and one
    of the source's `headers`: one value would silently replace the other on every request (the upstream sees one
    credential where two were meant). A later entry is refused at its line, naming the earlier one; a `headers`
    entry at its own line, naming the `auth` entry that would replace it."""
    found: list[Diagnostic] = []
    for name, source in manifest.sources.items():
        seen: dict[tuple[str, str], str] = {}
        for at, auth in auth_entries(getattr(source, "auth", None)):
            for below, placement in auth.placements():
                here = f"sources.{name}.auth" + "".join(f"[{i}]" for i in at) + "." + ".".join(below)
                first = seen.setdefault(placement.key, here)
                if first == here:
                    continue
                where = index.locate(("sources", name, "auth", *at, *below), prefer="key")
                found.append(Diagnostic(where.file, where.line, where.col, (
                    f"this sets the {placement.in_} {placement.name}, which {first} already sets: a request carries "
                    "one value there, so one credential would replace the other; keep one of them")))
        for header in getattr(source, "headers", None) or {}:
            entry = seen.get(Placement("header", header).key)
            if entry is None:
                continue
            where = index.locate(("sources", name, "headers", header), prefer="key")
            found.append(Diagnostic(where.file, where.line, where.col, (
                f"the header {header} is also set by {entry}, whose value would replace this one on every request; "
                "keep one of them (an API needing several credentials takes a list of `auth` entries)")))
    return found


def _merge_includes(
    manifest_path: Path,
    data: dict[str, Any],
    index: PositionIndex,
    source_dirs: dict[str, Path],
    files: list[Path],
    warnings: list[Diagnostic],
    seen: set[Path],
    included_defaults: dict[str, list[tuple[Any, PositionIndex]]] | None = None,
    includers: dict[Path, Path] | None = None,
    include_roots: Sequence[Path] = (),
) -> list[Diagnostic]:
    """Add the sources of included manifests (recursively) into `data`, and into `included_defaults`
    the `defaults:` of the manifests each such source comes from (outermost first); an include adds
    nothing else. `includers` receives, for each included manifest's folder (resolved), the folder of
    the manifest that first included one there (the chain its variables come down)."""
    includes = data.get("include")
    if not isinstance(includes, list):
        return []  # a wrong type is reported by validation
    errors: list[Diagnostic] = []
    sources = data.setdefault("sources", {})
    if not isinstance(sources, dict):
        return []
    for i, entry in enumerate(includes):
        check_abandoned()  # many includes: a superseded reload stops reading here
        if not isinstance(entry, str):
            continue
        where = index.locate(("include", i))
        try:
            written = expand_home(entry)  # `~/shared/mcp.yaml` as `openapi:` takes it (`home_paths`)
        except HomeNotFound as exc:
            errors.append(Diagnostic(where.file, where.line, where.col, f"include {entry}: {exc.reason}"))
            continue
        child_path = (manifest_path.parent / written).resolve()
        if child_path in seen:
            errors.append(Diagnostic(where.file, where.line, where.col, f"include cycle: {entry} is already included"))
            continue
        if not include_allowed(child_path, manifest_path.parent, include_roots):
            # A pull request's manifest must not read (and echo) files elsewhere on the machine.
            errors.append(Diagnostic(where.file, where.line, where.col, f"include {entry} is outside this "
                                     "manifest's folder; add its folder to MCPRT_INCLUDE_PATHS to allow it"))
            continue
        # Named relative to the including manifest as the user wrote it, like the main manifest.
        shown = os.path.normpath(manifest_path.parent / written)
        child, child_index, child_errors = read_manifest_file(child_path, shown)
        if not child_errors and not ({"version", "sources"} & set(child)):
            # Not a manifest: say so without quoting any of it (it may be any file of the tree).
            errors.append(Diagnostic(where.file, where.line, where.col, f"include {entry} is not an mcprt "
                                     "manifest (it has neither `version` nor `sources`)"))
            continue
        if child_errors:
            errors += child_errors if child_path.exists() else [
                Diagnostic(where.file, where.line, where.col, f"included manifest not found: {entry}")
            ]
            continue
        files.append(child_path)
        if includers is not None and child_path.parent != manifest_path.parent.resolve():
            includers.setdefault(child_path.parent, manifest_path.parent.resolve())
        child_dirs = {name: child_path.parent for name in (child.get("sources") or {})}
        child_defaults: dict[str, list[tuple[Any, PositionIndex]]] = {}
        errors += _merge_includes(Path(shown), child, child_index, child_dirs, files, warnings, seen | {child_path},
                                  child_defaults, includers, include_roots)
        if included_defaults is not None:
            own = [(child["defaults"], child_index)] if "defaults" in child else []
            for name in child.get("sources") or {}:
                if own or name in child_defaults:
                    included_defaults[name] = own + child_defaults.get(name, [])
        for key in child:
            if key not in ("version", "sources", "include", "defaults"):
                at = child_index.locate((key,), "key")
                warnings.append(Diagnostic(at.file, at.line, at.col, f"`{key}` in an included manifest is ignored "
                                           "(an include contributes its sources and their `defaults`)", "warning"))
        for name, source in (child.get("sources") or {}).items():
            at = child_index.locate(("sources", name), "key")
            if name in sources:
                errors.append(Diagnostic(at.file, at.line, at.col, f"source '{name}' is already defined"))
                continue
            sources[name] = source
            source_dirs[name] = child_dirs[name]
        for node_path, span in child_index.nodes.items():
            if node_path[:1] == ("sources",) and len(node_path) >= 2 and node_path[1] in child.get("sources", {}):
                index.nodes.setdefault(node_path, span)
    return errors
