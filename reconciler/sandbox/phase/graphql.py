"""The subset of Phase's private GraphQL API (``POST /graphql/``, session cookie required) that
end-to-end-encrypted apps need (docs/phase-api.md#console-api).

This is not a GraphQL engine. A request is the usual JSON body ``{query, variables,
operationName}``; the sandbox dispatches on ``operationName`` (taken from the document's first
``query``/``mutation`` name when absent), reads arguments only from ``variables``, and answers
``{"data": {<root field>: ...}}`` with a fixed field set per operation (a superset of what the
console's documents select), camelCase as graphene renders it. Resolver errors answer 200 with
``{"errors": [{"message", "path"}], "data": {<root field>: null}}`` like graphene; an operation
the sandbox does not know answers 400.

Operations, with the console's operation names and their variables:

=============================  ==================================================================
``GetOrganisations``           ``organisations``: ``[{id, name, plan, createdAt, memberId,
                               role {id, name}}]``
``GetOrganisationMembers``     ``organisationMembers(organisationId, role?)``: ``[{id, email,
                               fullName, avatarUrl, identityKey, createdAt, lastLogin, self,
                               scimManaged, role {id, name, description, color, permissions}}]``
``GetServiceAccounts``         ``serviceAccounts(orgId, id?)``: ``[{id, name, identityKey,
                               createdAt, role {…}, team {id, name}|null, handlers: []}]``
``GetAppEnvironments``         ``appEnvironments(appId, memberId?, memberType?)``: envs the
                               member holds keys for ``[{id, name, envType, index, identityKey,
                               wrappedSeed, wrappedSalt, createdAt, app {id, name}}]`` (the
                               wrapped values are the *caller's* key), plus ``sseEnabled(appId)``
                               and ``serverPublicKey``
``GetEnvironmentKeys``         ``environmentKeys(appId?, environmentId?, memberId?,
``GetMemberEnvKeyGrants``      memberType?)``: ``[{id, identityKey, wrappedSeed, wrappedSalt,
                               createdAt, environment {id, name}, grants [{grantType, team}]}]``
                               (the caller's own keys without ``memberId``)
``GetServerKey``               ``serverPublicKey``
``AddMemberToApp``             ``addAppMember(memberId, memberType, appId, envKeys)``
``UpdateEnvScope``             ``updateMemberEnvironmentScope(memberId, memberType, appId,
                               envKeys)``
``RemoveMemberFromApp``        ``removeAppMember(memberId, memberType, appId)``
``CreateEnv``                  ``createEnvironment(envInput, adminKeys, wrappedSeed?,
                               wrappedSalt?)``: ``{environment {id, name, envType, index,
                               createdAt, identityKey}}``
``InitAppSyncing``             ``initEnvSync(appId, envKeys)``: ``{app {id, sseEnabled}}``
``RenameEnv``                  ``renameEnvironment(environmentId, name)``: ``{environment {id,
                               name, updatedAt}}``
``DeleteEnv``                  ``deleteEnvironment(environmentId)``: ``{ok}`` (hard delete with
                               its keys and secrets)
=============================  ==================================================================

``envKeys`` entries are ``EnvironmentKeyInput`` ``{envId, userId, identityKey, wrappedSeed,
wrappedSalt}``; ``memberType`` is ``USER`` (default) or ``SERVICE``. The app mutations answer
``{app {id, name, sseEnabled}}``.
"""

from __future__ import annotations

import re
from typing import Any

from reconciler.sandbox.phase.graphql_base import GraphQLError, Resolver
from reconciler.sandbox.phase.graphql_mutations import (
    add_app_member,
    create_environment,
    delete_environment,
    init_env_sync,
    remove_app_member,
    rename_environment,
    update_member_env_scope,
)
from reconciler.sandbox.phase.graphql_queries import (
    app_environments,
    environment_keys,
    organisation_members,
    organisations,
    server_key,
    service_accounts,
)
from reconciler.sandbox.phase.store import Row, Store

_NAME = re.compile(r"\b(query|mutation)\s+(\w+)")
MUTATIONS = {
    "AddMemberToApp",
    "UpdateEnvScope",
    "RemoveMemberFromApp",
    "CreateEnv",
    "InitAppSyncing",
    "RenameEnv",
    "DeleteEnv",
}


def operation_name(body: dict[str, Any]) -> str:
    name = body.get("operationName")
    if isinstance(name, str) and name:
        return name
    found = _NAME.search(str(body.get("query") or ""))
    return found.group(2) if found else ""


def mutated(body: Any) -> bool:
    return isinstance(body, dict) and operation_name(body) in MUTATIONS


def execute(store: Store, member: Row, body: Any) -> tuple[int, dict[str, Any]]:
    """``(status, answer)`` for one GraphQL request by ``member``."""
    if not isinstance(body, dict) or not body.get("query"):
        return 400, {"errors": [{"message": "Must provide query string."}]}
    name = operation_name(body)
    found = OPERATIONS.get(name)
    if found is None:
        return 400, {
            "errors": [
                {"message": f"sandbox: unsupported GraphQL operation {name!r} (see graphql.py)"}
            ]
        }
    field, resolver = found
    variables = body.get("variables") or {}
    if not isinstance(variables, dict):
        return 400, {"errors": [{"message": "Variables are invalid JSON."}]}
    if name in MUTATIONS:
        try:
            with store.transaction():
                return 200, {"data": resolver(store, member, variables)}
        except GraphQLError as exc:
            return 200, {"errors": [{"message": str(exc), "path": [field]}], "data": {field: None}}
    try:
        return 200, {"data": resolver(store, member, variables)}
    except GraphQLError as exc:
        return 200, {"errors": [{"message": str(exc), "path": [field]}], "data": {field: None}}


OPERATIONS: dict[str, tuple[str, Resolver]] = {
    "GetOrganisations": ("organisations", organisations),
    "GetOrganisationMembers": ("organisationMembers", organisation_members),
    "GetServiceAccounts": ("serviceAccounts", service_accounts),
    "GetAppEnvironments": ("appEnvironments", app_environments),
    "GetEnvironmentKeys": ("environmentKeys", environment_keys),
    "GetMemberEnvKeyGrants": ("environmentKeys", environment_keys),
    "GetServerKey": ("serverPublicKey", server_key),
    "AddMemberToApp": ("addAppMember", add_app_member),
    "UpdateEnvScope": ("updateMemberEnvironmentScope", update_member_env_scope),
    "RemoveMemberFromApp": ("removeAppMember", remove_app_member),
    "CreateEnv": ("createEnvironment", create_environment),
    "InitAppSyncing": ("initEnvSync", init_env_sync),
    "RenameEnv": ("renameEnvironment", rename_environment),
    "DeleteEnv": ("deleteEnvironment", delete_environment),
}
