"""Retries, backoff, retry-after, the circuit breaker and fallback chains, against real SDK clients.

The transports answer like the providers do when they fail: 429 with ``retry-after``, 5xx
and Anthropic's 529 ``overloaded_error``, and timeouts raised by the HTTP layer.
"""

from __future__ import annotations

import httpx
import httpx2
import pytest
from llm_wire import FakeClock, anthropic_error, anthropic_message, openai_chat_completion, openai_error, sse

from curriculum.llm import (
    AllModelsFailedError,
    CircuitBreaker,
    CircuitOpenError,
    ProviderError,
    RetryPolicy,
    get_model,
)
from curriculum.llm.resilience import is_retryable_status, parse_retry_after

CHAT = [{"role": "user", "content": "What does pass do?"}]


def openai_ok():
    return httpx.Response(200, json=openai_chat_completion("pass does nothing."))


def anthropic_ok():
    return httpx2.Response(200, json=anthropic_message())


def test_429_waits_exactly_the_retry_after_seconds_then_succeeds(openai_sdk):
    client, recorder = openai_sdk(
        httpx.Response(
            429,
            headers={"retry-after": "7"},
            json=openai_error("Rate limit reached", "requests", "rate_limit_exceeded"),
        ),
        openai_ok(),
    )
    waits: list[float] = []
    model = get_model("openai:gpt-4o-mini", client=client, sleep=waits.append)
    assert model.complete(CHAT).text == "pass does nothing."
    assert waits == [7.0] and len(recorder.requests) == 2


def test_retry_after_ms_is_preferred_to_retry_after(anthropic_sdk):
    client, recorder = anthropic_sdk(
        httpx2.Response(
            429,
            headers={"retry-after-ms": "1500", "retry-after": "2"},
            json=anthropic_error("rate_limit_error", "slow down"),
        ),
        anthropic_ok(),
    )
    waits: list[float] = []
    get_model("anthropic:claude-haiku-4-5", client=client, sleep=waits.append).complete(CHAT)
    assert waits == [1.5]


def test_server_errors_back_off_exponentially_and_give_up_after_max_retries(anthropic_sdk):
    overloaded = lambda request: httpx2.Response(529, json=anthropic_error("overloaded_error", "Overloaded"))  # noqa: E731
    client, recorder = anthropic_sdk(overloaded, overloaded, overloaded, overloaded)
    waits: list[float] = []
    model = get_model(
        "anthropic:claude-haiku-4-5",
        client=client,
        sleep=waits.append,
        retry=RetryPolicy(max_retries=3, base_delay=0.5),
    )
    with pytest.raises(ProviderError) as info:
        model.complete(CHAT)
    assert waits == [0.5, 1.0, 2.0] and len(recorder.requests) == 4
    assert info.value.status_code == 529 and info.value.retryable


def test_timeouts_are_retried_and_then_reported_as_timeouts(openai_sdk):
    client, recorder = openai_sdk(httpx.ReadTimeout("read timed out"), httpx.ReadTimeout("read timed out"))
    waits: list[float] = []
    model = get_model("openai:gpt-4o-mini", client=client, sleep=waits.append, retry=RetryPolicy(max_retries=1))
    with pytest.raises(ProviderError) as info:
        model.complete(CHAT)
    assert info.value.kind == "timeout" and waits == [0.5] and len(recorder.requests) == 2


def test_timeout_then_success_returns_the_answer(anthropic_sdk):
    client, _ = anthropic_sdk(httpx2.ReadTimeout("read timed out"), anthropic_ok())
    waits: list[float] = []
    done = get_model("anthropic:claude-haiku-4-5", client=client, sleep=waits.append).complete(CHAT)
    assert done.text == "Hello from Claude." and waits == [0.5]


