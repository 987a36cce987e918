"""The served model: llama.cpp's OpenAI-compatible server on 127.0.0.1, started once and shared.

``python -m llama_cpp.server`` (from ``llama-cpp-python[server]``) serves the GGUF as shipped, with the
ChatML template (``chatml-function-calling``, so that a client calling the server directly also gets its
forced tool calls); ``response_format`` with a JSON schema is decoded under a grammar, which is how the
model layer constrains JSON answers and tool calls.

One served model is shared by notebooks, tests and the capstone through a **state file**
(``.aie/run/smollm2.json``, or under ``AIE_RUN_DIR``): :func:`ensure_server` attaches to the server it
names when that process is alive and answers ``GET /v1/models``, and otherwise starts one in the
background (under a file lock, so two callers never start two servers). :func:`start_server` starts one
that the caller owns (the foreground ``aie model serve``, or a test that kills its own server).

Example::

    >>> state, started = ensure_server()                 # doctest: +SKIP
    >>> state.base_url                                    # doctest: +SKIP
    'http://127.0.0.1:40117/v1'
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import ConfigurationError
from .weights import prepare_model

__all__ = [
    "MODEL_ALIAS",
    "DEFAULT_THREADS",
    "default_threads",
    "ServerState",
    "ServerStartError",
    "run_dir",
    "server_command",
    "start_server",
    "ensure_server",
    "read_state",
    "server_status",
    "stop_server",
    "healthy",
]

MODEL_ALIAS = "smollm2"  # the model name the server answers to (``/v1/models``)
DEFAULT_THREADS = 2
# llama.cpp's CPU backend runs its threads with OpenMP, whose threads spin while they wait for each other:
# on a busy 2-core machine 2 spinning threads measured 10-25x slower than with passive waiting (see the
# README's local-model section), so the server gets OMP_WAIT_POLICY=PASSIVE unless the caller set one.
SERVER_ENV = {"OMP_WAIT_POLICY": "PASSIVE", "PYTHONUNBUFFERED": "1"}
DEFAULT_CTX = 4096
STATE_NAME = "smollm2.json"
START_TIMEOUT = 120.0


class ServerStartError(ConfigurationError):
    """The model server could not be started (port taken, server crashed, missing package); the message says which."""


@dataclass(frozen=True)
class ServerState:
    """What runs where: the server process, its address and the model it serves."""

    pid: int
    port: int
    base_url: str
    model: str
    gguf: str
    key: str
    threads: int
    started_at: float
    log: str
    owner: str  # "background" (shared through the state file) or "foreground"


def default_threads() -> int:
    """Threads of the shared server: ``AIE_MODEL_THREADS``, else :data:`DEFAULT_THREADS`."""
    value = os.environ.get("AIE_MODEL_THREADS", "").strip()
    if not value:
        return DEFAULT_THREADS
    if not value.isdigit() or int(value) < 1:
        raise ConfigurationError(f"AIE_MODEL_THREADS must be a positive integer (got {value!r})")
    return int(value)


def run_dir() -> Path:
    """Where the state file, the lock and the server log live (``AIE_RUN_DIR``, default ``.aie/run``)."""
    from ...paths import REPO_ROOT

    path = Path(os.environ.get("AIE_RUN_DIR", REPO_ROOT / ".aie" / "run"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def server_command(gguf: Path, port: int, threads: int, n_ctx: int = DEFAULT_CTX) -> list[str]:
    """The argv that serves ``gguf`` on 127.0.0.1:``port``."""
    return [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(gguf),
        "--model_alias", MODEL_ALIAS,
        "--host", "127.0.0.1",
        "--port", str(port),
        "--n_threads", str(threads),
        "--n_threads_batch", str(threads),
        "--n_ctx", str(n_ctx),
        "--chat_format", "chatml-function-calling",
        "--interrupt_requests", "False",  # queue concurrent requests instead of cutting the running one short
        "--logits_all", "False",  # logits of the last token only: ~0.5 GB less at n_ctx 4096
    ]  # fmt: skip


def healthy(base_url: str, timeout: float = 2.0) -> bool:
    """True when ``GET {base_url}/models`` answers 200 with a model list."""
    import httpx

    try:
        answer = httpx.get(f"{base_url}/models", timeout=timeout)
        return answer.status_code == 200 and isinstance(answer.json().get("data"), list)
    except (httpx.HTTPError, ValueError, AttributeError):
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours is not alive
        waited, _ = os.waitpid(pid, os.WNOHANG)
        return waited == 0
    except ChildProcessError:
        return True


def _port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _check_server_package() -> None:
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("sse_starlette") is None:
        raise ServerStartError(
            "llama.cpp's server is not installed: run `make setup` (it builds llama-cpp-python[server]==0.3.36 "
            "with CMAKE_ARGS=-DGGML_NATIVE=OFF)"
        )


def _tail(path: Path, lines: int = 6) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text[-lines:])


def _write_state(state: ServerState, path: Path) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    temp.write_text(json.dumps(asdict(state), indent=1) + "\n", encoding="utf-8")
    os.replace(temp, path)


def read_state(path: Path | None = None) -> ServerState | None:
    """The state file's content, or None when there is none (or it is unreadable)."""
    path = path or run_dir() / STATE_NAME
    try:
        return ServerState(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def start_server(
    *,
    port: int | None = None,
    threads: int | None = None,
    n_ctx: int = DEFAULT_CTX,
    log: Path | None = None,
    stream: IO[Any] | None = None,
    detach: bool = False,
    timeout: float = START_TIMEOUT,
    progress: bool | None = None,
) -> tuple[ServerState, subprocess.Popen]:
    """Start a server the caller owns and wait until it answers; returns its state and process.

    Output goes to ``stream`` when given (the foreground command passes the terminal), else to ``log``.
    ``detach=True`` starts it in its own session (it outlives the caller). Raises :class:`ServerStartError`
    naming the cause: the port is taken, the server exited (with the end of its log), or it did not answer.
    """
    from ...net import free_port

    _check_server_package()
    prepared = prepare_model(progress=progress)
    if port is not None and _port_taken(port):
        raise ServerStartError(
            f"port {port} on 127.0.0.1 is already in use: pick another port, or omit it to take a free one"
        )
    port = port or free_port()
    threads = threads or default_threads()
    log = log or run_dir() / f"server-{port}.log"
    command = server_command(prepared.gguf, port, threads, n_ctx)
    env = {**SERVER_ENV, **os.environ}
    with contextlib.ExitStack() as stack:
        out = stream if stream is not None else stack.enter_context(open(log, "w", encoding="utf-8"))
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=detach
        )
    base_url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + timeout
    while not healthy(base_url, timeout=1.0):
        code = process.poll()
        if code is not None:
            tail = _tail(log) if stream is None else ""
            if "address already in use" in tail.lower():
                raise ServerStartError(f"port {port} on 127.0.0.1 is already in use (the server could not bind it)")
            raise ServerStartError(
                f"the model server exited with code {code} before answering" + (f": {tail}" if tail else "")
            )
        if time.monotonic() > deadline:
            _terminate(process.pid, group=detach)
            raise ServerStartError(f"the model server did not answer on {base_url} within {timeout:.0f} s (log: {log})")
        time.sleep(0.2)
    state = ServerState(
        pid=process.pid, port=port, base_url=base_url, model=MODEL_ALIAS, gguf=str(prepared.gguf), key=prepared.key,
        threads=threads, started_at=time.time(), log=str(log) if stream is None else "", owner="background" if detach else "foreground",
    )  # fmt: skip
    return state, process


