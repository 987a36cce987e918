"""Pure ASGI middleware of the service: body limits on the stream, security headers, request metrics.

* :class:`BodyLimit` counts the bytes of a request body as they arrive -- ``Content-Length`` or
  chunked alike -- and answers 413 as soon as the count passes the limit of the route (a declared
  ``Content-Length`` over it is refused before anything is read). Nothing reads the whole body
  first: the app reads it through this counter.
* :class:`SecurityHeaders` adds ``Content-Security-Policy`` (``default-src 'self'``; the Swagger UI
  and ReDoc pages also need their inline start-up script and style), ``X-Frame-Options: DENY``,
  ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer`` and
  ``Cross-Origin-Opener-Policy: same-origin`` to every response.
* :class:`Measure` records each request in the app's Prometheus metrics.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException

__all__ = ["BodyLimit", "BodyTooLarge", "SecurityHeaders", "Measure", "CSP", "DOCS_CSP"]

CSP = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "worker-src 'self' blob:; base-uri 'none'; frame-ancestors 'none'; object-src 'none'"
)
_DOCS_PATHS = ("/docs", "/redoc")
_HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}


class BodyTooLarge(HTTPException):
    """The request body passed the route's limit while it was being read (HTTP 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body is over the limit of {limit} bytes")


async def _send_json(send, status: int, body: dict) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class BodyLimit:
    """Refuse request bodies over ``limit_for(path)`` bytes, counted on the stream (413)."""

    def __init__(self, app, *, limit_for: Callable[[str, str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await _send_json(send, 400, {"detail": "invalid Content-Length header"})
                return
            if size > limit:
                await _send_json(send, 413, {"detail": f"request body of {size} bytes is over the limit of {limit}"})
                return
        state = {"received": 0, "over": False, "answered": False}

        async def counting_receive():
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    state["over"] = True
                    raise BodyTooLarge(limit)
            return message

        async def guarded_send(message) -> None:
            if not state["over"]:
                await send(message)
            elif message["type"] == "http.response.start" and not state["answered"]:
                state["answered"] = True  # whatever the app made of the error, the answer is 413
                await _send_json(send, 413, {"detail": f"request body is over the limit of {limit} bytes"})

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyTooLarge:
            if not state["answered"]:
                state["answered"] = True
                await _send_json(send, 413, {"detail": f"request body is over the limit of {limit} bytes"})


class SecurityHeaders:
    """Add the security headers to every HTTP response."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if scope["path"] in _DOCS_PATHS else CSP

        async def with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("content-security-policy", csp)
                for name, value in _HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, with_headers)


class Measure:
    """Count requests by method, route and status and observe their latency (``app.state.metrics``)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), {"code": 500}

        async def watch(message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            metrics = scope["app"].state.metrics
            metrics.requests.labels(scope["method"], path, str(status["code"])).inc()
            metrics.latency.labels(path).observe(time.perf_counter() - started)
