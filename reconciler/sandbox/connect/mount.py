"""CommCare Connect's registration with the sandbox host (see ``reconciler.sandbox.host``)."""

from __future__ import annotations

from reconciler.sandbox.connect.server import ConnectSandbox
from reconciler.sandbox.host import SandboxMount

MOUNT = SandboxMount(
    name="connect",
    title="CommCare Connect (automation API, data export, fake CommCare HQ and ConnectID)",
    factory=ConnectSandbox,
    try_it=(
        'curl -s -H "Authorization: Bearer $CONNECT_TOKEN" '
        '"$CONNECT_URL/export/opp_org_program_list/"'
    ),
)
