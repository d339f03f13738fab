"""Wire helpers of the Messages sandbox: DRF-shaped errors, pagination, canonical names.

Errors are DRF's: ``{"detail": "..."}`` for authentication, permission and not-found answers,
``{"field": ["message"]}`` for validation. Lists use DRF's ``PageNumberPagination`` envelope
``{"count", "next", "previous", "results"}`` (absolute ``next``/``previous`` links, ``?page=N``;
an out-of-range or unreadable page is 404 ``Invalid page.``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import idna

from reconciler.sandbox.common.wire import ApiError as ApiError
from reconciler.sandbox.common.wire import page as common_page

DOMAIN_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")
LOCAL_PART = re.compile(r"^[a-zA-Z0-9_.-]+$")
MAILBOX_ROLES = ("viewer", "editor", "sender", "admin")  # MailboxRoleChoices 1..4


def field_error(field: str, message: str) -> ApiError:
    return ApiError(400, {field: [message]})


def not_found() -> ApiError:
    return ApiError(404, "No MailDomain matches the given query.")


def denied() -> ApiError:
    return ApiError(403, "You do not have permission to perform this action.")


def canonical_domain(raw: str) -> str:
    """The server's ``normalize_domain``: trimmed, no trailing dot, case-folded, IDN labels as
    their ASCII (punycode) form. A name IDNA refuses is returned case-folded, unchanged
    otherwise, so the model's validator reports it."""
    name = raw.strip().rstrip(".").casefold()
    try:
        return idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError:
        return name


def domain_name_error(name: str) -> str | None:
    """The model validator's message for an invalid name (``str(ValidationError)``)."""
    if not name or len(name) > 253:
        return "{'name': ['Ensure this value has at most 253 characters.']}"
    if not DOMAIN_NAME.match(name):
        return "{'name': ['Enter a valid value.']}"
    return None


def page(
    rows: Sequence[Any],
    params: Mapping[str, str],
    url: str,
    *,
    size: int = 20,
    max_size: int | None = None,
) -> dict[str, Any]:
    """One page of ``rows`` in DRF's envelope. ``page_size`` is honoured (up to ``max_size``)
    only when ``max_size`` is given, as on views with ``page_size_query_param``."""
    return common_page(rows, params, url, size=size, max_size=max_size)
