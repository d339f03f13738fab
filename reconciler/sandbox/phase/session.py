"""Console sessions: ``POST /auth/password/login/`` and the session cookie the private GraphQL
API needs (docs/phase-api.md#console-api; ``api/views/auth_password.py:password_login``).

The body is ``{"email", "authHash"}``; ``authHash`` is the console's
``passwordAuthHash(password, email)``: hex of Argon2id-MODERATE(password, salt =
BLAKE2b-16("auth-v1:" + email), 32 bytes). The server compares it with the hash it stores for
the user. The sandbox computes that hash from the member's password the first time it is needed
and stores it on the member (Argon2id-MODERATE takes about a second and 256 MiB, so seeding
never runs it); the result is also cached per process, keyed by email and password, so resets
that keep the passwords (the default organisation does) do not pay it again.

A successful login answers ``{userId, email, fullName, avatarUrl, authMethod}`` and sets the
``sessionid`` cookie; ``/graphql/`` without a live session redirects to the login page (302).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading

from fastapi.responses import JSONResponse, Response

from reconciler.crypto import primitives as p
from reconciler.crypto.password import password_auth_hash
from reconciler.sandbox.phase import graphql
from reconciler.sandbox.phase.api import Extra, Incoming, Runtime
from reconciler.sandbox.phase.call import parse_body
from reconciler.sandbox.phase.store import Row, Store, now
from reconciler.sandbox.phase.wire import ApiError, not_allowed

COOKIE = "sessionid"
_CACHE: dict[str, str] = {}
_CACHE_LOCK = threading.Lock()


def expected_hash(member: Row) -> str:
    """The member's stored auth hash, computed on first use."""
    stored = member.get("auth_hash")
    if stored:
        return str(stored)
    cache_key = hashlib.sha256(f"{member['email']}\0{member['password']}".encode()).hexdigest()
    with _CACHE_LOCK:
        found = _CACHE.get(cache_key)
        if found is None:
            found = password_auth_hash(member["password"], member["email"])
            _CACHE[cache_key] = found
    member["auth_hash"] = found
    return found


def session_member(store: Store, cookie_header: str | None) -> Row | None:
    """The active member of the request's ``sessionid`` cookie, if any."""
    if not cookie_header:
        return None
    for part in cookie_header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            session = store.table("sessions").get(value)
            if session is not None:
                return store.active("members", session["member_id"])
    return None


def login(runtime: Runtime, request: Incoming) -> Response:
    if request.method != "POST":
        raise not_allowed(request.method)
    store = runtime.store
    data = parse_body(request.body, request.content_type)
    if not isinstance(data, dict):
        raise ApiError(500, "Internal server error.")
    email = str(data.get("email") or "").lower().strip()
    auth_hash = data.get("authHash", "")
    if not email or not auth_hash:
        return JSONResponse({"error": "Email and password are required."}, 400)
    member = next(
        (
            m
            for m in store.table("members").values()
            if m["email"] == email and m["deleted_at"] is None
        ),
        None,
    )
    if member is None or not member.get("password"):
        return JSONResponse({"error": "Invalid email or password."}, 401)
    if not hmac.compare_digest(str(auth_hash), expected_hash(member)):
        return JSONResponse({"error": "Invalid email or password."}, 401)
    session_id = p.random_hex(16)
    store.table("sessions")[session_id] = {"member_id": member["id"], "created_at": now()}
    store.save()
    response = JSONResponse(
        {
            "userId": member["id"],
            "email": member["email"],
            "fullName": member["full_name"] or member["email"],
            "avatarUrl": None,
            "authMethod": "password",
        }
    )
    response.set_cookie(
        COOKIE, session_id, httponly=True, samesite="lax", secure=runtime.secure_cookie
    )
    return response


def serve_graphql(runtime: Runtime, request: Incoming) -> Response:
    store = runtime.store
    member = session_member(store, request.headers.get("cookie"))
    if member is None:
        return Response(status_code=302, headers={"Location": "/accounts/login/?next=/graphql/"})
    if request.method != "POST":
        return JSONResponse({"errors": [{"message": "Must provide query string."}]}, 400)
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return JSONResponse({"errors": [{"message": "POST body sent invalid JSON."}]}, 400)
    status, answer = graphql.execute(store, member, body)
    if status == 200 and graphql.mutated(body):
        store.save()
    return JSONResponse(answer, status)


def extras() -> dict[str, Extra]:
    """The non-v1 routes the pipeline hands over (``api.handle``)."""
    return {"auth/password/login/": login, "graphql/": serve_graphql}
