"""Connect's answers as pydantic models (extra fields ignored: the server adds fields freely).

Automation API create answers carry UUIDs; the export API speaks integer ids
(docs/connect-api.md#identity).
"""

from __future__ import annotations

from typing import Generic, TypeVar

from reconciler.providers.kit.payloads import Answer as _Answer

T = TypeVar("T")


class ProgramCreated(_Answer):
    program_id: str
    name: str
    slug: str
    organization: str


class ApplicationCreated(_Answer):
    program_application_id: str
    organization: str
    status: str


class Unit(_Answer):
    id: int
    slug: str
    name: str = ""


class CreatedDeliverApp(_Answer):
    deliver_units: list[Unit] = []


class OpportunityCreated(_Answer):
    id: int
    opportunity_id: str
    name: str
    organization: str
    deliver_app: CreatedDeliverApp


class PaymentUnitCreated(_Answer):
    id: int
    payment_unit_id: str
    name: str


class PaymentUnitsCreated(_Answer):
    payment_units: list[PaymentUnitCreated]


class Activated(_Answer):
    id: int
    opportunity_id: str
    active: bool


class Invited(_Answer):
    invited_count: int


class ExportProgram(_Answer):
    id: int
    name: str
    organization: str
    delivery_type: str | None = None
    currency: str | None = None


class ExportOpportunityRow(_Answer):
    id: int
    name: str
    organization: str
    program: int | None = None
    is_active: bool = False


class ExportOrganization(_Answer):
    id: int
    slug: str


class Listing(_Answer):
    """``GET /export/opp_org_program_list/``."""

    organizations: list[ExportOrganization] = []
    programs: list[ExportProgram]
    opportunities: list[ExportOpportunityRow]


class ExportApp(_Answer):
    cc_domain: str
    cc_app_id: str
    passing_score: int | None = None
    description: str | None = None


class ExportOpportunity(_Answer):
    """``OpportunitySerializer`` as the export renders it (``payment_units`` always ``[]``)."""

    id: int
    opportunity_id: str
    name: str
    description: str | None = None
    short_description: str | None = None
    organization: str
    start_date: str | None = None
    end_date: str | None = None
    total_budget: int | None = None
    is_active: bool = False
    learn_app: ExportApp
    deliver_app: ExportApp


class KeysetPage(_Answer, Generic[T]):
    """``IdKeysetPagination``'s v2 envelope: no ``count`` (unlike the kit's DRF ``Page``)."""

    next: str | None
    results: list[T]


OpportunityPage = KeysetPage[ExportOpportunity]


class Worker(_Answer):
    phone: str | None = None
    user_invite_status: str | None = None


WorkerPage = KeysetPage[Worker]


class AppStructureApp(_Answer):
    deliver_units: list[Unit] = []


class AppStructure(_Answer):
    deliver_app: AppStructureApp | None = None
