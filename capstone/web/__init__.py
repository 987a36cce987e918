"""The web page served at ``GET /``: ask, read the cited answer, open a citation, rate the answer, upload and
delete documents.

The page is three static files in ``capstone/web/static/`` (package data): ``index.html``, ``app.js`` and
``style.css``, served as they are (no build step, no external assets, so it works offline). It runs under
``Content-Security-Policy: default-src 'self'`` (a ``<meta>`` in the page sets it even where no header does):
no inline script or style. Model and document text is never parsed as HTML: ``app.js`` puts it into the page
with ``textContent`` and DOM nodes only, so markup in an answer or a quote shows as text (safe by
construction, whatever the server-side sanitizer lets through).

Example::

    app = FastAPI()
    add_web_page(app)  # GET / -> index.html, GET /static/app.js, /static/style.css, /static/favicon.svg
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["STATIC_DIR", "add_web_page"]

STATIC_DIR = Path(str(resources.files("capstone.web").joinpath("static")))


def add_web_page(app: FastAPI) -> None:
    """Serve the page at ``GET /`` and its assets under ``/static/`` (neither is part of the OpenAPI schema)."""
    index = STATIC_DIR / "index.html"

    @app.get("/", response_class=FileResponse, include_in_schema=False)
    def web_page() -> FileResponse:
        return FileResponse(index, media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="web-static")
