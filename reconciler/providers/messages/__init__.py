"""The La Suite Messages provider: mail domains, domain admins, mailboxes and their accesses."""
