"""The capstone: a cited documentation assistant over the Python language reference and the project wiki.

Subpackages: ``rag`` (connectors, chunking, stores, hybrid retrieval), ``agent`` (the bounded loop, its tools,
citation checks), ``guard`` (users and keys, injection screen, link and canary guards), ``cost`` (ledger,
alerts), ``evals`` (the eval suite and the red-team suite), ``web`` (the page at ``GET /``), ``api`` (routes).

Example::

    from capstone import Settings, create_app      # uvicorn capstone.app:create_app --factory
    app = create_app(Settings(store="pgvector"))

See ``wiki/capstone.md`` for the operator's guide.
"""

from __future__ import annotations

from typing import Any as _Any

__all__ = ["Settings", "Assistant", "create_app"]


def __getattr__(name: str) -> _Any:  # imported on first use: `aie --help` stays fast
    if name == "Settings":
        from capstone.settings import Settings

        return Settings
    if name == "Assistant":
        from capstone.service import Assistant

        return Assistant
    if name == "create_app":
        from capstone.app import create_app

        return create_app
    raise AttributeError(f"module 'capstone' has no attribute {name!r}")
