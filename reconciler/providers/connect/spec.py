"""The ``connect:`` spec section (pydantic, unknown keys rejected). See specs/connect.yaml.

Programs are keyed by a name of the spec's choosing (the program's ``name`` defaults to it);
opportunities and payment units likewise inside their parent. Fields the export API never shows
(a program's description, budget, country and dates; an opportunity's ``is_test``, HQ URLs and
API keys) are optional so an exported spec plans empty; creating an object needs them (the plan
is refused before any request when one is missing).
"""

from __future__ import annotations

import datetime

from pydantic import BaseModel, ConfigDict, Field

from reconciler.secrets.field import SecretField


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConnectConnection(_Model):
    """Where Connect is and who the reconciler is there."""

    url: str = Field(description="The server root, e.g. https://connect.dimagi.com.")
    token: SecretField = Field(
        description="OAuth bearer token of an admin of the program-manager organisation, with "
        "the read and export scopes. Access tokens expire (two weeks by default)."
    )
    rate_limit: int = Field(default=240, ge=1, le=100000, description="Requests per minute.")
    allow_insecure_http: bool = Field(
        default=False,
        description="Allow plain http:// to a host other than loopback (credentials would "
        "cross the network unencrypted).",
    )


class ConnectAppSpec(_Model):
    """A CommCare HQ app (the deliver app)."""

    hq_server_url: str | None = Field(
        default=None, description="Must equal the server's stored HQ URL exactly (no slash)."
    )
    api_key: SecretField | None = Field(
        default=None, description="HQ API key (write-only: fingerprinted, never shown)."
    )
    cc_domain: str = Field(description="The HQ project space.")
    cc_app_id: str = Field(description="The HQ app id.")


class ConnectLearnAppSpec(ConnectAppSpec):
    """The learn app: an HQ app plus the passing score of its assessment."""

    passing_score: int = Field(ge=0, le=100, description="Passing score, 0 to 100.")
    description: str | None = Field(
        default=None, description="Shown to workers; defaults to the opportunity's description."
    )


class ConnectPaymentUnitSpec(_Model):
    """What a worker is paid for: an amount per completed set of deliver units."""

    description: str = ""
    amount: int = Field(ge=0, description="Paid to the worker per unit.")
    org_amount: int = Field(ge=0, description="Paid to the delivering organisation per unit.")
    max_total: int = Field(ge=1)
    max_daily: int = Field(ge=1)
    required_deliver_units: list[str] = Field(
        min_length=1, description="Deliver unit slugs of the deliver app (at least one)."
    )
    optional_deliver_units: list[str] = Field(default_factory=list)
    start_date: datetime.date | None = None
    end_date: datetime.date | None = None


class ConnectOpportunitySpec(_Model):
    """A managed opportunity of the program, delivered by a partner organisation."""

    name: str | None = Field(default=None, description="Defaults to the key.")
    organization: str = Field(description="The delivering organisation (one of partners).")
    description: str | None = Field(default=None, description="Defaults to short_description.")
    short_description: str = Field(max_length=50)
    start_date: datetime.date
    end_date: datetime.date
    total_budget: int = Field(ge=1)
    is_test: bool | None = Field(default=None, description="The server's default is true.")
    learn_app: ConnectLearnAppSpec
    deliver_app: ConnectAppSpec
    payment_units: dict[str, ConnectPaymentUnitSpec] = Field(default_factory=dict)
    active: bool = Field(default=False, description="Activate it (needs a payment unit).")
    invites: list[str] = Field(
        default_factory=list, description="Phone numbers (E.164) of workers to invite."
    )


class ConnectProgramSpec(_Model):
    """A program of the program-manager organisation."""

    id: str | None = Field(
        default=None, description="The program's UUID, when it was made elsewhere."
    )
    name: str | None = Field(default=None, description="Defaults to the key.")
    description: str | None = None
    delivery_type: str = Field(description="Delivery type slug, e.g. malaria.")
    budget: int | None = Field(default=None, ge=0)
    currency: str = Field(description="Currency code, e.g. USD.")
    country: str | None = Field(default=None, description="Country name, e.g. Kenya.")
    start_date: datetime.date | None = None
    end_date: datetime.date | None = None
    partners: list[str] = Field(
        default_factory=list,
        description="Delivering organisations (slugs): invited, then accepted by this "
        "organisation's admin.",
    )
    opportunities: dict[str, ConnectOpportunitySpec] = Field(default_factory=dict)


class ConnectSection(_Model):
    """CommCare Connect: programs of one program-manager organisation. The API cannot update or
    delete: a changed field is drift to fix in Connect, a removed object is reported."""

    connection: ConnectConnection
    organization: str | None = Field(
        default=None,
        description="The program-manager organisation (slug); defaults to the token user's "
        "only organisation.",
    )
    programs: dict[str, ConnectProgramSpec] = Field(default_factory=dict)