def test_bad_request_is_not_retried(openai_sdk):
    client, recorder = openai_sdk(httpx.Response(400, json=openai_error("Invalid 'messages'", "invalid_request_error")))
    waits: list[float] = []
    with pytest.raises(ProviderError) as info:
        get_model("openai:gpt-4o-mini", client=client, sleep=waits.append).complete(CHAT)
    assert info.value.status_code == 400 and not info.value.retryable
    assert waits == [] and len(recorder.requests) == 1


def test_a_retry_after_longer_than_the_policy_allows_is_not_waited_for(openai_sdk):
    client, recorder = openai_sdk(
        httpx.Response(429, headers={"retry-after": "3600"}, json=openai_error("quota", "requests"))
    )
    waits: list[float] = []
    with pytest.raises(ProviderError):
        get_model("openai:gpt-4o-mini", client=client, sleep=waits.append).complete(CHAT)
    assert waits == [] and len(recorder.requests) == 1


def test_x_should_retry_header_overrides_the_status_rule():
    assert is_retryable_status(503) and not is_retryable_status(503, {"x-should-retry": "false"})
    assert not is_retryable_status(400) and is_retryable_status(400, {"X-Should-Retry": "true"})


def test_retry_after_accepts_seconds_milliseconds_and_http_dates():
    assert parse_retry_after({"retry-after": "7"}) == 7.0
    assert parse_retry_after({"retry-after-ms": "250"}) == 0.25
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2026 07:28:00 GMT"}, now=1792567660.0) == 20.0
    assert parse_retry_after({"retry-after": "soon"}) is None and parse_retry_after({}) is None


def test_breaker_opens_after_consecutive_failures_and_stops_calling(openai_sdk):
    failing = lambda request: httpx.Response(503, json=openai_error("unavailable"))  # noqa: E731
    client, recorder = openai_sdk(*[failing] * 3)
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=3, cooldown_s=30, clock=clock)
    model = get_model(
        "openai:gpt-4o-mini", client=client, breaker=breaker, sleep=lambda s: None, retry=RetryPolicy(max_retries=5)
    )
    with pytest.raises(CircuitOpenError) as info:
        model.complete(CHAT)
    assert len(recorder.requests) == 3 and breaker.state == "open"
    assert info.value.retry_in == pytest.approx(30)
    with pytest.raises(CircuitOpenError):
        model.complete(CHAT)
    assert len(recorder.requests) == 3  # refused without a request


def test_breaker_lets_one_trial_through_after_the_cooldown_and_closes_on_success(openai_sdk):
    failing = lambda request: httpx.Response(500, json=openai_error("boom"))  # noqa: E731
    client, recorder = openai_sdk(failing, failing, openai_ok(), openai_ok())
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=2, cooldown_s=10, clock=clock)
    model = get_model("openai:gpt-4o-mini", client=client, breaker=breaker, sleep=lambda s: None)
    with pytest.raises(CircuitOpenError):
        model.complete(CHAT)
    clock.advance(9.9)
    with pytest.raises(CircuitOpenError):
        model.complete(CHAT)
    clock.advance(0.2)
    assert breaker.state == "half_open"
    assert model.complete(CHAT).text == "pass does nothing."
    assert breaker.state == "closed" and breaker.failures == 0
    model.complete(CHAT)
    assert len(recorder.requests) == 4


def test_a_failed_trial_opens_the_breaker_again(openai_sdk):
    failing = lambda request: httpx.Response(502, json=openai_error("bad gateway"))  # noqa: E731
    client, recorder = openai_sdk(failing, failing)
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, cooldown_s=5, clock=clock)
    model = get_model("openai:gpt-4o-mini", client=client, breaker=breaker, sleep=lambda s: None)
    with pytest.raises(CircuitOpenError):
        model.complete(CHAT)
    clock.advance(5)
    with pytest.raises(CircuitOpenError):
        model.complete(CHAT)
    assert len(recorder.requests) == 2 and breaker.state == "open"


