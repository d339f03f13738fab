"""The five default roles of every Phase organisation, with their real permissions
(contracts/phase.md §4.1; phasehq/console ``api/utils/access/roles.py``).

Permissions are written compactly as action letters (``c``reate, ``r``ead, ``u``pdate,
``d``elete) per permission class and expanded by ``expand``; the order of actions in the
expansion is the one the server renders.
"""

from __future__ import annotations

from typing import Any

ORG_CLASSES = (
    "Organisation", "Billing", "Apps", "Members", "MemberPersonalAccessTokens", "ServiceAccounts",
    "ServiceAccountTokens", "ExternalIdentities", "Roles", "IntegrationCredentials",
    "NetworkAccessPolicies", "Logs", "SSO", "Teams", "SCIM", "LogStreams",
)  # fmt: skip
APP_CLASSES = (
    "Environments", "Secrets", "DynamicSecretLeases", "RotatingSecrets", "Lockbox", "Logs",
    "Tokens", "Members", "ServiceAccounts", "Integrations", "EncryptionMode", "Teams",
)  # fmt: skip
ACTIONS = {"c": "create", "r": "read", "u": "update", "d": "delete"}
ALL = "crud"

_FULL_ORG = {c: ALL for c in ORG_CLASSES if c not in ("Logs", "LogStreams")} | {"Logs": "r"}
_FULL_APP = {c: ALL for c in APP_CLASSES} | {"EncryptionMode": "ru"}

# name -> (description, org permissions, app permissions, global access)
DEFAULTS: dict[str, tuple[str, dict[str, str], dict[str, str], bool]] = {
    "Owner": (
        "The organisation owner, limited to a single user, with full access to all resources and "
        "actions.",
        _FULL_ORG,
        _FULL_APP,
        True,
    ),
    "Admin": (
        "Administrative users with broad access to resources and global access to all Apps and "
        "Environments.",
        _FULL_ORG | {"Organisation": "ru"},
        _FULL_APP,
        True,
    ),
    "Manager": (
        "Management users with broad access to environments, secrets, and service accounts at the "
        "organisation level. Requires explicit access to Apps and Environments.",
        {c: ALL for c in ORG_CLASSES if c not in ("MemberPersonalAccessTokens", "LogStreams")}
        | {"Organisation": "r", "Logs": "r", "SSO": "", "SCIM": ""},
        _FULL_APP | {"Environments": "rcu"},
        False,
    ),
    "Developer": (
        "Development users with limited organisation-level permissions. Requires explicit access "
        "to Apps and Environments.",
        {
            "Organisation": "",
            "Billing": "",
            "Apps": "r",
            "Members": "r",
            "ServiceAccounts": "",
            "ServiceAccountTokens": "",
            "ExternalIdentities": "",
            "Roles": "r",
            "IntegrationCredentials": "cru",
            "NetworkAccessPolicies": "r",
            "Logs": "r",
            "SSO": "",
            "Teams": "r",
            "SCIM": "",
        },
        {
            "Environments": "rcu",
            "Secrets": ALL,
            "DynamicSecretLeases": "cr",
            "RotatingSecrets": "r",
            "Lockbox": ALL,
            "Logs": "r",
            "Tokens": "rc",
            "Members": "r",
            "ServiceAccounts": "c",
            "Integrations": ALL,
            "EncryptionMode": "ru",
            "Teams": "r",
        },
        False,
    ),
    "Service": (
        "Default role for Service Accounts, providing programmatic access to secrets without "
        "access to other organisation or app resources.",
        {
            "Organisation": "",
            "Billing": "",
            "Apps": "cru",
            "Members": "r",
            "ServiceAccounts": "r",
            "ServiceAccountTokens": "r",
            "ExternalIdentities": "r",
            "Roles": "r",
            "IntegrationCredentials": "r",
            "NetworkAccessPolicies": "r",
            "Logs": "",
            "SSO": "",
            "Teams": "",
            "SCIM": "",
        },
        {
            "Environments": ALL,
            "Secrets": ALL,
            "DynamicSecretLeases": "cr",
            "RotatingSecrets": "r",
            "Lockbox": "",
            "Logs": "",
            "Tokens": "",
            "Members": "r",
            "ServiceAccounts": "r",
            "Integrations": "r",
            "EncryptionMode": "r",
            "Teams": "r",
        },
        False,
    ),
}


def expand(compact: dict[str, str]) -> dict[str, list[str]]:
    """``{"Apps": "cr"}`` -> ``{"Apps": ["create", "read"]}``."""
    return {cls: [ACTIONS[a] for a in letters] for cls, letters in compact.items()}


def default_permissions(name: str) -> dict[str, Any]:
    """The detail ``permissions`` of a default role: ``{permissions, app_permissions,
    global_access}`` (snake_case; the API camelizes on output)."""
    _, org, app, global_access = DEFAULTS[name]
    return {
        "permissions": expand(org),
        "app_permissions": expand(app),
        "global_access": global_access,
    }
