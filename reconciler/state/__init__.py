"""Small persistent store: apply lock, write-only fingerprints, server ids. Never a secret."""
