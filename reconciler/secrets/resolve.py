"""Value resolution: ``${env:NAME}``, ``${file:path}`` and ``!encrypted <token>`` in spec values.

Rules:

* ``${env:NAME}`` is the value of environment variable ``NAME`` (set but empty is allowed).
* ``${file:path}`` is the UTF-8 text of a file, trailing newlines stripped; a relative path is
  relative to the directory of the spec file holding the value; ``~`` is expanded.
* References may appear anywhere in a string, several times (``Bearer ${env:TOKEN}``);
  ``$${`` writes a literal ``${``.
* ``!encrypted <token>`` is a Fernet token decrypted with ``RECONCILER_SECRET_KEY``.
* A string that used at least one reference, and every decrypted value, becomes a ``Reference``,
  which is the only kind of string a ``SecretField`` accepts. Other strings are left as they are.
* Only values are resolved, never mapping keys.

Errors are ``SpecError``s at the value's location; their messages name the variable, the file
path or the key variable, never a resolved value.

Without ``strict_env`` (how ``validate`` runs, so that it needs no credentials) an unset
``${env:…}`` variable, and an unset ``RECONCILER_SECRET_KEY`` for ``!encrypted`` values, are
*notes* rather than errors: the value is left unresolved (an empty ``Reference``) and its path is
listed in ``failed`` so schema errors under it are not reported. A variable that is set is
still used, and every other problem (bad name, unreadable file, wrong key) is still an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import MultiFernet

from reconciler.errors import Location, SpecError
from reconciler.secrets import fernet
from reconciler.secrets.fernet import MissingKeyError, SecretsError
from reconciler.secrets.field import Reference
from reconciler.secrets.value import Secret

NodePath = tuple[str | int, ...]

_TOKEN = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class UnsetVariableError(SecretsError):
    """A ``${env:NAME}`` whose variable is not set."""


class Encrypted(str):
    """The token text of an ``!encrypted`` scalar, as produced by the loader (not yet decrypted)."""

    __slots__ = ()


def interpolate(text: str, *, env: Mapping[str, str], base_dir: Path) -> str | Reference:
    """Resolve every ``${env:…}``/``${file:…}`` in ``text``.

    Returns a ``Reference`` when at least one reference was used, else ``text`` with ``$${``
    unescaped. Raises ``SecretsError`` (message free of resolved values) on a missing variable,
    an unreadable file or a malformed reference.
    """
    if "${" not in text:
        return text
    parts: list[str] = []
    used = False
    pos = 0
    for match in _TOKEN.finditer(text):
        parts.append(text[pos : match.start()])
        pos = match.end()
        token = match.group(0)
        if token == "$${":
            parts.append("${")
            continue
        if match.group(1) is None:
            raise SecretsError("unterminated '${' (write '$${' for a literal '${')")
        parts.append(_reference(match.group(1), env=env, base_dir=base_dir))
        used = True
    parts.append(text[pos:])
    joined = "".join(parts)
    return Reference(joined) if used else joined


def _reference(body: str, *, env: Mapping[str, str], base_dir: Path) -> str:
    scheme, sep, arg = body.partition(":")
    scheme = scheme.strip()
    if not sep or scheme not in ("env", "file"):
        raise SecretsError(f"unknown reference '${{{body}}}' (use ${{env:NAME}} or ${{file:path}})")
    arg = arg.strip()
    if scheme == "env":
        if not _ENV_NAME.match(arg):
            raise SecretsError(f"invalid environment variable name {arg!r} in ${{env:…}}")
        if arg not in env:
            raise UnsetVariableError(f"environment variable {arg!r} is not set")
        return env[arg]
    if not arg:
        raise SecretsError("empty path in ${file:…}")
    path = Path(arg).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    try:
        content = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SecretsError(f"file {arg!r} is not UTF-8 text") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SecretsError(f"cannot read file {arg!r}: {reason.lower()}") from None
    return content.rstrip("\r\n")


@dataclass
class Resolution:
    """Outcome of ``resolve_values``.

    ``data``: the values with references resolved (a failed value is replaced by an empty
    ``Reference`` so validation can go on). ``errors``: one ``SpecError`` per failed value.
    ``failed``: paths of failed or unresolved values (validation errors under them are noise and
    should be dropped). ``secrets``: every resolved value, for redaction of later messages.
    ``notes``: values left unresolved without ``strict_env`` (unset variables), located.
    """

    data: Any
    errors: list[SpecError] = field(default_factory=list)
    notes: list[SpecError] = field(default_factory=list)
    failed: set[NodePath] = field(default_factory=set)
    secrets: list[Secret] = field(default_factory=list)


def resolve_values(
    data: Any,
    *,
    locate: Callable[[NodePath], Location | None],
    env: Mapping[str, str],
    paths: Iterable[NodePath] | None = None,
    strict_env: bool = True,
) -> Resolution:
    """Resolve the values of the plain ``data`` tree (dicts, lists, scalars, ``Encrypted``).

    ``locate(path)`` gives the location of the value at ``path``; its file's directory is the
    base of relative ``${file:}`` paths. With ``paths`` (the loader's ``references``: every
    string holding ``${`` and every ``Encrypted``), only those values are looked at and ``data``
    is updated in place; otherwise the whole tree is walked and copied. Collects all errors
    rather than stopping at the first. ``strict_env``: see the module docstring.
    """
    result = Resolution(data=None)
    rings: list[MultiFernet] = []  # built on first use: a spec without !encrypted needs no key

    def decrypt(token: str) -> str:
        if not rings:
            rings.append(fernet.keyring(env))
        return fernet.decrypt_with(rings[0], token)

    def resolve(value: str, path: NodePath) -> str:
        location = locate(path)
        try:
            if isinstance(value, Encrypted):
                resolved: str = Reference(decrypt(str(value)))
            else:
                base_dir = Path(location.file).parent if location else Path.cwd()
                resolved = interpolate(value, env=env, base_dir=base_dir)
        except (UnsetVariableError, MissingKeyError) as exc:
            if strict_env:
                result.errors.append(SpecError(str(exc), location))
            else:
                result.notes.append(SpecError(f"{exc} (plan and apply need it)", location))
            result.failed.add(path)
            return Reference("")
        except SecretsError as exc:
            result.errors.append(SpecError(str(exc), location))
            result.failed.add(path)
            return Reference("")
        if isinstance(resolved, Reference):
            result.secrets.append(Secret(str(resolved)))
        return resolved

    def walk(value: Any, path: NodePath) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, (*path, i)) for i, v in enumerate(value)]
        if not isinstance(value, str):
            return value
        return resolve(value, path)

    if paths is None:
        result.data = walk(data, ())
        return result
    for path in paths:
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        value = parent[path[-1]]
        if isinstance(value, str):
            parent[path[-1]] = resolve(value, path)
    result.data = data
    return result
