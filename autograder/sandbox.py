"""One notebook, one sandbox: the bubblewrap command line, its environment, and running it under limits.

Inside a sandbox (``bwrap``, Debian's ``bubblewrap``):

* namespaces of its own: user (uid 1000, no capabilities, no nested user namespaces), pid (every process
  ends with the sandbox, detached or not), network (loopback only: nothing on the host answers), ipc, uts;
* read-only: ``/usr`` and a short list of ``/etc`` files, the Python installation, the virtual environment,
  the project's library (``curriculum/``) and data (``data/``), the course cache (models built once, linked
  into a private writable cache), and the two grader files (``executor.py``, ``kernel_guard.py``);
* writable: a private home (``/home/student``, the notebook's working folder is ``~/work``) and ``/tmp``,
  both tmpfs, gone when the sandbox ends;
* absent: the phase folders with the source notebooks, the releases, ``submitted/``, ``autograded/``, the
  gradebook, the grading package, ``.git``, the instructor's home, and every environment variable that is
  not on :data:`PASSED_ENV` (no API keys).

The notebook and its hidden tests travel on the executor's stdin, results on its stdout (JSON lines).
:func:`run_notebook` is what a local worker thread or a Dask worker calls; it needs the project installed at
the same path on that machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder.limits import Limits, make_cgroup
from curriculum.env import OFFLINE_ENV
from curriculum.paths import REPO_ROOT

HERE = Path(__file__).resolve().parent
GRADER_FILES = ("executor.py", "kernel_guard.py")
INSIDE_GRADER = Path("/opt/aie-grader")
HOME = Path("/home/student")
UID = 1000
# Variables the instructor may set to tune the notebooks; nothing else of the grading environment goes in.
PASSED_ENV = ("AIE_TORCH_THREADS", "AIE_LORA_STEPS", "TZ")
ETC_FILES = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "nsswitch.conf",
    "ssl",
    "ca-certificates",
    "mime.types",
    "os-release",
    "fonts",
    "gai.conf",
    "host.conf",
    "alternatives",
)
PROJECT_DIRS = ("curriculum", "data")
BWRAP = "bwrap"
NO_SANDBOX_WARNING = (
    "WARNING: --no-sandbox: submissions run as you, with your files, network and processes. A submission can "
    "read the source notebooks and hidden tests, rewrite other submissions and the gradebook, reach the network, "
    "and leave processes running after grading. Environment variables are still filtered; memory, process and "
    "time limits still apply. Use it only for submissions you trust."
)


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or does not work on this machine."""


@dataclass(frozen=True)
class Layout:
    """Where this machine keeps what a sandbox binds read-only."""

    venv: Path = Path(sys.prefix)
    python_home: Path = Path(sys.base_prefix)
    project: Path = REPO_ROOT
    cache: Path | None = None

    @classmethod
    def here(cls) -> Layout:
        cache = Path(os.environ.get("AIE_CACHE_DIR", REPO_ROOT / ".aie" / "cache")).resolve()
        return cls(cache=cache if cache.is_dir() else None)


def bwrap_path() -> str | None:
    return shutil.which(BWRAP)


