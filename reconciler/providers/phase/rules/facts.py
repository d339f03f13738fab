"""Facts: what the planning rules need to know about the organisation besides its objects.

``read`` learns them (who the token is, which roles have global access, which environment keys
the applying principal holds, ...) and puts them, as JSON, in the live state's context under
``"phase"`` (``State.context``), so ``refine`` and ``check`` are pure functions of
``(changes, desired, live)``. A live state without them (built by hand) gets the defaults: a
user token whose principal the server did not name, the default global and token-minting roles,
no E2EE grants managed, no keys held.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.model.resource import JSON
from reconciler.model.state import State
from reconciler.providers.phase import normalise as n
from reconciler.providers.phase.compile import NAME


@dataclass(frozen=True)
class Facts:
    """The facts of one read (see the module docstring).

    ``token_kind``: ``"user"`` (a PAT) or ``"service"`` (a service-account token);
    ``e2ee``: E2EE grants are managed (a console login and a user token);
    ``caller_id``: the token's member or service-account id (``""``: the server did not say);
    ``caller_email`` / ``caller_sa``: its address name, as a member or a service account;
    ``caller_key``: the fingerprint of its identity key (with a console login);
    ``global_roles`` / ``minting_roles``: roles with global access / that can mint
    service-account tokens (default and custom);
    ``envs``: every live environment (``app/env``) in read order;
    ``held``: the environments the applying principal holds a key for;
    ``key_holders``: the global-access members with an identity key (the holders a new E2EE
    environment's key is wrapped for).
    """

    token_kind: str = "user"
    e2ee: bool = False
    caller_id: str = ""
    caller_email: str | None = None
    caller_sa: str | None = None
    caller_key: str | None = None
    global_roles: frozenset[str] = n.GLOBAL_ROLES
    minting_roles: frozenset[str] = n.TOKEN_MINTING_ROLES
    envs: tuple[str, ...] = ()
    held: frozenset[str] = frozenset()
    key_holders: tuple[str, ...] = ()

    def to_json(self) -> dict[str, JSON]:
        """The JSON form kept in ``State.context`` (sets as sorted lists)."""
        return {
            "token_kind": self.token_kind,
            "e2ee": self.e2ee,
            "caller_id": self.caller_id,
            "caller_email": self.caller_email,
            "caller_sa": self.caller_sa,
            "caller_key": self.caller_key,
            "global_roles": sorted(self.global_roles),
            "minting_roles": sorted(self.minting_roles),
            "envs": list(self.envs),
            "held": sorted(self.held),
            "key_holders": list(self.key_holders),
        }

    @classmethod
    def from_json(cls, value: JSON) -> Facts:
        """Inverse of ``to_json``; a missing or mistyped field takes its default."""
        data: Mapping[str, JSON] = value if isinstance(value, Mapping) else {}
        base = cls()

        def text(key: str, default: str | None) -> str | None:
            found = data.get(key, default)
            return found if isinstance(found, str) else default

        def names(key: str, default: frozenset[str] | tuple[str, ...]) -> list[str]:
            found = data.get(key)
            if not isinstance(found, list | tuple):
                return list(default)
            return [str(x) for x in found]

        return cls(
            token_kind=text("token_kind", base.token_kind) or base.token_kind,
            e2ee=data.get("e2ee") is True,
            caller_id=text("caller_id", "") or "",
            caller_email=text("caller_email", None),
            caller_sa=text("caller_sa", None),
            caller_key=text("caller_key", None),
            global_roles=frozenset(names("global_roles", base.global_roles)),
            minting_roles=frozenset(names("minting_roles", base.minting_roles)),
            envs=tuple(names("envs", ())),
            held=frozenset(names("held", ())),
            key_holders=tuple(names("key_holders", ())),
        )


def facts_of(live: State) -> Facts:
    """The facts a live state carries (defaults when it carries none)."""
    return Facts.from_json(live.context.get(NAME))
