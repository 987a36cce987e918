"""Executes one notebook for grading and streams the result of every code cell as a JSON line.

Run as a script (``python -I executor.py``) by ``aie grade`` inside a sandbox, and by ``aie check`` as a
plain subprocess, so both grade through the same steps. It imports only the standard library, nbformat and
nbclient: inside the sandbox the project's grading package is not visible, only this file and
``kernel_guard.py`` beside it.

Input (stdin, one JSON object): ``notebook`` (the notebook to run, its test cells as released), ``cwd``,
``kernel_name``, ``cell_timeout``, ``startup_timeout``, ``files`` (``{relative path: base64}`` written into
``cwd``), ``cache`` (``{"shared": dir or null, "private": dir}``), ``guard`` (the configuration of
``kernel_guard``), ``tests`` (``{cell index: grade id}``), ``intact`` (``{cell index: [names]}``: released
cells the learner left unchanged and the functions they define), ``skip`` (indices of cells reported as
skipped instead of run: see ``plan.py``), ``rlimits``.

Output (stdout, JSON lines): ``{"event": "cell", "index", "execution_count", "outputs", "aie"}`` per code
cell, ``{"event": "died", "index", "reason"}`` when the kernel dies or stops answering (nothing more runs),
and ``{"event": "done"}``. The kernel's own stdout and stderr go to /dev/null, so nothing the notebook
prints can forge these lines, and this process makes itself non-dumpable, so the kernel cannot read the
hidden tests out of its memory.
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from queue import Empty

GUARD = Path(__file__).with_name("kernel_guard.py")
GRACE_SECONDS = 10  # how long a kernel may take to answer after an interrupt before it counts as dead
MAX_STREAM_CHARS = 200_000  # per output; a notebook printing more is cut, not the grader's memory
SKIPPED_OUTPUT = {
    "output_type": "stream",
    "name": "stdout",
    "text": "Not run while grading: this cell is tagged skip-when-graded (a measurement no graded cell depends on).\n"
    "Run it in JupyterLab to see your own numbers.\n",
}


def _harden(rlimits: dict) -> None:
    """Make this process non-dumpable (no ptrace, no /proc/PID/mem) and apply the resource limits."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
    except (OSError, AttributeError):
        pass
    import resource

    for name, value in (rlimits or {}).items():
        if value is not None:
            resource.setrlimit(getattr(resource, f"RLIMIT_{name}"), (int(value), int(value)))


