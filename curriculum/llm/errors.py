"""The errors the model layer raises. Every one of them is a :class:`ModelError`.

Callers that only want "the model call failed" catch ``ModelError``; the subclasses say why,
so that the resilience layer (and a curious learner) can tell a bad spec from a busy provider.
"""

from __future__ import annotations

__all__ = [
    "ModelError",
    "ConfigurationError",
    "InvalidRequestError",
    "ProviderError",
    "CircuitOpenError",
    "AllModelsFailedError",
    "UnknownPriceError",
    "SchemaMismatchError",
]


class ModelError(Exception):
    """Base class of every error raised by ``curriculum.llm``."""


class ConfigurationError(ModelError):
    """The model cannot be built: unknown spec, missing API key, missing local model files."""


class InvalidRequestError(ModelError):
    """The messages or tools handed to ``complete`` are malformed (checked before any call)."""


class UnknownPriceError(ConfigurationError):
    """No price is known for a model, so its cost could not be computed or reserved."""


class ProviderError(ModelError):
    """A provider call failed.

    ``retryable`` is true for failures that may pass on a later try (timeouts, connection
    errors, 408/409/429 and 5xx answers); ``retry_after`` holds the wait in seconds that the
    provider asked for (``retry-after`` / ``retry-after-ms`` headers), when it asked.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status_code: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        kind: str = "status",
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.status_code = status_code
        self.retryable = retryable
        self.retry_after = retry_after
        self.kind = kind  # "status", "timeout", "connection", "stream", "garbage" or "schema"


class SchemaMismatchError(ProviderError):
    """A tool call or JSON answer does not match its schema (``errors`` lists why); not retried."""

    def __init__(self, message: str, *, provider: str, errors: list[str]) -> None:
        super().__init__(message, provider=provider, retryable=False, kind="schema")
        self.errors = errors


class CircuitOpenError(ModelError):
    """The circuit breaker of a provider is open: the call was not attempted."""

    def __init__(self, message: str, *, provider: str, retry_in: float) -> None:
        super().__init__(message)
        self.provider = provider
        self.retry_in = retry_in


class AllModelsFailedError(ModelError):
    """Every model of a fallback chain failed; ``errors`` holds ``(spec, error)`` in chain order."""

    def __init__(self, errors: list[tuple[str, ModelError]]) -> None:
        lines = "; ".join(f"{spec}: {type(err).__name__}: {err}" for spec, err in errors)
        super().__init__(f"every model in the fallback chain failed ({lines})")
        self.errors = errors
