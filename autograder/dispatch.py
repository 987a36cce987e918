"""Where notebook runs happen: worker threads on this machine (``--jobs N``) or a Dask cluster (``--scheduler``).

Each run is :func:`autograder.sandbox.run_notebook` on one job; it starts its own sandbox process, so a
thread per parallel run is enough on one machine. On a cluster every Dask worker runs the same function
(the project must be installed at the same path there, with bubblewrap). Only results come back: the
coordinator alone writes the gradebook.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from autograder.course import CourseError
from autograder.limits import Limits
from autograder.sandbox import run_notebook

SCHEDULER_TIMEOUT = 10  # seconds to wait for a scheduler to answer


class Runner:
    """Submit jobs, then iterate over ``(key, result or exception)`` as they finish."""

    def __init__(self, submit: Callable[[dict], Any], completed: Callable[[list], Iterator[Any]]) -> None:
        self._submit, self._completed = submit, completed
        self._keys: dict[Any, Any] = {}

    def submit(self, key: Any, job: dict) -> None:
        self._keys[self._submit(job)] = key

    def results(self) -> Iterator[tuple[Any, dict | BaseException]]:
        for future in self._completed(list(self._keys)):
            key = self._keys.pop(future)
            try:
                yield key, future.result()
            except Exception as exc:  # a worker lost, a sandbox that could not start: named by the coordinator
                yield key, exc


@contextlib.contextmanager
def local_runner(jobs: int, limits: Limits, sandbox: bool) -> Iterator[Runner]:
    if jobs < 1:
        raise CourseError(f"--jobs must be at least 1, got {jobs}")
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="aie-grade") as pool:
        yield Runner(lambda job: pool.submit(run_notebook, job, limits, sandbox), concurrent.futures.as_completed)


@contextlib.contextmanager
def dask_runner(address: str, limits: Limits, sandbox: bool) -> Iterator[Runner]:
    from distributed import Client, as_completed

    try:
        client = Client(address, timeout=SCHEDULER_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise CourseError(
            f"the Dask scheduler at {address} did not answer within {SCHEDULER_TIMEOUT} s "
            f"({type(exc).__name__}); nothing was graded"
        ) from None
    try:
        try:
            client.wait_for_workers(1, timeout=SCHEDULER_TIMEOUT)
        except TimeoutError:
            raise CourseError(f"the Dask scheduler at {address} has no workers; nothing was graded") from None
        yield Runner(lambda job: client.submit(run_notebook, job, limits, sandbox, pure=False), as_completed)
    finally:
        client.close()


def runner(jobs: int, scheduler: str | None, limits: Limits, sandbox: bool):
    """The context manager of a :class:`Runner` for these options."""
    return dask_runner(scheduler, limits, sandbox) if scheduler else local_runner(jobs, limits, sandbox)
