"""``aie serve --workers 2``: two real worker processes over one Postgres.

An upload through the service is answerable through every worker a second later (the lexical
index follows the database), and quotas and spend are exact across the workers (row locks and
atomic updates in Postgres, not per-process counters).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from capstone.db import Database
from capstone.guard.auth import create_user
from capstone.rag.connectors import python_reference
from capstone.service import Assistant
from curriculum.net import free_port

QUOTA = 12


@pytest.fixture(scope="module")
def two_workers(fresh_settings):
    settings = fresh_settings()
    seed = Assistant.open(settings)
    try:
        seed.ingest([d for d in python_reference() if d.source.endswith(("/pass", "/break"))])
        _, admin = create_user(seed.db, "root", role="admin")
        _, reader = create_user(seed.db, "rita")
    finally:
        seed.close()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "AIE_DEFAULT_CORPUS": "false",
        "AIE_USER_DAILY_REQUESTS": str(QUOTA),
        "AIE_CANARY": settings.canary,
    }
    aie = Path(sys.executable).with_name("aie")
    proc = subprocess.Popen(
        [str(aie), "serve", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    lines: list[str] = []
    reader_thread = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader_thread.start()
    try:
        deadline = time.monotonic() + 300
        while sum("Application startup complete" in line for line in lines) < 2:  # both workers ready
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("aie serve --workers 2 did not come up:\n" + "".join(lines[-40:]))
            time.sleep(0.3)
        assert httpx.get(f"{url}/healthz", timeout=10).json() == {"status": "ok"}
        yield {"url": url, "admin": admin, "reader": reader, "settings": settings}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _ask(url: str, key: str, question: str) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/ask",
        json={"question": question, "debug": True},
        headers={"Authorization": f"Bearer {key}", "Connection": "close"},
        timeout=120,
    )


def _from_every_worker(url: str, key: str, question: str, rounds: int = 20) -> dict[int, list[dict]]:
    """Answers grouped by the worker (process id) that gave them; concurrent, new connections, until two answered."""
    seen: dict[int, list[dict]] = {}
    with ThreadPoolExecutor(8) as pool:
        for _ in range(rounds):
            for r in pool.map(lambda _: _ask(url, key, question), range(8)):
                assert r.status_code == 200, r.text
                body = r.json()
                seen.setdefault(body["debug"]["server"]["pid"], []).append(body)
            if len(seen) >= 2:
                break
    return seen


def test_an_upload_is_answerable_through_every_worker(two_workers):
    url, admin = two_workers["url"], two_workers["admin"]
    before = _from_every_worker(url, admin, "What does the pass statement do?")
    assert len(before) == 2, f"only workers {sorted(before)} answered"
    note = b"# Tamarisk rota\n\nThe tamarisk rota puts Priya on call during the last week of June."
    up = httpx.post(
        f"{url}/v1/documents",
        headers={"Authorization": f"Bearer {admin}"},
        files={"file": ("tamarisk.md", note)},
        data={"visibility": "public"},
        timeout=120,
    )
    assert up.status_code == 201, up.text
    time.sleep(1.0)  # the freshness promise: within a second on every worker
    after = _from_every_worker(url, admin, "Who is on call in the tamarisk rota in June?")
    assert len(after) == 2
    for pid, bodies in after.items():
        for body in bodies:
            assert "Priya" in body["answer"] and body["citations"][0]["source"] == "upload/root/tamarisk.md", (
                pid,
                body["answer"],
            )


def test_quotas_and_spend_are_exact_across_workers(two_workers):
    url, reader, settings = two_workers["url"], two_workers["reader"], two_workers["settings"]
    with ThreadPoolExecutor(10) as pool:
        codes = list(pool.map(lambda _: _ask(url, reader, "What does the break statement do?").status_code, range(30)))
    assert codes.count(200) == QUOTA and codes.count(429) == 30 - QUOTA, codes
    db = Database.open(settings)
    try:
        with db.connection() as conn:
            rita = conn.execute("SELECT id FROM users WHERE name = 'rita'").fetchone()[0]
            requests, spent, reserved = conn.execute(
                "SELECT requests, spent_usd, reserved_usd FROM quotas WHERE subject = %s", (f"user:{rita}",)
            ).fetchone()
            billed = conn.execute(
                "SELECT COALESCE(sum(cost_usd), 0) FROM usage_events WHERE user_id = %s", (rita,)
            ).fetchone()[0]
            day_spent, day_reserved = conn.execute(
                "SELECT spent_usd, reserved_usd FROM budgets WHERE feature = 'ask'"
            ).fetchone()
            all_billed = conn.execute("SELECT sum(cost_usd) FROM usage_events WHERE feature = 'ask'").fetchone()[0]
    finally:
        db.close()
    assert (
        requests == QUOTA and reserved == pytest.approx(0, abs=1e-12) and spent == pytest.approx(billed) and billed > 0
    )
    assert day_reserved == pytest.approx(0, abs=1e-12) and day_spent == pytest.approx(all_billed)
