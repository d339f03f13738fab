"""Messages' registration with the sandbox host (see ``reconciler.sandbox.host``)."""

from __future__ import annotations

from reconciler.sandbox.host import SandboxMount
from reconciler.sandbox.messages.server import MessagesSandbox

MOUNT = SandboxMount(
    name="messages",
    title="La Suite Messages (provisioning API with a global api_key channel, admin REST API)",
    factory=MessagesSandbox,
    try_it='curl -s -H "X-Channel-Id: $MESSAGES_CHANNEL_ID" -H "X-API-Key: $MESSAGES_API_KEY" '
    '"${MESSAGES_URL}provisioning/maildomains/dns/"',
)
