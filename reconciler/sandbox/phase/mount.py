"""Phase's registration with the sandbox host (see ``reconciler.sandbox.host``)."""

from __future__ import annotations

from reconciler.sandbox.host import SandboxMount
from reconciler.sandbox.server import Sandbox

MOUNT = SandboxMount(
    name="phase",
    title="Phase secrets manager (REST /v1/, console GraphQL)",
    factory=Sandbox,
    # the owner's PAT is pss_user:v1:<token>:...; the REST API wants "Bearer User <token>"
    try_it='curl -s -H "Authorization: Bearer User $(echo "$PHASE_TOKEN" | cut -d: -f3)" '
    '"$PHASE_URL/v1/apps/"',
)
