"""The organisation's teams: members, roles and access (see ``live.py``), and what each
principal's teams grant it (left out of its own ``access`` attribute, as the spec does)."""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.errors import ProviderError
from reconciler.model.resource import Resource
from reconciler.providers.kit.labels import label_objects
from reconciler.providers.kit.pool import pool_map
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase import payloads as p
from reconciler.providers.phase.compile import NAME, addr
from reconciler.providers.phase.live_base import ReadBase, strings


class TeamReads(ReadBase):
    """Teams of one read."""

    def teams(self) -> list[tuple[str, p.TeamDetail]]:
        """Every team's label and id; the detail of those in scope. A team this token may not
        read (a non-global caller outside it) gets an empty detail and is marked unreadable."""
        listed = p.parse_list(p.Team, self.get("/v1/teams/"), NAME, "GET /v1/teams/")
        labels = label_objects("team", [(t.id, t.name) for t in listed], self.wanted("team"))
        for team in listed:
            self.idx.teams[labels[team.id]] = team.id

        def detail(team: p.Team) -> p.TeamDetail:
            address = addr("team", labels[team.id])
            try:
                raw = self.get(f"/v1/teams/{team.id}/", address=address)
            except ProviderError as exc:
                if exc.status != 403:
                    raise
                self.unreadable.add(team.id)
                return p.TeamDetail.model_validate(team.model_dump())
            return p.parse(p.TeamDetail, raw, address, "GET /v1/teams/{id}/")

        in_scope = [t for t in listed if self.scope.detail("team", labels[t.id])]
        return [(labels[found.id], found) for found in pool_map(detail, in_scope)]

    def team_members(
        self, label: str, team: p.TeamDetail, names: Mapping[str, str]
    ) -> tuple[list[str], list[str]]:
        """``(member e-mails, service-account labels)`` of a team (``names``: principal id ->
        e-mail or label). The caller joins every team it creates; it is shown only when
        declared."""
        want = self.wanted("team").get(label)
        want_members = set(strings(want.attributes.get("members"))) if want else set()
        want_sas = set(strings(want.attributes.get("service_accounts"))) if want else set()
        members, sas = [], []
        for m in team.members:
            if m.type == "user":
                email = names.get(m.id, (m.email or m.id).lower())
                if m.id != self.idx.caller_id or email in want_members:
                    members.append(email)
            else:
                name = names.get(m.id, m.name or m.id)
                if m.id != self.idx.caller_id or name in want_sas:
                    sas.append(name)
        return members, sas

    def team_resources(
        self, teams: list[tuple[str, p.TeamDetail]]
    ) -> dict[str, dict[str, list[str]]]:
        """Team resources; returns principal id -> what its teams grant."""
        coverage: dict[str, dict[str, list[str]]] = {}
        names = {v: k for k, v in [*self.idx.sas.items(), *self.idx.members.items()]}
        for label, team in teams:
            members, sas = self.team_members(label, team, names)
            grants, _guarded, _listed = self.access_of(team.apps)
            for m in team.members:
                held = coverage.setdefault(m.id, {})
                for app, envs in grants.items():
                    held.setdefault(app, []).extend(strings(envs))
            member_role = team.member_role.name if team.member_role else None
            sa_role = team.service_account_role.name if team.service_account_role else None
            deps = self.deps_of(grants) | self.role_dep(member_role) | self.role_dep(sa_role)
            deps |= {addr("member", e) for e in members}
            deps |= {addr("service_account", s) for s in sas}
            self.out.append(
                Resource(
                    addr("team", label),
                    {
                        "name": team.name,
                        "description": n.live_text(team.description),
                        "member_role": member_role,
                        "service_account_role": sa_role,
                        "members": sorted(set(members)),
                        "service_accounts": sorted(set(sas)),
                        "access": grants,
                    },
                    depends_on=frozenset(deps),
                    id=team.id,
                    pending="this token is outside the team and cannot read its members or access"
                    if team.id in self.unreadable
                    else None,
                    meta={"scim": team.is_scim_managed},
                )
            )
        return coverage
