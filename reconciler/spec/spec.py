"""Spec: a loaded, validated and compiled spec set (one organisation per provider section)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from reconciler.errors import SpecError
from reconciler.model.state import State
from reconciler.plan.policy import Policy
from reconciler.secrets.value import Secret


@dataclass(frozen=True)
class Spec:
    """Result of ``reconciler.spec.load.load_spec``.

    ``digest``: sha256 over the spec files' names and bytes (order-independent of the file
    system), so a saved plan can prove it was made from the same spec.
    ``sections``: provider name -> validated pydantic section (connection blocks included;
    secrets inside are ``Secret`` objects).
    ``desired``: compiled desired State of every provider (sensitive attributes already hold
    fingerprints when a key was given to the loader; otherwise ``None``).
    ``notes``: what ``validate`` could not check without credentials (unset variables), located;
    always empty for a spec loaded with ``strict_env`` (plan, apply).
    ``secrets``: every write-only value the spec holds (connection blocks and resources), each
    once, for redacting output as a last line of defence.
    """

    path: Path
    digest: str
    sections: Mapping[str, BaseModel]
    desired: State
    policy: Policy
    notes: tuple[SpecError, ...] = ()
    secrets: tuple[Secret, ...] = ()
