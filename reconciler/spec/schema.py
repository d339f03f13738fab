"""JSON Schema (2020-12) of the spec format, generated from the pydantic document models.

``specs/reconciler.schema.json`` is this module's output, checked in for editors (see
specs/README.md); a test fails when it is stale. Regenerate it with::

    python -m reconciler.spec.schema [PATH]

Known gap: ``${env:…}``/``${file:…}`` in a non-string field (``max_deletes: ${env:N}``) is valid
for the tool but a string where the schema expects a number, so editors flag it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reconciler.providers.base import ProviderPlugin
from reconciler.spec.documents import build_root_model, root_model

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "urn:reconciler:spec:1"
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "specs" / "reconciler.schema.json"


def json_schema(registry: Mapping[str, ProviderPlugin] | None = None) -> dict[str, Any]:
    """The JSON Schema of the root spec document (for the registered plugins by default)."""
    model = root_model() if registry is None else build_root_model(registry)
    body = model.model_json_schema(mode="validation")
    return {"$schema": SCHEMA_DIALECT, "$id": SCHEMA_ID, **body}


def render(registry: Mapping[str, ProviderPlugin] | None = None) -> str:
    """The schema as the checked-in text: 2-space indented JSON, key order kept, final newline."""
    return json.dumps(json_schema(registry), indent=2, ensure_ascii=False) + "\n"


def write(path: Path = DEFAULT_PATH) -> None:
    """Write the schema to ``path`` (default: ``specs/reconciler.schema.json`` of the checkout)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m reconciler.spec.schema [PATH]``; writes silently."""
    args = list(sys.argv[1:] if argv is None else argv)
    write(Path(args[0]) if args else DEFAULT_PATH)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
