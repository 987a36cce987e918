"""Resource limits of one grading run: a cgroup (memory, process count) when this machine lets us make one,
resource limits (rlimits) of the executor otherwise. The wall-time limit is the coordinator's timeout.

cgroup v2 (``/sys/fs/cgroup/cgroup.controllers``) and v1 (one hierarchy per controller) are both tried,
always as a child of the cgroup this process runs in. A machine where neither can be written (a non-root
instructor without a delegated cgroup) still gets ``RLIMIT_AS`` for memory and ``RLIMIT_NPROC`` for
processes; :attr:`Cgroup.applied` says which limits hold, and ``aie grade`` prints it.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class Limits:
    """What one notebook's run may use; ``None`` leaves a limit off (``aie check`` on a learner's own machine)."""

    memory_mb: int | None = 4096
    processes: int | None = 512  # threads count too: torch, tokenizers and Postgres start many
    wall_seconds: int = 1800  # the whole notebook; each cell also has the cell timeout
    file_mb: int | None = 1024  # largest file a notebook may write
    scratch_mb: int = 2048  # size of each private tmpfs (home and /tmp), charged to the memory limit

    def rlimits(self, group: Cgroup) -> dict[str, int | None]:
        """Resource limits the executor sets on itself (inherited by the kernel and its children).

        Only for what ``group`` does not hold: ``RLIMIT_AS`` caps each process's address space (coarser than a
        cgroup), and ``RLIMIT_NPROC`` counts every process of the user, so it is set to what the user runs now
        plus the allowance (root is exempt from it).
        """
        memory = None if self.memory_mb is None or group.memory_in_cgroup else self.memory_mb * 2**20
        processes = None if self.processes is None or group.processes_in_cgroup else user_tasks() + self.processes
        return {"AS": memory, "NPROC": processes, "FSIZE": self.file_mb * 2**20 if self.file_mb else None, "CORE": 0}


def user_tasks() -> int:
    """How many tasks (threads included) this user runs right now, as RLIMIT_NPROC counts them."""
    uid, count = os.getuid(), 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue
        if fields.get("Uid", "").split()[:1] == [str(uid)]:
            count += int(fields.get("Threads", "1").strip() or 1)
    return count


def _own_path(controller: str | None) -> str | None:
    """This process's cgroup path for ``controller`` (v1), or its v2 path when ``controller`` is None."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        if controller is None and names == "":
            return path
        if controller is not None and controller in names.split(","):
            return path
    return None


@dataclass
class Cgroup:
    """A cgroup made for one run (possibly several directories under v1), removed by :meth:`remove`."""

    dirs: list[Path] = field(default_factory=list)
    applied: dict[str, str] = field(default_factory=dict)
    version: str = ""

    @property
    def memory_in_cgroup(self) -> bool:
        return "cgroup" in self.applied.get("memory", "")

    @property
    def processes_in_cgroup(self) -> bool:
        return "cgroup" in self.applied.get("processes", "")

    def wrap(self, argv: list[str]) -> list[str]:
        """``argv`` started by a shell that first moves itself into this cgroup (thread-safe, unlike preexec_fn)."""
        if not self.dirs:
            return argv
        moves = " && ".join(f"echo $$ > {shlex.quote(str(d / 'cgroup.procs'))}" for d in self.dirs)
        return ["/bin/sh", "-c", f'{moves} && exec "$@"', "sh", *argv]

    def peak_memory_mb(self) -> float | None:
        for d in self.dirs:
            for name in ("memory.peak", "memory.max_usage_in_bytes"):
                with contextlib.suppress(OSError, ValueError):
                    return round(int((d / name).read_text().split()[0]) / 2**20, 1)
        return None

    def hit_memory_limit(self) -> bool:
        """Whether the kernel's OOM killer ended a process of this cgroup."""
        for d in self.dirs:
            for name in ("memory.events", "memory.oom_control"):  # v2, v1
                with contextlib.suppress(OSError, ValueError):
                    fields = dict(line.split()[:2] for line in (d / name).read_text().splitlines() if line.strip())
                    if int(fields.get("oom_kill", 0)) > 0:
                        return True
        return False

    def kill_all(self) -> None:
        """SIGKILL every process still in this cgroup."""
        for d in self.dirs:
            with contextlib.suppress(OSError):
                (d / "cgroup.kill").write_text("1")  # v2, kernel 5.14+
                continue
            with contextlib.suppress(OSError, ValueError):
                for pid in (d / "cgroup.procs").read_text().split():
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(int(pid), signal.SIGKILL)

    def remove(self) -> None:
        for d in self.dirs:
            for _ in range(50):  # the last processes of a killed sandbox may take a moment to go
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)


