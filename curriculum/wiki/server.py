"""Serve a built roadmap site on 127.0.0.1 with the standard library's threading HTTP server.

Example::

    server = serve_site(Path("site"), 0, quiet=True)  # port 0: a free one
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ...
    server.shutdown(); server.server_close()
"""

from __future__ import annotations

import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from curriculum.wiki.errors import WikiError

__all__ = ["serve_site"]


class _Handler(SimpleHTTPRequestHandler):
    quiet = False

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        if not self.quiet:
            super().log_message(format, *args)


def serve_site(directory: Path | str, port: int = 8001, *, quiet: bool = False) -> ThreadingHTTPServer:
    """An HTTP server for the built site on 127.0.0.1 (call ``serve_forever``; port 0 picks a free one)."""
    directory = Path(directory)
    if not (directory / "index.html").is_file():
        raise WikiError(f"{directory} holds no built site (no index.html); run `aie wiki build` first")
    handler = type("Handler", (_Handler,), {"quiet": quiet})
    return ThreadingHTTPServer(("127.0.0.1", port), functools.partial(handler, directory=str(directory)))
