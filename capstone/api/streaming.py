"""``POST /v1/ask`` with ``"stream": true``: one answer as server-sent events.

The ask runs exactly as a plain one (:meth:`capstone.service.Assistant.ask`: quotas, cost ceiling, guards,
the citation check), in a worker thread whose ``on_token`` callback feeds a queue. Events, in order:

* ``token`` ``{"text": str}`` -- draft text as the model writes it (through
  :class:`~capstone.guard.drafts.DraftScreen`); a model that does not stream (the extractive reference)
  sends its checked answer as one token event;
* ``citations`` -- the checked answer: the whole ``/v1/ask`` response body (answer, citations, usage with
  the cost, ``dropped_sentences``, ``extractive_fallback``, ``answered_by``, ``request_id``);
* ``done`` ``{"request_id": str}``.

A failure before the first event is the usual HTTP error (429 quota or ceiling, 402 request limit, 503
model provider); a failure after it is an ``error`` event ``{"status": int, "detail": str}`` and the stream
ends (a configured fallback model answers instead, and says so in the draft and in ``answered_by``).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from sse_starlette import ServerSentEvent

from capstone.cost.ledger import BudgetExceeded, QuotaExceeded, RequestLimitExceeded
from capstone.guard.drafts import DraftScreen
from curriculum.llm import ModelError

__all__ = ["AnswerStream", "error_status"]

log = logging.getLogger("capstone")


def error_status(exc: BaseException) -> tuple[int, str]:
    """The HTTP status and message a failed ask maps to (the same as the app's error handlers)."""
    if isinstance(exc, (QuotaExceeded, BudgetExceeded)):
        return 429, str(exc)
    if isinstance(exc, RequestLimitExceeded):
        return 402, str(exc)
    if isinstance(exc, ModelError):
        return 503, f"the model provider failed: {type(exc).__name__}: {exc}"
    return 500, f"internal error: {type(exc).__name__}"


class AnswerStream:
    """One ask in a worker thread, read as a sequence of server-sent events."""

    def __init__(self, ask: Callable[[Callable[[str], None]], dict], canary: str | None) -> None:
        self._ask = ask
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._screen = DraftScreen(canary)
        self._first: tuple[str, Any] | None = None
        self._thread = threading.Thread(target=self._work, name="aie-ask-stream", daemon=True)

    def _token(self, delta: str) -> None:
        shown = self._screen.feed(delta)
        if shown:
            self._queue.put(("token", shown))

    def _work(self) -> None:
        try:
            response = self._ask(self._token)
        except BaseException as exc:  # noqa: BLE001 - every failure becomes an event (or the HTTP error)
            self._queue.put(("error", exc))
            return
        tail = self._screen.flush()
        if tail:
            self._queue.put(("token", tail))
        if not self._screen.text:  # nothing was streamed: the checked answer is the one token event
            self._queue.put(("token", response["answer"]))
        self._queue.put(("result", response))

    def start(self) -> AnswerStream:
        """Start the ask and wait for its first event; a failure before it is raised (-> the usual HTTP error)."""
        self._thread.start()
        self._first = self._queue.get()
        if self._first[0] == "error":
            raise self._first[1]
        return self

    def events(self, on_result: Callable[[dict], None] | None = None) -> Iterator[ServerSentEvent]:
        """``token`` events, then ``citations`` and ``done`` (or one ``error`` event)."""
        if self._first is None:
            raise RuntimeError("call start() before reading the events")
        item = self._first
        while True:
            kind, value = item
            if kind == "token":
                yield ServerSentEvent(json.dumps({"text": value}), event="token")
            elif kind == "error":
                status, detail = error_status(value)
                log.error("streamed answer failed: %s", detail)
                yield ServerSentEvent(json.dumps({"status": status, "detail": detail}), event="error")
                return
            else:
                if on_result is not None:
                    on_result(value)
                yield ServerSentEvent(json.dumps(value), event="citations")
                yield ServerSentEvent(json.dumps({"request_id": value["request_id"]}), event="done")
                return
            item = self._queue.get()
