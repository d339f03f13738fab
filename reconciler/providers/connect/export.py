"""Export: the organisation's live programs as a ``connect:`` section that plans empty.

Only what the export API shows is written; what it never shows is listed in a comment on each
object (``#`` entries become YAML comments): a program's description, budget, country and
dates; an opportunity's ``is_test``, HQ URLs and API keys, payment units (the export lists
none), activation (declaring it needs a payment unit) and invites. Objects the state store
already knows keep their spec keys, so re-planning with the same state finds them.
"""

from __future__ import annotations

from typing import Any

from reconciler.providers.base import Provider

from .compile import NAME
from .live import exported, known
from .payloads import Listing, OpportunityPage

PROGRAM_NOTE = (
    "not exported by Connect (set them to manage them): description, budget, country, "
    "start_date, end_date"
)
OPPORTUNITY_NOTE = (
    "not exported by Connect: is_test, the apps' hq_server_url and api_key, payment_units "
    "(the export lists none), active (needs a payment unit declared) and invites"
)


def export(provider: Provider) -> dict[str, Any]:
    from .provider import ConnectProvider

    assert isinstance(provider, ConnectProvider)
    client, org = provider.client, provider.org.slug()
    memory = known(provider.store)
    program_keys = {
        v["export_id"]: a.name
        for a, v in memory.items()
        if a.kind == "program" and v.get("export_id") is not None
    }
    opp_keys = {
        v["id"]: a.name.split("/", 1)[1]
        for a, v in memory.items()
        if a.kind == "opportunity" and v.get("id")
    }
    listing = client.decoded(Listing, "GET", "/export/opp_org_program_list/")
    programs: dict[str, Any] = {}
    for p in listing.programs:
        if p.organization != org:
            continue
        key = str(program_keys.get(p.id) or p.name)
        if key in programs:
            key = f"{p.name} #{p.id}"
        opportunities: dict[str, Any] = {}
        for page in client.pages(OpportunityPage, f"/export/program/{p.id}/opportunity/"):
            for o in page.results:
                opp_key = str(opp_keys.get(o.opportunity_id) or o.name)
                opportunities[opp_key] = {"#": OPPORTUNITY_NOTE, **exported(o)}
        body: dict[str, Any] = {"#": PROGRAM_NOTE, "name": p.name}
        body |= {"delivery_type": p.delivery_type, "currency": p.currency}
        partners = sorted({o["organization"] for o in opportunities.values()})
        if partners:
            body["partners"] = partners
        if opportunities:
            body["opportunities"] = opportunities
        programs[key] = body
    return {"organization": org, "programs": programs} if programs else {"organization": org}


__all__ = ["NAME", "export"]
