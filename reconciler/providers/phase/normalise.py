"""Normalisation and validation shared by the desired and the live side, so a converged
organisation diffs empty (docs/phase-api.md#drift-traps):

* text is compared as the server's ``validate_text_field`` stores it (``sanitise.clean_text``:
  Django's HTML-parser ``strip_tags``, control characters other than tab/LF/CR, trim); the
  text sent is the user's, as written, so the server applies its own rule once;
* a blank app description is ``None`` (the server stores null), a blank role or team
  description ``""``;
* access sets are sorted, apps without environments dropped;
* names are compared the way the server compares them: e-mails lower-cased, role and
  environment names case-insensitively (default roles are referenced in any case);
* instants are ``datetime`` values, never strings; token lifetimes are whole minutes.

Name and e-mail rules are the server's, so a spec the server would refuse fails ``validate``
instead, and one it accepts passes.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping, Sequence

from reconciler.model.resource import JSON, Resource
from reconciler.providers.phase.sanitise import Suspicious, clean_email, clean_text

# The server's ENV_NAME_RE, with ``$`` (a trailing newline passes it, as on the server).
ENV_NAME = re.compile(r"^[a-zA-Z0-9\-_]{1,64}$")
NAME_MAX = 64

DEFAULT_ROLES = ("Owner", "Admin", "Manager", "Developer", "Service")
GLOBAL_ROLES = frozenset({"Owner", "Admin"})
# Default roles that may mint service-account tokens (ServiceAccountTokens:create): members
# without an identity key cannot be given them, and invites with them are refused.
TOKEN_MINTING_ROLES = frozenset({"Owner", "Admin", "Manager"})
DEFAULT_ENVIRONMENTS = ["Development", "Staging", "Production"]

ACTIONS = ("create", "read", "update", "delete")
ORG_PERMISSIONS: dict[str, tuple[str, ...]] = {
    **{
        c: ACTIONS
        for c in (
            "Organisation",
            "Billing",
            "Apps",
            "Members",
            "MemberPersonalAccessTokens",
            "ServiceAccounts",
            "ServiceAccountTokens",
            "ExternalIdentities",
            "Roles",
            "IntegrationCredentials",
            "NetworkAccessPolicies",
            "SSO",
            "Teams",
            "SCIM",
            "LogStreams",
        )
    },
    "Logs": ("read",),
}
APP_PERMISSIONS: dict[str, tuple[str, ...]] = {
    **{
        c: ACTIONS
        for c in (
            "Environments",
            "Secrets",
            "DynamicSecretLeases",
            "RotatingSecrets",
            "Lockbox",
            "Logs",
            "Tokens",
            "Members",
            "ServiceAccounts",
            "Integrations",
            "Teams",
        )
    },
    "EncryptionMode": ("read", "update"),
}


def text(value: str | None) -> str:
    """What ``validate_text_field`` stores for ``value`` ("" for ``None``). A text the server
    refuses as suspicious (``text_problem`` says so at validate time) is only trimmed."""
    if value is None:
        return ""
    try:
        return clean_text(value)
    except Suspicious:
        return value.strip()


def text_problem(value: str, what: str, max_length: int) -> str | None:
    """Why the server would refuse ``value`` for a text field of ``max_length`` characters
    (counted after sanitising, as the server counts them)."""
    try:
        cleaned = clean_text(value)
    except Suspicious as exc:
        return f"{what} is refused by the server as suspicious HTML ({exc})"
    if len(cleaned) > max_length:
        return f"{what} is longer than {max_length} characters once sanitised"
    return None


def email_problem(email: str) -> str | None:
    """Why the server would refuse ``email`` as a member's address (Django's EmailValidator
    on the trimmed, lower-cased text), or would store it differently."""
    cleaned = clean_email(email)
    if cleaned is None:
        return f"{email!r} is not an e-mail address the server accepts"
    if email.strip() != email:
        return f"e-mail {email!r} would be stored as {cleaned!r} (spaces trimmed)"
    return None


def app_description(value: str | None) -> str | None:
    """Apps store a blank description as null."""
    return text(value) or None


# Meta key of a desired resource: the user's text of its sanitised attributes, as written.
AS_WRITTEN = "as_written"


def written(**fields: str | None) -> dict[str, JSON]:
    """``{AS_WRITTEN: fields}`` for a desired resource's meta (compile)."""
    return {AS_WRITTEN: dict(fields)}


def as_written(resource: Resource, field: str) -> JSON:
    """The value to send for a sanitised attribute: the user's text as written, so the server
    applies its own rule to it once (sanitising is not idempotent: ``"<\\x00b>x</b>"`` is stored
    as ``"<b>x"``, which would be stored as ``"x"`` if sent again); the attribute when the
    resource carries no such text (e.g. a plan saved by an earlier version). Blank is ``""``."""
    raw = resource.meta.get(AS_WRITTEN)
    value = raw.get(field) if isinstance(raw, Mapping) and field in raw else None
    if value is None:
        value = resource.attributes.get(field)
    return "" if value is None else value


