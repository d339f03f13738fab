"""Effective access in Flagsmith (``plan.access``), derived purely from a state already read.

Paths (docs/flagsmith-api.md#permissions): an organisation ``ADMIN`` reaches every project and
environment (``role ADMIN (organisation)``); a user's own project or environment permission
(``direct``); a group's permission reaches each member of the group (``group backend``). A
project permission with ``admin`` gives ``admin`` on the project and its environments; one
holding only ``VIEW_*`` permissions gives ``read``; any other permission gives ``write``.
"""

from __future__ import annotations

from reconciler.model.resource import Resource
from reconciler.model.state import State
from reconciler.plan.access import AccessView, Grant, Principal
from reconciler.providers.flagsmith.compile import NAME

_PROJECT, _ENV = f"{NAME}.project.", f"{NAME}.environment."


def _right(r: Resource) -> str | None:
    if r.attributes.get("admin") is True:
        return "admin"
    perms = r.attributes.get("permissions")
    listed = [str(p) for p in perms] if isinstance(perms, list) else []
    if not listed:
        return None
    return "read" if all(p.startswith("VIEW_") for p in listed) else "write"


def _grants(state: State) -> list[Grant]:
    """Every grant ``state`` gives (live or desired: the same derivation on both sides)."""
    projects = [r.address.name for r in state.of_kind(NAME, "project")]
    envs = [r.address.name for r in state.of_kind(NAME, "environment")]
    members: dict[str, list[str]] = {}
    for gm in state.of_kind(NAME, "group_member"):
        group, email = gm.address.name.split("/", 1)
        members.setdefault(group, []).append(f"{NAME}.member.{email}")
    out: list[Grant] = []
    for m in state.of_kind(NAME, "member"):
        if m.pending is None and m.attributes.get("role") == "ADMIN":
            path = "role ADMIN (organisation)"
            out += [Grant(str(m.address), _PROJECT + p, "admin", path) for p in projects]
            out += [Grant(str(m.address), _ENV + e, "admin", path) for e in envs]
    for kind in ("project_permission", "environment_permission"):
        for perm in state.of_kind(NAME, kind):
            right = _right(perm)
            scope, who = perm.address.name.rsplit("/", 1)
            if right is None or ":" not in who:
                continue
            targets = [_PROJECT + scope] if kind == "project_permission" else [_ENV + scope]
            if kind == "project_permission" and right == "admin":
                targets += [_ENV + e for e in envs if e.split("/", 1)[0] == scope]
            what, ref = who.split(":", 1)
            if what == "user":
                holders, path = [f"{NAME}.member.{ref}"], "direct"
            else:
                holders, path = [f"{NAME}.group.{ref}", *members.get(ref, [])], f"group {ref}"
            out += [Grant(h, t, right, path) for h in holders for t in targets]
    return out


def access(desired: State, live: State) -> AccessView:
    """Flagsmith's ``AccessView``: live and intended grants on projects and environments,
    members (pending invites) and groups. Integration secrets are reported from the state
    store's fingerprints by the report itself."""
    resources = dict.fromkeys(
        f"{NAME}.{r.address.kind}.{r.address.name}"
        for state in (live, desired)
        for kind in ("project", "environment")
        for r in state.of_kind(NAME, kind)
    )
    principals = [
        Principal(str(r.address), r.address.kind, r.pending)
        for kind in ("member", "group")
        for state in (live, desired)
        for r in state.of_kind(NAME, kind)
        if state is live or r.address not in live
    ]
    return AccessView(
        grants=tuple(_grants(live)),
        intended=tuple(_grants(desired)),
        resources=tuple(sorted(resources)),
        principals=tuple(principals),
    )
