"""Documents: the pydantic model of a whole spec set, and validation with located errors.

The root document has a required ``version`` (the spec format version, ``1``), optional
``safety`` limits and one optional section per registered provider plugin, typed by the
plugin's own section model. Every model forbids unknown keys.

``validate`` turns each pydantic error into a ``SpecError`` located through the loader's
position index and worded for people (``unknown key 'foo'``, ``expected a string``,
``missing required key 'x'``). Messages are built from the error's type, location and
pydantic's fixed message text only, never from the input value, so a secret in a wrongly
placed value cannot leak into an error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic_core import ErrorDetails

from reconciler.errors import Location, SpecError
from reconciler.providers.base import ProviderPlugin
from reconciler.providers.registry import plugins
from reconciler.secrets.redact import redact
from reconciler.secrets.value import Secret

NodePath = tuple[str | int, ...]

FORMAT_VERSION = 1


class Safety(BaseModel):
    """Delete limits: a plan deleting more than these is refused unless the user explicitly
    accepts it (``--allow-deletes``). Protect lists and provider safety rules always apply."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_deletes: int = Field(
        default=10,
        ge=0,
        le=1_000_000,
        description="Most deletes one plan may hold (all providers together; at most 1,000,000).",
    )
    max_delete_share: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Most deletes as a share (0 to 1) of the live objects under management.",
    )


_ROOT_DOC = """A reconciler spec set: the format version, safety limits, and one section per
provider describing the desired configuration of one organisation in that system."""


def build_root_model(registry: Mapping[str, ProviderPlugin]) -> type[BaseModel]:
    """The root document model for the given plugins (section key = plugin name)."""
    fields: dict[str, Any] = {
        "version": (
            Literal[1],
            Field(description="Spec format version. Always 1 for this release."),
        ),
        "safety": (
            Safety,
            Field(default_factory=Safety, description="Delete limits checked on every plan."),
        ),
    }
    for name, plugin in registry.items():
        doc = (plugin.section.__doc__ or "").strip() or f"The {name} provider."
        fields[name] = (plugin.section | None, Field(default=None, description=doc))
    model: type[BaseModel] = create_model(
        "ReconcilerSpec",
        __config__=ConfigDict(extra="forbid", frozen=True, title="reconciler spec"),
        __doc__=_ROOT_DOC,
        **fields,
    )
    return model


@lru_cache(maxsize=1)
def root_model() -> type[BaseModel]:
    """The root document model for the registered plugins (built once per process)."""
    return build_root_model(plugins())


def validate(
    data: Mapping[str, Any],
    locate: Callable[[NodePath], Location | None],
    *,
    model: type[BaseModel] | None = None,
    skip: Iterable[NodePath] = (),
    secrets: Iterable[Secret] = (),
    made: list[Secret] | None = None,
) -> tuple[BaseModel | None, list[SpecError]]:
    """Validate ``data`` against the root model (or ``model``).

    Returns the document and no errors, or ``None`` and one ``SpecError`` per distinct pydantic
    error. Errors under a path in ``skip`` (values that already failed to resolve) are dropped;
    ``secrets`` are redacted from messages as a last line of defence (a custom validator of a
    provider might quote its input). ``made`` receives every ``Secret`` the document holds
    (``SecretField`` values).
    """
    root = model or root_model()
    try:
        context = {"secrets": made if made is not None else []}
        return root.model_validate(data, context=context), []
    except ValidationError as exc:
        skipped = tuple(skip)
        secret_list = list(secrets)
        out: list[SpecError] = []
        seen: set[tuple[Location | None, str]] = set()
        for err in exc.errors(include_url=False, include_input=False):
            path, rest = _data_path(data, err["loc"])
            loc = tuple(err["loc"])  # a value left out is "missing": its path is in loc only
            if any(path[: len(s)] == s or loc[: len(s)] == s for s in skipped):
                continue
            message = redact(describe(err, path, rest), secret_list)
            location = locate(path)
            if (location, message) not in seen:
                seen.add((location, message))
                out.append(SpecError(message, location))
        return None, out


def _data_path(data: Any, loc: tuple[str | int, ...]) -> tuple[NodePath, list[str | int]]:
    """Split a pydantic ``loc`` into the part that exists in the data and the rest (missing
    keys, union member tags, ``[key]`` markers)."""
    path: list[str | int] = []
    rest: list[str | int] = []
    current = data
    for part in loc:
        in_map = isinstance(current, dict) and isinstance(part, str) and part in current
        in_list = isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        if in_map or in_list:
            current = current[part]
            path.append(part)
        else:
            rest.append(part)
    return tuple(path), rest


_EXPECTED = {
    "string_type": "expected a string",
    "string_sub_type": "expected a string",
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected an integer",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "dict_type": "expected a mapping",
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
    "dataclass_type": "expected a mapping",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
    "set_type": "expected a list",
    "frozen_set_type": "expected a list",
    "none_required": "expected null",
    "url_type": "expected a URL",
}


def describe(err: ErrorDetails, path: NodePath, rest: list[str | int]) -> str:
    """A human message for one pydantic error, from its type, ``msg`` and ``ctx`` only."""
    kind = err["type"]
    msg = err["msg"]
    missing = next((r for r in reversed(rest) if isinstance(r, str) and r != "[key]"), None)
    if kind == "missing":
        return f"missing required key {missing!r}" if missing else "missing required value"
    if kind == "extra_forbidden":
        return f"unknown key {path[-1]!r}" if path else "unknown key"
    if kind == "literal_error" and path == ("version",):
        return f"unsupported spec version (this reconciler reads version {FORMAT_VERSION})"
    if kind == "union_tag_invalid":
        expected = (err.get("ctx") or {}).get("expected_tags", "")
        return f"unknown variant (expected one of {expected})"
    prefix = "invalid key: " if "[key]" in rest else ""
    if kind in _EXPECTED:
        return prefix + _EXPECTED[kind]
    for lead in ("Value error, ", "Assertion failed, "):
        if msg.startswith(lead):
            return prefix + msg[len(lead) :]
    if msg.startswith("Input should be "):
        return prefix + "expected " + msg[len("Input should be ") :]
    return prefix + msg[:1].lower() + msg[1:]
