"""The La Suite Messages sandbox: provisioning and admin APIs (``server.MessagesSandbox``)."""
