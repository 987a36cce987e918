"""Run an ASGI app (FastAPI) under a real uvicorn server on 127.0.0.1, in a background thread.

Kept for the notebooks that import it from here; the implementation lives in :mod:`curriculum.net`.
"""

from curriculum.net import serve

__all__ = ["serve"]
