"""Flagsmith's registration with the sandbox host (see ``reconciler.sandbox.host``)."""

from __future__ import annotations

from reconciler.sandbox.flagsmith.server import FlagsmithSandbox
from reconciler.sandbox.host import SandboxMount

MOUNT = SandboxMount(
    name="flagsmith",
    title="Flagsmith (organisation, projects, environments, permissions, integrations; fake ADO)",
    factory=FlagsmithSandbox,
    try_it='curl -s -H "Authorization: Api-Key $FLAGSMITH_API_KEY" "$FLAGSMITH_URL/organisations/"',
)
