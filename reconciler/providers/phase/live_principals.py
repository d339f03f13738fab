"""The organisation's principals: service accounts (with their tokens), members (with their
access views) and pending invites (see ``live.py`` for the requests and the naming rules)."""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.address import Address
from reconciler.model.resource import JSON, Resource
from reconciler.providers.kit.labels import label_objects
from reconciler.providers.kit.pool import pool_map
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase import payloads as p
from reconciler.providers.phase.compile import NAME, addr
from reconciler.providers.phase.live_base import ReadBase, grants_of, opt

Coverage = Mapping[str, Mapping[str, list[str]]]  # principal id -> what its teams grant


class PrincipalReads(ReadBase):
    """Service accounts, tokens, members and invites of one read."""

    # service accounts ------------------------------------------------------------------

    def service_accounts(self) -> list[tuple[str, p.ServiceAccountDetail]]:
        """Every account's label and id; the detail (access, tokens) of those in scope."""
        listed = p.parse_list(
            p.ServiceAccount, self.get("/v1/service-accounts/"), NAME, "GET /v1/service-accounts/"
        )
        labels = label_objects(
            "service_account",
            [(s.id, s.name) for s in sorted(listed, key=lambda s: s.created_at)],
            self.wanted("service_account"),
        )
        for sa in listed:
            self.idx.sas[labels[sa.id]] = sa.id
            if sa.id == self.idx.caller_id:
                self.idx.caller_sa = labels[sa.id]
        details = pool_map(
            lambda s: p.parse(
                p.ServiceAccountDetail,
                self.get(
                    f"/v1/service-accounts/{s.id}/", address=addr("service_account", labels[s.id])
                ),
                addr("service_account", labels[s.id]),
                "GET /v1/service-accounts/{id}/",
            ),
            [s for s in listed if self.scope.detail("service_account", labels[s.id])],
        )
        out = []
        for detail in details:
            label = labels[detail.id]
            out.append((label, detail))
            self.tokens(label, detail)
        return out

    def tokens(self, sa: str, detail: p.ServiceAccountDetail) -> None:
        wanted = self.wanted("sa_token")
        groups: dict[str, list[p.TokenInfo]] = {}
        for token in detail.tokens:
            groups.setdefault(token.name.replace("/", "_"), []).append(token)
        for name, tokens in sorted(groups.items()):
            key = n.env_key(sa, name)
            address = addr("sa_token", key)
            stored = self.record(address, "stored")
            stored_id = stored.get("id") if isinstance(stored, Mapping) else None
            newest = sorted(tokens, key=lambda t: t.created_at, reverse=True)
            main = next((t for t in newest if t.id == stored_id), newest[0])
            for token in newest:
                label = key if token is main else f"{key}#{token.id[:8]}"
                self.idx.tokens[label] = token.id
                desired = wanted.get(label)
                self.out.append(
                    Resource(
                        addr("sa_token", label),
                        self.token_attributes(address, token, desired, stored),
                        depends_on=frozenset({addr("service_account", sa)}),
                        id=token.id,
                        meta={
                            "created_at": token.created_at.isoformat(),
                            "expires_at": token.expires_at.isoformat()
                            if token.expires_at
                            else None,
                        },
                    )
                )

    def token_attributes(
        self, address: Address, token: p.TokenInfo, desired: Resource | None, stored: JSON
    ) -> dict[str, JSON]:
        """``store``: where this token's secret was written, from the state store. ``None``
        when the store remembers another token as stored, or a run that minted it stopped
        before storing it: it is minted again and stored. A token the store knows nothing
        about (adopted) is assumed to be stored where the spec says. ``rotation``: ``due`` once
        it is older than ``rotate_after`` or expired."""
        expired = token.expires_at is not None and n.instant(token.expires_at) <= self.now
        rotate = desired.meta.get("rotate_after") if desired is not None else None
        age = self.now - n.instant(token.created_at)
        due = expired or (isinstance(rotate, int) and age.total_seconds() >= rotate)
        target: JSON = None
        if isinstance(stored, Mapping):
            # the state store knows which token was stored: this one, or another one
            target = stored.get("target") if stored.get("id") == token.id else None
        elif not self.record(address, "minting") and desired is not None:
            target = desired.attributes.get("store")
        return {
            "store": target,
            "expires_in": n.lifetime(token.created_at, token.expires_at),
            "rotation": "due" if due else "current",
        }

    def sa_resources(
        self,
        sas: list[tuple[str, p.ServiceAccountDetail]],
        teams: list[tuple[str, p.TeamDetail]],
        coverage: Coverage,
    ) -> None:
        in_team: dict[str, set[str]] = {}
        for team_label, detail in teams:
            for m in detail.members:
                if m.type == "service_account":
                    in_team.setdefault(m.id, set()).add(team_label)
        wanted = self.wanted("service_account")
        for label, sa in sas:
            address = addr("service_account", label)
            owner_team: str | None = None
            role = sa.role.name if sa.role else None
            grants, guarded, listed = self.access_of(sa.apps)
            owner = self.record(address, "team")
            if isinstance(owner, Mapping) and owner.get("id") == sa.id:
                owner_team = opt(owner.get("team"))
            else:
                declared = wanted[label].attributes.get("team") if label in wanted else None
                if isinstance(declared, str) and declared in in_team.get(sa.id, set()):
                    owner_team = declared
            self.out.append(
                Resource(
                    address,
                    {
                        "name": sa.name,
                        "role": role,
                        "team": owner_team,
                        "access": n.without(grants_of(grants), coverage.get(sa.id, {})),
                        "e2ee_access": list(guarded),
                        **self.identity_attrs("service", sa.id),
                    },
                    depends_on=frozenset(self.deps_of(grants) | self.role_dep(role)),
                    id=sa.id,
                    meta={"access": grants, "apps": list(listed)},
                )
            )

    # members and invites ---------------------------------------------------------------

    def members(self) -> list[tuple[p.Member, p.MemberAccess | None]]:
        """Every member's e-mail and id; the access view of those in scope."""
        listed = p.parse_list(p.Member, self.get("/v1/members/"), NAME, "GET /v1/members/")
        for member in listed:
            email = member.email.lower()
            self.idx.members[email] = member.id
            if member.id == self.idx.caller_id:
                self.idx.caller_email = email
        views = pool_map(
            lambda m: p.parse(
                p.MemberAccess,
                self.get(f"/v1/members/{m.id}/access/", address=addr("member", m.email.lower())),
                addr("member", m.email.lower()),
                "GET /v1/members/{id}/access/",
            ),
            [m for m in listed if self.scope.detail("member", m.email.lower())],
        )
        by_id = {v.id: v for v in views}
        return [(m, by_id.get(m.id)) for m in listed]

    def member_resources(
        self, members: list[tuple[p.Member, p.MemberAccess | None]], coverage: Coverage
    ) -> None:
        for member, view in members:
            email = member.email.lower()
            role = member.role.name if member.role else None
            attrs: dict[str, JSON] = {"role": role, **self.identity_attrs("user", member.id)}
            deps = self.role_dep(role)
            meta: dict[str, JSON] = {}
            if view is not None:
                grants, guarded, listed = self.access_of(view.apps)
                attrs["access"] = n.without(grants_of(grants), coverage.get(member.id, {}))
                attrs["e2ee_access"] = list(guarded)
                deps |= self.deps_of(grants)
                meta["access"] = grants
                meta["apps"] = list(listed)
            if self.record(addr("member", email), "no_identity_key") == member.id:
                meta["no_keys_at_last_apply"] = True  # noted by apply; the plan warns
            pending = None
            ids = self.idx.identities
            if ids is not None and not ids.members.get(member.id, "-"):
                pending = (
                    "has not set up their keys yet (first login): their access is granted after it"
                )
            self.out.append(
                Resource(
                    addr("member", email),
                    attrs,
                    depends_on=frozenset(deps),
                    id=member.id,
                    pending=pending,
                    meta=meta,
                )
            )

    def invites(self) -> None:
        listed = p.parse_list(
            p.Invite, self.get("/v1/members/invites/"), NAME, "GET /v1/members/invites/"
        )
        for invite in sorted(listed, key=lambda i: i.created_at, reverse=True):
            email = invite.invitee_email.lower()
            if email in self.idx.members or email in self.idx.invites:
                continue
            self.idx.invites[email] = invite.id
            role = invite.role.name if invite.role else None
            self.out.append(
                Resource(
                    addr("member", email),
                    {"role": role, "access": {}},
                    depends_on=frozenset(self.role_dep(role)),
                    id=invite.id,
                    pending=f"invited {invite.created_at.date().isoformat()}, not accepted yet",
                    meta={"invite": True},
                )
            )
