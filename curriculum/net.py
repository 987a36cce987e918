"""Loopback networking helpers shared by notebooks, tests and the capstone: a free port, an app served in a thread.

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
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

__all__ = ["LOOPBACK_HOSTS", "free_port", "serve"]

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now (the OS picks it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve(app: Any, host: str = "127.0.0.1", port: int = 0, startup_timeout: float = 20.0) -> Iterator[str]:
    """Start the ASGI ``app`` under a real uvicorn server in a thread (``port=0``: a free port); yield its base URL."""
    import uvicorn

    if host not in LOOPBACK_HOSTS:
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
