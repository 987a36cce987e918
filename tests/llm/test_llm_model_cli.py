"""``aie model``: the commands parse, call the library and report in one line what is wrong."""

from __future__ import annotations

import socket

import pytest
from typer.testing import CliRunner

from curriculum.cli import app


@pytest.fixture
def run_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("AIE_RUN_DIR", str(tmp_path / "run"))
    return tmp_path / "run"


def test_status_without_a_server_says_none_is_recorded_and_how_to_start_one(run_dir):
    result = CliRunner().invoke(app, ["model", "status"])
    assert result.exit_code == 0
    assert (
        f"no model server recorded ({run_dir / 'smollm2.json'})" in result.output and "aie model serve" in result.output
    )


def test_status_of_a_server_whose_process_is_gone_says_stale(run_dir):
    from curriculum.llm.local.server import ServerState, register_foreground

    register_foreground(
        ServerState(
            pid=999_999_999,
            port=1,
            base_url="http://127.0.0.1:1/v1",
            model="smollm2",
            gguf="x",
            key="k",
            threads=1,
            started_at=0.0,
            log="",
            owner="background",
        )
    )
    result = CliRunner().invoke(app, ["model", "status"])
    assert result.exit_code == 0 and result.output.startswith("stale: smollm2 at http://127.0.0.1:1/v1")
    assert "the process is gone" in result.output


def test_stop_without_a_server_says_so(run_dir):
    result = CliRunner().invoke(app, ["model", "stop"])
    assert result.exit_code == 0 and "no model server was recorded" in result.output


def test_serve_on_a_taken_port_fails_naming_the_port(run_dir):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = CliRunner().invoke(app, ["model", "serve", "--port", str(port)])
    assert result.exit_code == 2
    assert f"aie: error: port {port} on 127.0.0.1 is already in use" in result.output


def test_prepare_prints_the_cached_gguf_and_its_key(tmp_path, monkeypatch):
    monkeypatch.setenv("AIE_CACHE_DIR", str(tmp_path / "cache"))
    result = CliRunner().invoke(app, ["model", "prepare"])
    assert result.exit_code == 0, result.output
    assert "GGUF: " + str(tmp_path / "cache" / "smollm2") in result.output and "cache key " in result.output
