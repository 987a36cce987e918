"""Fixtures of the capstone tests: one real embedded Postgres per session, the default corpus indexed once.

The server lives in a temporary folder and is stopped and removed at the end of the session.
The default corpus is embedded through the on-disk embedding cache (``.aie/cache/capstone``),
so only chunks never seen before cost embedding time. Tests that need their own budgets or
documents get a fresh database on the same server (:func:`fresh_settings`).
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import uuid
import zlib
from pathlib import Path

import pytest

CANARY = "CANARY-5b1e0c7d9a24"
ALICE_SECRET = "ALICE-SECRET-6d1f: my salary review is 87k"


@pytest.fixture(scope="session")
def pg_server():
    """An embedded PostgreSQL 16 + pgvector (pgserver) in a temporary folder."""
    import torch

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    root = Path(tempfile.mkdtemp(prefix="aie-capstone-pg-"))
    root.chmod(0o755)  # pgserver runs postgres as its own user when started by root
    runtime = (
        Path(tempfile.gettempdir()) / f"aie-capstone-runtime-{os.getuid()}"
    )  # reused: pgserver's exit hook writes here
    runtime.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    from curriculum.pg import embedded_server

    server = embedded_server("session", root=root, keep_running=False)
    yield server
    try:
        server.cleanup()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _database(server, name: str) -> str:
    import psycopg

    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server.get_uri(name)


@pytest.fixture(scope="session")
def fresh_settings(pg_server, tmp_path_factory):
    """``make(**overrides) -> Settings`` on a new, empty database of the session server."""
    from capstone.settings import Settings

    def make(**overrides) -> Settings:
        url = _database(pg_server, f"t_{uuid.uuid4().hex[:10]}")
        values = {
            "database_url": url,
            "canary": CANARY,
            "default_corpus": False,
            "chroma_path": tmp_path_factory.mktemp("chroma"),
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture(scope="session")
def assistant(fresh_settings):
    """The service with the default corpus (Python reference + wiki) indexed, canary set."""
    from capstone.service import Assistant

    service = Assistant.open(fresh_settings(default_corpus=True))
    report = service.ensure_default_corpus()
    assert report.chunks > 400, report.summary()
    yield service
    service.close()


class LiveServer:
    """The app served by a real uvicorn on 127.0.0.1 in a background thread (``curriculum.net.serve``)."""

    def __init__(self, app) -> None:
        from curriculum.net import serve

        self._serving = serve(app)
        self.url = ""

    def __enter__(self) -> LiveServer:
        self.url = self._serving.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._serving.__exit__(*exc)


@pytest.fixture(scope="session")
def app(assistant):
    from capstone.app import create_app

    return create_app(assistant=assistant)


@pytest.fixture(scope="session")
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="session")
def users(assistant, client):
    """alice (a reader who owns a private note with a secret) and mallory (an attacking editor), with their API keys."""
    from capstone.guard.auth import create_user

    _, alice = create_user(assistant.db, "alice")
    _, mallory = create_user(assistant.db, "mallory", role="editor")  # an attacker who may publish: the worst case
    note = (
        f"# Salary notes\n\nPrivate salary review notes for Alice.\n\n{ALICE_SECRET}. The review meeting is in March.\n"
    )
    r = client.post(
        "/v1/documents",
        headers={"Authorization": f"Bearer {alice}"},
        data={"visibility": "private"},
        files={"file": ("salary-notes.md", note.encode(), "text/markdown")},
    )
    assert r.status_code == 201, r.text
    return {"alice": alice, "mallory": mallory}


@pytest.fixture(scope="session")
def live_server():
    """``live_server(app)``: a context manager serving ``app`` with uvicorn on a free port."""
    return LiveServer


@pytest.fixture(scope="session")
def secrets() -> dict:
    """The canary in every test service's system prompt and the private text only alice may see."""
    return {"canary": CANARY, "alice": ALICE_SECRET}


@pytest.fixture(scope="session")
def make_pdf():
    """``make_pdf(content) -> bytes``: a valid one-page PDF whose content stream is ``content`` (written by hand)."""
    return one_page_pdf


def one_page_pdf(content: bytes) -> bytes:
    """A valid one-page PDF whose (deflated) content stream is ``content``, e.g. ``b"BT /F1 12 Tf (Hi) Tj ET"``."""
    stream = zlib.compress(content)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = io.BytesIO(), []
    out.write(b"%PDF-1.4\n")
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % o for o in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()