def test_fallback_chain_answers_with_the_next_model_when_the_first_fails(anthropic_sdk, openai_sdk):
    overloaded = lambda request: httpx2.Response(529, json=anthropic_error("overloaded_error", "Overloaded"))  # noqa: E731
    anthropic_client, anthropic_calls = anthropic_sdk(overloaded, overloaded)
    openai_client, openai_calls = openai_sdk(openai_ok())
    model = get_model(
        "anthropic:claude-haiku-4-5 -> openai:gpt-4o-mini -> offline",
        clients={"anthropic": anthropic_client, "openai": openai_client},
        sleep=lambda s: None,
        retry=RetryPolicy(max_retries=1),
    )
    done = model.complete(CHAT)
    assert done.provider == "openai" and done.text == "pass does nothing."
    assert len(anthropic_calls.requests) == 2 and len(openai_calls.requests) == 1
    assert done.cost_usd > 0  # priced as the model that answered


def test_fallback_chain_reaches_the_offline_model(openai_sdk):
    client, _ = openai_sdk(
        httpx.Response(401, json=openai_error("Incorrect API key", "invalid_request_error", "invalid_api_key"))
    )
    model = get_model("openai:gpt-4o-mini -> offline", clients={"openai": client}, sleep=lambda s: None)
    done = model.complete(CHAT)
    assert done.provider == "offline" and "offline reference model" in done.text


def test_when_every_link_fails_all_errors_are_reported(openai_sdk, anthropic_sdk):
    openai_client, _ = openai_sdk(httpx.Response(400, json=openai_error("bad request", "invalid_request_error")))
    anthropic_client, _ = anthropic_sdk(
        httpx2.Response(400, json=anthropic_error("invalid_request_error", "bad request"))
    )
    model = get_model(
        "openai:gpt-4o-mini -> anthropic:claude-haiku-4-5",
        clients={"openai": openai_client, "anthropic": anthropic_client},
        sleep=lambda s: None,
    )
    with pytest.raises(AllModelsFailedError) as info:
        model.complete(CHAT)
    assert [spec for spec, _ in info.value.errors] == ["openai:gpt-4o-mini", "anthropic:claude-haiku-4-5"]


def test_fallback_estimate_reserves_the_dearest_link(openai_sdk, anthropic_sdk):
    openai_client, _ = openai_sdk()
    anthropic_client, _ = anthropic_sdk()
    chain = get_model(
        "openai:gpt-4o-mini -> anthropic:claude-haiku-4-5",
        clients={"openai": openai_client, "anthropic": anthropic_client},
    )
    haiku = get_model("anthropic:claude-haiku-4-5", client=anthropic_client)
    assert chain.estimate_cost(CHAT, 1000) == pytest.approx(haiku.estimate_cost(CHAT, 1000))


def test_a_stream_that_fails_after_text_was_delivered_is_not_retried(anthropic_sdk):
    message = anthropic_message(content=[], input_tokens=20, output_tokens=1)
    message["stop_reason"] = None
    events = [
        ("message_start", {"type": "message_start", "message": message}),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "pass "}},
        ),
        ("error", anthropic_error("overloaded_error", "Overloaded")),
    ]
    streamed = httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=sse(events))
    client, recorder = anthropic_sdk(streamed, anthropic_ok())
    waits: list[float] = []
    model = get_model("anthropic:claude-haiku-4-5", client=client, sleep=waits.append)
    pieces: list[str] = []
    with pytest.raises(ProviderError) as info:
        model.complete(CHAT, stream=True, on_token=pieces.append)
    assert pieces == ["pass "] and info.value.kind == "stream" and info.value.retryable
    assert waits == [] and len(recorder.requests) == 1


def test_retry_policy_delays_double_up_to_the_cap():
    policy = RetryPolicy(max_retries=10, base_delay=1, multiplier=2, max_delay=5)
    error = ProviderError("busy", provider="x", retryable=True)
    assert [policy.delay(n, error) for n in range(5)] == [1, 2, 4, 5, 5]
    assert policy.delay(0, ProviderError("bad", provider="x", retryable=False)) is None
