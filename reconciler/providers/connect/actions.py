"""Applying one change over the automation API (docs/connect-api.md#automation-api).

Every create records what the export cannot give back in the state store in the same step
(``create_once(remember=...)``): UUIDs, the integer export id, the deliver units of the
opportunity's app and the fields never exported (``applied``). A create whose answer was lost
is looked up before it is sent again: a program or an opportunity through the export (by
organisation and name, among the ids that were not there before the attempt); a payment unit by
its deliver units, which the server assigns to one payment unit only (sending it again after a
lost answer is refused with "already-assigned": it was created). Nothing is created twice.

Across a crash (``kill -9`` after the server acted, before the answer) the run's memory is gone,
so a payment unit or a partner's application records ``attempted`` BEFORE its POST. The next
run's refusal ("already-assigned" for exactly the deliver units attempted; "already has an
application" for the attempted program) is then proof and is adopted; the same refusal with no
earlier attempt is an error naming both uses. An adopted application's UUID is never exported,
so it cannot be accepted over the API: the operator accepts it in Connect (UNACCEPTABLE).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from reconciler.address import Address
from reconciler.errors import ProviderError
from reconciler.model.resource import JSON
from reconciler.plan.change import Action, Change
from reconciler.providers.base import Outcome
from reconciler.providers.kit.create import ambiguous, create_once
from reconciler.providers.kit.writeonly import secret_fields
from reconciler.state.store import StateStore

from .client import ConnectClient, Organization
from .compile import PROGRAM_UNEXPORTED, addr
from .payloads import (
    ApplicationCreated,
    AppStructure,
    ExportOpportunity,
    Listing,
    OpportunityCreated,
    PaymentUnitsCreated,
    ProgramCreated,
)
from .refusals import assigned_elsewhere, by_earlier

R = TypeVar("R")

UNACCEPTABLE = (
    "the application exists (made by an attempt whose answer was lost) but its UUID is never "
    "exported, so it cannot be accepted over the API: accept it in Connect; the next run then "
    "creates the partner's opportunities"
)


@dataclass(frozen=True)
class Made:
    """What a create (or the look-up after a lost answer) gave: the UUID and the export id."""

    uuid: str | None
    export_id: int | None = None


class Actions:
    """One handler per kind (``apply``)."""

    def __init__(
        self, client: ConnectClient, store: StateStore, organization: Organization
    ) -> None:
        self.client, self.store, self.org = client, store, organization

    def apply(self, change: Change) -> Outcome:
        handler: Callable[[Change], Outcome] | None = {
            "program": self.program,
            "partner": self.partner,
            "opportunity": self.opportunity,
            "payment_unit": self.payment_unit,
            "activation": self.activation,
            "invite": self.invite,
        }.get(change.address.kind)
        if handler is None or change.action is Action.DELETE:
            raise ProviderError(change.address, "the API has no delete")
        if change.action is Action.UPDATE and change.address.kind != "partner":
            raise ProviderError(change.address, "the API has no update: change it in Connect")
        return handler(change)

    # -- identity helpers -----------------------------------------------------------------

    def _uuid(self, a: Address, what: str) -> str:
        found = self.store.get_id(a)
        if found is None:
            raise ProviderError(
                a,
                f"the {what}'s UUID is unknown (its create answer was lost and the export never "
                "shows it): find it in Connect and pin it with id:",
            )
        return found

    def _listing(self) -> Listing:
        return self.client.decoded(Listing, "GET", "/export/opp_org_program_list/")

    def _attempt(
        self,
        a: Address,
        evidence: JSON,
        send: Callable[[], R],
        proven: Callable[[JSON, ProviderError], bool],
    ) -> R | None:
        """``send`` a create after recording ``evidence`` as ``attempted`` (evidence first: a
        run killed after the server acted leaves it). A refusal ``proven`` (given the earlier
        attempt's record) to be an earlier attempt's work answers None; any other clear
        refusal clears the record (nothing was made) and is raised."""
        earlier = self.store.get_record(a, "attempted")
        self.store.set_record(a, "attempted", evidence)
        try:
            return send()
        except ProviderError as exc:
            if proven(earlier, exc):
                return None  # made by an earlier attempt whose answer was lost
            if not ambiguous(exc):
                self.store.set_record(a, "attempted", None)
            raise

    def _new_one(self, a: Address, ids: list[int], before: set[int]) -> int | None:
        fresh = [i for i in ids if i not in before]
        if len(fresh) > 1:
            raise ProviderError(a, f"several live objects match after a lost answer: ids {fresh}")
        return fresh[0] if fresh else None

    # -- handlers -------------------------------------------------------------------------

    def program(self, change: Change) -> Outcome:
        a, want = change.address, change.desired
        assert want is not None
        attrs = want.attributes
        body = {k: attrs.get(k) for k in ("name", "description", "delivery_type")}
        body["organization"] = self.org.slug()
        body |= {
            k: attrs.get(k) for k in ("budget", "currency", "country", "start_date", "end_date")
        }

        def same() -> list[int]:
            listing = self._listing()
            return [
                p.id
                for p in listing.programs
                if p.organization == self.org.slug() and p.name == attrs["name"]
            ]

        before = set(same())

        def post() -> Made:
            made = self.client.decoded(
                ProgramCreated, "POST", "/api/programs/", body=body, address=a
            )
            return Made(made.program_id)

        def lookup() -> Made | None:
            found = self._new_one(a, same(), before)
            return None if found is None else Made(None, found)

        def remember(made: Made) -> None:
            if made.uuid is not None:
                self.store.set_id(a, made.uuid)
            export_id = made.export_id or self._new_one(a, same(), before)
            if export_id is not None:
                self.store.set_record(a, "export_id", export_id)
            self.store.set_record(a, "applied", {k: attrs.get(k) for k in PROGRAM_UNEXPORTED})

        made = create_once(post, lookup, remember=remember).value
        note = None if made.uuid else "adopted after a lost answer: UUID unknown"
        return Outcome(server_id=made.uuid, message=note)

    def _program_of(self, a: Address) -> Address:
        return addr("program", a.name.split("/", 1)[0])

    def partner(self, change: Change) -> Outcome:
        a = change.address
        program = self._uuid(self._program_of(a), "program")
        org = a.name.split("/", 1)[1]
        record = self.store.get_record(a, "application")
        if isinstance(record, Mapping) and record.get("uuid") is None:
            raise ProviderError(a, UNACCEPTABLE, 400)
        uuid = str(record["uuid"]) if isinstance(record, Mapping) else None
        if uuid is None:
            path = f"/api/programs/{program}/applications/"

            def send() -> ApplicationCreated:
                return self.client.decoded(
                    ApplicationCreated, "POST", path, body={"organization": org}, address=a
                )

            def proven(earlier: JSON, exc: ProviderError) -> bool:
                made = exc.status == 400 and "already has an application" in str(exc)
                return made and isinstance(earlier, Mapping) and earlier.get("program") == program

            def post() -> ApplicationCreated | None:
                return self._attempt(a, {"program": program}, send, proven)

            def remember(made: ApplicationCreated | None) -> None:
                if made is None:  # adopted: its status is invited, its UUID never exported
                    self.store.set_record(a, "application", {"uuid": None, "status": "invited"})
                    return
                self.store.set_record(
                    a, "application", {"uuid": made.program_application_id, "status": made.status}
                )

            created = create_once(post, lambda: None, remember=remember).value
            if created is None:
                raise ProviderError(a, UNACCEPTABLE, 400)
            uuid = created.program_application_id
        accept = f"/api/programs/{program}/applications/{uuid}/accept/"
        try:
            self.client.call("POST", accept, address=a, idempotent=True)
        except ProviderError as exc:
            if not (exc.status == 400 and "status 'accepted'" in str(exc)):
                raise
        self.store.set_record(a, "application", {"uuid": uuid, "status": "accepted"})
        return Outcome(server_id=uuid)

    def opportunity(self, change: Change) -> Outcome:
        a, want = change.address, change.desired
        assert want is not None
        attrs = want.attributes
        program = self._uuid(self._program_of(a), "program")
        keys = secret_fields(change, ["learn_api_key", "deliver_api_key"])
        learn = dict(_mapping(attrs["learn_app"])) | {"api_key": keys.get("learn_api_key")}
        deliver = dict(_mapping(attrs["deliver_app"])) | {"api_key": keys.get("deliver_api_key")}
        body: dict[str, Any] = {
            k: attrs.get(k)
            for k in ("name", "description", "short_description", "organization", "start_date")
        }
        body |= {"end_date": attrs["end_date"], "total_budget": attrs["total_budget"]}
        body |= {"is_test": attrs.get("is_test", True), "learn_app": learn, "deliver_app": deliver}

        def same() -> list[int]:
            return [
                o.id
                for o in self._listing().opportunities
                if o.organization == attrs["organization"] and o.name == attrs["name"]
            ]

        before = set(same())
        path = f"/api/programs/{program}/opportunities/"

        def post() -> tuple[Made, dict[str, int]]:
            made = self.client.decoded(OpportunityCreated, "POST", path, body=body, address=a)
            units = {u.slug: u.id for u in made.deliver_app.deliver_units}
            return Made(made.opportunity_id, made.id), units

        def lookup() -> tuple[Made, dict[str, int]] | None:
            found = self._new_one(a, same(), before)
            if found is None:
                return None
            o = self.client.decoded(
                ExportOpportunity, "GET", f"/export/opportunity/{found}/", address=a
            )
            return Made(o.opportunity_id, o.id), {}

        def remember(made: tuple[Made, dict[str, int]]) -> None:
            ids, units = made
            assert ids.uuid is not None
            self.store.set_id(a, ids.uuid)
            self.store.set_record(a, "export_id", ids.export_id)
            if units:
                self.store.set_record(a, "deliver_units", dict(units))
            applied: dict[str, JSON] = {"is_test": body["is_test"]}
            applied |= {
                f"{n}.hq_server_url": body[n].get("hq_server_url")
                for n in ("learn_app", "deliver_app")
            }
            self.store.set_record(a, "applied", applied)

        try:
            made, _units = create_once(post, lookup, remember=remember).value
        except ProviderError as exc:
            raise self._unaccepted(a, str(attrs["organization"]), exc) from None
        return Outcome(server_id=made.uuid)

    def _unaccepted(self, a: Address, org: str, exc: ProviderError) -> ProviderError:
        """The refusal of an opportunity whose partner's application was adopted after a lost
        answer (so never accepted by this tool) says what to do; other errors are unchanged."""
        application = self.store.get_record(
            addr("partner", f"{self._program_of(a).name}/{org}"), "application"
        )
        unknown = isinstance(application, Mapping) and application.get("uuid") is None
        if unknown and exc.status == 400 and "accepted application" in str(exc):
            return ProviderError(a, f"{org}: {UNACCEPTABLE}", 400)
        return exc

    def _deliver_units(self, opp: Address) -> dict[str, int]:
        recorded = self.store.get_record(opp, "deliver_units")
        if isinstance(recorded, Mapping) and recorded:
            return {str(k): int(str(v)) for k, v in recorded.items()}
        export_id = self.store.get_record(opp, "export_id")
        path = f"/export/opportunity/{export_id}/app_structure/"
        found = self.client.decoded(
            AppStructure, "GET", path, params={"app_type": "deliver"}, address=opp
        )
        units = {
            u.slug: u.id for u in (found.deliver_app.deliver_units if found.deliver_app else [])
        }
        self.store.set_record(opp, "deliver_units", dict(units))
        return units

    def payment_unit(self, change: Change) -> Outcome:
        a, want = change.address, change.desired
        assert want is not None
        opp = addr("opportunity", a.name.rsplit("/", 1)[0])
        uuid = self._uuid(opp, "opportunity")
        units = self._deliver_units(opp)
        attrs = dict(want.attributes)
        ids: dict[str, list[int]] = {}
        for key in ("required_deliver_units", "optional_deliver_units"):
            slugs = [str(s) for s in _list(attrs[key])]
            unknown = [s for s in slugs if s not in units]
            if unknown:
                raise ProviderError(
                    a,
                    f"deliver unit {', '.join(unknown)} is not in the opportunity's deliver app "
                    f"(its units: {', '.join(sorted(units)) or 'none'})",
                )
            ids[key] = [units[s] for s in slugs]
        body = {"name": a.name.rsplit("/", 1)[1], **attrs, **ids}
        path = f"/api/opportunities/{uuid}/payment_units/"
        sent = sorted(ids["required_deliver_units"] + ids["optional_deliver_units"])

        def send() -> PaymentUnitsCreated:
            return self.client.decoded(
                PaymentUnitsCreated, "POST", path, body={"payment_units": [body]}, address=a
            )

        def post() -> Made:
            try:
                evidence: JSON = {"deliver_units": list(sent)}
                made = self._attempt(a, evidence, send, lambda e, x: by_earlier(e, x, sent))
            except ProviderError as exc:
                if exc.status == 400 and "already-assigned" in str(exc):
                    raise ProviderError(a, assigned_elsewhere(a, exc, units, sent), 400) from None
                raise
            # None: an earlier attempt assigned exactly these units, so the unit exists
            return Made(None if made is None else made.payment_units[0].payment_unit_id)

        def remember(made: Made) -> None:
            if made.uuid is not None:
                self.store.set_id(a, made.uuid)
            self.store.set_record(a, "applied", dict(want.attributes))

        made = create_once(post, lambda: None, remember=remember).value
        note = None if made.uuid else "created by an attempt whose answer was lost: UUID unknown"
        return Outcome(server_id=made.uuid, message=note)

    def activation(self, change: Change) -> Outcome:
        a = change.address
        uuid = self._uuid(addr("opportunity", a.name), "opportunity")
        try:
            self.client.call(
                "POST", f"/api/opportunities/{uuid}/activate/", address=a, idempotent=True
            )
        except ProviderError as exc:
            if not (exc.status == 400 and "already active" in str(exc)):
                raise
        return Outcome()

    def invite(self, change: Change) -> Outcome:
        a = change.address
        opp_name, phone = a.name.rsplit("/", 1)
        uuid = self._uuid(addr("opportunity", opp_name), "opportunity")
        path = f"/api/opportunities/{uuid}/invite_users/"
        # re-inviting a number makes no duplicate on the server: safe to send again
        self.client.call("POST", path, body={"phone_numbers": [phone]}, address=a, idempotent=True)
        self.store.set_record(a, "sent", True)
        return Outcome(pending="invited: the worker accepts in the Connect app")


def _mapping(value: JSON) -> Mapping[str, JSON]:
    assert isinstance(value, Mapping)
    return value


def _list(value: JSON) -> list[JSON]:
    assert isinstance(value, list)
    return value