def _prepare_dirs(job: dict) -> None:
    cwd = Path(job["cwd"])
    cwd.mkdir(parents=True, exist_ok=True)
    for rel, blob in (job.get("files") or {}).items():
        target = (cwd / rel).resolve()
        if cwd.resolve() not in target.parents:
            raise ValueError(f"file {rel!r} lies outside the working folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(base64.b64decode(blob))
    cache = job.get("cache") or {}
    private = Path(cache["private"]) if cache.get("private") else None
    shared = Path(cache["shared"]) if cache.get("shared") else None
    if private is None:
        return
    private.mkdir(parents=True, exist_ok=True)
    if shared is None or not shared.is_dir():
        return
    # The shared cache is read-only here: link its entries into a private, writable cache of this run.
    for top in sorted(shared.iterdir()):
        if top.is_dir() and not top.is_symlink():
            (private / top.name).mkdir(exist_ok=True)
            for entry in sorted(top.iterdir()):
                link = private / top.name / entry.name
                if not link.exists() and not link.is_symlink():
                    link.symlink_to(entry)
        elif not (private / top.name).exists():
            (private / top.name).symlink_to(top)


def _emit(event: dict) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def _clip(outputs: list) -> list:
    for out in outputs:
        if out.get("output_type") == "stream" and len(out.get("text", "")) > MAX_STREAM_CHARS:
            out["text"] = out["text"][:MAX_STREAM_CHARS] + "\n... output cut by the grader ...\n"
    return outputs


def first_line(text: str) -> str:
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    return lines[0] if lines else ""


def test_outputs(reply: dict, timeout: int) -> tuple[list, dict]:
    """The outputs written for a test cell (a summary, never what learner code printed) and its record."""
    status = reply.get("status")
    info = {"status": status, "seconds": reply.get("seconds")}
    if status == "passed" and reply.get("stderr"):
        message = f"wrote to stderr: {first_line(reply['stderr'])}"
        info.update(status="failed", message=message, stderr=True)
        return [{"output_type": "stream", "name": "stderr", "text": message + "\n"}], info
    if status == "passed":
        outputs = []
        if reply.get("value") is not None:
            outputs.append(
                {
                    "output_type": "execute_result",
                    "execution_count": None,
                    "metadata": {},
                    "data": {"text/plain": reply["value"]},
                }
            )
        return outputs, info
    if status == "timeout":
        ename, evalue = "CellTimeoutError", f"the test cell ran longer than {timeout} s"
    elif status in ("failed",):
        ename, evalue = reply.get("ename", "Error"), first_line(reply.get("evalue", ""))
    else:  # the guard itself failed (learner code broke the grader's channel)
        ename, evalue = "GraderError", first_line(reply.get("evalue", "the test could not be run"))
        info["status"] = "failed"
    info.update(
        message=f"{ename}: {evalue}" if evalue else ename,
        lineno=reply.get("lineno"),
        raised_by_test=reply.get("raised_by_test", False),
    )
    traceback = [line.rstrip("\n") for line in reply.get("traceback") or []] or [info["message"]]
    return [{"output_type": "error", "ename": ename, "evalue": evalue, "traceback": traceback}], info


class KernelGone(Exception):
    """The kernel died, or stopped answering after an interrupt."""


async def _run(job: dict) -> None:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    nb = nbformat.from_dict(job["notebook"])
    timeout = int(job["cell_timeout"])

    class Client(NotebookClient):
        timed_out = False

        async def _async_handle_timeout(self, timeout, cell=None):
            self.timed_out = True
            return await super()._async_handle_timeout(timeout, cell)

    client = Client(
        nb,
        kernel_name=job.get("kernel_name", "aie"),
        timeout=timeout,
        allow_errors=True,
        interrupt_on_timeout=True,
        startup_timeout=int(job.get("startup_timeout", 120)),
        error_on_timeout={"ename": "CellTimeoutError", "evalue": f"cell ran longer than {timeout} s", "traceback": []},
        resources={"metadata": {"path": job["cwd"]}},
    )
    tests = {int(k): v for k, v in job.get("tests", {}).items()}
    intact = {int(k): v for k, v in job.get("intact", {}).items()}
    skip = {int(i) for i in job.get("skip", [])}

    async def responsive(seconds: float) -> bool:
        msg_id = client.kc.kernel_info()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                msg = await client.kc.shell_channel.get_msg(timeout=0.5)
            except Empty:
                if not await client.kc.is_alive():
                    return False
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return True
        return False

    async def call_guard(data: dict, seconds: float) -> dict:
        comm_id = uuid.uuid4().hex
        data = dict(data, request=comm_id)
        msg = client.kc.session.msg("comm_open", {"comm_id": comm_id, "target_name": "aie.grader", "data": data})
        client.kc.shell_channel.send(msg)
        deadline, interrupted = time.monotonic() + seconds, False
        while True:
            try:
                reply = await client.kc.iopub_channel.get_msg(timeout=1.0)
            except Empty:
                if not await client.kc.is_alive():
                    raise KernelGone("the kernel died") from None
                if time.monotonic() > deadline:
                    if interrupted:
                        raise KernelGone(f"the kernel did not answer {GRACE_SECONDS} s after an interrupt") from None
                    await client.km.interrupt_kernel()
                    deadline, interrupted = time.monotonic() + GRACE_SECONDS, True
                continue
            content = reply.get("content", {})
            if reply["msg_type"] == "comm_msg" and content.get("comm_id") == comm_id:
                return content.get("data", {})

    async with client.async_setup_kernel(
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, cwd=job["cwd"]
    ):
        bootstrap = (
            GUARD.read_text()
            + f"\n_aie_install_guard({json.dumps(json.dumps(job['guard']))})\ndel _aie_install_guard\n"
        )
        msg_id = client.kc.execute(bootstrap, silent=True, store_history=False)
        reply = await client.async_wait_for_reply(msg_id)
        if not reply or reply["content"].get("status") != "ok":
            detail = (reply or {}).get("content", {})
            raise RuntimeError(
                f"the grader could not prepare the kernel: {detail.get('ename')}: {detail.get('evalue')}"
            )
        count = 0
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            count += 1
            started = time.monotonic()
            if index in skip:
                _emit(
                    {
                        "event": "cell",
                        "index": index,
                        "execution_count": None,
                        "outputs": [SKIPPED_OUTPUT],
                        "aie": {"status": "skipped", "seconds": 0.0},
                    }
                )
                continue
            try:
                if index in tests:
                    reply = await call_guard({"op": "test", "code": cell.source, "grade_id": tests[index]}, timeout)
                    reply["seconds"] = round(time.monotonic() - started, 3)
                    outputs, info = test_outputs(reply, timeout)
                    _emit({"event": "cell", "index": index, "execution_count": count, "outputs": outputs, "aie": info})
                    if info["status"] == "timeout" and not await responsive(GRACE_SECONDS):
                        raise KernelGone(f"the kernel did not stop after the {timeout} s limit")
                    continue
                if index in intact:
                    await call_guard({"op": "prepare"}, GRACE_SECONDS)
                client.timed_out = False
                await client.async_execute_cell(cell, index, execution_count=count)
                info = {"status": "ran", "seconds": round(time.monotonic() - started, 3)}
                if client.timed_out:
                    info["status"] = "timeout"
                    if not any(o.get("output_type") == "error" for o in cell.outputs):
                        cell.outputs.append(
                            nbformat.v4.new_output(
                                "error",
                                ename="CellTimeoutError",
                                evalue=f"cell ran longer than {timeout} s",
                                traceback=[],
                            )
                        )
                _emit(
                    {
                        "event": "cell",
                        "index": index,
                        "execution_count": count,
                        "outputs": _clip(json.loads(json.dumps(cell.outputs))),
                        "aie": info,
                    }
                )
                if client.timed_out and not await responsive(GRACE_SECONDS):
                    raise KernelGone(f"the kernel did not stop after the {timeout} s limit")
                if index in intact and intact[index]:
                    await call_guard({"op": "record", "names": intact[index]}, GRACE_SECONDS)
            except (DeadKernelError, KernelGone) as exc:
                reason = str(exc) if isinstance(exc, KernelGone) else "the kernel died (the notebook ended its process)"
                _emit({"event": "died", "index": index, "reason": reason})
                return


def main() -> int:
    job = json.loads(sys.stdin.read())
    _harden(job.get("rlimits") or {})
    _prepare_dirs(job)
    started = time.monotonic()
    try:
        asyncio.run(_run(job))
    except Exception as exc:  # noqa: BLE001  (reported to the coordinator, which names the submission)
        _emit({"event": "error", "reason": f"{type(exc).__name__}: {first_line(str(exc))}"})
        return 1
    _emit({"event": "done", "seconds": round(time.monotonic() - started, 3)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
