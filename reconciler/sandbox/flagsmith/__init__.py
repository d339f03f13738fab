"""The Flagsmith sandbox: the REST API a reconciler uses (organisations, users, invites, groups,
projects, environments, permissions, project integrations with write-only secrets, the
organisation GitHub integration) and a fake Azure DevOps the ADO integration probes."""
