"""Retries with exponential backoff, a circuit breaker per provider, and fallback chains.

The hosted providers' SDK clients are built with ``max_retries=0``: retrying happens here,
once, with waits a test can observe (inject ``sleep``) and a breaker a test can drive
(inject ``clock``).

* :class:`RetryPolicy` -- which failures to retry and how long to wait: the provider's
  ``retry-after`` when it sent one, otherwise ``base_delay * multiplier**attempt`` capped
  at ``max_delay``. A ``retry-after`` longer than ``max_retry_after`` is not waited for:
  the error is raised so that a fallback model can answer instead.
* :class:`CircuitBreaker` -- after ``failure_threshold`` consecutive transient failures the
  provider is not called for ``cooldown_s``; then one trial call decides (half-open).
* :class:`ResilientModel` -- wraps one model with both.
* :class:`FallbackModel` -- tries a chain of models in order.

A streamed answer is never retried once part of it reached the caller (no text is shown twice). In a
fallback chain the next link takes over: the caller first receives a notice naming the link that
stopped and why, then the next link's answer; the Completion's text holds all of it, in that order.

Example::

    >>> policy = RetryPolicy(max_retries=3, base_delay=0.5)
    >>> [policy.delay(n, ProviderError("busy", provider="x", retryable=True)) for n in range(4)]
    [0.5, 1.0, 2.0, None]
"""

from __future__ import annotations

import dataclasses
import email.utils
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .base import ChatModel, Generation, Request
from .errors import AllModelsFailedError, CircuitOpenError, ModelError, ProviderError

__all__ = [
    "RetryPolicy",
    "CircuitBreaker",
    "ResilientModel",
    "FallbackModel",
    "parse_retry_after",
    "is_retryable_status",
    "status_error",
]

log = logging.getLogger(__name__)


def parse_retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms``, or ``retry-after`` (seconds or an HTTP date).

    >>> parse_retry_after({"retry-after": "7"})
    7.0
    >>> parse_retry_after({"retry-after": "Wed, 21 Oct 2026 07:28:00 GMT"}, now=1792567660.0)
    20.0
    """
    if not headers:
        return None
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    if "retry-after-ms" in lowered:
        try:
            return max(float(lowered["retry-after-ms"]) / 1000, 0.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    now = time.time() if now is None else now
    return max(float(email.utils.mktime_tz(parsed)) - now, 0.0)


def is_retryable_status(status: int, headers: Mapping[str, str] | None = None) -> bool:
    """408, 409, 429 and 5xx are transient; an ``x-should-retry`` header overrides."""
    should = {str(k).lower(): str(v) for k, v in (headers or {}).items()}.get("x-should-retry")
    if should in ("true", "false"):
        return should == "true"
    return status in (408, 409, 429) or status >= 500


def status_error(provider: str, status: int, headers: Mapping[str, str] | None, message: str) -> ProviderError:
    """A :class:`ProviderError` for an HTTP error answer, with retryability and retry-after."""
    return ProviderError(
        f"{provider} answered HTTP {status}: {message}",
        provider=provider,
        status_code=status,
        retryable=is_retryable_status(status, headers),
        retry_after=parse_retry_after(headers),
        kind="status",
    )


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait before trying a transient failure again."""

    max_retries: int = 3
    base_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 20.0
    max_retry_after: float = 60.0

    def delay(self, attempt: int, error: ModelError) -> float | None:
        """Seconds to wait before retry ``attempt + 1`` (attempt counts from 0), or None to stop."""
        if not isinstance(error, ProviderError) or not error.retryable or attempt >= self.max_retries:
            return None
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= self.max_retry_after else None
        return min(self.max_delay, self.base_delay * self.multiplier**attempt)


