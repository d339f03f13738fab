"""A fake Azure DevOps organisation API, enough for Flagsmith's PAT probe.

``GET /_ado/{host}/{organisation}/_apis/projects?api-version=7.1&$top=1`` with basic auth
``("", pat)``: 200 ``{"count", "value": [{"id", "name", "url", ...}]}`` when the PAT is
accepted; 401 without credentials or with a PAT the organisation does not accept; 503 when
the organisation is marked down. By default every organisation accepts any non-empty PAT;
``configure`` (control API ``POST /_sandbox/ado/``) lists the PATs one accepts or marks it
down. The state is in memory, apart from the sandbox store: the probe runs while the API
holds the store's lock.
"""

from __future__ import annotations

import base64
import threading
from typing import Any

from fastapi.responses import JSONResponse, Response


def org_key(url: str) -> str:
    """``dev.azure.com/acme`` for ``https://dev.azure.com/acme/`` (scheme and slashes dropped)."""
    return url.split("://", 1)[-1].strip("/").lower()


class FakeAdo:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.orgs: dict[str, dict[str, Any]] = {}
        self.probes = 0

    def reset(self) -> None:
        with self.lock:
            self.orgs.clear()
            self.probes = 0

    def configure(self, organisation_url: str, pats: list[str] | None, down: bool) -> None:
        with self.lock:
            self.orgs[org_key(organisation_url)] = {"pats": pats, "down": down}

    def __call__(self, path: str, params: dict[str, str], auth: str | None) -> Response:
        rest = path.removeprefix("/_ado/")
        if not rest.endswith("/_apis/projects"):
            return JSONResponse({"message": "Not found"}, 404)
        key = org_key(rest.removesuffix("/_apis/projects"))
        with self.lock:
            self.probes += 1
            org = self.orgs.get(key, {"pats": None, "down": False})
        if org["down"]:
            return JSONResponse({"message": "Service Unavailable"}, 503)
        scheme, _, encoded = (auth or "").partition(" ")
        try:
            pat = base64.b64decode(encoded).decode().partition(":")[2] if scheme == "Basic" else ""
        except ValueError:
            pat = ""
        if not pat or (org["pats"] is not None and pat not in org["pats"]):
            return Response(status_code=401)
        name = key.rsplit("/", 1)[-1]
        project = {"id": "6ce954b1-ce1f-45d1-b94d-e6bf2464ba2c", "name": f"{name}-web"}
        project |= {"url": f"https://{key}/_apis/projects/{project['id']}", "state": "wellFormed"}
        top = int(params.get("$top", "100") or 100)
        return JSONResponse({"count": min(1, top), "value": [project][:top]})