def check_bubblewrap() -> str:
    """The bwrap binary after a trial run; raises :class:`SandboxUnavailable` naming what is missing."""
    path = bwrap_path()
    if path is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed, so submissions cannot be graded in a sandbox. Install it "
            "(`apt-get install bubblewrap`, or `make system` as root), or pass --no-sandbox for submissions you trust."
        )
    probe = subprocess.run(
        [
            path,
            "--unshare-user",
            "--unshare-pid",
            "--unshare-net",
            "--ro-bind",
            "/usr",
            "/usr",
            "--symlink",
            "usr/bin",
            "/bin",
            "--symlink",
            "usr/lib",
            "/lib",
            "--symlink",
            "usr/lib64",
            "/lib64",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "true",
        ],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        raise SandboxUnavailable(
            f"bubblewrap cannot create a sandbox here ({probe.stderr.strip() or probe.returncode}); "
            "user namespaces may be disabled. Pass --no-sandbox for submissions you trust."
        )
    return path


def sandbox_env(home: Path, tmp: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The complete environment of a grading run: built from an allow-list, never copied from the caller."""
    env = {
        "HOME": str(home),
        "USER": "student",
        "LOGNAME": "student",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PATH": f"{Path(sys.prefix) / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "TMPDIR": str(tmp),
        "AIE_CACHE_DIR": str(home / ".cache" / "aie"),
        "AIE_PG_ROOT": str(tmp / "aie-pg"),
        "AIE_RUN_DIR": str(tmp / "aie-run"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_RUNTIME_DIR": str(tmp / "run"),
        "IPYTHONDIR": str(home / ".ipython"),
        "MPLCONFIGDIR": str(home / ".config" / "matplotlib"),
        "JUPYTER_RUNTIME_DIR": str(tmp / "jupyter"),
        "NBGRADER_EXECUTION": "autograde",
        **OFFLINE_ENV,
    }
    env.update({k: os.environ[k] for k in PASSED_ENV if k in os.environ})
    env.update(extra or {})
    return env


def _etc_files(scratch: Path) -> list[str]:
    (scratch / "passwd").write_text(
        f"root:x:0:0:root:/root:/bin/sh\nstudent:x:{UID}:{UID}:student:{HOME}:/bin/sh\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    )
    (scratch / "group").write_text(f"root:x:0:\nstudent:x:{UID}:\nnogroup:x:65534:\n")
    (scratch / "hosts").write_text("127.0.0.1 localhost grader\n::1 localhost\n")
    args = []
    for name in ("passwd", "group", "hosts"):
        args += ["--ro-bind", str(scratch / name), f"/etc/{name}"]
    for name in ETC_FILES:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return args


def bwrap_argv(layout: Layout, limits: Limits, scratch: Path, bwrap: str = BWRAP) -> list[str]:
    """The full command line of one sandbox running the executor (``scratch`` holds generated /etc files)."""
    args = [
        bwrap,
        "--unshare-user",
        "--uid",
        str(UID),
        "--gid",
        str(UID),
        "--disable-userns",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--hostname",
        "grader",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--ro-bind",
        "/usr",
        "/usr",
    ]
    for top in ("bin", "lib", "lib64", "sbin"):
        path = Path("/") / top
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    # the private /tmp comes before the binds: a project that lives under /tmp (a CI clone, say) is bound on top of
    # it, instead of being hidden by it
    size = str(limits.scratch_mb * 2**20)
    args += ["--size", size, "--tmpfs", "/tmp"]
    args += _etc_files(scratch)
    binds = [layout.python_home, layout.venv, *(layout.project / d for d in PROJECT_DIRS)]
    if layout.cache is not None:
        binds.append(layout.cache)
    for path in dict.fromkeys(binds):
        if not str(path).startswith("/usr/"):
            args += ["--ro-bind", str(path), str(path)]
    for name in GRADER_FILES:
        args += ["--ro-bind", str(HERE / name), str(INSIDE_GRADER / name)]
    args += [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--size",
        size,
        "--tmpfs",
        str(HOME),
        "--remount-ro",
        "/",
        "--chdir",
        str(HOME),
        "--clearenv",
    ]
    for key, value in sandbox_env(HOME, Path("/tmp")).items():
        args += ["--setenv", key, value]
    return [*args, str(layout.venv / "bin" / "python"), "-I", str(INSIDE_GRADER / "executor.py")]


@dataclass
class RunResult:
    """What came back from one notebook's run: the executor's events and how the run ended."""

    events: list[dict] = field(default_factory=list)
    returncode: int | None = None
    ended: str = "done"  # done | wall-time | memory | crashed
    stderr_tail: str = ""
    seconds: float = 0.0
    peak_memory_mb: float | None = None
    limits: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _parse_events(stdout: bytes) -> list[dict]:
    events = []
    for line in stdout.decode("utf-8", "replace").splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by a kill
        if isinstance(event, dict) and "event" in event:
            events.append(event)
    return events


def _stop_local_model(folder: Path) -> None:
    """Stop a local model server the run started (it detaches from the notebook's process group)."""
    from curriculum.llm.local.server import STATE_NAME, stop_server

    if (folder / STATE_NAME).is_file():
        with contextlib.suppress(OSError, ValueError):
            stop_server(folder)


def run_notebook(job: dict, limits: Limits | None = None, sandbox: bool = True, layout: Layout | None = None) -> dict:
    """Execute one grading job (see ``executor.py``) in a fresh sandbox; returns :class:`RunResult` as a dict.

    With ``sandbox=False`` the executor runs as a plain subprocess with the same environment allow-list and
    limits, in a temporary folder (what ``aie check`` and ``--no-sandbox`` use).
    """
    limits = limits or Limits()
    layout = layout or Layout.here()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="aie-run-") as tmp:
        scratch = Path(tmp)
        if sandbox:
            bwrap = bwrap_path()
            if bwrap is None:
                raise SandboxUnavailable("bubblewrap (bwrap) is not installed on this worker")
            argv, env = bwrap_argv(layout, limits, scratch, bwrap), {"PATH": "/usr/bin:/bin"}
            home, tmpdir = HOME, Path("/tmp")
        else:
            home, tmpdir = scratch / "home", scratch / "tmp"
            for d in (home, tmpdir, tmpdir / "run"):
                d.mkdir(parents=True, exist_ok=True)
            argv = [str(layout.venv / "bin" / "python"), "-I", str(HERE / "executor.py")]
            env = sandbox_env(home, tmpdir)
        cgroup = make_cgroup(limits)
        job = dict(
            job,
            cwd=str(home / "work"),
            rlimits=limits.rlimits(cgroup),
            cache={"shared": str(layout.cache) if layout.cache else None, "private": str(home / ".cache" / "aie")},
        )
        result = RunResult(limits=dict(cgroup.applied))
        proc = None
        try:
            proc = subprocess.Popen(
                cgroup.wrap(argv),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                cwd=str(scratch),
                start_new_session=True,
            )
            try:
                stdout, stderr = proc.communicate(json.dumps(job).encode(), timeout=limits.wall_seconds)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                stdout, stderr = proc.communicate()
                result.ended = "wall-time"
            result.returncode = proc.returncode
            result.events = _parse_events(stdout)
            result.stderr_tail = stderr.decode("utf-8", "replace")[-3000:]
            result.peak_memory_mb = cgroup.peak_memory_mb()
            if result.ended == "done" and not any(e["event"] == "done" for e in result.events):
                result.ended = "memory" if cgroup.hit_memory_limit() else "crashed"
        finally:
            if not sandbox:  # the local model's server runs detached from the notebook's session: stop it too
                _stop_local_model(tmpdir / "aie-run")
            if proc is not None:  # without a sandbox, whatever the notebook left running in its session
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
            cgroup.kill_all()  # and in its cgroup, detached or not
            cgroup.remove()
    result.seconds = round(time.monotonic() - started, 3)
    return result.to_dict()
