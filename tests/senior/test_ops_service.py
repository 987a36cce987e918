"""The on-call drill target: a real uvicorn server, faults injected, metrics that move."""

import httpx
import pytest

from curriculum.senior import ops_service
from curriculum.senior.serve import serve


@pytest.fixture(scope="module")
def base_url():
    import torch

    torch.set_num_threads(1)
    with serve(ops_service.create_app()) as url:
        yield url


def _inc(before, after, key):
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_healthy_answers_are_cited_and_counted(base_url):
    questions = ops_service.load_questions()[:4]
    before, after = ops_service.run_drill(base_url, None, questions)
    assert _inc(before, after, 'assistant_requests_total{outcome="ok"}') == 4
    assert _inc(before, after, "assistant_provider_calls_total") == 4
    assert _inc(before, after, "assistant_cost_usd_total") > 0
    assert _inc(before, after, 'assistant_answers_total{supported="true"}') >= 3
    reply = httpx.post(base_url + "/v1/ask", json={"question": questions[0]}, timeout=30).json()
    assert reply["supported"] and "help-center/reset-password" in reply["sources"]


def test_rate_limit_and_outage_fail_the_request_and_are_counted(base_url):
    q = ops_service.load_questions()[:3]
    before, after = ops_service.run_drill(base_url, "rate_limit", q, rate=1.0)
    assert _inc(before, after, 'assistant_requests_total{outcome="throttled"}') == 3
    assert _inc(before, after, 'assistant_provider_errors_total{kind="rate_limit"}') == 3 * ops_service.MAX_ATTEMPTS
    before, after = ops_service.run_drill(base_url, "outage", q, rate=1.0)
    assert _inc(before, after, 'assistant_requests_total{outcome="provider_error"}') == 3
    assert _inc(before, after, 'assistant_provider_errors_total{kind="unavailable"}') == 3 * ops_service.MAX_ATTEMPTS
    assert httpx.get(base_url + "/healthz").json()["fault"] is None, "run_drill switches the fault off"


def test_cost_spike_inflates_prompts_and_quality_drop_loses_support(base_url):
    q = ops_service.load_questions()[:6]
    healthy = ops_service.run_drill(base_url, None, q)
    spiked = ops_service.run_drill(base_url, "cost_spike", q)
    dropped = ops_service.run_drill(base_url, "quality_drop", q)
    tokens = 'assistant_tokens_total{direction="input"}'
    assert _inc(*spiked, tokens) > 3 * _inc(*healthy, tokens)
    unsupported = 'assistant_answers_total{supported="false"}'
    assert _inc(*dropped, unsupported) > _inc(*healthy, unsupported) + 2


def test_bad_requests_are_refused(base_url):
    assert httpx.post(base_url + "/admin/faults", json={"fault": "meteor", "rate": 1.0}).status_code == 422
    assert httpx.post(base_url + "/admin/faults", json={"fault": "outage", "rate": 2.0}).status_code == 422
    assert httpx.post(base_url + "/v1/ask", json={"question": ""}).status_code == 422
    with pytest.raises(ValueError, match="unknown fault"):
        ops_service.run_drill(base_url, "meteor", ["x"])
    with pytest.raises(ValueError, match="at least one question"):
        ops_service.run_drill(base_url, None, [])


def test_fault_injector_validates_and_is_seeded():
    class Echo:
        provider = "test"

        def complete(self, messages, **kwargs):
            return "ok"

    from curriculum.llm import ProviderError

    a, b = ops_service.FaultInjector(Echo(), seed=3), ops_service.FaultInjector(Echo(), seed=3)
    for inj in (a, b):
        inj.set("rate_limit", 0.5)

    def pattern(inj):
        out = []
        for _ in range(20):
            try:
                inj.complete([])
                out.append(0)
            except ProviderError as exc:
                assert exc.status_code == 429 and exc.retryable
                out.append(1)
        return out

    assert pattern(a) == pattern(b) and 0 < sum(pattern(a)) < 20
    with pytest.raises(ValueError):
        a.set("meteor")
    with pytest.raises(ValueError):
        a.set("outage", 1.5)


def test_serve_refuses_public_interfaces():
    with pytest.raises(ValueError, match="loopback"):
        with serve(object(), host="0.0.0.0"):
            pass
