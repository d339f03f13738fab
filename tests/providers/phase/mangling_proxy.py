"""A loopback HTTP proxy in front of a sandbox that breaks chosen answers, for tests of how the
provider takes a malformed server answer.

Every request is forwarded as is (headers, cookies, body) and answered with the upstream answer,
except those whose route matches a rule: their JSON answer loses the field at ``drop`` (a dotted
path; list items by index). A route is ``METHOD /path/`` with ids templated as ``{id}``
(``kit.http.route_of``), followed by `` <operationName>`` for GraphQL requests.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx

from reconciler.providers.kit.http import route_of

HOP = {"host", "content-length", "transfer-encoding", "connection", "content-encoding"}


@dataclass
class Rule:
    route: str
    drop: str
    hits: int = 0


def _drop(body: Any, path: str) -> None:
    *parents, last = path.split(".")
    for part in parents:
        body = body[int(part)] if isinstance(body, list) else body[part]
    if isinstance(body, list):
        del body[int(last)]
    else:
        body.pop(last, None)


class ManglingProxy:
    def __init__(self, upstream: str, rules: list[Rule]) -> None:
        self.upstream = upstream.rstrip("/")
        self.rules = rules
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP]
                answer = httpx.request(
                    self.command, owner.upstream + self.path, headers=headers, content=raw,
                    timeout=30,
                )  # fmt: skip
                content = owner.mangle(self.command, self.path, raw, answer)
                self.send_response(answer.status_code)
                for k, v in answer.headers.multi_items():
                    if k.lower() not in HOP:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def mangle(self, method: str, target: str, raw: bytes, answer: httpx.Response) -> bytes:
        route = route_of(method, urlsplit(target).path)
        if route.endswith("/graphql/") and raw:
            route += f" {json.loads(raw).get('operationName', '')}"
        rules = [r for r in self.rules if r.route == route]
        if not rules or answer.status_code >= 300:
            return answer.content
        body = answer.json()
        for rule in rules:
            rule.hits += 1
            _drop(body, rule.drop)
        return json.dumps(body).encode()

    def __enter__(self) -> ManglingProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
