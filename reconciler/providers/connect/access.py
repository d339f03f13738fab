"""Effective access in CommCare Connect (``plan.access``), derived purely from a state already
read.

Paths (docs/connect-api.md#automation-api): the program-manager organisation administers its program
and the program's opportunities (``program manager``); an accepted partner organisation reads
the program (``partner``) and runs the opportunities it delivers (``delivers``, write); a worker
invited to an opportunity works on it (``invited worker``, write). Principals are organisations
(``connect.organization.<slug>``) and workers by phone number (``connect.worker.<E.164>``).
"""

from __future__ import annotations

from reconciler.model.state import State
from reconciler.plan.access import AccessView, Grant, Principal
from reconciler.providers.connect.compile import NAME


def _org(slug: object) -> str:
    return f"{NAME}.organization.{slug}"


def _grants(state: State) -> list[Grant]:
    """Every grant ``state`` gives (live or desired: the same derivation on both sides)."""
    out: list[Grant] = []
    manager: dict[str, str] = {}
    for p in state.of_kind(NAME, "program"):
        org = p.attributes.get("organization")
        if isinstance(org, str):
            manager[p.address.name] = org
            out.append(Grant(_org(org), str(p.address), "admin", "program manager"))
    for partner in state.of_kind(NAME, "partner"):
        program, org = partner.address.name.split("/", 1)
        if partner.pending is None:
            out.append(Grant(_org(org), f"{NAME}.program.{program}", "read", "partner"))
    for opp in state.of_kind(NAME, "opportunity"):
        program = opp.address.name.split("/", 1)[0]
        if program in manager:
            out.append(Grant(_org(manager[program]), str(opp.address), "admin", "program manager"))
        org = opp.attributes.get("organization")
        if isinstance(org, str):
            out.append(Grant(_org(org), str(opp.address), "write", "delivers"))
    for invite in state.of_kind(NAME, "invite"):
        program, opportunity, phone = invite.address.name.split("/", 2)
        target = f"{NAME}.opportunity.{program}/{opportunity}"
        out.append(Grant(f"{NAME}.worker.{phone}", target, "write", "invited worker"))
    return out


def access(desired: State, live: State) -> AccessView:
    """Connect's ``AccessView``: live and intended grants on programs and opportunities."""
    resources = dict.fromkeys(
        str(r.address)
        for state in (live, desired)
        for kind in ("program", "opportunity")
        for r in state.of_kind(NAME, kind)
    )
    grants, intended = _grants(live), _grants(desired)
    kinds = {"organization": "organization", "worker": "worker"}
    who = sorted({g.principal for g in (*grants, *intended)})
    return AccessView(
        grants=tuple(grants),
        intended=tuple(intended),
        resources=tuple(sorted(resources)),
        principals=tuple(Principal(w, kinds[w.split(".")[1]]) for w in who),
    )
