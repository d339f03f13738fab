"""Sending a principal's access: a REST update when it is safe, console steps for E2EE apps.

An access update replaces a principal's whole set
(docs/phase-api.md#access-updates-replace-the-whole-set), so it always carries the complete
desired individual set. For a principal holding access to an
end-to-end encrypted app, a REST update would revoke it and wipe its keys
(docs/phase-api.md#e2ee-revocation-hazard): without a console session it is refused here once
more (``check`` refused it already); with one, ``rules.common.principal_steps`` (the same
function the plan showed) splits the work into a REST update for SSE apps and console steps for
E2EE apps, whose environment keys the applier wraps for the recipient's identity key, refused
when that key changed since the plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.crypto.keyring import key_fingerprint
from reconciler.errors import ProviderError
from reconciler.model.resource import JSON
from reconciler.plan.change import Change
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase.actions.context import Work
from reconciler.providers.phase.e2ee import AccessSteps
from reconciler.providers.phase.rules.common import principal_steps, promotion_access, strings


def access_body(work: Work, grants: Mapping[str, Any], address: object) -> dict[str, Any]:
    """``{"apps": [{"id", "environments": [ids]}]}`` for ``{app: [env, ...]}``."""
    apps = []
    for app, envs in sorted(grants.items()):
        env_ids = [work.id("envs", n.env_key(app, e), address) for e in strings(envs)]
        apps.append({"id": work.id("apps", app, address), "environments": env_ids})
    return {"apps": apps}


def promotion(work: Work, e2ee: set[str]) -> dict[str, list[str]]:
    """``rules.common.promotion_access`` over the environments known now."""
    with work.lock:
        envs, held = list(work.index.envs), set(work.index.held)
    return promotion_access(envs, held, work.e2ee, e2ee)


def steps_for(work: Work, change: Change, want: Mapping[str, JSON]) -> AccessSteps:
    """The steps that send ``want`` (what the plan showed, computed by the same rule)."""
    e2ee = work.live_e2ee()
    with work.lock:
        global_roles = set(work.index.global_roles)
    found = principal_steps(change, e2ee, global_roles, lambda: promotion(work, e2ee), want)
    assert found is not None, "a principal change with a desired state has steps"
    return found


def put_access(work: Work, path: str, change: Change, grants: Mapping[str, Any]) -> None:
    """An access update (the whole set), guarded against the E2EE hazard once more."""
    held = strings(change.live.attributes.get("e2ee_access")) if change.live else []
    if held:
        raise ProviderError(
            change.address,
            f"refusing an access update: it would revoke access to {held[0]} "
            "(end-to-end encrypted or not visible to this token)",
        )
    body = access_body(work, grants, change.address)
    work.client.request("PUT", path, body=body, address=change.address)


def send_access(
    work: Work, change: Change, path: str, kind: str, principal_id: str, want: Mapping[str, JSON]
) -> None:
    """Give a member (``kind`` ``user``) or service account (``service``) exactly ``want``."""
    if not work.e2ee:
        put_access(work, path, change, want)
        return
    a = change.address
    steps = steps_for(work, change, want)
    if steps.put is not None:
        work.client.request("PUT", path, body=access_body(work, steps.put, a), address=a)
    if not steps.steps:
        return
    assert work.console is not None
    identity = recipient_key(work, change, kind, principal_id) if steps.wrapped() else ""
    holder = work.keys()
    needed = {n.env_key(app, env) for app, env in steps.wrapped()}
    if not needed <= holder.rows.keys():
        work.refresh_held()  # environments this run created hold the applier's key
    for step in steps.steps:
        envs = {
            n.env_key(step.app, e): work.id("envs", n.env_key(step.app, e), a)
            for e in step.environments
        }
        keys = holder.env_keys(envs, principal_id, identity, a) if envs else []
        app_id = work.id("apps", step.app, a)
        work.console.set_app_access(step.op, kind, principal_id, app_id, keys, a)


def recipient_key(work: Work, change: Change, kind: str, principal_id: str) -> str:
    """The recipient's identity key, refused when it is not the one the plan showed."""
    a = change.address
    key = work.identities().of(kind, principal_id)
    if key is None:
        key = work.identities(refresh=True).of(kind, principal_id)  # created by this run
    if key is None:
        raise ProviderError(
            a, "has no identity key yet (no login since the invite): no key can be wrapped"
        )
    planned = change.live.attributes.get("identity_key") if change.live else None
    if planned is not None and planned != key_fingerprint(key):
        raise ProviderError(
            a,
            f"identity key changed since the plan ({planned} -> {key_fingerprint(key)}): "
            "refusing to wrap environment keys for it; check who holds this account, then "
            "plan again",
        )
    return key
