"""Export (adoption): write a spec from a provider's live state, so that planning it gives no
changes. The connection block written holds ``${env:…}`` references, never values."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from reconciler.errors import ReconcilerError, SpecError, SpecErrors
from reconciler.providers.base import ProviderPlugin
from reconciler.providers.kit.insecure import insecure_http_allowed
from reconciler.providers.registry import plugins
from reconciler.spec.spec import Spec
from reconciler.state.open import open_store


def connection_template(plugin: ProviderPlugin) -> dict[str, str]:
    """The connection block an exported spec uses: ``${env:…}`` references, never values.

    A plugin may provide its own (a ``connection_template`` attribute); otherwise each required
    field of its ``connection`` model becomes ``${env:<PROVIDER>_<FIELD>}`` (``PHASE_URL``,
    ``PHASE_TOKEN``, ``MEMORY_PATH``), the names the examples use.
    """
    own = getattr(plugin, "connection_template", None)
    if isinstance(own, Mapping):
        return {str(k): str(v) for k, v in own.items()}
    field = plugin.section.model_fields.get("connection")
    model = field.annotation if field is not None else None
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return {}
    return {
        name: "${env:" + f"{plugin.name}_{name}".upper() + "}"
        for name, info in model.model_fields.items()
        if info.is_required()
    }


def optional_connection(plugin: ProviderPlugin, env: Mapping[str, str] | None) -> dict[str, str]:
    """Optional connection fields the export reads with when their variables are set: a
    plugin's ``connection_optional`` attribute (``{field: "${env:VAR}"}``; Phase: the console
    login, the only way to read grants on end-to-end encrypted apps)."""
    own = getattr(plugin, "connection_optional", None)
    if not isinstance(own, Mapping):
        return {}
    environ = os.environ if env is None else env
    out = {}
    for name, ref in own.items():
        found = re.fullmatch(r"\$\{env:([^}]+)\}", str(ref))
        if found is not None and environ.get(found.group(1)):
            out[str(name)] = str(ref)
    return out


def export(
    provider_name: str,
    out_path: Path,
    *,
    env: Mapping[str, str] | None = None,
    registry: Mapping[str, ProviderPlugin] | None = None,
) -> dict[str, Any]:
    """Write a spec (YAML) of the live state of one provider to ``out_path``; return its data.

    The provider is reached through the same connection block the written spec holds, resolved
    from the environment, so planning the written spec (same environment) gives no changes.
    No prune scope is written: adopting a system never deletes anything by surprise.
    The read also uses the optional connection fields whose variables are set
    (``optional_connection``); the written block holds the template's fields plus those the
    provider's export returns under ``connection`` (what the written spec needs to manage
    everything exported, e.g. Phase's console login when the organisation has E2EE apps).
    """
    registry = plugins() if registry is None else registry
    plugin = registry.get(provider_name)
    if plugin is None:
        raise ReconcilerError(f"unknown provider {provider_name!r} (one of: {', '.join(registry)})")
    if plugin.export is None:
        raise ReconcilerError(f"provider {provider_name!r} cannot export its live state")
    connection = connection_template(plugin)
    reading = {**connection, **optional_connection(plugin, env)}
    document: dict[str, Any] = {"version": 1, provider_name: {"connection": reading}}
    spec = _load_connection(document, out_path, env, {provider_name: plugin})
    store = open_store(out_path, env)
    try:
        with insecure_http_allowed(spec.sections[provider_name]):
            provider = plugin.open(spec.sections[provider_name], store)
        try:
            exported = plugin.export(provider)
        finally:
            provider.close()
    finally:
        store.close()
    body = {k: v for k, v in exported.items() if k != "connection" and v not in ({}, [], None)}
    needed = exported.get("connection")
    connection = {**connection, **(needed if isinstance(needed, Mapping) else {})}
    document[provider_name] = {"connection": connection, **body}
    _write_yaml(
        document,
        out_path,
        header=f"Written by `reconciler export --provider {provider_name}` from live state.",
    )
    return document


def _load_connection(
    document: dict[str, Any],
    out_path: Path,
    env: Mapping[str, str] | None,
    registry: Mapping[str, ProviderPlugin],
) -> Spec:
    """Resolve and validate a connection-only spec through the spec loader."""
    from reconciler.spec.load import load_spec

    with tempfile.TemporaryDirectory(prefix="reconciler-export-") as tmp:
        path = Path(tmp) / out_path.name
        _write_yaml(document, path, header=None)
        try:
            return load_spec(path, env=env, registry=registry)
        except SpecError as exc:
            # Locations would point into a temporary file: keep the messages only.
            found = exc.errors if isinstance(exc, SpecErrors) else [exc]
            raise SpecErrors([SpecError(f"export: {e.message}") for e in found]) from None


def _write_yaml(document: Mapping[str, Any], path: Path, header: str | None) -> None:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.indent(mapping=2, sequence=4, offset=2)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as fh:
            if header:
                fh.write(f"# {header}\n# Review it, then add prune scopes as needed.\n")
            yaml.dump(_plain(document), fh)
    except OSError as exc:
        raise ReconcilerError(f"{path}: cannot write ({exc.strerror})") from None


def _plain(value: Any, depth: int = 0) -> Any:
    """Plain YAML data. A mapping's ``"#"`` entry (text) is not data: it becomes a comment on
    the line before that mapping's key (providers use it to say what export could not read)."""
    from ruamel.yaml.comments import CommentedMap

    if isinstance(value, Mapping):
        out = CommentedMap()
        for k, v in value.items():
            if k == "#":
                continue
            out[str(k)] = _plain(v, depth + 1)
            note = v.get("#") if isinstance(v, Mapping) else None
            if isinstance(note, str):
                out.yaml_set_comment_before_after_key(str(k), before=note, indent=2 * depth)
        return out
    if isinstance(value, list | tuple):
        return [_plain(v, depth + 1) for v in value]
    return value
