"""The ``aie`` commands of the capstone: user add (with roles), feedback export, ingest (with progress), eval
(gate and baseline), serve."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from curriculum.cli import app
from curriculum.paths import DATA_DIR


@pytest.fixture
def env(fresh_settings, monkeypatch):
    settings = fresh_settings()
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("AIE_DEFAULT_CORPUS", "false")
    return settings


def test_user_add_prints_a_key_once(env):
    runner = CliRunner()
    first = runner.invoke(app, ["user", "add", "bob"])
    assert first.exit_code == 0, first.output
    key = first.output.strip().splitlines()[-1]
    assert key.startswith("aie_") and len(key) > 30
    again = runner.invoke(app, ["user", "add", "bob"])
    assert again.exit_code == 2 and "already exists" in again.output
    bad = runner.invoke(app, ["user", "add", "bob smith"])
    assert bad.exit_code == 2 and "invalid user name" in bad.output
    assert "created reader bob" in first.output  # readers by default


def test_user_roles_and_feedback_export(env, tmp_path):
    from capstone.db import Database
    from capstone.guard.auth import authenticate
    from capstone.service import Assistant

    runner = CliRunner()
    made = runner.invoke(app, ["user", "add", "eve", "--role", "editor"])
    assert made.exit_code == 0 and "created editor eve" in made.output
    wrong = runner.invoke(app, ["user", "add", "zed", "--role", "owner"])
    assert wrong.exit_code == 2 and "invalid role 'owner'" in wrong.output
    db = Database.open(env)
    try:
        eve = authenticate(db, made.output.strip().splitlines()[-1])
        assert eve.role == "editor" and eve.can_publish
    finally:
        db.close()
    service = Assistant.open(env)
    try:
        from capstone.rag.connectors import python_reference

        service.ingest([d for d in python_reference() if d.source.endswith("/pass")])
        answer = service.ask("What does the pass statement do?", user=eve)
        service.feedback(request_id=answer["request_id"], rating="up", comment="clear", user=eve)
    finally:
        service.close()
    out = tmp_path / "candidates.jsonl"
    exported = runner.invoke(app, ["feedback", "export", "--out", str(out)])
    assert exported.exit_code == 0 and "1 candidate(s)" in exported.output
    row = json.loads(out.read_text())
    assert row["question"] == "What does the pass statement do?" and row["kind"] == "fact"
    assert row["sources"] == ["python-reference/pass"] and row["feedback"]["comment"] == "clear"
    assert json.loads(runner.invoke(app, ["feedback", "export"]).output) == row
    assert (
        runner.invoke(app, ["feedback", "export", "--out", str(tmp_path / "no" / "such" / "dir.jsonl")]).exit_code == 2
    )


def test_ingest_and_eval_with_its_own_baseline(env, tmp_path):
    runner = CliRunner()
    export = DATA_DIR / "capstone" / "confluence-export"
    first = runner.invoke(app, ["ingest", str(export)])
    assert first.exit_code == 0, first.output
    assert "3 document(s)" in first.output and "3 added" in first.output
    assert "0 added, 0 updated, 3 unchanged" in runner.invoke(app, ["ingest", str(export)]).output
    assert runner.invoke(app, ["ingest", str(tmp_path / "missing")]).exit_code == 2
    assert "need an owner" in runner.invoke(app, ["ingest", str(export), "--visibility", "private"]).output

    cases = tmp_path / "cases.jsonl"
    rows = [
        {
            "id": "sev1",
            "kind": "fact",
            "question": "How fast must the first status update go out in a SEV1 incident?",
            "sources": ["confluence/confluence-export/DOCS/Incident-Severity-Levels"],
            "facts": ["15 minutes"],
        },
        {
            "id": "freeze",
            "kind": "fact",
            "question": "When is the main branch frozen before a release?",
            "sources": ["confluence/confluence-export/DOCS/Release-Checklist"],
            "facts": ["14:00 UTC"],
        },
        {"id": "weather", "kind": "out_of_scope", "question": "What is the weather in Lisbon today?"},
    ]
    cases.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    baseline = tmp_path / "baseline.json"
    made = runner.invoke(app, ["eval", "--cases", str(cases), "--baseline", str(baseline), "--update-baseline"])
    assert made.exit_code == 0, made.output
    assert "retrieval.reranked.recall@5" in made.output and baseline.exists()
    data = json.loads(baseline.read_text())
    data["metrics"]["answers.abstention_accuracy"] = 1.5  # pretend the baseline was better than possible
    data["cases"]["weather"]["abstention_correct"] = 2.0
    baseline.write_text(json.dumps(data))
    failed = runner.invoke(app, ["eval", "--cases", str(cases), "--baseline", str(baseline)])
    assert failed.exit_code == 1
    assert "answers.abstention_accuracy dropped" in failed.output and "weather" in failed.output


def _serve_once(port: int, env: dict) -> tuple[str, int]:
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    import httpx

    aie = Path(sys.executable).with_name("aie")
    proc = subprocess.Popen(
        [str(aie), "serve", "--port", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"aie serve did not come up: {proc.stdout.read() if proc.poll() is not None else 'timeout'}"
                )
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json() == {"status": "ok"}
                public = len(httpx.get(f"http://127.0.0.1:{port}/v1/documents", timeout=10).json())
                break
            except httpx.HTTPError:
                time.sleep(0.3)
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
    return output, public


def test_serve_indexes_the_default_corpus_on_first_start_only(fresh_settings, tmp_path):
    from curriculum.net import free_port

    settings = fresh_settings()
    env = {"DATABASE_URL": settings.database_url, "AIE_WIKI_DIR": str(tmp_path)}  # the Python reference only
    port = free_port()
    first, public = _serve_once(port, env)
    assert "checking the default corpus" in first and "storing documents" in first  # tqdm progress
    assert public > 70 and "added" in first
    second, _ = _serve_once(port, env)
    assert " 0 added, 0 updated," in second and "unchanged" in second
