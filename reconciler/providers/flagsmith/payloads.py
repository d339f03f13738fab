"""Flagsmith's answers as pydantic models (unknown fields ignored; a missing or mistyped one is
an ``unexpected answer from Flagsmith`` error naming the field)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from reconciler.providers.kit.payloads import Answer as _Answer
from reconciler.providers.kit.payloads import Page as Page


class Organisation(_Answer):
    id: int
    name: str


class User(_Answer):
    id: int
    email: str
    role: str | None = None


class Invite(_Answer):
    id: int
    email: str


class GroupUser(_Answer):
    id: int
    email: str


class Group(_Answer):
    id: int
    name: str
    users: list[GroupUser] = []


class Project(_Answer):
    id: int
    name: str
    organisation: int


class Environment(_Answer):
    id: int
    name: str
    api_key: str
    project: int


class UserRef(_Answer):
    id: int
    email: str


class GroupRef(_Answer):
    id: int
    name: str


class UserGrant(_Answer):
    """A listed user grant (``ListUserProjectPermissionSerializer``: ``user`` nested)."""

    id: int
    admin: bool
    permissions: list[str]
    user: UserRef


class GroupGrant(_Answer):
    id: int
    admin: bool
    permissions: list[str]
    group: GroupRef


class Created(_Answer):
    """What a create answers: at least the new id."""

    id: int


class Integration(BaseModel):
    """A project integration configuration: ``id`` and the kind's fields (kept as given)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: int


class GitHubConfig(_Answer):
    id: int
    installation_id: str


class Repository(_Answer):
    id: int
    project: int
    repository_owner: str
    repository_name: str
    tagging_enabled: bool
