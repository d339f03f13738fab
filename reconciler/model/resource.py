"""Resource: one managed object, desired (compiled from the spec) or live (read from an API).

Contract:

* ``attributes`` hold *normalised* JSON values (the provider normalises both sides the same way,
  e.g. sanitised text, ``None`` for blank descriptions, sorted sets as sorted lists), so that a
  converged system diffs empty.
* Only the keys present in the *desired* resource are diffed; a live attribute that the spec does
  not mention is not managed.
* A name in ``sensitive`` is a write-only attribute: its value is a keyed fingerprint
  (``hmac-sha256:...``) or ``None`` when unknown, never plaintext. The plaintext of a desired
  sensitive attribute travels in ``secrets`` (a ``Secret``), which is never serialised, compared or
  printed.
* ``depends_on`` names the objects that must exist before this one (parents, referenced roles,
  principals). Ordering of changes is derived from it.
* ``id`` is the server id of a live object (or of a desired object pinned with ``id:``).
* ``pending`` on a live object says it exists but cannot be acted on yet (an invite not accepted,
  a member without identity key); changes to it and to its dependents are *deferred*.
* ``meta`` is provider-private data that is neither diffed nor shown (e.g. server ids of related
  objects needed to build a request).
* ``location`` is where a desired object is declared in the spec.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from reconciler.address import Address
from reconciler.errors import Location
from reconciler.secrets.value import Secret

# Covariant containers so that e.g. ``list[str]`` is a JSON value for the type checker.
JSON: TypeAlias = bool | int | float | str | Sequence["JSON"] | Mapping[str, "JSON"] | None


def canonical_json(value: Any) -> str:
    """Canonical JSON text: sorted keys, no whitespace, UTF-8 kept. Used for digests."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Resource:
    """A desired or live object; see the module docstring for the contract of each field."""

    address: Address
    attributes: Mapping[str, JSON] = field(default_factory=dict)
    sensitive: frozenset[str] = frozenset()
    depends_on: frozenset[Address] = frozenset()
    id: str | None = None
    pending: str | None = None
    meta: Mapping[str, JSON] = field(default_factory=dict, compare=False)
    location: Location | None = field(default=None, compare=False)
    secrets: Mapping[str, Secret] = field(default_factory=dict, compare=False, repr=False)

    def fingerprint(self) -> str:
        """sha256 of the canonical JSON of what identifies this object's live state.

        Covers ``id``, ``attributes`` and ``pending``; used to detect that a live object changed
        between plan and apply.
        """
        body = {"id": self.id, "attributes": dict(self.attributes), "pending": self.pending}
        return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()

    def to_dict(self) -> dict[str, JSON]:
        """JSON form for plans (secrets and location excluded; sensitive values masked)."""
        attrs: dict[str, JSON] = {
            k: ("(sensitive)" if k in self.sensitive and v is not None else v)
            for k, v in sorted(self.attributes.items())
        }
        out: dict[str, JSON] = {"address": str(self.address), "attributes": attrs}
        if self.sensitive:
            out["sensitive"] = sorted(self.sensitive)
        if self.depends_on:
            out["depends_on"] = sorted(str(a) for a in self.depends_on)
        if self.id is not None:
            out["id"] = self.id
        if self.pending is not None:
            out["pending"] = self.pending
        if self.meta:
            out["meta"] = dict(self.meta)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Resource:
        """Inverse of ``to_dict``; sensitive attributes come back as the mask, so
        ``from_dict(r.to_dict()).to_dict() == r.to_dict()``."""
        return cls(
            address=Address.parse(data["address"]),
            attributes=dict(data.get("attributes", {})),
            sensitive=frozenset(data.get("sensitive", ())),
            depends_on=frozenset(Address.parse(a) for a in data.get("depends_on", ())),
            id=data.get("id"),
            pending=data.get("pending"),
            meta=dict(data.get("meta", {})),
        )
