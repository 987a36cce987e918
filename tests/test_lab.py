"""JupyterLab started the way `make lab` starts it: /lab answers and a workspace notebook runs a cell."""

import json
import subprocess
import time
import uuid

import httpx
import pytest
import websocket

from autograder import Course, release, sync_workspace
from autograder.cli import lab_command
from curriculum.net import free_port
from curriculum.roadmap import REPO_ROOT


def _execute(ws_url: str, code: str, timeout: float = 60) -> str:
    """Run code through the kernel's websocket channels; return its stdout."""
    ws = websocket.create_connection(ws_url, timeout=timeout)
    msg_id = uuid.uuid4().hex
    ws.send(
        json.dumps(
            {
                "header": {
                    "msg_id": msg_id,
                    "username": "test",
                    "session": uuid.uuid4().hex,
                    "msg_type": "execute_request",
                    "version": "5.3",
                },
                "parent_header": {},
                "metadata": {},
                "channel": "shell",
                "content": {
                    "code": code,
                    "silent": False,
                    "store_history": True,
                    "user_expressions": {},
                    "allow_stdin": False,
                },
            }
        )
    )
    out, deadline = [], time.time() + timeout
    while time.time() < deadline:
        msg = json.loads(ws.recv())
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        if msg["msg_type"] == "error":
            raise AssertionError(f"cell failed: {msg['content']['ename']}: {msg['content']['evalue']}")
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    ws.close()
    return "".join(out)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab")
    course = Course(root=root / "course", notebooks_root=REPO_ROOT)
    release(course, ["00_prereqs"])
    workspace = root / "workspace"
    sync_workspace(course.root / "release", workspace)
    port, token = free_port(), uuid.uuid4().hex
    proc = subprocess.Popen(
        lab_command(workspace, port, token), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if httpx.get(f"{base}/lab", params={"token": token}, timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.5)
        if proc.poll() is not None:
            pytest.fail(f"JupyterLab exited: {proc.stderr.read()[-2000:]}")
    else:
        proc.kill()
        pytest.fail("JupyterLab did not answer on /lab within 90 s")
    yield base, token
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.mark.slow
def test_lab_page_answers_with_the_token(lab):
    base, token = lab
    page = httpx.get(f"{base}/lab", params={"token": token}, timeout=10)
    assert page.status_code == 200 and "JupyterLab" in page.text
    assert httpx.get(f"{base}/api/contents/00_prereqs", timeout=10).status_code in (401, 403)  # token required


@pytest.mark.slow
def test_workspace_notebook_runs_a_cell_in_the_project_kernel(lab):
    base, token = lab
    headers = {"Authorization": f"token {token}"}
    listing = httpx.get(f"{base}/api/contents/00_prereqs", headers=headers, timeout=10).json()
    assert "01_cosine_similarity.ipynb" in [c["name"] for c in listing["content"]]
    session = httpx.post(
        f"{base}/api/sessions",
        headers=headers,
        timeout=60,
        json={
            "path": "00_prereqs/01_cosine_similarity.ipynb",
            "type": "notebook",
            "name": "",
            "kernel": {"name": "aie"},
        },
    ).json()
    kernel_id = session["kernel"]["id"]
    assert session["kernel"]["name"] == "aie"
    ws_url = f"{base.replace('http', 'ws')}/api/kernels/{kernel_id}/channels?token={token}"
    out = _execute(ws_url, "import os, sys; print(os.environ['HF_HUB_OFFLINE'], sys.prefix)")
    assert out.split()[0] == "1"
    assert out.split()[1].endswith(".venv") or "venv" in out
    httpx.delete(f"{base}/api/sessions/{session['id']}", headers=headers, timeout=30)
