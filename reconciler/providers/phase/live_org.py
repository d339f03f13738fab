"""The organisation's structure: the caller's keys (``/secrets/tokens/``), roles, apps and
their environments (see ``live.py`` for the requests and the naming rules)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reconciler.errors import ProviderError
from reconciler.model.resource import Resource
from reconciler.providers.kit.labels import label_objects
from reconciler.providers.kit.pool import pool_map
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase import payloads as p
from reconciler.providers.phase.compile import NAME, addr
from reconciler.providers.phase.e2ee import held_keys
from reconciler.providers.phase.live_base import ReadBase, opt


class OrgReads(ReadBase):
    """Keys, roles, apps and environments of one read."""

    def keys(self) -> p.KeysView | None:
        try:
            raw = self.client.request("GET", "/secrets/tokens/", address=NAME, root=True)
        except ProviderError as exc:
            if exc.status in (403, 404, 405):
                self.idx.keys_listed = False
                return None
            raise
        keys = p.parse(p.KeysView, raw, NAME, "GET /secrets/tokens/")
        self.idx.caller_kind = "user" if keys.user_id else "service"
        self.idx.caller_id = keys.user_id or keys.account_id or ""
        self.idx.organisation = keys.organisation.id if keys.organisation else None
        self.idx.wrapped_key_share = keys.wrapped_key_share
        return keys

    def roles(self) -> None:
        listed = p.parse_list(p.Role, self.get("/v1/roles/"), NAME, "GET /v1/roles/")
        wanted = {k.lower(): k for k in self.wanted("role")}
        custom = [r for r in listed if not r.is_default]
        details = pool_map(
            lambda r: p.parse(
                p.RoleDetail,
                self.get(f"/v1/roles/{r.id}/", address=addr("role", r.name)),
                addr("role", r.name),
                "GET /v1/roles/{id}/",
            ),
            custom,
        )
        for role in listed:
            self.idx.roles[role.name] = role.id
        for detail in details:
            perms = detail.permissions
            if perms.global_access:
                self.idx.global_roles.add(detail.name)
            if "create" in perms.permissions.get("ServiceAccountTokens", []):
                self.idx.minting_roles.add(detail.name)
            label = wanted.get(detail.name.lower(), detail.name)
            self.out.append(
                Resource(
                    addr("role", label),
                    {
                        "name": detail.name,
                        "description": n.live_text(detail.description),
                        "color": detail.color or "",
                        "permissions": n.permissions(perms.permissions),
                        "app_permissions": n.permissions(perms.app_permissions),
                    },
                    id=detail.id,
                    meta={"global_access": perms.global_access},
                )
            )

    def apps(self) -> None:
        listed = p.parse_list(p.App, self.get("/v1/apps/"), NAME, "GET /v1/apps/")
        wanted = self.wanted("app")
        labels = label_objects(
            "app",
            [(a.id, a.name) for a in sorted(listed, key=lambda a: a.created_at)],
            wanted,
            lambda r: opt(r.meta.get("previous_name")),
        )
        for app in listed:
            label = labels[app.id]
            self.app_label[app.id] = label
            self.idx.apps[label] = app.id
            self.idx.app_sse[label] = app.sse_enabled
            self.out.append(
                Resource(
                    addr("app", label),
                    {
                        "name": app.name,
                        "description": n.live_app_description(app.description),
                        "sse": app.sse_enabled,
                    },
                    id=app.id,
                )
            )

    def listed_environments(self, keys: p.KeysView | None) -> dict[str, list[p.AnyEnvironment]]:
        """App id -> its environments: from the caller's keys (every app in one answer), or,
        without them, one list per SSE app the scope needs."""
        per_app: dict[str, list[p.AnyEnvironment]] = {}
        if keys is not None:
            for entry in keys.apps:
                if entry.id in self.app_label:
                    per_app[entry.id] = [k.environment for k in entry.environment_keys]
            return per_app
        sse = [
            i
            for i, label in self.app_label.items()
            if self.idx.app_sse[label] and self.scope.environments_of(label)
        ]
        listed = pool_map(
            lambda app_id: p.parse_list(
                p.Environment,
                self.get("/v1/environments/", params={"app_id": app_id}),
                addr("app", self.app_label[app_id]),
                "GET /v1/environments/",
            ),
            sse,
        )
        for app_id, envs in zip(sse, listed, strict=True):
            per_app[app_id] = [*envs]
        return per_app

    def environments(self, keys: p.KeysView | None) -> None:
        per_app = self.listed_environments(keys)
        held = held_keys(keys) if keys is not None else {}  # env id -> the caller's key row
        wanted_all = self.wanted("environment")
        for app_id, label in sorted(self.app_label.items(), key=lambda x: x[1]):
            wanted = {
                n.split_key(k)[1]: r for k, r in wanted_all.items() if n.split_key(k)[0] == label
            }
            if app_id not in per_app:
                # An app whose environments this token cannot list (it holds none of their
                # keys): the declared ones are assumed, pending, so nothing is tried on them.
                for env_name, r in wanted.items():
                    self.out.append(
                        Resource(
                            addr("environment", n.env_key(label, env_name)),
                            dict(r.attributes),
                            depends_on=frozenset({addr("app", label)}),
                            pending="this token holds no key for the app's environments, so "
                            "it cannot list them",
                        )
                    )
                continue
            listed_envs = sorted(per_app[app_id], key=lambda e: (e.index, e.name))
            labels = env_labels(listed_envs, wanted)
            for env in listed_envs:
                key = n.env_key(label, labels[env.id])
                self.env_label[env.id] = key
                self.idx.envs[key] = env.id
                if env.id in held:
                    self.idx.held[key] = held[env.id]
                self.out.append(
                    Resource(
                        addr("environment", key),
                        {"name": env.name},
                        depends_on=frozenset({addr("app", label)}),
                        id=env.id,
                        meta={"app": label, "index": env.index, "env_type": env.env_type},
                    )
                )


def env_labels(envs: Sequence[p.AnyEnvironment], wanted: Mapping[str, Resource]) -> dict[str, str]:
    """Labels of one app's live environments: by ``id:`` pin, then name (case-insensitive),
    then ``previous_name``; the rest keep their live name (or ``name#<id8>`` on a clash)."""
    out: dict[str, str] = {}
    ids = {e.id for e in envs}
    for label, r in sorted(wanted.items()):
        if r.id is not None:
            if r.id not in ids:
                raise ProviderError(
                    r.address,
                    f"id {r.id!r} is not an environment of this app (deleted?); remove the "
                    "id: pin to create a new one",
                )
            out[r.id] = label
    lower = {e.name.lower(): e.id for e in envs}
    for label, r in sorted(wanted.items()):
        if r.id is not None or label in out.values():
            continue
        for name in (label, opt(r.meta.get("previous_name"))):
            if name is None:
                continue
            found = lower.get(name.lower())
            if found is not None and found not in out:
                out[found] = label
                break
    taken = {v.lower() for v in out.values()}
    for env in envs:
        if env.id not in out:
            clash = env.name.lower() in taken
            out[env.id] = f"{env.name}#{env.id[:8]}" if clash else env.name
            taken.add(out[env.id].lower())
    return out
