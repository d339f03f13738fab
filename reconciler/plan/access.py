"""Effective access: who can read what, across every managed system (pure; no I/O).

Each provider derives, from states it already read, an ``AccessView`` (its plugin's ``access``
function): every *grant* (principal x resource -> right, and the path that gives it) of the live
state and of the desired state (the spec's intent), the resources whose secrets are end-to-end
encrypted (key custody), its principals (with what they still have to do) and its credentials.
``build_report`` joins the views of every provider with the history the state store keeps
(revocations this tool applied, when write-only secrets were last set) into an
``AccessReport``; ``access_render`` turns it into text, json, markdown or html.

Rights are ordered ``read < write < admin``; a cell's effective right is the highest of its
grants, and every path is listed. A cell *differs* from the spec when its live right is not
the right the desired state gives (a grant the spec does not declare, or one it declares that
is not live yet).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from reconciler.model.resource import JSON
from reconciler.model.state import State

FORMAT = "reconciler.access/v1"
RIGHTS = ("read", "write", "admin")
RANK = {r: i for i, r in enumerate(RIGHTS, 1)}
E2EE_HELD = "E2EE key held"
SSE = "SSE: server decrypts"


@dataclass(frozen=True)
class Grant:
    """One path by which ``principal`` (an address string, e.g. ``phase.member.a@x.io``) has
    ``right`` on ``resource`` (an address string). ``path`` names it (``direct``, ``team
    backend``, ``role Admin (global)``); ``key`` says how secrets are decrypted on that
    resource (``E2EE key held``, ``SSE: server decrypts``) or is ``None``."""

    principal: str
    resource: str
    right: str
    path: str
    key: str | None = None


@dataclass(frozen=True)
class Principal:
    """A principal a provider knows: ``kind`` (member, service_account, team, group, ...);
    ``pending`` says what it still has to do (accept an invite, set up keys)."""

    address: str
    kind: str
    pending: str | None = None


@dataclass(frozen=True)
class Credential:
    """A credential read live: a token's age, expiry and rotation (``rotate_after`` seconds from
    the spec). Dates are ISO 8601 instants."""

    address: str
    owner: str
    created_at: str | None
    expires_at: str | None
    rotate_after: int | None = None


@dataclass(frozen=True)
class AccessView:
    """What one provider contributes (see the module docstring). ``e2ee`` maps every
    end-to-end encrypted resource to its server id (a new id is a new key)."""

    grants: tuple[Grant, ...] = ()
    intended: tuple[Grant, ...] = ()
    resources: tuple[str, ...] = ()
    principals: tuple[Principal, ...] = ()
    e2ee: Mapping[str, str | None] = field(default_factory=dict)
    credentials: tuple[Credential, ...] = ()
    notes: tuple[str, ...] = ()
    """What the provider could not see (e.g. grants only a console login reads)."""


AccessFn = Callable[[State, State], AccessView]
"""A provider's access derivation: ``(desired, live) -> AccessView`` (pure)."""


@dataclass(frozen=True)
class History:
    """What the state store remembers, as plain data (gathered by the caller):
    ``revocations``: resource -> ``[{"principal", "at", "id"}]`` (``id``: the resource's server
    id when access was revoked); ``secrets``: (address, attribute) -> ``{"at", "plan"}`` or
    ``None`` when the store has the fingerprint but not when it was set."""

    revocations: Mapping[str, Sequence[Mapping[str, JSON]]] = field(default_factory=dict)
    secrets: Mapping[tuple[str, str], Mapping[str, JSON] | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Cell:
    principal: str
    resource: str
    right: str | None
    paths: tuple[str, ...]
    intended: str | None
    intended_paths: tuple[str, ...]

    @property
    def differs(self) -> bool:
        return self.right != self.intended


@dataclass(frozen=True)
class Custody:
    """Key custody of one E2EE resource: holders now, revocation debt, single holder."""

    resource: str
    holders: tuple[str, ...]
    debt: tuple[Mapping[str, JSON], ...]


@dataclass(frozen=True)
class AccessReport:
    generated_at: str
    principals: tuple[Principal, ...]
    resources: tuple[str, ...]
    cells: tuple[Cell, ...]
    custody: tuple[Custody, ...]
    tokens: tuple[Mapping[str, JSON], ...]
    secrets: tuple[Mapping[str, JSON], ...]
    pending: tuple[Principal, ...]
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, JSON]:
        """The JSON document (``specs/access.schema.json``)."""
        return {
            "format": FORMAT,
            "generated_at": self.generated_at,
            "notes": list(self.notes),
            "principals": [
                {"address": p.address, "kind": p.kind, "pending": p.pending}
                for p in self.principals
            ],
            "resources": list(self.resources),
            "matrix": [
                {
                    "principal": c.principal,
                    "resource": c.resource,
                    "right": c.right,
                    "paths": list(c.paths),
                    "intended": c.intended,
                    "intended_paths": list(c.intended_paths),
                    "differs": c.differs,
                }
                for c in self.cells
            ],
            "key_custody": [
                {
                    "resource": k.resource,
                    "holders": list(k.holders),
                    "single_holder": len(k.holders) == 1,
                    "revocation_debt": [dict(d) for d in k.debt],
                }
                for k in self.custody
            ],
            "credentials": {
                "tokens": [dict(t) for t in self.tokens],
                "secrets": [dict(s) for s in self.secrets],
                "pending_principals": [
                    {"address": p.address, "pending": p.pending} for p in self.pending
                ],
            },
        }


def _best(grants: Iterable[Grant]) -> tuple[str | None, tuple[str, ...]]:
    found = list(grants)
    if not found:
        return None, ()
    right = max((g.right for g in found), key=RANK.__getitem__)
    paths = sorted({f"{g.path}; {g.key}" if g.key else g.path for g in found})
    return right, tuple(paths)


