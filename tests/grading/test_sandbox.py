"""The sandbox itself: what a process inside sees and cannot do (a probe run in place of the executor)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from submission_kit import needs_bwrap

from autograder import Course, CourseError, grade_submissions
from autograder.limits import Limits, make_cgroup
from autograder.sandbox import HOME, Layout, bwrap_argv, sandbox_env
from curriculum.net import free_port
from curriculum.roadmap import REPO_ROOT

PROBE = r"""
import json, os, socket, sys
from pathlib import Path
seen = {}
repo = Path(sys.argv[1])
seen["repo"] = sorted(p.name for p in repo.iterdir())
seen["uid"] = os.getuid()
seen["env"] = sorted(os.environ)
seen["root_home"] = sorted(p.name for p in Path("/root").iterdir()) if Path("/root").exists() else []
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=2)
    seen["network"] = "connected"
except OSError as exc:
    seen["network"] = type(exc).__name__
for target in ("/usr/aie-probe", str(repo / "curriculum" / "aie-probe")):
    try:
        open(target, "w")
        seen[target] = "written"
    except OSError:
        seen[target] = "refused"
(Path.home() / "scratch").write_text("ok")
seen["home"] = str(Path.home())
seen["pid"] = os.getpid()
import curriculum, numpy
seen["imports"] = "ok"
print(json.dumps(seen))
"""


def _probe(tmp_path) -> dict:
    port_server = __import__("socket").create_server(("127.0.0.1", free_port()))
    port = port_server.getsockname()[1]
    argv = bwrap_argv(Layout.here(), Limits(), tmp_path)[:-2]  # keep the venv's python, drop "-I executor.py"
    done = subprocess.run(
        [*argv, "-c", PROBE, str(REPO_ROOT), str(port)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "OPENAI_API_KEY": "sk-secret"},
        timeout=120,
    )
    port_server.close()
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@needs_bwrap
def test_inside_only_the_library_the_data_and_the_venv_of_the_repository_are_visible(tmp_path):
    seen = _probe(tmp_path)
    assert set(seen["repo"]) <= {"curriculum", "data", ".venv", ".aie"}
    assert "00_prereqs" not in seen["repo"] and ".git" not in seen["repo"] and "autograder" not in seen["repo"]
    assert seen["imports"] == "ok"
    assert seen["uid"] == 1000 and seen["pid"] < 10  # its own user and pid namespaces


@needs_bwrap
def test_inside_the_system_is_read_only_and_only_a_private_home_is_writable(tmp_path):
    seen = _probe(tmp_path)
    assert seen["/usr/aie-probe"] == "refused"
    assert seen[str(REPO_ROOT / "curriculum" / "aie-probe")] == "refused"
    assert seen["home"] == str(HOME)
    assert not (REPO_ROOT / "curriculum" / "aie-probe").exists()


@needs_bwrap
def test_inside_there_is_no_network_and_no_variable_outside_the_allow_list(tmp_path):
    seen = _probe(tmp_path)
    assert seen["network"] in ("ConnectionRefusedError", "OSError", "TimeoutError")
    assert "OPENAI_API_KEY" not in seen["env"]
    assert set(seen["env"]) <= set(sandbox_env(HOME, HOME)) | {"PWD", "OLDPWD", "SHLVL", "_"}


def test_the_environment_is_built_from_an_allow_list(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("AIE_TORCH_THREADS", "1")
    env = sandbox_env(HOME, HOME)
    assert "OPENAI_API_KEY" not in env and env["AIE_TORCH_THREADS"] == "1"
    assert env["HF_HUB_OFFLINE"] == "1"


def test_limits_say_which_mechanism_holds_them():
    group = make_cgroup(Limits(memory_mb=512, processes=64))
    try:
        assert "512 MB" in group.applied["memory"] and "64" in group.applied["processes"]
        assert group.memory_in_cgroup == ("cgroup" in group.applied["memory"])
    finally:
        group.remove()


def test_without_bubblewrap_grading_refuses_and_names_the_way_out(tmp_path, monkeypatch):
    monkeypatch.setattr("autograder.sandbox.bwrap_path", lambda: None)
    (tmp_path / "subs" / "alice" / "00_prereqs").mkdir(parents=True)
    (tmp_path / "subs" / "alice" / "00_prereqs" / "01_cosine_similarity.ipynb").write_text("{}")
    with pytest.raises(CourseError, match="bubblewrap.*--no-sandbox"):
        grade_submissions(Course(root=tmp_path / "course"), tmp_path / "subs")


def test_no_sandbox_says_loudly_what_it_gives_up(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "curriculum.cli", "grade", "--no-sandbox", "--submissions", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "AIE_COURSE_ROOT": str(tmp_path / "course")},
    )
    assert "WARNING: --no-sandbox" in done.stderr and "hidden tests" in done.stderr
    assert done.returncode == 2 and "no such folder" in done.stderr


def _run_one_cell(code: str, limits: Limits, sandbox: bool) -> tuple[dict, str]:
    """Run a one-cell notebook as ``aie check``/``aie grade`` would; returns the run and the cell's stdout."""
    import nbformat

    from autograder.check import check_job
    from autograder.sandbox import run_notebook

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "aie", "display_name": "aie", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(code)]
    job, _ = check_job(nb, 300)
    run = run_notebook(job, limits, sandbox=sandbox)
    cells = [e for e in run["events"] if e["event"] == "cell"]
    stdout = "".join(o.get("text", "") for c in cells for o in c["outputs"] if o.get("name") == "stdout")
    return run, stdout


@needs_bwrap
@pytest.mark.slow
def test_a_notebook_using_the_local_model_runs_its_own_server_inside_the_sandbox():
    """No network out of the sandbox: the notebook starts the served model on the sandbox's own loopback."""
    code = (
        "from curriculum.llm import get_model\n"
        "reply = get_model('local:smollm2').complete([{'role': 'user', 'content': 'Say hi'}], max_tokens=4)\n"
        "import os; print('provider', reply.provider, 'run dir', os.environ['AIE_RUN_DIR'])"
    )
    run, text = _run_one_cell(code, Limits(), sandbox=True)
    assert run["ended"] == "done", run["stderr_tail"]
    assert "provider local run dir /tmp/aie-run" in text, run["events"]


@pytest.mark.slow
def test_a_local_model_server_started_by_an_unsandboxed_run_is_stopped_with_it():
    """``aie check`` runs without a sandbox; the server a notebook starts detaches, so the run must stop it."""
    import os

    code = (
        "from curriculum.llm.local.server import ensure_server\n"
        "state, started = ensure_server(progress=False)\n"
        "print('pid', state.pid, started)"
    )
    run, text = _run_one_cell(code, Limits(memory_mb=None, processes=None), sandbox=False)
    assert text.startswith("pid ") and text.split()[2] == "True", run["events"]
    pid = int(text.split()[1])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
