"""Bad input never becomes a 500: schemathesis fuzzes every operation of the OpenAPI schema.

The service under fuzzing is its own (a fresh database with a few documents), so the random
uploads never reach the other tests' corpus; requests carry a valid API key so uploads get past
authentication into the parsers. Each operation gets ``EXAMPLES`` generated requests
(derandomized, so a failure reproduces).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

EXAMPLES = 15


@pytest.fixture(scope="module")
def fuzz_target(fresh_settings):
    from capstone.app import create_app
    from capstone.guard.auth import create_user
    from capstone.rag.connectors import python_reference
    from capstone.service import Assistant

    service = Assistant.open(fresh_settings(max_upload_bytes=20_000))
    service.ingest([d for d in python_reference() if d.source.endswith(("/pass", "/break", "/assert"))])
    _, key = create_user(service.db, "fuzzer")
    yield create_app(assistant=service), key
    service.close()


def test_no_server_errors(fuzz_target):
    app, key = fuzz_target
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {f"{op.method.upper()} {op.path}" for op in operations} >= {
        "POST /v1/ask",
        "POST /v1/documents",
        "GET /v1/chunks",
    }
    errors: list[str] = []
    calls: dict[str, int] = {}
    for operation in operations:
        _fuzz(operation, key, calls, errors)
    print(f"\nschemathesis: {sum(calls.values())} requests, {calls}")
    assert not errors, "\n".join(errors)
    assert all(n >= 1 for n in calls.values())


def _fuzz(operation, key: str, calls: dict[str, int], errors: list[str]) -> None:
    """Send ``EXAMPLES`` generated requests to one operation; record the calls and every 5xx."""
    label = f"{operation.method.upper()} {operation.path}"

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case):
        response = case.call(headers={"Authorization": f"Bearer {key}"})
        calls[label] = calls.get(label, 0) + 1
        if response.status_code >= 500:
            errors.append(f"{label} -> {response.status_code}: {response.text[:200]} (body: {str(case.body)[:200]})")

    fuzz()