def _by_cell(grants: Iterable[Grant]) -> dict[tuple[str, str], list[Grant]]:
    out: dict[tuple[str, str], list[Grant]] = {}
    for g in grants:
        out.setdefault((g.principal, g.resource), []).append(g)
    return out


def principals_of(address: str) -> list[str]:
    """The principals (matrix rows) an address is about: a principal itself, or the principal a
    membership, permission or access object names (``drift --format html`` links to them)."""
    provider, kind, name = [*address.split(".", 2), "", ""][:3]
    if kind in ("member", "service_account", "team", "group"):
        return [address]
    last = name.rsplit("/", 1)[-1]
    if kind == "group_member":
        return [f"{provider}.member.{last}", f"{provider}.group.{name.split('/', 1)[0]}"]
    if kind in ("project_permission", "environment_permission") and ":" in last:
        who, ref = last.split(":", 1)
        return [f"{provider}.{'member' if who == 'user' else 'group'}.{ref}"]
    if kind in ("domain_admin", "mailbox_access"):
        return [f"{provider}.user.{last.lower()}"]
    if kind == "invite" and provider == "connect":
        return [f"{provider}.worker.{last}"]
    if kind == "partner":
        return [f"{provider}.organization.{last}"]
    return []


def _instant(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def _token(c: Credential, now: datetime) -> dict[str, JSON]:
    """A token's row: age in days, expiry, and whether rotation is due (past ``rotate_after``
    or expired)."""
    created, expires = _instant(c.created_at), _instant(c.expires_at)
    age = (now - created).total_seconds() if created else None
    expired = expires is not None and expires <= now
    due = expired or (c.rotate_after is not None and age is not None and age >= c.rotate_after)
    return {
        "address": c.address,
        "owner": c.owner,
        "created_at": c.created_at,
        "expires_at": c.expires_at,
        "age_days": int(age // 86400) if age is not None else None,
        "rotate_after_days": c.rotate_after // 86400 if c.rotate_after is not None else None,
        "expired": expired,
        "rotation_due": due,
    }


def _secrets(live: State, history: History) -> list[dict[str, JSON]]:
    """Write-only values of live objects: known only by fingerprint, with when they were set."""
    out: list[dict[str, JSON]] = []
    for r in live.resources():
        for name in sorted(r.sensitive):
            known = r.attributes.get(name) is not None
            when = history.secrets.get((str(r.address), name))
            out.append(
                {
                    "address": str(r.address),
                    "attribute": name,
                    "fingerprint_known": known,
                    "set_at": when.get("at") if when else None,
                    "set_by_plan": when.get("plan") if when else None,
                }
            )
    return out


def _custody(
    views: Sequence[AccessView], cells: Mapping[tuple[str, str], list[Grant]], history: History
) -> list[Custody]:
    out: list[Custody] = []
    for view in views:
        for resource, server_id in sorted(view.e2ee.items()):
            holders = sorted({p for (p, r), gs in cells.items() if r == resource and _holds(gs)})
            debt = [
                {"principal": d.get("principal"), "revoked_at": d.get("at")}
                for d in history.revocations.get(resource, ())
                # same key (the resource was not recreated) and no key held again since
                if d.get("id") in (None, server_id) and d.get("principal") not in holders
            ]
            out.append(Custody(resource, tuple(holders), tuple(debt)))
    return out


def _holds(grants: Sequence[Grant]) -> bool:
    return any(g.key == E2EE_HELD for g in grants)


def build_report(
    desired: State,
    live: State,
    derive: Mapping[str, AccessFn],
    history: History,
    now: datetime,
    *,
    principal: str | None = None,
    resource: str | None = None,
) -> AccessReport:
    """The report of ``derive``'s providers present in ``desired`` or ``live``; ``principal`` /
    ``resource`` keep only the rows / columns whose address contains that text."""
    providers = {a.provider for a in desired} | {a.provider for a in live}
    views = [
        fn(desired.of_provider(name), live.of_provider(name))
        for name, fn in derive.items()
        if name in providers
    ]
    live_cells = _by_cell(g for v in views for g in v.grants)
    want_cells = _by_cell(g for v in views for g in v.intended)
    principals = {p.address: p for v in views for p in v.principals}
    for p_addr, _ in [*live_cells, *want_cells]:
        principals.setdefault(p_addr, Principal(p_addr, p_addr.split(".")[1]))
    resources = list(dict.fromkeys(r for v in views for r in v.resources))
    if principal:
        principals = {a: p for a, p in principals.items() if principal in a}
    if resource:
        resources = [r for r in resources if resource in r]
    cells: list[Cell] = []
    for p_addr in sorted(principals):
        for r in resources:
            right, paths = _best(live_cells.get((p_addr, r), ()))
            want, want_paths = _best(want_cells.get((p_addr, r), ()))
            if right or want:
                cells.append(Cell(p_addr, r, right, paths, want, want_paths))
    custody = [
        k for k in _custody(views, live_cells, history) if not resource or resource in k.resource
    ]
    creds = sorted((c for v in views for c in v.credentials), key=lambda c: c.address)
    pending = [p for a, p in sorted(principals.items()) if p.pending]
    return AccessReport(
        generated_at=now.isoformat(timespec="seconds"),
        principals=tuple(principals[a] for a in sorted(principals)),
        resources=tuple(resources),
        cells=tuple(cells),
        custody=tuple(custody),
        tokens=tuple(_token(c, now) for c in creds if not principal or principal in c.owner),
        secrets=tuple(
            s for s in _secrets(live, history) if not resource or resource in str(s["address"])
        ),
        pending=tuple(pending),
        notes=tuple(n for v in views for n in v.notes),
    )
