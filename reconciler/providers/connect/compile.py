"""``connect:`` section -> desired Resources (pure), with every check that needs no network.

Addresses (provider ``connect``):

================  ===============================  ==========================================
kind              name                             attributes
================  ===============================  ==========================================
``program``       ``<program>``                    name, organization, delivery_type, currency
                                                   (exported); description, budget, country,
                                                   start_date, end_date (never exported)
``partner``       ``<program>/<org>``              status (``accepted``)
``opportunity``   ``<program>/<opportunity>``      name, organization, description,
                                                   short_description, dates, total_budget,
                                                   learn_app, deliver_app, is_test; the HQ keys
                                                   as write-only ``learn_api_key`` /
                                                   ``deliver_api_key``
``payment_unit``  ``<program>/<opp>/<unit>``       what was sent (never exported: compared
                                                   with what was last applied)
``activation``    ``<program>/<opportunity>``      (exists once the opportunity is active)
``invite``        ``<program>/<opp>/<phone>``      (exists once sent)
================  ===============================  ==========================================

Checks (located spec errors, before any request; docs/connect-api.md#validation): end after
start, opportunity dates inside the program's, the program's opportunity budgets within its
budget, an opportunity's organisation among the partners, different learn and deliver apps,
E.164 phone numbers, invites only on an ``active`` opportunity, and a deliver unit used by one
payment unit only (deliver units belong to the app record: every opportunity of one
organisation with the same app, domain and HQ server shares them).
"""

from __future__ import annotations

import re
from typing import Any

from reconciler.address import Address
from reconciler.errors import SpecError, SpecErrors
from reconciler.model.resource import JSON, Resource
from reconciler.providers.base import CompileContext, Compiled

from .spec import ConnectOpportunitySpec, ConnectProgramSpec, ConnectSection

NAME = "connect"
KINDS = ("program", "partner", "opportunity", "payment_unit", "activation", "invite")
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
PROGRAM_EXPORTED = ("name", "organization", "delivery_type", "currency")
PROGRAM_UNEXPORTED = ("description", "budget", "country", "start_date", "end_date")


def addr(kind: str, name: str) -> Address:
    return Address(NAME, kind, name)


def _iso(value: Any) -> JSON:
    return None if value is None else str(value)