def _try_v2(limits: Limits, name: str) -> Cgroup | None:
    if not (CGROUP_ROOT / "cgroup.controllers").exists():
        return None
    own = _own_path(None)
    if own is None:
        return None
    parent = CGROUP_ROOT / own.lstrip("/")
    try:
        enabled = (parent / "cgroup.subtree_control").read_text().split()
        missing = [c for c in ("memory", "pids") if c not in enabled]
        if missing:
            (parent / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in missing))
        child = parent / name
        child.mkdir()
    except OSError:
        return None
    group = Cgroup([child], version="v2")
    if limits.memory_mb is not None:
        with contextlib.suppress(OSError):
            (child / "memory.max").write_text(str(limits.memory_mb * 2**20))
            group.applied["memory"] = f"{limits.memory_mb} MB (cgroup v2)"
            (child / "memory.swap.max").write_text("0")
    if limits.processes is not None:
        with contextlib.suppress(OSError):
            (child / "pids.max").write_text(str(limits.processes))
            group.applied["processes"] = f"{limits.processes} (cgroup v2)"
    return group


def _try_v1(limits: Limits, name: str) -> Cgroup | None:
    group = Cgroup(version="v1")
    settings = {}
    if limits.memory_mb is not None:
        settings["memory"] = {"memory.limit_in_bytes": limits.memory_mb * 2**20}
    if limits.processes is not None:
        settings["pids"] = {"pids.max": limits.processes}
    for controller, values in settings.items():
        mount, own = CGROUP_ROOT / controller, _own_path(controller)
        if own is None or not mount.is_dir():
            continue
        child = mount / own.lstrip("/") / name
        try:
            child.mkdir()
        except OSError:
            continue
        try:
            for key, value in values.items():
                (child / key).write_text(str(value))
            if controller == "memory" and (child / "memory.memsw.limit_in_bytes").exists():
                with contextlib.suppress(OSError):  # no swap beyond the limit either
                    (child / "memory.memsw.limit_in_bytes").write_text(str(limits.memory_mb * 2**20))
        except OSError:
            child.rmdir()
            continue
        group.dirs.append(child)
        label = f"{limits.memory_mb} MB" if controller == "memory" else str(limits.processes)
        group.applied["memory" if controller == "memory" else "processes"] = f"{label} (cgroup v1)"
    return group if group.dirs else None


def make_cgroup(limits: Limits) -> Cgroup:
    """A fresh cgroup with ``limits`` applied, or an empty :class:`Cgroup` (rlimits only) when none can be made."""
    group = Cgroup()
    if limits.memory_mb is not None or limits.processes is not None:
        name = f"aie-grade-{uuid.uuid4().hex[:12]}"
        group = _try_v2(limits, name) or _try_v1(limits, name) or group
    if limits.memory_mb is not None:
        group.applied.setdefault("memory", f"{limits.memory_mb} MB of address space per process (RLIMIT_AS)")
    if limits.processes is not None:
        group.applied.setdefault("processes", f"{limits.processes} more than you run (RLIMIT_NPROC; none for root)")
    group.applied["wall time"] = f"{limits.wall_seconds} s per notebook"
    return group
