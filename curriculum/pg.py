"""Postgres with pgvector: the server named by ``DATABASE_URL``, or an embedded one from the pgserver wheel.

Example::

    from curriculum.pg import database_url, connect
    with connect() as conn:            # psycopg connection with pgvector types registered
        conn.execute("SELECT 1")

The embedded server (PostgreSQL 16 + pgvector, shipped in the ``pgserver`` wheel) keeps its data in
``.aie/pg/<name>`` and is reused across runs; it listens on a Unix socket only.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from curriculum.paths import REPO_ROOT

_servers: dict[str, object] = {}


def embedded_server(name: str = "default", root: Path | None = None, keep_running: bool = True):
    """Start (or reattach to) an embedded Postgres in ``<root>/<name>``; returns the pgserver object."""
    root = Path(root or os.environ.get("AIE_PG_ROOT", REPO_ROOT / ".aie" / "pg"))
    pgdata = (root / name).resolve()
    key = str(pgdata)
    if key not in _servers:
        os.environ.setdefault("XDG_RUNTIME_DIR", str(root.resolve()))
        import pgserver

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pgdata.mkdir(parents=True, exist_ok=True)
            _servers[key] = pgserver.get_server(pgdata, cleanup_mode=None if keep_running else "stop")
    return _servers[key]


def database_url(name: str = "default") -> str:
    """``DATABASE_URL`` when set, otherwise the URI of the embedded server ``name``."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    return embedded_server(name).get_uri()


def connect(url: str | None = None, *, autocommit: bool = True):
    """A psycopg connection with the ``vector`` extension created and its types registered."""
    import psycopg
    from pgvector.psycopg import register_vector

    conn = psycopg.connect(url or database_url(), autocommit=autocommit)
    conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    register_vector(conn)
    return conn
