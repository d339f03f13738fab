"""Applying one change to Flagsmith: one handler per kind, chosen from a table.

Creates go through ``kit.create.create_once`` (an ambiguous failure is followed by a lookup
by natural key, so nothing is created twice); a 400 saying the object already exists (an
integration's one configuration per project, a unique name) is adopted the same way, then
brought to the spec with a PATCH. Updates PATCH only what changed; a write-only secret is sent
only when the plan changes it and a placeholder is never sent (``kit.writeonly``). Deletes
accept 404 (already gone). Members: an unknown e-mail is invited (the member stays pending
until the invite is accepted); a role changes through ``update-role``; removal is
``remove-users`` (or cancelling the invite).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reconciler.errors import ProviderError
from reconciler.plan.change import Action, Change
from reconciler.providers.base import Outcome
from reconciler.providers.flagsmith import payloads as p
from reconciler.providers.flagsmith.client import FlagsmithClient
from reconciler.providers.flagsmith.compile import SECRETS, SLUGS
from reconciler.providers.flagsmith.live import PENDING, Ids
from reconciler.providers.kit.create import create_once
from reconciler.providers.kit.writeonly import secret_fields, without_placeholders

Handler = Callable[["Actions", Change], Outcome]


def _exists(exc: ProviderError) -> bool:
    return exc.status == 400 and "already" in str(exc)


class Actions:
    """Executes changes with ``client``; ``ids`` holds the server ids read and made so far."""

    def __init__(self, client: FlagsmithClient, ids: Ids) -> None:
        self.client = client
        self.ids = ids

    @property
    def org(self) -> str:
        return f"/organisations/{self.ids.organisation}"

    def apply(self, change: Change) -> Outcome:
        return HANDLERS[change.address.kind](self, change)

    # -- helpers --------------------------------------------------------------------------

    def _create(
        self, change: Change, path: str, body: dict[str, Any], find: Callable[[], Any]
    ) -> Any:
        """POST once; adopt after an ambiguous failure or an 'already exists' refusal."""
        address = change.address

        def post() -> Any:
            try:
                return self.client.request("POST", path, body=body, address=address)
            except ProviderError as exc:
                if not _exists(exc):
                    raise
                found = find()
                if found is None:
                    raise
                return found

        return create_once(post, find).value

    def _user(self, change: Change, email: str) -> int:
        with self.ids.lock:
            uid = self.ids.users.get(email)
        if uid is None:
            raise ProviderError(change.address, f"{email} is not a member of the organisation yet")
        return uid

    def _project(self, change: Change, name: str) -> int:
        with self.ids.lock:
            pid = self.ids.projects.get(name)
        if pid is None:
            raise ProviderError(change.address, f"project {name!r} was not found")
        return pid

    def _delete(self, change: Change, path: str) -> Outcome:
        self.client.request("DELETE", path, address=change.address, ok_missing=True)
        return Outcome()


def member(a: Actions, change: Change) -> Outcome:
    email = change.address.name
    if change.action is Action.DELETE:
        live = change.live
        assert live is not None
        if live.pending is not None:
            return a._delete(change, f"{a.org}/invites/{live.meta['invite']}/")
        gone = [{"id": int(str(live.id))}]
        a.client.request(
            "POST", f"{a.org}/remove-users/", body=gone, address=change.address, idempotent=True
        )
        return Outcome()
    assert change.desired is not None
    role = change.desired.attributes["role"]
    if change.action is Action.UPDATE:
        assert change.live is not None
        path = f"{a.org}/users/{change.live.id}/update-role/"
        a.client.request("POST", path, body={"role": role}, address=change.address, idempotent=True)
        return Outcome(server_id=change.live.id)

    def find() -> Any:
        invites = a.client.pages(p.Invite, f"{a.org}/invites/")
        return next(({"id": i.id} for i in invites if i.email.lower() == email), None)

    body = {"email": email, "role": role, "permission_groups": []}
    made = a._create(change, f"{a.org}/invites/", body, find)
    return Outcome(server_id=f"invite:{made['id']}", pending=PENDING, message=f"invited {email}")


def group(a: Actions, change: Change) -> Outcome:
    name = change.address.name
    if change.action is Action.DELETE:
        return a._delete(change, f"{a.org}/groups/{change.resource.id}/")
    if change.action is Action.UPDATE:
        return Outcome(server_id=change.resource.id)

    def find() -> Any:
        groups = a.client.pages(p.Group, f"{a.org}/groups/")
        return next(({"id": g.id} for g in groups if g.name == name), None)

    made = a._create(change, f"{a.org}/groups/", {"name": name}, find)
    with a.ids.lock:
        a.ids.groups[name] = int(made["id"])
    return Outcome(server_id=str(made["id"]))


def group_member(a: Actions, change: Change) -> Outcome:
    meta = change.resource.meta
    with a.ids.lock:
        gid = a.ids.groups.get(str(meta["group"]))
    uid = a._user(change, str(meta["email"]))
    op = "remove-users" if change.action is Action.DELETE else "add-users"
    path = f"{a.org}/groups/{gid}/{op}/"
    a.client.request(
        "POST", path, body={"user_ids": [uid]}, address=change.address, idempotent=True
    )
    return Outcome()


def project(a: Actions, change: Change) -> Outcome:
    name = change.address.name
    if change.action is Action.DELETE:
        return a._delete(change, f"/projects/{change.resource.id}/")
    if change.action is Action.UPDATE:
        return Outcome(server_id=change.resource.id)

    def find() -> Any:
        found = a.client.listed(
            p.Project, "/projects/", params={"organisation": str(a.ids.organisation)}
        )
        return next(({"id": x.id} for x in found if x.name == name), None)

    body = {"name": name, "organisation": a.ids.organisation}
    made = a._create(change, "/projects/", body, find)
    with a.ids.lock:
        a.ids.projects[name] = int(made["id"])
    return Outcome(server_id=str(made["id"]))


def environment(a: Actions, change: Change) -> Outcome:
    meta = change.resource.meta
    label = change.address.name
    if change.action is Action.DELETE:
        return a._delete(change, f"/environments/{meta['api_key']}/")
    if change.action is Action.UPDATE:
        return Outcome(server_id=change.resource.id)
    pid = a._project(change, str(meta["project"]))
    name = str(meta["environment"])

    def find() -> Any:
        envs = a.client.pages(p.Environment, "/environments/", params={"project": str(pid)})
        return next((e.model_dump() for e in envs if e.name == name), None)

    made = a._create(change, "/environments/", {"name": name, "project": pid}, find)
    with a.ids.lock:
        a.ids.environments[label] = str(made["api_key"])
    return Outcome(server_id=str(made["id"]))


def grant(a: Actions, change: Change) -> Outcome:
    meta = change.resource.meta
    who, ref = str(meta["who"]), str(meta["ref"])
    if "environment" in meta:
        with a.ids.lock:
            api_key = a.ids.environments.get(f"{meta['project']}/{meta['environment']}")
        base = f"/environments/{api_key}"
    else:
        base = f"/projects/{a._project(change, str(meta['project']))}"
    path = f"{base}/{'user' if who == 'user' else 'user-group'}-permissions/"
    if change.action is Action.DELETE:
        return a._delete(change, f"{path}{change.resource.id}/")
    assert change.desired is not None
    if who == "user":
        principal = a._user(change, ref)
    else:
        with a.ids.lock:
            principal = a.ids.groups[ref]
    attrs = change.desired.attributes
    body = {who: principal, "admin": attrs["admin"], "permissions": attrs["permissions"]}
    if change.action is Action.UPDATE:
        assert change.live is not None
        a.client.request("PUT", f"{path}{change.live.id}/", body=body, address=change.address)
        return Outcome(server_id=change.live.id)

    def find() -> Any:
        if who == "user":
            held = [(u.id, u.user.id) for u in a.client.listed(p.UserGrant, path)]
        else:
            held = [(g.id, g.group.id) for g in a.client.listed(p.GroupGrant, path)]
        for grant_id, holder in held:
            if holder == principal:
                a.client.request("PUT", f"{path}{grant_id}/", body=body, address=change.address)
                return {"id": grant_id}
        return None

    made = a._create(change, path, body, find)
    return Outcome(server_id=str(made["id"]))


def integration(a: Actions, change: Change) -> Outcome:
    meta = change.resource.meta
    slug = SLUGS[str(meta["kind"])]
    path = f"/projects/{a._project(change, str(meta['project']))}/integrations/{slug}/"
    if change.action is Action.DELETE:
        return a._delete(change, f"{path}{change.resource.id}/")
    assert change.desired is not None
    attrs = change.desired.attributes
    if change.action is Action.CREATE:
        plain = {k: v for k, v in attrs.items() if k not in SECRETS}
        body = without_placeholders({**plain, **secret_fields(change, SECRETS)})

        def find() -> Any:
            found = a.client.listed(p.Integration, path)
            if not found:
                return None
            # one configuration per project: bring the existing one to the spec
            a.client.request("PATCH", f"{path}{found[0].id}/", body=body, address=change.address)
            return {"id": found[0].id}

        made = a._create(change, path, body, find)
        return Outcome(server_id=str(made["id"]))
    assert change.live is not None
    changed = {d.path for d in change.diffs}
    plain = {k: v for k, v in attrs.items() if k in changed and k not in SECRETS}
    body = without_placeholders({**plain, **secret_fields(change, SECRETS)})
    path = f"{path}{change.live.id}/"
    a.client.request("PATCH", path, body=body, address=change.address, idempotent=True)
    return Outcome(server_id=change.live.id)


def github(a: Actions, change: Change) -> Outcome:
    path = f"{a.org}/integrations/github/"
    if change.action is Action.DELETE:
        return a._delete(change, f"{path}{change.resource.id}/")
    assert change.desired is not None
    body = {"installation_id": change.desired.attributes["installation_id"]}
    if change.action is Action.UPDATE:
        a.client.request(
            "PATCH",
            f"{path}{change.resource.id}/",
            body=body,
            address=change.address,
            idempotent=True,
        )
        return Outcome(server_id=change.resource.id)

    def find() -> Any:
        found = a.client.pages(p.GitHubConfig, path)
        return {"id": found[0].id} if found else None

    made = a._create(change, path, body, find)
    with a.ids.lock:
        a.ids.github = int(made["id"])
    return Outcome(server_id=str(made["id"]))


def repository(a: Actions, change: Change) -> Outcome:
    path = f"{a.org}/integrations/github/{a.ids.github}/repositories/"
    if change.action is Action.DELETE:
        return a._delete(change, f"{path}{change.resource.id}/")
    assert change.desired is not None
    owner, _, name = change.address.name.partition("/")
    attrs = change.desired.attributes
    pid = a._project(change, str(attrs["project"]))
    body = {"project": pid, "repository_owner": owner, "repository_name": name}
    body["tagging_enabled"] = attrs["tagging_enabled"]
    if change.action is Action.UPDATE:
        assert change.live is not None
        a.client.request(
            "PATCH", f"{path}{change.live.id}/", body=body, address=change.address, idempotent=True
        )
        return Outcome(server_id=change.live.id)

    def find() -> Any:
        for repo in a.client.pages(p.Repository, path):
            if (repo.repository_owner, repo.repository_name, repo.project) == (owner, name, pid):
                return {"id": repo.id}
        return None

    made = a._create(change, path, body, find)
    return Outcome(server_id=str(made["id"]))


HANDLERS: dict[str, Handler] = {
    "member": member,
    "group": group,
    "group_member": group_member,
    "project": project,
    "environment": environment,
    "project_permission": grant,
    "environment_permission": grant,
    "integration": integration,
    "github": github,
    "repository": repository,
}
