"""Apps: created with their environments in one request, renamed or described, given
server-side encryption (an E2EE app, through the console), deleted.

``POST /v1/apps/`` makes the app and its environments in one transaction
(docs/phase-api.md#apps): the answer's environments are remembered, so the environment changes
of the same plan find them made. After a lost answer the app is looked up by name and adopted,
and its environments are listed.
"""

from __future__ import annotations

from typing import Any

from reconciler.errors import ProviderError
from reconciler.plan.change import Change
from reconciler.providers.base import Outcome
from reconciler.providers.kit.create import create_once
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase import payloads as p
from reconciler.providers.phase.actions.context import Handler, Work, deleting, live_id
from reconciler.providers.phase.rules.common import strings


def environments_of(work: Work, app_id: str, address: object) -> list[p.Environment]:
    """The environments of an app the applier holds a key for (all of an app it made)."""
    return work.client.decoded(
        p.Listing[p.Environment],
        "GET",
        "/v1/environments/",
        params={"app_id": app_id},
        address=address,
    ).data


def create(work: Work, change: Change) -> Outcome:
    a = change.address
    want = change.resource.attributes
    envs = strings(change.resource.meta.get("environments"))
    body: dict[str, Any] = {"name": a.name}
    if want.get("description"):
        body["description"] = n.as_written(change.resource, "description")
    if envs and envs != n.DEFAULT_ENVIRONMENTS:
        body["environments"] = envs
    made = create_once(
        lambda: work.client.decoded(p.AppMade, "POST", "/v1/apps/", body=body, address=a),
        lambda: work.find("/v1/apps/", a.name, a),
    )
    app = made.value
    work.remember("apps", a.name, app.id)
    with work.lock:
        work.index.app_sse[a.name] = True
    listed = (
        app.environments
        if isinstance(app, p.AppMade) and not made.adopted
        else environments_of(work, app.id, a)
    )
    for env in listed:
        work.remember("envs", n.env_key(a.name, env.name), env.id)
    return Outcome(server_id=app.id, message="adopted existing app" if made.adopted else None)


def update(work: Work, change: Change) -> Outcome:
    a = change.address
    want = change.resource.attributes
    app_id = live_id(change)
    if any(d.path == "sse" for d in change.diffs) and want.get("sse") is True:
        enable_sse(work, change, app_id)
    body = {
        d.path: n.as_written(change.resource, d.path)
        for d in change.diffs
        if d.path in ("name", "description")
    }
    if body:
        work.client.request("PUT", f"/v1/apps/{app_id}/", body=body, address=a)
    return Outcome(server_id=app_id)


def enable_sse(work: Work, change: Change, app_id: str) -> None:
    """Wrap every environment key of an E2EE app for the server, then ``initEnvSync``: from
    then on the REST API manages the app (docs/phase-api.md#sse-and-e2ee-apps)."""
    a = change.address
    if not work.e2ee:
        raise ProviderError(a, "enabling server-side encryption needs a console session")
    assert work.console is not None
    with work.lock:
        envs = {k: v for k, v in work.index.envs.items() if n.split_key(k)[0] == a.name}
    server = work.console.server_public_key()
    keys = work.keys().server_keys(envs, server, a)
    work.console.init_env_sync(app_id, keys, a)
    with work.lock:
        work.index.app_sse[a.name] = True


HANDLER = Handler(create=create, update=update, delete=deleting("apps"))
