"""The access report of the CommCare Connect example against the sandbox, against a hand-written
expectation: the program manager, the accepted partner delivering the opportunity, and the
invited workers."""

from __future__ import annotations

from access_org import AccessOrg, cells

ORG, W = "connect.organization.", "connect.worker."
PROGRAM, OPP = "connect.program.malaria-2027", "connect.opportunity.malaria-2027/kisumu-pilot"


def test_program_manager_partner_and_workers(connect_org: AccessOrg) -> None:
    connect_org.converge()
    found = cells(connect_org.report())
    got = {k: (c["right"], c["paths"]) for k, c in found.items()}
    assert got == {
        (ORG + "acme-pm", PROGRAM): ("admin", ["program manager"]),
        (ORG + "acme-pm", OPP): ("admin", ["program manager"]),
        (ORG + "kisumu-health", PROGRAM): ("read", ["partner"]),
        (ORG + "kisumu-health", OPP): ("write", ["delivers"]),
        (W + "+254700000001", OPP): ("write", ["invited worker"]),
        (W + "+254700000002", OPP): ("write", ["invited worker"]),
    }
    assert not any(c["differs"] for c in found.values())
