"""`${VAR}` and `${VAR:-default}` in manifest strings, from the environment and `.env`.

Interpolation happens once, at load, on the plain data (before validation), so a missing variable
is an error at the line that uses it — never an empty string sent upstream. `$${` writes a literal
`${`. The process environment wins over `.env` (as in pydantic-settings and docker compose). An
included manifest's sources also read the `.env` beside that manifest, under the including one's
variables (`included_environment`), down the include chain (the loader's `_environments`).

One exception: a value the chosen transport never uses (`server.auth` over stdio) may be unset — a
warning saying when it is needed, so a stdio client config need not carry the HTTP tokens.

`VAR_FILE` (a mounted Secret, a Docker secret): when `${VAR}` is set neither in the environment nor in `.env`
and `VAR_FILE` is (in either), `${VAR}` is that file's content with one trailing newline (`\n` or `\r\n`: what
`echo` and editors add) taken off. The convention — the variable's name plus `_FILE` naming a file that holds
its value — is the official Docker images' (postgres, mysql, mariadb: `POSTGRES_PASSWORD_FILE`, their
entrypoints' `file_env`), where it exists for Docker and Kubernetes secrets mounted as files. (Their shell's
`$(< file)` drops every trailing newline; one is dropped here, so a value that ends in a newline of its own keeps
it.) A relative path is relative to the folder of the `.env` that set `VAR_FILE` (the root manifest's folder when
the process environment set it: `EnvValues.folders`), so one variable names one file in every manifest that uses
it. Setting both `VAR` and `VAR_FILE` is an error, as in `file_env` ("both VAR and VAR_FILE are set (but are
exclusive)"): `VAR` would win silently and the rotated file would never apply. The file is watched as the manifest
is (`files_read`, `LoadedManifest.files`), so a rotated Secret — the kubelet swaps the mounted file — applies live;
a file that cannot be read is an error at the line that uses the variable (a warning where the transport does not
need the value, as for an unset variable), naming the variable and the file, never its content — nor
`VAR_FILE`'s value when it does not read as a path (no `/`, or a token: the secret put in `VAR_FILE` by
mistake). The value is a secret like any other: what a credential field holds is scrubbed whatever it came from
(`secrets.register_secrets`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path as FsPath
from typing import Any

from ..envfile import FILE_SUFFIX, REFERENCE, VARIABLE_NAME, EnvValues, Unresolved, read_env_file
from ..errors import Diagnostic
from ..scrubbing import looks_like_token
from .positions import Path, PositionIndex
from .python_env import outer_environ

_REFERENCE = REFERENCE  # the syntax `.env` values share (`mcprt.envfile`)
_NAME = VARIABLE_NAME

# `Diagnostic.code` of the error for a required variable that is unset (the CLI adds where `--offline` helps).
UNSET_VARIABLE = "unset-variable"

# The value a replay (`mcprt test`, `validate --offline`) gives a required variable that is not set
# (testing/overrides.py): nothing leaves loopback there, so CI needs no secrets. Defined here, below the
# URL check that must let it stand in any position of an upstream URL (manifest/urls.py).
REPLAY_PLACEHOLDER = "mcprt-replay-placeholder"


def environment_for(manifest_dir: FsPath) -> EnvValues:
    """The variables a manifest may reference: `.env` beside it (its values expanded against the same
    environment: `envfile.read_env_file`), overridden by the process environment (as it is without what
    `python:` sources' `env:` set in it: `python_env.outer_environ`). `EnvValues.unresolved` keeps why a `.env`
    statement left its variable unset, for the error at the manifest line that uses it."""
    outer = outer_environ()
    env_file = manifest_dir / ".env"
    values = read_env_file(env_file, outer) if env_file.is_file() else EnvValues()
    values.update(outer)
    values.folders = dict.fromkeys(values, manifest_dir)  # a relative `VAR_FILE` path: the root manifest's folder
    return values


def included_environment(manifest_dir: FsPath, top: Mapping[str, str]) -> Mapping[str, str]:
    """The variables an included manifest in `manifest_dir` may reference: `.env` beside it, overridden by
    `top` (the including manifest's variables: its own `.env` under its includer's, ..., the root's `.env`
    and the process environment), so the
    deployment's values win and the included file's `.env` supplies what they leave unset. `top` itself
    when there is no such `.env`."""
    env_file = manifest_dir / ".env"
    if not env_file.is_file():
        return top
    own = read_env_file(env_file, outer_environ())
    unresolved = {**own.unresolved, **_unresolved(top)}
    folders = {**{name: manifest_dir for name in own if name not in top},
               **(top.folders if isinstance(top, EnvValues) else {})}
    return EnvValues({**own, **top}, {name: why for name, why in unresolved.items() if name not in top}, folders)


def _unresolved(env: Mapping[str, str]) -> Mapping[str, Unresolved]:
    """Why each variable a `.env` meant to set is unset (`EnvValues.unresolved`); {} for a plain mapping."""
    return env.unresolved if isinstance(env, EnvValues) else {}


MAX_FILE_VALUE_BYTES = 1024 * 1024  # a credential file larger than this is refused: no secret is 1 MB


def read_file_value(name: str, location: str, folder: FsPath) -> tuple[str | None, FsPath, str | None]:
    """`${name}`'s value from the file `location` (the value of `name`_FILE; relative to `folder`): (the content
    less one trailing newline, the file, None), or (None, the file, why it cannot be read) — the reason names the
    variable and the file and the OS error, never any of the content. A `location` that does not read as a path
    (`shows_as_path`) is not repeated either: it may be the secret itself, put in `name`_FILE by mistake."""
    path = FsPath(location).expanduser()
    if not path.is_absolute():
        path = folder / path
    said = f"{name}{FILE_SUFFIX}={location}"
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_VALUE_BYTES + 1)
    except OSError as exc:
        if not shows_as_path(location) and not os.path.lexists(path):
            return None, path, (f"{name} is read from {name}{FILE_SUFFIX}, which names no readable file "
                                f"({exc.strerror or type(exc).__name__}; its value is not shown: it does not read as "
                                f"a path — if it is the value itself, set {name} instead)")
        return None, path, f"{name} is read from {said}, which cannot be read ({exc.strerror or type(exc).__name__})"
    if len(raw) > MAX_FILE_VALUE_BYTES:
        return None, path, f"{name} is read from {said}, which is larger than {MAX_FILE_VALUE_BYTES} bytes"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, path, f"{name} is read from {said}, which is not UTF-8 text"
    for ending in ("\r\n", "\n"):
        if text.endswith(ending):
            text = text[: -len(ending)]
            break
    return text, path, None


def shows_as_path(location: str) -> bool:
    """Whether a `VAR_FILE` value may be repeated in a message (when it names no file): it reads as a path —
    starts with `/`, `./`, `../` or `~` (a mounted Secret's path is absolute), or has a `/` and does not read as a
    token (`scrubbing.looks_like_token`: base64 holds `/` too)."""
    if location.startswith(("/", "./", "../", "~")):
        return True
    return "/" in location and not looks_like_token(location)


def interpolate(
    data: Any, env: Mapping[str, str], index: PositionIndex, unused: Mapping[Path, str] | None = None,
    scoped: Mapping[Path, Mapping[str, str]] | None = None, files_read: list[FsPath] | None = None,
    from_files: dict[Path, str] | None = None,
) -> tuple[Any, set[Path], list[Diagnostic], set[Path]]:
    """Replace references in every string; return the data, the paths that used a variable, errors,
    and the paths whose value used an unset variable of an `unused` subtree.

    `scoped`: subtrees (path → variables) that read their own variables instead of `env` (an included
    manifest's sources: `included_environment`). One pass over the data, so a value that contains `${`
    is never interpolated twice.

    `unused`: subtrees (path prefix → when they are needed, e.g. "to serve over HTTP") whose unset
    variables are warnings, not errors; their value is then the empty string (which a field may
    refuse: the loader leaves such a value out, see `loader.STDIO_UNUSED`).

    `files_read`: where the files `VAR_FILE` variables named are appended (each once), for hot reload to watch;
    one that cannot be read is appended too (creating it is a change).

    `from_files`: where each path whose value used a `VAR_FILE` is recorded (path → `VAR_FILE`'s name), so a
    message about the value (an empty secret: `secrets.empty_secrets`) names the file, not the variable."""
    optional = dict(unused or {})

    def needed_for(path: Path) -> str | None:
        for prefix, when in optional.items():
            if path[: len(prefix)] == prefix:
                return when
        return None

    used: set[Path] = set()
    unset: set[Path] = set()
    errors: list[Diagnostic] = []

    scopes = dict(scoped or {})

    def walk(node: Any, path: Path, env: Mapping[str, str]) -> Any:
        env = scopes.get(path, env)
        if isinstance(node, dict):
            return {key: walk(value, (*path, key), env) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(value, (*path, i), env) for i, value in enumerate(node)]
        if isinstance(node, str) and "${" in node:
            return substitute(node, path, env)
        return node

    def substitute(text: str, path: Path, env: Mapping[str, str]) -> str:
        def replace(match: re.Match[str]) -> str:
            if match.group(1):  # `$${...}` escapes
                return "${" + match.group(2) + "}"
            body = match.group(2)
            name, has_default, default = body.partition(":-")
            if not _NAME.match(name):
                where = index.locate(path)
                errors.append(Diagnostic(where.file, where.line, where.col, _invalid_reference(text, match)))
                return match.group(0)
            used.add(path)
            location = env.get(name + FILE_SUFFIX)
            if name in env and location:
                where = index.locate(path)
                errors.append(Diagnostic(where.file, where.line, where.col,
                                         f"both {name} and {name}{FILE_SUFFIX} are set, but they are exclusive: unset "
                                         f"{name} to read the value from the file (a rotated Secret then applies "
                                         f"live), or unset {name}{FILE_SUFFIX}"))
                return ""
            if name in env and (env[name] != "" or not has_default):
                return env[name]
            if name not in env and location:
                where = index.locate(path)
                folders = env.folders if isinstance(env, EnvValues) else {}
                folder = folders.get(name + FILE_SUFFIX, FsPath(where.file).parent)
                value, file, problem = read_file_value(name, location, folder)
                if files_read is not None and file not in files_read and (problem is None or shows_as_path(location)):
                    files_read.append(file)
                if problem is None and value is not None:
                    if from_files is not None:
                        from_files[path] = name + FILE_SUFFIX
                    return value
                when = needed_for(path)
                if when is not None:
                    unset.add(path)
                    errors.append(Diagnostic(where.file, where.line, where.col,
                                             f"{problem}: it is needed {when}", "warning"))
                    return ""
                errors.append(Diagnostic(where.file, where.line, where.col, str(problem)))
                return ""
            if has_default:
                return default
            where = index.locate(path)
            when = needed_for(path)
            if when is not None:
                unset.add(path)
                errors.append(Diagnostic(where.file, where.line, where.col,
                                         f"environment variable {name} is not set: it is needed {when}", "warning"))
                return ""
            in_env_file = _unresolved(env).get(name)
            advice = (f": {in_env_file.why()}" if in_env_file is not None else
                      f" (set it, add it to .env beside the manifest, or write ${{{name}:-default}})")
            errors.append(
                Diagnostic(
                    where.file,
                    where.line,
                    where.col,
                    f"environment variable {name} is not set{advice}",
                    code=UNSET_VARIABLE,
                )
            )
            return ""

        return _REFERENCE.sub(replace, text)

    return walk(data, (), env), used, errors, unset


def variables_in(text: str) -> list[str]:
    """The names of the variables `text` (a manifest string as written) references, in order, once each:
    what a message about a substituted value names instead of the value (which may be a secret)."""
    return list(dict.fromkeys(name for name, _ in references_in(text)))


def references_in(text: str) -> list[tuple[str, int]]:
    """Each variable `text` (a manifest string as written) references, with the offset of its `${`, in order
    (`$${` escapes and `${…}` naming no variable left out)."""
    found = []
    for match in _REFERENCE.finditer(text):
        name = match.group(2).partition(":-")[0]
        if not match.group(1) and _NAME.match(name):
            found.append((name, match.start()))
    return found


def variable_names_at(written: Any, path: Path) -> list[str]:
    """The names of the variables the node at `path` of `written` (the data as written, before substitution)
    references (`variables_in`); [] when it names none or the path is not there."""
    text = written_text_at(written, path)
    return variables_in(text) if text is not None else []


def written_text_at(written: Any, path: Path) -> str | None:
    """The string at `path` of `written` (the data as written, before substitution); None when the path is not
    there or holds no string."""
    node = written
    for element in path:
        try:
            node = node[element]
        except (KeyError, IndexError, TypeError):
            return None
    return node if isinstance(node, str) else None


def variables_at(written: Any, path: Path) -> str:
    """" (from ${A}, ${B})" naming the variables the node at `path` of `written` (the data as written, before
    substitution) references; "" when it names none or the path is not there."""
    names = variable_names_at(written, path)
    return f" (from {', '.join('${' + n + '}' for n in names)})" if names else ""


def _invalid_reference(text: str, match: re.Match[str]) -> str:
    """The error for `${…}` that names no variable. Most are a template's `${{ x }}` (a price, a shell
    snippet) meant literally, so the message shows the `$${` escape on the text as written."""
    written = match.group(0) + ("}" if text.startswith("}", match.end()) else "")
    return (f"invalid variable reference {written}: a variable name is letters, digits and _ (not starting "
            f"with a digit); to write a literal ${{ here, write $${{ (${written})")
