"""End-to-end encrypted access: which steps an access change takes, and the applier's keys
(docs/phase-api.md#what-needs-client-side-crypto, #console-api, #e2ee-revocation-hazard).

An access update through REST (``PUT …/access/``) replaces a principal's whole set and revokes,
and wipes, every end-to-end encrypted (E2EE) app in its individual app list. So ``access_steps``
chooses, for one principal:

* it holds no E2EE app (and none the token cannot see): one REST update with the SSE part of the
  desired set (left out when it is empty and the principal is in no app), then ``add`` for each
  E2EE app it gains;
* otherwise: no REST update at all; every app whose individual grant changes gets its own
  console step: ``add`` (not yet in the app), ``update`` (the app's individual scope becomes the
  listed environments; team keys stay) or ``remove``.

``KeyHolder`` is the applier's side: its keyring, recovered from its token and the server's key
share, and its own key rows. It opens an environment's seed and salt only inside ``wrap`` and
wipes them after. Nothing it returns is secret: ``ph:v1`` ciphertexts for the recipient and
public keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from reconciler.crypto import primitives as cp
from reconciler.crypto.keyring import EnvSecrets, KeyMaterialError, Keyring
from reconciler.crypto.tokens import PhaseToken
from reconciler.errors import ProviderError
from reconciler.providers.phase import payloads as p


@dataclass(frozen=True)
class Step:
    """One console access step for one app: ``add``, ``update`` or ``remove``."""

    op: str
    app: str
    environments: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccessSteps:
    """``put``: the set for one REST access update (``None``: no REST update); ``steps``:
    console steps, in app order, after the update."""

    put: Mapping[str, list[str]] | None
    steps: tuple[Step, ...] = ()

    def wrapped(self) -> list[tuple[str, str]]:
        """``(app, environment)`` pairs whose key the applier wraps for the principal."""
        return [(s.app, e) for s in self.steps if s.op != "remove" for e in s.environments]


def access_steps(
    in_apps: set[str],
    have: Mapping[str, Sequence[str]],
    want: Mapping[str, Sequence[str]],
    e2ee: set[str],
    *,
    unseen: bool = False,
    force: frozenset[str] = frozenset(),
) -> AccessSteps:
    """The steps that take a principal from ``have`` to ``want`` (see the module docstring).

    ``in_apps``: the apps of its individual app list; ``have``: every environment it holds a key
    for under those apps (team keys too); ``want``: its complete desired individual set;
    ``e2ee``: the E2EE apps; ``unseen``: it holds an app the token cannot see; ``force``: apps
    whose scope is sent again even when it looks unchanged (the server added an environment).
    """
    if not unseen and not in_apps & e2ee:
        put = {app: list(envs) for app, envs in want.items() if app not in e2ee}
        adds = tuple(
            Step("add", app, tuple(sorted(want[app]))) for app in sorted(want) if app in e2ee
        )
        # an empty update for a principal in no SSE app would change nothing: not sent
        return AccessSteps(put if put or in_apps or not adds else None, adds)
    steps = []
    for app in sorted(set(want) | in_apps):
        wanted = tuple(sorted(want.get(app, ())))
        held = tuple(sorted(have.get(app, ())))
        if app in in_apps:
            if not wanted:
                steps.append(Step("remove", app))
            elif wanted != held or app in force:
                steps.append(Step("update", app, wanted))
        elif wanted and wanted != held:
            steps.append(Step("add", app, wanted))
    return AccessSteps(None, tuple(steps))


@dataclass(frozen=True)
class HeldKey:
    """The applier's key row for one environment (ciphertexts addressed to the applier)."""

    env_public: str
    wrapped_seed: str
    wrapped_salt: str


def held_keys(keys: p.KeysView) -> dict[str, HeldKey]:
    """The caller's complete key rows in a ``/secrets/tokens/`` answer, by environment id."""
    return {
        row.environment.id: HeldKey(row.identity_key, row.wrapped_seed, row.wrapped_salt)
        for app in keys.apps
        for row in app.environment_keys
        if row.identity_key and row.wrapped_seed and row.wrapped_salt
    }


