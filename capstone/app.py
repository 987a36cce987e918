"""The FastAPI app factory: routers, error mapping, size limits, metrics and the web page.

``create_app(settings)`` opens the assistant when the app starts (and brings the default corpus
up to date: everything on the first start, changed pages later); ``create_app(assistant=...)`` serves an assistant built elsewhere
(tests, benchmarks). Errors map to clear 4xx answers:

=========================  ======  =========================================
cause                      status  body
=========================  ======  =========================================
no/unknown API key         401     ``{"detail": "..."}``
over per-request limit     402     ``{"detail", "limit_usd"}``
body too large             413     ``{"detail"}``
unsupported upload type    415     ``{"detail"}``
invalid input              422     FastAPI's validation details
daily ceiling reached      429     ``{"detail", "feature"}`` + ``Retry-After``
model provider failed      503     ``{"detail"}``
=========================  ======  =========================================
"""

from __future__ import annotations

import logging
import time
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.middleware.base import BaseHTTPMiddleware

from capstone.api import ask, documents
from capstone.api.deps import AssistantDep
from capstone.cost.ledger import BudgetExceeded, RequestLimitExceeded
from capstone.metrics import CONTENT_TYPE, Metrics
from capstone.service import Assistant
from capstone.settings import Settings
from capstone.web import PAGE

__all__ = ["create_app"]

log = logging.getLogger("capstone")
_JSON_LIMIT = 64 * 1024


class _SizeLimit(BaseHTTPMiddleware):
    """Refuse bodies over the limits before they are read (413)."""

    def __init__(self, app, upload_limit: int) -> None:
        super().__init__(app)
        self.upload_limit = upload_limit

    async def dispatch(self, request: Request, call_next):
        length = request.headers.get("content-length")
        limit = self.upload_limit + _JSON_LIMIT if request.url.path.startswith("/v1/documents") else _JSON_LIMIT
        if length is not None:
            try:
                too_big = int(length) > limit
            except ValueError:
                return JSONResponse({"detail": "invalid Content-Length header"}, status_code=400)
            if too_big:
                return JSONResponse({"detail": f"request body of {length} bytes is over the limit of {limit}"}, status_code=413)
        return await call_next(request)


class _Measure(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next):
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        metrics: Metrics = request.app.state.metrics
        metrics.requests.labels(request.method, path, str(response.status_code)).inc()
        metrics.latency.labels(path).observe(time.perf_counter() - started)
        return response


def create_app(settings: Settings | None = None, *, assistant: Assistant | None = None) -> FastAPI:
    """The capstone service as an ASGI app."""
    settings = assistant.settings if assistant is not None else (settings or Settings())
    owned = assistant is None

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if app.state.assistant is None:
            app.state.assistant = Assistant.open(settings)
            if settings.default_corpus:  # indexes on the first start; later starts re-embed changed pages only
                app.state.assistant.ensure_default_corpus()
        yield
        if owned and app.state.assistant is not None:
            app.state.assistant.close()

    app = FastAPI(
        title="AI Engineer Track docs assistant",
        version="1.0.0",
        description="Cited answers over the Python language reference and the project wiki, with an agent loop, "
        "an injection guard and a cost ceiling.",
        lifespan=lifespan,
    )
    app.state.assistant = assistant
    app.state.metrics = Metrics(lambda: app.state.assistant)
    app.add_middleware(_Measure)
    app.add_middleware(_SizeLimit, upload_limit=settings.max_upload_bytes)
    app.include_router(ask.router)
    app.include_router(documents.router)

    @app.exception_handler(BudgetExceeded)
    async def _budget(request: Request, exc: BudgetExceeded):
        return JSONResponse({"detail": str(exc), "feature": exc.feature}, status_code=429, headers={"Retry-After": str(exc.retry_after)})

    @app.exception_handler(RequestLimitExceeded)
    async def _request_limit(request: Request, exc: RequestLimitExceeded):
        return JSONResponse({"detail": str(exc), "limit_usd": exc.limit}, status_code=402)

    from curriculum.llm import ModelError

    @app.exception_handler(ModelError)
    async def _model(request: Request, exc: ModelError):
        log.error("model call failed: %s", exc)
        return JSONResponse({"detail": f"the model provider failed: {type(exc).__name__}: {exc}"}, status_code=503)

    @app.get("/healthz", tags=["operations"])
    def healthz(assistant: AssistantDep) -> dict:
        """Liveness plus what is being served."""
        counts = assistant.document_counts()
        return {"status": "ok", "store": assistant.store.name, "model": getattr(assistant.model, "spec", str(assistant.model)), "documents": counts}

    @app.get("/metrics", tags=["operations"], response_class=Response)
    def metrics() -> Response:
        """Prometheus text format: requests, latency histogram, cost, tokens and budget state."""
        return Response(app.state.metrics.render(), media_type=CONTENT_TYPE)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse(PAGE)

    return app
