"""The ``connect`` provider: CommCare Connect programs, partners, opportunities, payment units,
activation and invites through the create-only automation API (docs/connect-api.md)."""