@dataclass
class KeyHolder:
    """The applier's keyring and key rows (``"app/env"`` -> ``HeldKey``)."""

    keyring: Keyring
    rows: dict[str, HeldKey] = field(default_factory=dict)

    @classmethod
    def recover(
        cls, token: PhaseToken, wrapped_key_share: str | None, rows: dict[str, HeldKey]
    ) -> KeyHolder:
        """The applier's keys; ``rows`` is shared, not copied (new environments add to it)."""
        if not wrapped_key_share:
            raise ProviderError(
                "phase.connection",
                "the server did not return this token's key share (/secrets/tokens/), so its "
                "keys cannot be recovered to re-wrap environment keys",
            )
        try:
            keyring = Keyring.recover(token, wrapped_key_share)
        except KeyMaterialError as exc:
            raise ProviderError("phase.connection", str(exc)) from None
        return cls(keyring, rows)

    def _open(self, env: str, address: object) -> EnvSecrets:
        row = self.rows.get(env)
        if row is None:
            raise ProviderError(address, f"the applying principal holds no key for {env}")
        try:
            return self.keyring.unwrap_env(row.wrapped_seed, row.wrapped_salt, row.env_public)
        except KeyMaterialError as exc:
            raise ProviderError(address, f"{env}: {exc!s}") from None

    def env_keys(
        self,
        envs: Mapping[str, str],
        recipient_id: str,
        identity_key: str,
        address: object,
    ) -> list[dict[str, str]]:
        """``EnvironmentKeyInput`` entries for ``envs`` (``"app/env"`` -> env id), wrapped for
        the holder of ed25519 ``identity_key``."""
        entries = self._rewrap(envs, lambda s: s.wrap_for(identity_key), address)
        return [{**entry, "userId": recipient_id} for entry in entries]

    def server_keys(
        self, envs: Mapping[str, str], server_public: str, address: object
    ) -> list[dict[str, str]]:
        """``EnvironmentKeyInput`` entries for the server's X25519 key (enabling SSE)."""
        return self._rewrap(envs, lambda s: s.wrap_for_kx(server_public), address)

    def _rewrap(
        self,
        envs: Mapping[str, str],
        wrap: Callable[[EnvSecrets], tuple[str, str]],
        address: object,
    ) -> list[dict[str, str]]:
        """Open each environment of ``envs`` in turn, ``wrap`` its seed and salt, wipe it."""
        out = []
        for env, env_id in sorted(envs.items()):
            secrets = self._open(env, address)
            try:
                seed, salt = wrap(secrets)
            except KeyMaterialError as exc:
                raise ProviderError(address, str(exc)) from None
            finally:
                secrets.close()
            out.append(
                {
                    "envId": env_id,
                    "identityKey": secrets.public,
                    "wrappedSeed": seed,
                    "wrappedSalt": salt,
                }
            )
        return out

    def new_environment(
        self, recipients: Mapping[str, str]
    ) -> tuple[str, dict[str, tuple[str, str]]]:
        """A fresh environment key (as the console makes one): its public key and, for each
        recipient id -> identity key, ``(wrapped_seed, wrapped_salt)``. The seed and salt exist
        only inside this call."""
        seed = bytearray(cp.random_hex(32).encode("ascii"))
        salt = bytearray(cp.random_hex(32).encode("ascii"))
        public, _private = cp.kx_seed_keypair(seed.decode("ascii"))
        secrets = EnvSecrets(public, seed, salt)
        try:
            return public, {rid: secrets.wrap_for(key) for rid, key in recipients.items()}
        except KeyMaterialError as exc:
            raise ProviderError("phase.connection", str(exc)) from None
        finally:
            secrets.close()

    def close(self) -> None:
        self.keyring.close()
