"""The FastAPI app factory: routers, error mapping, body limits, security headers, metrics and the web page.

``create_app(settings)`` opens the assistant when the app starts (and brings the default corpus
up to date: everything on the first start, changed pages later); ``create_app(assistant=...)`` serves an
assistant built elsewhere (tests, benchmarks); ``uvicorn capstone.app:create_app --factory`` (what
``aie serve --workers N`` runs in each worker) reads the settings from the environment.
``/docs`` is Swagger UI served from the package (fastapi-offline): it works without a network.
Errors map to clear 4xx answers:

=========================  ======  =========================================
cause                      status  body
=========================  ======  =========================================
no/unknown API key         401     ``{"detail": "..."}``
over per-request limit     402     ``{"detail", "limit_usd"}``
role does not allow it     403     ``{"detail"}``
unknown document/request   404     ``{"detail"}``
body too large (stream)    413     ``{"detail"}``
unsupported upload type    415     ``{"detail"}``
invalid input, bad file    422     ``{"detail"}`` (FastAPI's validation details for schema errors)
daily ceiling reached      429     ``{"detail", "feature"}`` + ``Retry-After``
caller's quota reached     429     ``{"detail", "quota"}`` + ``Retry-After``
model provider failed      503     ``{"detail"}``
=========================  ======  =========================================
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline

from capstone.api import ask, documents, feedback
from capstone.api.deps import AssistantDep
from capstone.api.middleware import BodyLimit, Measure, SecurityHeaders
from capstone.cost.ledger import BudgetExceeded, QuotaExceeded, RequestLimitExceeded
from capstone.metrics import CONTENT_TYPE, Metrics
from capstone.service import Assistant
from capstone.settings import Settings
from capstone.web import add_web_page

__all__ = ["create_app"]

log = logging.getLogger("capstone")
_JSON_LIMIT = 64 * 1024
_FORM_OVERHEAD = 64 * 1024  # multipart boundaries and the visibility field around an upload


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

    app = FastAPIOffline(
        title="AI Engineer Track docs assistant",
        version="1.1.0",
        description="Cited answers over the Python language reference and the project wiki, with an agent loop, "
        "an injection guard, output sanitizing, roles, per-caller quotas and a cost ceiling.",
        lifespan=lifespan,
    )
    app.state.assistant = assistant
    app.state.metrics = Metrics(lambda: app.state.assistant)

    def body_limit(method: str, path: str) -> int:
        if method == "POST" and path.rstrip("/") == "/v1/documents":
            return settings.max_upload_bytes + _FORM_OVERHEAD
        return _JSON_LIMIT

    app.add_middleware(BodyLimit, limit_for=body_limit)
    app.add_middleware(Measure)
    app.add_middleware(SecurityHeaders)  # outermost: every response, errors included, carries the headers
    app.include_router(ask.router)
    app.include_router(documents.router)
    app.include_router(feedback.router)

    @app.exception_handler(QuotaExceeded)
    async def _quota(request: Request, exc: QuotaExceeded):
        return JSONResponse(
            {"detail": str(exc), "quota": exc.kind}, status_code=429, headers={"Retry-After": str(exc.retry_after)}
        )

    @app.exception_handler(BudgetExceeded)
    async def _budget(request: Request, exc: BudgetExceeded):
        return JSONResponse(
            {"detail": str(exc), "feature": exc.feature}, status_code=429, headers={"Retry-After": str(exc.retry_after)}
        )

    @app.exception_handler(RequestLimitExceeded)
    async def _request_limit(request: Request, exc: RequestLimitExceeded):
        return JSONResponse({"detail": str(exc), "limit_usd": exc.limit}, status_code=402)

    from curriculum.llm import ModelError

    @app.exception_handler(ModelError)
    async def _model(request: Request, exc: ModelError):
        log.error("model call failed: %s", exc)
        return JSONResponse({"detail": f"the model provider failed: {type(exc).__name__}: {exc}"}, status_code=503)

    @app.get("/healthz", tags=["operations"], responses={503: {"description": "the database does not answer"}})
    def healthz(assistant: AssistantDep) -> JSONResponse:
        """Liveness: ``{"status": "ok"}`` when the database answers (nothing else is shown)."""
        try:
            with assistant.db.connection() as conn:
                conn.execute("SELECT 1")
        except Exception:  # noqa: BLE001 - any failure means "not ready"
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    @app.get("/metrics", tags=["operations"], response_class=Response)
    def metrics() -> Response:
        """Prometheus text format: requests, latency histogram, cost, tokens and budget state."""
        return Response(app.state.metrics.render(), media_type=CONTENT_TYPE)

    add_web_page(app)

    return app