class _Compiler:
    def __init__(self, section: ConnectSection, ctx: CompileContext) -> None:
        self.section, self.ctx = section, ctx
        self.errors: list[SpecError] = []
        self.out: list[Resource] = []
        self.units: dict[tuple[str, ...], str] = {}  # deliver unit -> the payment unit using it

    def error(self, message: str, *path: str | int) -> None:
        self.errors.append(SpecError(message, self.ctx.locate((NAME, "programs", *path))))

    def program(self, key: str, p: ConnectProgramSpec) -> None:
        attrs: dict[str, JSON] = {
            "name": p.name or key,
            "delivery_type": p.delivery_type,
            "currency": p.currency,
        }
        if self.section.organization is not None:
            attrs["organization"] = self.section.organization
        for field in PROGRAM_UNEXPORTED:
            value = getattr(p, field)
            if value is not None:
                attrs[field] = _iso(value) if field.endswith("date") else value
        if p.start_date and p.end_date and p.end_date <= p.start_date:
            self.error("end_date must be after start_date", key, "end_date")
        where = self.ctx.locate((NAME, "programs", key))
        self.out.append(Resource(addr("program", key), attrs, id=p.id, location=where))
        for org in p.partners:
            self.out.append(
                Resource(
                    addr("partner", f"{key}/{org}"),
                    {"status": "accepted"},
                    depends_on=frozenset({addr("program", key)}),
                    location=where,
                )
            )
        total = sum(o.total_budget for o in p.opportunities.values())
        if p.budget is not None and total > p.budget:
            self.error(
                f"the opportunities' budgets sum to {total}, over the program budget {p.budget}",
                key,
                "budget",
            )
        for name, opp in p.opportunities.items():
            self.opportunity(key, p, name, opp)

    def opportunity(
        self, program: str, p: ConnectProgramSpec, key: str, o: ConnectOpportunitySpec
    ) -> None:
        # Over 60 lines: the checks and the attributes of one opportunity read the same spec
        # object and locations; split up, they would pass it around field by field.
        path = (program, "opportunities", key)
        name = f"{program}/{key}"
        if o.end_date <= o.start_date:
            self.error("end_date must be after start_date", *path, "end_date")
        for field in ("start_date", "end_date"):
            value = getattr(o, field)
            if p.start_date and p.end_date and not p.start_date <= value <= p.end_date:
                self.error(
                    f"{field} {value} is outside the program's dates "
                    f"({p.start_date} to {p.end_date})",
                    *path,
                    field,
                )
        if o.organization not in p.partners:
            self.error(
                f"organization {o.organization!r} is not among the program's partners",
                *path,
                "organization",
            )
        learn, deliver = o.learn_app, o.deliver_app
        if (learn.cc_domain, learn.cc_app_id) == (deliver.cc_domain, deliver.cc_app_id):
            self.error("learn_app and deliver_app must be different apps", *path, "deliver_app")
        description = o.description or o.short_description
        learn_attrs: dict[str, JSON] = {
            "cc_domain": learn.cc_domain,
            "cc_app_id": learn.cc_app_id,
            "passing_score": learn.passing_score,
            "description": learn.description or description,
        }
        deliver_attrs: dict[str, JSON] = {
            "cc_domain": deliver.cc_domain,
            "cc_app_id": deliver.cc_app_id,
        }
        if learn.hq_server_url is not None:
            learn_attrs["hq_server_url"] = learn.hq_server_url
        if deliver.hq_server_url is not None:
            deliver_attrs["hq_server_url"] = deliver.hq_server_url
        attrs: dict[str, JSON] = {
            "name": o.name or key,
            "organization": o.organization,
            "description": description,
            "short_description": o.short_description,
            "start_date": str(o.start_date),
            "end_date": str(o.end_date),
            "total_budget": o.total_budget,
            "learn_app": learn_attrs,
            "deliver_app": deliver_attrs,
        }
        if o.is_test is not None:
            attrs["is_test"] = o.is_test
        secrets = {}
        for attr, app in (("learn_api_key", learn), ("deliver_api_key", deliver)):
            if app.api_key is not None:
                attrs[attr] = None
                secrets[attr] = app.api_key
        parents = {addr("program", program)}
        if o.organization in p.partners:
            parents.add(addr("partner", f"{program}/{o.organization}"))
        where = self.ctx.locate((NAME, "programs", *path))
        self.out.append(
            Resource(
                addr("opportunity", name),
                attrs,
                sensitive=frozenset(secrets),
                depends_on=frozenset(parents),
                location=where,
                secrets=secrets,
            )
        )
        self.payment_units(path, name, o)
        self.activation_and_invites(path, name, o)

    def payment_units(self, path: tuple[str, ...], name: str, o: ConnectOpportunitySpec) -> None:
        d = o.deliver_app
        app: tuple[str, ...] = (o.organization, d.hq_server_url or "", d.cc_domain, d.cc_app_id)
        opp = addr("opportunity", name)
        for key, unit in o.payment_units.items():
            here = (*path, "payment_units", key)
            if unit.start_date and unit.end_date and unit.end_date < unit.start_date:
                self.error("end_date cannot be earlier than start_date", *here, "end_date")
            slugs = [*unit.required_deliver_units, *unit.optional_deliver_units]
            for slug in sorted(set(slugs)):
                used = self.units.setdefault((*app, slug), f"{name}/{key}")
                if used != f"{name}/{key}":
                    self.error(
                        f"deliver unit {slug!r} of app {app[3]} is used by payment units {used} "
                        f"and {name}/{key}: deliver units belong to the app record (shared by "
                        "every opportunity of the organisation using the app) and each pays "
                        "for one payment unit only",
                        *here,
                    )
            if set(unit.required_deliver_units) & set(unit.optional_deliver_units):
                self.error("a deliver unit cannot be both required and optional", *here)
            attrs: dict[str, JSON] = {
                "description": unit.description,
                "amount": unit.amount,
                "org_amount": unit.org_amount,
                "max_total": unit.max_total,
                "max_daily": unit.max_daily,
                "required_deliver_units": sorted(unit.required_deliver_units),
                "optional_deliver_units": sorted(unit.optional_deliver_units),
                "start_date": _iso(unit.start_date),
                "end_date": _iso(unit.end_date),
            }
            self.out.append(
                Resource(
                    addr("payment_unit", f"{name}/{key}"),
                    attrs,
                    depends_on=frozenset({opp}),
                    location=self.ctx.locate((NAME, "programs", *here)),
                )
            )

    def activation_and_invites(
        self, path: tuple[str, ...], name: str, o: ConnectOpportunitySpec
    ) -> None:
        opp = addr("opportunity", name)
        units = {addr("payment_unit", f"{name}/{k}") for k in o.payment_units}
        if o.active:
            if not units:
                self.error("an opportunity is activated only with a payment unit", *path, "active")
            self.out.append(
                Resource(
                    addr("activation", name),
                    {},
                    depends_on=frozenset({opp, *units}),
                    location=self.ctx.locate((NAME, "programs", *path, "active")),
                )
            )
        elif o.invites:
            self.error(
                "invites are sent only to an active opportunity (active: true)", *path, "invites"
            )
        seen: set[str] = set()
        for i, phone in enumerate(o.invites):
            if not E164.match(phone):
                self.error(
                    f"{phone!r} is not a phone number in E.164 form (+<country><number>)",
                    *path,
                    "invites",
                    i,
                )
                continue
            if phone in seen:
                self.error(f"{phone} is listed twice", *path, "invites", i)
                continue
            seen.add(phone)
            if o.active:
                self.out.append(
                    Resource(
                        addr("invite", f"{name}/{phone}"),
                        {},
                        depends_on=frozenset({addr("activation", name)}),
                        location=self.ctx.locate((NAME, "programs", *path, "invites", i)),
                    )
                )


def compile_section(section: ConnectSection, ctx: CompileContext) -> Compiled:
    """Desired resources; spec errors (with locations) are collected and raised together."""
    compiler = _Compiler(section, ctx)
    for key, program in section.programs.items():
        compiler.program(key, program)
    if compiler.errors:
        raise SpecErrors(compiler.errors)
    return Compiled(compiler.out)
