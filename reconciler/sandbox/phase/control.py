"""The ``/_sandbox/`` control API: the human steps the real API cannot do, and test hooks.

* ``POST /_sandbox/reset/``: back to the default organisation; returns the new credentials.
* ``POST /_sandbox/seed/``: add members, invites and apps from a fixture (``seed_fixture``).
* ``POST /_sandbox/invites/by-email/{email}/accept/``: accept an invite; the member is created
  with a fresh identity keypair. Returns ``{member_id, email, token}`` (their PAT).
* ``GET /_sandbox/principals/``: members and SAs with their keys (the sandbox plays their
  devices, so tests can decrypt as them).
* ``GET /_sandbox/counters/`` (``DELETE`` resets): API requests per ``METHOD /route``, and
  ``total``.
* ``POST /_sandbox/faults/`` (``DELETE`` clears): inject ``{errors, error_status, throttle,
  retry_after, latency_ms}``; each injected error or 429 is consumed by one API request.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from fastapi.responses import JSONResponse, Response

from reconciler.sandbox.phase.api import Faults, Runtime
from reconciler.sandbox.phase.seed import seed_default, seed_fixture
from reconciler.sandbox.phase.store import now
from reconciler.sandbox.phase.wire import ApiError


def make_control(
    runtime: Runtime, credentials: Callable[[], dict[str, str]], remember: Callable[[str], None]
) -> Callable[[str, str, Any], Response]:
    """The control dispatcher; ``remember`` records the owner's new PAT after a reset."""

    def control(method: str, path: str, body: Any) -> Response:
        store = runtime.store
        parts = [p for p in path.split("/") if p][1:]
        with store.lock:
            if parts == ["reset"] and method == "POST":
                remember(seed_default(store))
                store.save()
                runtime.counters.clear()
                runtime.windows.clear()
                runtime.faults = Faults()
                return JSONResponse(credentials())
            if parts == ["seed"] and method == "POST":
                created = seed_fixture(store, body if isinstance(body, dict) else {})
                store.save()
                return JSONResponse(created)
            accept = len(parts) == 4 and parts[:2] == ["invites", "by-email"]
            if accept and parts[3] == "accept" and method == "POST":
                return JSONResponse(_accept(store, parts[2]))
            if parts == ["principals"] and method == "GET":
                return JSONResponse(_principals(store))
            if parts == ["counters"]:
                if method == "DELETE":
                    runtime.counters.clear()
                return JSONResponse(dict(runtime.counters))
            if parts == ["faults"]:
                if method == "DELETE":
                    runtime.faults = Faults()
                elif method == "POST":
                    fields = {f.name for f in dataclasses.fields(Faults)}
                    runtime.faults = Faults(**{k: int(v) for k, v in body.items() if k in fields})
                return JSONResponse(dataclasses.asdict(runtime.faults))
        raise ApiError(404, f"unknown sandbox control {method} {path}")

    return control


def _accept(store: Any, email: str) -> dict[str, str]:
    invite = next(
        (i for i in store.table("invites").values() if i["email"] == email.lower() and i["valid"]),
        None,
    )
    if invite is None:
        raise ApiError(404, f"no valid invite for {email}")
    invite["valid"] = False
    member = store.add_member(invite["email"], invite["role_id"])
    token = store.mint_token("user", member["id"], "sandbox", None)
    store.save()
    return {"member_id": member["id"], "email": member["email"], "token": token}


def _principals(store: Any) -> dict[str, Any]:
    keys = ("id", "email", "identity_key", "signing_key", "password", "deleted_at")
    sa_keys = ("id", "name", "identity_key", "signing_key", "deleted_at")
    return {
        "members": [{k: m.get(k) for k in keys} for m in store.table("members").values()],
        "service_accounts": [
            {k: s.get(k) for k in sa_keys} for s in store.table("service_accounts").values()
        ],
        "at": now(),
    }
