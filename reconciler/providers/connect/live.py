"""Reading live Connect state through the data-export API (docs/connect-api.md#reading-live-state).

Requests: one ``GET /export/opp_org_program_list/``; per correlated program one paged
``GET /export/program/{id}/opportunity/``; per opportunity with invites one paged
``GET /export/opportunity/{id}/user_data/``. Objects the export cannot show come from the state
store, where apply records them in the same step as the create:

* identity: a program is its stored integer id (``export_id``), else the one program of the
  organisation with its name (two candidates are an error naming both); an opportunity is its
  stored UUID (the export shows ``opportunity_id``), else its (organisation, name) in the
  program. Objects the state knows but the spec no longer declares are read too, so a removed
  object is reported (the API cannot delete it);
* fields never exported (a program's budget, dates, country, description; an opportunity's
  ``is_test`` and HQ URLs; every payment unit) are what was last applied (``applied`` record);
  with nothing recorded (an object made elsewhere) the spec's value is taken as unverifiable;
* a partner is its recorded application (status), or accepted when an opportunity of that
  organisation exists in the program; an application adopted after a lost answer (UUID never
  exported) is taken as accepted: the opportunity's create is refused until it is;
* an invite is live once sent: pending ``invited`` until the worker accepts, and pending
  ``invited, not visible`` when the number never shows in ``user_data`` (ConnectID does not
  know it): either way never sent again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from reconciler.address import Address
from reconciler.errors import ProviderError
from reconciler.model.resource import JSON, Resource
from reconciler.model.state import State
from reconciler.providers.kit.writeonly import adopt_unknown
from reconciler.state.store import StateStore

from .client import ConnectClient, Organization
from .compile import KINDS, NAME, PROGRAM_UNEXPORTED, addr
from .payloads import ExportOpportunity, Listing, OpportunityPage, WorkerPage

INVITED = "invited: waits for the worker to accept in the Connect app"
INVISIBLE = "invited, not visible (unknown to ConnectID?): not sent again"


def known(store: StateStore) -> dict[Address, dict[str, JSON]]:
    """Connect objects the state store remembers (ids and records), by address."""
    out: dict[Address, dict[str, JSON]] = {}
    for entry in store.entries():
        a = entry.address
        if a.provider == NAME and a.kind in KINDS:
            out[a] = {**entry.records, "id": entry.server_id}
    return out


class Reader:
    """One read of live state (see the module docstring)."""

    def __init__(
        self, client: ConnectClient, store: StateStore, organization: Organization
    ) -> None:
        self.client, self.store, self.org = client, store, organization

    def read(self, desired: State) -> State:
        memory = known(self.store)
        names = {a.name for a in memory} | {a.name for a in desired}
        listing = self.client.decoded(Listing, "GET", "/export/opp_org_program_list/")
        out: list[Resource] = []
        programs = sorted({n.split("/")[0] for n in names})
        claimed = {
            int(str(v["export_id"]))
            for a, v in memory.items()
            if a.kind == "program" and v.get("export_id") is not None
        }
        for key in programs:
            a = addr("program", key)
            found = self._program(a, desired.get(a), memory.get(a, {}), listing, claimed)
            if found is None:
                continue
            resource, export_id = found
            out.append(resource)
            out += self._inside(key, export_id, desired, memory)
        return State(out)

    def _program(
        self,
        a: Address,
        want: Resource | None,
        mem: Mapping[str, JSON],
        listing: Listing,
        claimed: set[int],
    ) -> tuple[Resource, int] | None:
        stored = mem.get("export_id")
        if stored is not None:
            match = [p for p in listing.programs if p.id == stored]
        elif want is not None:
            name = want.attributes["name"]
            match = [
                p
                for p in listing.programs
                if p.organization == self.org.slug() and p.name == name and p.id not in claimed
            ]
        else:
            return None
        if len(match) > 1:
            ids = " and ".join(str(p.id) for p in match)
            raise ProviderError(
                a,
                f"two live programs of {self.org.slug()} are named {match[0].name!r} "
                f"(export ids {ids}): "
                "program names are not unique; rename one in Connect, or pin the program's UUID "
                "with id:",
            )
        if not match:
            return None
        p = match[0]
        if stored is None:
            self.store.set_record(a, "export_id", p.id)  # correlated once, then kept
        attrs: dict[str, JSON] = {
            "name": p.name,
            "organization": p.organization,
            "delivery_type": p.delivery_type,
            "currency": p.currency,
        }
        attrs |= _unexported(_applied(mem), want, PROGRAM_UNEXPORTED)
        uuid = mem.get("id") or (want.id if want is not None else None)
        if mem.get("id") is None and uuid is not None:
            self.store.set_id(a, str(uuid))  # pinned in the spec (the export never shows it)
        meta: dict[str, JSON] = {"export_id": p.id}
        return Resource(a, attrs, id=None if uuid is None else str(uuid), meta=meta), p.id

    def _inside(
        self,
        program: str,
        export_id: int,
        desired: State,
        memory: Mapping[Address, dict[str, JSON]],
    ) -> list[Resource]:
        # Over 60 lines: correlation, children and partners all use the one listing of the
        # program's opportunities this reads; split up, each part would re-derive it.
        opps = [
            o
            for page in self.client.pages(
                OpportunityPage, f"/export/program/{export_id}/opportunity/"
            )
            for o in page.results
        ]
        out: list[Resource] = []
        wanted = {
            a: r
            for a, r in desired.items()
            if a.kind == "opportunity" and a.name.startswith(f"{program}/")
        }
        addresses = sorted(
            set(wanted)
            | {a for a in memory if a.kind == "opportunity" and a.name.startswith(f"{program}/")}
        )
        stored = {
            str(memory.get(a, {}).get("id")): a for a in addresses if memory.get(a, {}).get("id")
        }
        matched: dict[Address, ExportOpportunity] = {}
        for o in opps:
            if o.opportunity_id in stored:
                matched[stored[o.opportunity_id]] = o
        for a in addresses:
            if a in matched or a not in wanted or a in stored.values():
                continue
            attrs = wanted[a].attributes
            match = [
                o
                for o in opps
                if o.organization == attrs["organization"]
                and o.name == attrs["name"]
                and o not in matched.values()
            ]
            if len(match) > 1:
                ids = " and ".join(str(o.id) for o in match)
                raise ProviderError(
                    a,
                    f"two live opportunities of {attrs['organization']} are named "
                    f"{attrs['name']!r} in this program (export ids {ids}); rename one in Connect",
                )
            if match:
                matched[a] = match[0]
        for a, o in sorted(matched.items()):
            out.append(self._opportunity(a, o, wanted.get(a), memory.get(a, {})))
            out += self._children(a, o, desired, memory)
        partners = {o.organization for o in opps}
        for a in sorted(
            {x for x in desired if x.kind == "partner" and x.name.startswith(f"{program}/")}
            | {x for x in memory if x.kind == "partner" and x.name.startswith(f"{program}/")}
        ):
            application = memory.get(a, {}).get("application")
            if isinstance(application, Mapping) and application.get("uuid") is None:
                # adopted after a lost answer: its status cannot be read nor its acceptance
                # sent; the opportunity's create shows it (refused until accepted in Connect)
                out.append(Resource(a, {"status": "accepted"}))
            elif isinstance(application, Mapping):
                out.append(
                    Resource(
                        a, {"status": application.get("status")}, id=str(application.get("uuid"))
                    )
                )
            elif a.name.split("/", 1)[1] in partners:
                out.append(Resource(a, {"status": "accepted"}))
        return out

    def _opportunity(
        self, a: Address, o: ExportOpportunity, want: Resource | None, mem: Mapping[str, JSON]
    ) -> Resource:
        if mem.get("export_id") is None:
            self.store.set_record(a, "export_id", o.id)
        applied = _applied(mem)
        wanted = want.attributes if want is not None else {}
        attrs = exported(o)
        for name in ("learn_app", "deliver_app"):
            spec_app, app = wanted.get(name), attrs[name]
            if not isinstance(spec_app, Mapping) or "hq_server_url" not in spec_app:
                continue  # not managed by the spec
            assert isinstance(app, dict)
            app["hq_server_url"] = applied.get(f"{name}.hq_server_url", spec_app["hq_server_url"])
        attrs |= _unexported(applied, want, ("is_test",))
        sensitive = frozenset({"learn_api_key", "deliver_api_key"} & set(wanted))
        for key in sensitive:
            attrs[key] = None
        meta: dict[str, JSON] = {"export_id": o.id, "active": o.is_active}
        resource = Resource(a, attrs, sensitive=sensitive, id=o.opportunity_id, meta=meta)
        if want is not None:
            resource = self._fingerprints(resource, want)
        return resource

    def _fingerprints(self, resource: Resource, want: Resource) -> Resource:
        """The engine overlays stored fingerprints; keys nobody applied from here are adopted
        once (``adopt_unknown``): an opportunity made elsewhere cannot show its HQ key."""
        attrs = dict(resource.attributes)
        for key in resource.sensitive:
            stored = self.store.get_fingerprint(resource.address, key)
            if stored is not None:
                attrs[key] = stored
        resource = dataclasses.replace(resource, attributes=attrs)
        adopted, _names = adopt_unknown(resource, want, self.store)
        return adopted

    def _children(
        self,
        opp: Address,
        o: ExportOpportunity,
        desired: State,
        memory: Mapping[Address, dict[str, JSON]],
    ) -> list[Resource]:
        prefix = f"{opp.name}/"
        out: list[Resource] = []
        if o.is_active:
            out.append(Resource(addr("activation", opp.name), {}))
        for a in sorted(
            {
                x
                for x in {*desired, *memory}
                if x.kind == "payment_unit" and x.name.startswith(prefix)
            }
        ):
            applied = memory.get(a, {}).get("applied")
            if isinstance(applied, Mapping):
                unit_id = memory.get(a, {}).get("id")
                out.append(Resource(a, dict(applied), id=None if unit_id is None else str(unit_id)))
        invites = sorted(
            {x for x in {*desired, *memory} if x.kind == "invite" and x.name.startswith(prefix)}
        )
        if not invites:
            return out
        workers = {
            w.phone: w.user_invite_status
            for page in self.client.pages(WorkerPage, f"/export/opportunity/{o.id}/user_data/")
            for w in page.results
        }
        for a in invites:
            phone = a.name.rsplit("/", 1)[1]
            status = workers.get(phone)
            if status == "accepted":
                out.append(Resource(a, {}))
            elif status is not None:
                out.append(Resource(a, {}, pending=INVITED))
            elif memory.get(a, {}).get("sent"):
                out.append(Resource(a, {}, pending=INVISIBLE))
        return out


def exported(o: ExportOpportunity) -> dict[str, JSON]:
    """An opportunity's attributes in the spec's shape, as far as the export shows them."""
    learn, deliver = o.learn_app, o.deliver_app
    return {
        "name": o.name,
        "organization": o.organization,
        "description": o.description,
        "short_description": o.short_description,
        "start_date": o.start_date,
        "end_date": o.end_date,
        "total_budget": o.total_budget,
        "learn_app": {
            "cc_domain": learn.cc_domain,
            "cc_app_id": learn.cc_app_id,
            "passing_score": learn.passing_score,
            "description": learn.description,
        },
        "deliver_app": {"cc_domain": deliver.cc_domain, "cc_app_id": deliver.cc_app_id},
    }


def _applied(mem: Mapping[str, JSON]) -> Mapping[str, JSON]:
    """What apply recorded as sent for an object (``applied``), or nothing."""
    found = mem.get("applied")
    return found if isinstance(found, Mapping) else {}


def _unexported(
    applied: Mapping[str, JSON], want: Resource | None, fields: tuple[str, ...]
) -> dict[str, JSON]:
    """Fields the export never shows: what was last applied, else the spec's value (nothing
    to verify against: an object made elsewhere)."""
    out: dict[str, JSON] = {}
    for field in fields:
        if field in applied:
            out[field] = applied[field]
        elif want is not None and field in want.attributes:
            out[field] = want.attributes[field]
    return out
