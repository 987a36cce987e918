"""Budget alerts: a log line, a JSON webhook, and (through the metrics) a Prometheus gauge.

:meth:`Alerter.fire` is called once per crossing by the ledger, after the database has recorded
it. The log line is written at once; the webhook is posted from a background thread so a slow
receiver never delays requests (``wait`` lets tests and shutdown drain it).

Webhook body::

    {"event": "budget.ceiling_crossed", "feature": "ask", "day": "2026-11-27",
     "spent_usd": 0.0123, "reserved_usd": 0.0, "ceiling_usd": 0.0125, "refused_usd": 0.0004}
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import asdict, dataclass

import httpx

__all__ = ["Alert", "Alerter", "LOGGER_NAME"]

LOGGER_NAME = "capstone.cost"
log = logging.getLogger(LOGGER_NAME)


@dataclass(frozen=True)
class Alert:
    feature: str
    day: str
    spent_usd: float
    reserved_usd: float
    ceiling_usd: float
    refused_usd: float

    def payload(self) -> dict:
        return {"event": "budget.ceiling_crossed", **asdict(self)}


class Alerter:
    """Delivers alerts: log line now, webhook soon (up to 3 tries on connection errors and 5xx)."""

    def __init__(self, webhook_url: str | None = None, *, timeout: float = 5.0) -> None:
        self.webhook_url = webhook_url
        self.timeout = timeout
        self.fired: list[Alert] = []
        self.delivered = 0
        self.failed = 0
        self._queue: queue.Queue[Alert | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def fire(self, alert: Alert) -> None:
        """Record, log and (if configured) post one alert."""
        self.fired.append(alert)
        log.warning(
            "ALERT budget ceiling crossed: feature=%s day=%s spent_usd=%.6f reserved_usd=%.6f ceiling_usd=%.6f refused_usd=%.6f; "
            "paid work for this feature is refused until 00:00 UTC",
            alert.feature,
            alert.day,
            alert.spent_usd,
            alert.reserved_usd,
            alert.ceiling_usd,
            alert.refused_usd,
        )
        if self.webhook_url:
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._worker, name="budget-alerts", daemon=True)
                    self._thread.start()
            self._queue.put(alert)

    def _worker(self) -> None:
        with httpx.Client(timeout=self.timeout) as client:
            while True:
                alert = self._queue.get()
                try:
                    if alert is None:
                        return
                    self._post(client, alert)
                finally:
                    self._queue.task_done()

    def _post(self, client: httpx.Client, alert: Alert) -> None:
        for attempt in range(3):
            try:
                response = client.post(self.webhook_url, json=alert.payload())
                if response.status_code < 500:
                    if response.is_success:
                        self.delivered += 1
                    else:
                        self.failed += 1
                        log.error("budget alert webhook answered %s", response.status_code)
                    return
            except httpx.TransportError as exc:
                log.error("budget alert webhook failed (try %d): %s", attempt + 1, exc)
        self.failed += 1

    def wait(self, timeout: float = 10.0) -> bool:
        """Block until queued webhooks are delivered (True) or ``timeout`` seconds pass (False)."""
        done = threading.Event()

        def join() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=join, daemon=True).start()
        return done.wait(timeout)

    def close(self) -> None:
        """Deliver what is queued, then stop the worker."""
        if self._thread is not None and self._thread.is_alive():
            self.wait()
            self._queue.put(None)
            self._thread.join(timeout=self.timeout)
