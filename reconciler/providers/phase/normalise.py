"""Normalisation shared by the desired and the live side, so a converged organisation diffs
empty (contracts/phase.md §8 item 13): text sanitised as the server does, blank descriptions as
the server stores them, access sets sorted, names compared case-insensitively where the server
does."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from reconciler.model.resource import JSON

_TAGS = re.compile(r"<[^>]*>")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
GLOBAL_ROLES = frozenset({"owner", "admin"})
DEFAULT_ROLES = ("Owner", "Admin", "Manager", "Developer", "Service")
DEFAULT_ENVIRONMENTS = ["Development", "Staging", "Production"]


def text(value: str | None) -> str:
    """``validate_text_field``: strip HTML tags and control characters, then trim."""
    if value is None:
        return ""
    return _CONTROL.sub("", _TAGS.sub("", value)).strip()


def app_description(value: str | None) -> str | None:
    """Apps store a blank description as null."""
    return text(value) or None


def access(grants: Mapping[str, Sequence[str]]) -> dict[str, JSON]:
    """``{app: [env, ...]}`` with env names sorted and apps without envs dropped."""
    return {app: sorted(set(envs)) for app, envs in sorted(grants.items()) if envs}


def permissions(mapping: Mapping[str, Sequence[str]]) -> dict[str, JSON]:
    """Permission classes with sorted actions; classes without actions dropped."""
    return {cls: sorted(set(actions)) for cls, actions in sorted(mapping.items()) if actions}


def is_global(role: str | None) -> bool:
    return role is not None and role.lower() in GLOBAL_ROLES


def env_key(app: str, env: str) -> str:
    """The name part of an environment's address: ``app/env``."""
    return f"{app}/{env}"


def without(
    grants: Mapping[str, Sequence[str]], covered: Mapping[str, Sequence[str]]
) -> dict[str, JSON]:
    """Access minus what the principal's teams already grant.

    Access views mix individual and team-granted keys and cannot tell them apart
    (contracts/phase.md §5.5, §7), so the managed ``access`` attribute of a member or service
    account is its grants *not* covered by one of its teams, computed the same way on both
    sides; the complete desired set is still what an access PUT sends.
    """
    out: dict[str, list[str]] = {}
    for app, envs in grants.items():
        rest = [e for e in envs if e not in set(covered.get(app, ()))]
        if rest:
            out[app] = rest
    return access(out)
