"""The five default roles of every Phase organisation with their real permissions
(docs/phase-api.md#roles-and-permission-checks; data as defined by phasehq/console
``api/utils/access/roles.py``).

Effective permissions of default roles always come from here, looked up by
``role.name.capitalize()``; a default role's stored permissions are ignored. ``ORG_CLASSES`` /
``APP_CLASSES`` (the Owner's maps) are the valid permission classes and actions for custom roles.
"""

from __future__ import annotations

from typing import Any

C, R, U, D = "create", "read", "update", "delete"
CRUD = [C, R, U, D]

DEFAULT_ROLES: dict[str, dict[str, Any]] = {
    "Owner": {
        "meta": {
            "version": 2,
            "description": (
                "The organisation owner, limited to a single user, with full access to all "
                "resources and actions."
            ),
        },
        "permissions": {
            "Organisation": CRUD,
            "Billing": CRUD,
            "Apps": CRUD,
            "Members": CRUD,
            "MemberPersonalAccessTokens": CRUD,
            "ServiceAccounts": CRUD,
            "ServiceAccountTokens": CRUD,
            "ExternalIdentities": CRUD,
            "Roles": CRUD,
            "IntegrationCredentials": CRUD,
            "NetworkAccessPolicies": CRUD,
            "Logs": [R],
            "SSO": CRUD,
            "Teams": CRUD,
            "SCIM": CRUD,
            "LogStreams": CRUD,
        },
        "app_permissions": {
            "Environments": CRUD,
            "Secrets": CRUD,
            "DynamicSecretLeases": CRUD,
            "RotatingSecrets": CRUD,
            "Lockbox": CRUD,
            "Logs": CRUD,
            "Tokens": CRUD,
            "Members": CRUD,
            "ServiceAccounts": CRUD,
            "Integrations": CRUD,
            "EncryptionMode": [R, U],
            "Teams": CRUD,
        },
        "global_access": True,
    },
    "Admin": {
        "meta": {
            "version": 2,
            "description": (
                "Administrative users with broad access to resources and global access to all "
                "Apps and Environments."
            ),
        },
        "permissions": {
            "Organisation": [R, U],
            "Billing": CRUD,
            "Apps": CRUD,
            "Members": CRUD,
            "MemberPersonalAccessTokens": CRUD,
            "ServiceAccounts": CRUD,
            "ServiceAccountTokens": CRUD,
            "ExternalIdentities": CRUD,
            "Roles": CRUD,
            "IntegrationCredentials": CRUD,
            "NetworkAccessPolicies": CRUD,
            "Logs": [R],
            "SSO": CRUD,
            "Teams": CRUD,
            "SCIM": CRUD,
            "LogStreams": CRUD,
        },
        "app_permissions": {
            "Environments": CRUD,
            "Secrets": CRUD,
            "DynamicSecretLeases": CRUD,
            "RotatingSecrets": CRUD,
            "Lockbox": CRUD,
            "Logs": CRUD,
            "Tokens": CRUD,
            "Members": CRUD,
            "ServiceAccounts": CRUD,
            "Integrations": CRUD,
            "EncryptionMode": [R, U],
            "Teams": CRUD,
        },
        "global_access": True,
    },
    "Manager": {
        "meta": {
            "version": 2,
            "description": (
                "Management users with broad access to environments, secrets, and service "
                "accounts at the organisation level. Requires explicit access to Apps and "
                "Environments."
            ),
        },
        "permissions": {
            "Organisation": [R],
            "Billing": CRUD,
            "Apps": CRUD,
            "Members": CRUD,
            "ServiceAccounts": CRUD,
            "ServiceAccountTokens": CRUD,
            "ExternalIdentities": CRUD,
            "Roles": CRUD,
            "IntegrationCredentials": CRUD,
            "NetworkAccessPolicies": CRUD,
            "Logs": [R],
            "SSO": [],
            "Teams": CRUD,
            "SCIM": [],
            "LogStreams": [],
        },
        "app_permissions": {
            "Environments": [R, C, U],
            "Secrets": CRUD,
            "DynamicSecretLeases": CRUD,
            "RotatingSecrets": CRUD,
            "Lockbox": CRUD,
            "Logs": CRUD,
            "Tokens": CRUD,
            "Members": CRUD,
            "ServiceAccounts": CRUD,
            "Integrations": CRUD,
            "EncryptionMode": [R, U],
            "Teams": CRUD,
        },
        "global_access": False,
    },
    "Developer": {
        "meta": {
            "version": 1,
            "description": (
                "Development users with limited organisation-level permissions. Requires "
                "explicit access to Apps and Environments."
            ),
        },
        "permissions": {
            "Organisation": [],
            "Billing": [],
            "Apps": [R],
            "Members": [R],
            "ServiceAccounts": [],
            "ServiceAccountTokens": [],
            "ExternalIdentities": [],
            "Roles": [R],
            "IntegrationCredentials": [C, R, U],
            "NetworkAccessPolicies": [R],
            "Logs": [R],
            "SSO": [],
            "Teams": [R],
            "SCIM": [],
            "LogStreams": [],
        },
        "app_permissions": {
            "Environments": [R, C, U],
            "Secrets": CRUD,
            "DynamicSecretLeases": [C, R],
            "RotatingSecrets": [R],
            "Lockbox": CRUD,
            "Logs": [R],
            "Tokens": [R, C],
            "Members": [R],
            "ServiceAccounts": [C],
            "Integrations": CRUD,
            "EncryptionMode": [R, U],
            "Teams": [R],
        },
        "global_access": False,
    },
    "Service": {
        "meta": {
            "version": 1,
            "description": (
                "Default role for Service Accounts, providing programmatic access to secrets "
                "without access to other organisation or app resources."
            ),
        },
        "permissions": {
            "Organisation": [],
            "Billing": [],
            "Apps": [C, R, U],
            "Members": [R],
            "ServiceAccounts": [R],
            "ServiceAccountTokens": [R],
            "ExternalIdentities": [R],
            "Roles": [R],
            "IntegrationCredentials": [R],
            "NetworkAccessPolicies": [R],
            "Logs": [],
            "SSO": [],
            "Teams": [],
            "SCIM": [],
            "LogStreams": [],
        },
        "app_permissions": {
            "Environments": [R, C, U, D],
            "Secrets": CRUD,
            "DynamicSecretLeases": [C, R],
            "RotatingSecrets": [R],
            "Lockbox": [],
            "Logs": [],
            "Tokens": [],
            "Members": [R],
            "ServiceAccounts": [R],
            "Integrations": [R],
            "EncryptionMode": [R],
            "Teams": [R],
        },
        "global_access": False,
    },
}
ORG_CLASSES: dict[str, list[str]] = DEFAULT_ROLES["Owner"]["permissions"]
APP_CLASSES: dict[str, list[str]] = DEFAULT_ROLES["Owner"]["app_permissions"]


def default_permissions(name: str) -> dict[str, Any] | None:
    """A default role's permission dict without ``meta`` (``permissions``, ``app_permissions``,
    ``global_access``), or None for a name that is not a default role."""
    role = DEFAULT_ROLES.get(name)
    if role is None:
        return None
    return {k: v for k, v in role.items() if k != "meta"}


def default_description(name: str) -> str:
    return str(DEFAULT_ROLES[name]["meta"]["description"])
