"""Planning rules of the Flagsmith provider (pure): notes, cascades and refusals.

``refine``:

* a write-only secret nobody applied from here (``adopted`` in the read's context) is noted
  once: ``cannot verify: write-only <field>``; the spec's value is adopted, not re-sent;
* a change that sends an Azure DevOps PAT says the server checks it against Azure DevOps (a
  rejected PAT fails that change alone, with the server's reason);
* deleting a project deletes its environments, grants, integrations and repository links with
  it: each becomes a delete of its own in the plan (counted by the delete limits, run before
  the project's), and the project's delete lists them as its ``cascade``.

``check`` refuses a plan that would leave the organisation without an ADMIN member (a removal
or a demotion of the last one).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from reconciler.address import Address
from reconciler.model.resource import JSON
from reconciler.model.state import State
from reconciler.plan.change import Action, Cascade, Change
from reconciler.plan.plan import Violation
from reconciler.providers.flagsmith.compile import NAME

ADO_PROBE = (
    "the server checks the personal access token against Azure DevOps "
    "({url}/_apis/projects); a rejected token fails this change alone"
)
CHILDREN = (
    "environment",
    "project_permission",
    "environment_permission",
    "integration",
    "repository",
)


def _adopted(live: State) -> dict[Address, list[str]]:
    ctx = live.context.get(NAME)
    out: dict[Address, list[str]] = {}
    if isinstance(ctx, Mapping):
        for item in ctx.get("adopted") or []:  # type: ignore[union-attr]
            address, _, name = str(item).rpartition(":")
            out.setdefault(Address.parse(address), []).append(name)
    return out


def refine(changes: Sequence[Change], desired: State, live: State) -> list[Change]:
    adopted = _adopted(live)
    planned = {c.address for c in changes}
    out: list[Change] = []
    for change in changes:
        warnings = list(change.warnings)
        names = adopted.get(change.address)
        if names:
            warnings.append(_cannot_verify(names))
        if _sends_pat(change):
            assert change.desired is not None
            warnings.append(ADO_PROBE.format(url=change.desired.attributes.get("organisation_url")))
        out.append(dataclasses.replace(change, warnings=tuple(warnings)))
    for address, names in sorted(adopted.items()):
        if address not in planned and address in desired and address in live:
            reason = _cannot_verify(names)
            out.append(
                Change(
                    Action.DEFERRED,
                    address,
                    desired=desired[address],
                    live=live[address],
                    reason=reason,
                )
            )
    return _cascade(out, live)


def _cannot_verify(names: list[str]) -> str:
    return (
        f"cannot verify: write-only {', '.join(sorted(names))} (set outside this tool); the "
        "spec's value is adopted and compared from now on"
    )


def _sends_pat(change: Change) -> bool:
    if change.address.kind != "integration" or change.desired is None:
        return False
    if change.desired.meta.get("kind") != "azure_devops":
        return False
    return change.action is Action.CREATE or any(
        d.path == "personal_access_token" for d in change.diffs
    )


def _cascade(changes: list[Change], live: State) -> list[Change]:
    deleted = {
        c.address.name: i
        for i, c in enumerate(changes)
        if c.action is Action.DELETE and c.address.kind == "project"
    }
    if not deleted:
        return changes
    planned = {c.address for c in changes}
    extra: list[Change] = []
    gone: dict[str, list[str]] = {}
    for resource in live.resources():
        project = resource.meta.get("project")
        if resource.address.kind not in CHILDREN or project not in deleted:
            continue
        gone.setdefault(str(project), []).append(str(resource.address))
        if resource.address not in planned:
            extra.append(
                Change(
                    Action.DELETE,
                    resource.address,
                    live=resource,
                    warnings=(f"deleted with project {project}",),
                )
            )
    out = list(changes)
    for name, index in deleted.items():
        children = tuple(sorted(Address.parse(a) for a in gone.get(name, [])))
        out[index] = dataclasses.replace(out[index], cascade=Cascade(children))
    return out + extra


def check(changes: Sequence[Change], desired: State, live: State) -> list[Violation]:
    admins = {
        r.address
        for r in live.of_kind(NAME, "member")
        if r.pending is None and r.attributes.get("role") == "ADMIN"
    }
    if not admins:
        return []
    losing = {
        c.address
        for c in changes
        if c.address in admins and (c.action is Action.DELETE or _role(c) not in (None, "ADMIN"))
    }
    promoted = [
        c
        for c in changes
        if c.action is Action.UPDATE and c.address not in admins and _role(c) == "ADMIN"
    ]
    if losing and losing == admins and not promoted:
        return [
            Violation(
                "flagsmith-last-admin",
                tuple(sorted(losing)),
                "the organisation would be left without an ADMIN member; keep one (or promote "
                "another member in the same plan)",
            )
        ]
    return []


def _role(change: Change) -> JSON:
    if change.action is not Action.UPDATE or change.desired is None:
        return None
    return change.desired.attributes.get("role")
