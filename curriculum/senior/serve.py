"""Run an ASGI app (FastAPI) under a real uvicorn server on 127.0.0.1, in a background thread.

Notebooks and tests talk to it over HTTP with ``httpx``, exactly as a client in production would.

Example::

    >>> from fastapi import FastAPI
    >>> import httpx
    >>> app = FastAPI()
    >>> @app.get("/healthz")
    ... def healthz():
    ...     return {"ok": True}
    >>> with serve(app) as base_url:
    ...     httpx.get(base_url + "/healthz").json()
    {'ok': True}
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

__all__ = ["serve"]


@contextlib.contextmanager
def serve(app: Any, host: str = "127.0.0.1", port: int = 0, startup_timeout: float = 20.0) -> Iterator[str]:
    """Start ``app`` under uvicorn (``port=0``: a free port) and yield its base URL; stop it on exit."""
    import uvicorn

    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError(f"serve() listens on the loopback interface only (got host={host!r})")
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"uvicorn could not start on {host}:{port} (see the log above)")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"uvicorn did not start within {startup_timeout:.0f} s")
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