@contextlib.contextmanager
def _locked(path: Path):
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# llama.cpp's server answers one request at a time: while it generates for another caller, even ``GET /models``
# waits. A live process gets this long to answer before it is taken for hung and replaced.
BUSY_SECONDS = 90.0


def _attachable(state: ServerState | None) -> bool:
    if state is None or not _alive(state.pid):
        return False
    return healthy(state.base_url) or healthy(state.base_url, timeout=BUSY_SECONDS)


def ensure_server(*, threads: int | None = None, progress: bool | None = None) -> tuple[ServerState, bool]:
    """Attach to the shared server, or start it in the background; returns ``(state, started_by_this_call)``."""
    folder = run_dir()
    state_file = folder / STATE_NAME
    state = read_state(state_file)
    if _attachable(state):
        return state, False
    with _locked(folder / "smollm2.lock"):
        state = read_state(state_file)  # another caller may have started it while we waited for the lock
        if _attachable(state):
            return state, False
        if state is not None and _alive(state.pid):
            _terminate(state.pid, group=True)  # alive but not answering: replace it
        state, _ = start_server(threads=threads, detach=True, progress=progress, log=folder / "server.log")
        _write_state(state, state_file)
        return state, True


def register_foreground(state: ServerState) -> Path:
    """Record a foreground server in the state file so that other callers attach to it; returns the file."""
    path = run_dir() / STATE_NAME
    _write_state(state, path)
    return path


def forget(state: ServerState) -> None:
    """Remove the state file if it still names ``state``'s process."""
    path = run_dir() / STATE_NAME
    current = read_state(path)
    if current is not None and current.pid == state.pid:
        path.unlink(missing_ok=True)


def _terminate(pid: int, *, group: bool, grace: float = 10.0) -> None:
    def send(sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig) if group else os.kill(pid, sig)

    send(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        send(signal.SIGKILL)
        while _alive(pid) and time.monotonic() < deadline + 5:
            time.sleep(0.1)


def stop_server(folder: Path | None = None) -> ServerState | None:
    """Stop the background server named by the state file (in ``folder``, default :func:`run_dir`).

    Returns what was stopped (None: nothing ran).
    """
    path = (folder or run_dir()) / STATE_NAME
    state = read_state(path)
    if state is None:
        return None
    if _alive(state.pid):
        _terminate(state.pid, group=state.owner == "background")
    path.unlink(missing_ok=True)
    return state


def server_status() -> dict[str, Any]:
    """What runs where: ``state`` is ``running``, ``not answering``, ``stale`` (process gone) or ``stopped``."""
    path = run_dir() / STATE_NAME
    state = read_state(path)
    if state is None:
        return {"state": "stopped", "state_file": str(path)}
    info: dict[str, Any] = {**asdict(state), "state_file": str(path)}
    if not _alive(state.pid):
        info["state"] = "stale"
        return info
    info["state"] = "running" if healthy(state.base_url) else "not answering"
    with contextlib.suppress(Exception):
        import psutil

        info["rss_mb"] = round(psutil.Process(state.pid).memory_info().rss / 2**20, 1)
    return info
