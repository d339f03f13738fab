"""The ``flagsmith`` provider: one Flagsmith organisation (members, groups, projects,
environments, grants, project integrations with write-only secrets, the GitHub integration)."""