def live_text(value: str | None) -> str:
    """A text read from the server, compared as stored: it is not sanitised again (the server
    sanitised what it was sent; a text set elsewhere that the server would clean shows as a
    change, and applying it sends the desired text for the server to clean)."""
    return value or ""


def live_app_description(value: str | None) -> str | None:
    """An app description read from the server (blank is null, as the server stores it)."""
    return value if value and value.strip() else None


def access(grants: Mapping[str, Iterable[str]]) -> dict[str, JSON]:
    """``{app: [env, ...]}`` with env names sorted and apps without envs dropped."""
    return {app: sorted(set(envs)) for app, envs in sorted(grants.items()) if envs}


def permissions(mapping: Mapping[str, Sequence[str]]) -> dict[str, JSON]:
    """Permission classes with sorted actions; classes without actions dropped."""
    return {cls: sorted(set(actions)) for cls, actions in sorted(mapping.items()) if actions}


def default_role(name: str) -> str | None:
    """The canonical name of a default role written in any case, else ``None``."""
    return next((r for r in DEFAULT_ROLES if r.lower() == name.lower()), None)


def is_global(role: str | None, global_roles: Iterable[str] = GLOBAL_ROLES) -> bool:
    """Whether ``role`` (a canonical name) has global access."""
    return role is not None and role.lower() in {g.lower() for g in global_roles}


def env_key(app: str, env: str) -> str:
    """The name part of an environment's (or token's) address: ``app/env``."""
    return f"{app}/{env}"


def split_key(key: str) -> tuple[str, str]:
    """Inverse of ``env_key``: environment and token names never hold a ``/``."""
    head, _, tail = key.rpartition("/")
    return head, tail


def without(
    grants: Mapping[str, Sequence[str]], covered: Mapping[str, Sequence[str]]
) -> dict[str, JSON]:
    """Access minus what the principal's teams already grant.

    Access views mix individual and team-granted keys and cannot tell them apart
    (docs/phase-api.md#members, #team-and-individual-access), so the managed ``access`` attribute of
    a member or service account is its grants *not* covered by one of its teams, computed the same
    way on both sides; an access update still sends the principal's complete individual set.
    """
    out: dict[str, list[str]] = {}
    for app, envs in grants.items():
        held = set(covered.get(app, ()))
        rest = [e for e in envs if e not in held]
        if rest:
            out[app] = rest
    return access(out)


def instant(value: str | datetime.datetime) -> datetime.datetime:
    """An aware UTC ``datetime`` from ISO-8601 text (``...Z`` or an offset) or a datetime."""
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value.astimezone(datetime.UTC)


def lifetime(created: datetime.datetime, expires: datetime.datetime | None) -> int | None:
    """A token's lifetime in seconds, rounded to the minute (``None``: never expires)."""
    if expires is None:
        return None
    return minutes(int((instant(expires) - instant(created)).total_seconds()))


def minutes(seconds: int | None) -> int | None:
    """Seconds rounded to a whole number of minutes (at least one)."""
    if seconds is None:
        return None
    return max(60, round(seconds / 60) * 60)


def name_problem(name: str, what: str) -> str | None:
    """Why the server would refuse or alter ``name`` (apps, roles, SAs, teams, tokens)."""
    if not name.strip():
        return f"{what} name must not be blank"
    if text(name) != name:
        return f"{what} name {name!r} would be stored as {text(name)!r} (HTML and spaces trimmed)"
    if len(name) > NAME_MAX:
        return f"{what} name is longer than {NAME_MAX} characters"
    return None


def env_name_problem(name: str) -> str | None:
    """Why the server would refuse an environment name."""
    if not ENV_NAME.match(name):
        return (
            f"environment name {name!r} must be 1 to 64 letters, digits, '-' or '_' "
            "(as the server requires)"
        )
    return None


def permission_problems(
    mapping: Mapping[str, Sequence[str]], valid: Mapping[str, tuple[str, ...]]
) -> list[tuple[str, str]]:
    """``(class, message)`` for each unknown class or action the server would refuse."""
    out: list[tuple[str, str]] = []
    for cls, actions in mapping.items():
        if cls not in valid:
            out.append((cls, f"unknown permission class {cls!r}"))
            continue
        for action in actions:
            if action not in valid[cls]:
                allowed = ", ".join(valid[cls])
                out.append((cls, f"{cls}: unknown action {action!r} (one of {allowed})"))
    return out