class CircuitBreaker:
    """Stops calling a failing provider for a cool-down.

    States: ``closed`` (calls go through), ``open`` (calls are refused with
    :class:`CircuitOpenError` until ``cooldown_s`` has passed on ``clock``) and ``half_open``
    (one trial call: success closes the circuit, failure opens it again).
    """

    def __init__(
        self,
        failure_threshold: int = 5,
        cooldown_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        name: str = "",
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self.clock = clock
        self.name = name
        self.failures = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        if self.clock() - self._opened_at >= self.cooldown_s:
            return "half_open"
        return "open"

    def before_call(self) -> None:
        """Raise :class:`CircuitOpenError` when the provider must not be called now."""
        state = self.state
        if state == "closed":
            return
        if state == "half_open" and not self._trial_running:
            self._trial_running = True
            return
        assert self._opened_at is not None
        retry_in = max(self.cooldown_s - (self.clock() - self._opened_at), 0.0)
        raise CircuitOpenError(
            f"circuit open for {self.name or 'this provider'} after {self.failures} consecutive failures; "
            f"next try in {retry_in:.1f} s",
            provider=self.name,
            retry_in=retry_in,
        )

    def record_success(self) -> None:
        self.failures = 0
        self._opened_at = None
        self._trial_running = False

    def record_failure(self) -> None:
        self.failures += 1
        if self._trial_running or self.failures >= self.failure_threshold:
            self._opened_at = self.clock()
        self._trial_running = False


class ResilientModel(ChatModel):
    """One model with retries (:class:`RetryPolicy`) behind a :class:`CircuitBreaker`.

    Only transient failures (``ProviderError.retryable``) are retried and counted by the
    breaker; a bad request or a rejected key is raised at once.
    """

    def __init__(
        self,
        inner: ChatModel,
        *,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(prices=inner.prices)
        self.inner = inner
        self.provider = inner.provider
        self.model_name = inner.model_name
        self.spec = inner.spec
        self.retry = retry or RetryPolicy()
        self.breaker = breaker or CircuitBreaker(name=inner.spec)
        self.sleep = sleep

    def _events(self, request: Request) -> Iterator[str | Generation]:
        attempt = 0
        while True:
            self.breaker.before_call()
            delivered = False
            try:
                for event in self.inner._events(request):
                    if isinstance(event, str) and event:
                        delivered = True
                    yield event
            except ProviderError as err:
                if not err.retryable:
                    self.breaker.record_success()  # the provider answered: it is up
                    raise
                self.breaker.record_failure()
                wait = None if delivered else self.retry.delay(attempt, err)
                if wait is None:
                    raise
                log.warning("%s failed (%s); retry %d in %.2f s", self.spec, err, attempt + 1, wait)
                self.sleep(wait)
                attempt += 1
                continue
            self.breaker.record_success()
            return

    def estimate_cost(self, messages, max_tokens=512, tools=None) -> float:
        return self.inner.estimate_cost(messages, max_tokens, tools)


class FallbackModel(ChatModel):
    """Tries each model of a chain in order until one answers.

    ``links`` are ``(spec, model)`` pairs. The :class:`~curriculum.llm.types.Completion` says
    which one answered (``provider`` and ``model``); when all fail,
    :class:`AllModelsFailedError` lists every error.
    """

    def __init__(
        self, links: Sequence[tuple[str, ChatModel]], *, skipped: Sequence[tuple[str, ModelError]] = ()
    ) -> None:
        if not links:
            raise ValueError("a fallback chain needs at least one model")
        super().__init__(prices=links[0][1].prices)
        self.links = list(links)
        self.skipped = list(skipped)
        first = self.links[0][1]
        self.provider = first.provider
        self.model_name = first.model_name
        self.spec = " -> ".join(spec for spec, _ in self.links)

    def _events(self, request: Request) -> Iterator[str | Generation]:
        errors: list[tuple[str, ModelError]] = []
        shown: list[str] = []  # text already streamed to the caller by links that then failed
        for index, (spec, model) in enumerate(self.links):
            current: list[str] = []
            try:
                for event in model._events(request):
                    if isinstance(event, Generation) and shown:
                        event = dataclasses.replace(event, text="".join(shown) + event.text)
                    elif isinstance(event, str) and event:
                        current.append(event)
                    yield event
                return
            except ModelError as err:
                last = index == len(self.links) - 1
                if current and last:
                    raise
                log.warning("%s failed (%s); falling back to the next model", spec, err)
                errors.append((spec, err))
                if current:
                    shown.extend(current)
                    notice = (
                        f"\n\n[{spec} stopped mid-answer: {err}. The answer of {self.links[index + 1][0]} follows.]\n\n"
                    )
                    shown.append(notice)
                    yield notice
        raise AllModelsFailedError(errors)

    def estimate_cost(self, messages: Sequence[dict[str, Any]], max_tokens: int = 512, tools=None) -> float:
        """The dearest link's estimate: what a budget must reserve whoever answers."""
        return max(model.estimate_cost(messages, max_tokens, tools) for _, model in self.links)
