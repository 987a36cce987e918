"""``get_model``: turn a spec string into a ready model.

Specs
=====
``offline``                 the offline reference model (the default)
``openai:<model>``          e.g. ``openai:gpt-4o-mini`` (needs ``OPENAI_API_KEY``); with ``base_url=`` or
                            ``OPENAI_BASE_URL``, any OpenAI-compatible server (llama.cpp, vLLM, Ollama, ...)
``anthropic:<model>``       e.g. ``anthropic:claude-haiku-4-5`` (needs ``ANTHROPIC_API_KEY``)
``hf:<local path>``         a causal LM saved with ``save_pretrained`` in that directory
``local:smollm2``           SmolLM2-135M-Instruct served by llama.cpp on 127.0.0.1: attaches to the shared
                            server (``aie model serve`` or an earlier caller) or starts it in the background
``A -> B -> C``             a fallback chain: B answers when A fails, and so on

Without a spec, ``AIE_MODEL`` names the model (``offline`` when unset) and
``AIE_MODEL_FALLBACK``, when set, names the links tried after it, e.g.
``AIE_MODEL=anthropic:claude-haiku-4-5 AIE_MODEL_FALLBACK="openai:gpt-4o-mini -> offline"``.

Hosted models are wrapped in :class:`~curriculum.llm.resilience.ResilientModel` (retries and
a circuit breaker). In a chain, a link that cannot be built (say, its key is missing) is
skipped with a logged warning and listed in ``model.skipped``.

Example::

    >>> get_model().spec
    'offline'
    >>> get_model("openai:gpt-4o-mini -> offline").spec   # without OPENAI_API_KEY the first link is skipped
    'offline'
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from .base import ChatModel
from .errors import ConfigurationError, ModelError
from .pricing import PriceTable
from .resilience import CircuitBreaker, FallbackModel, ResilientModel, RetryPolicy

__all__ = ["get_model", "split_chain", "resolve_spec", "SPEC_FORMS"]

log = logging.getLogger(__name__)
SPEC_FORMS = "offline, openai:<model>, anthropic:<model>, hf:<local path>, local:smollm2, or a chain 'A -> B'"
LOCAL_MODELS = ("smollm2",)


def split_chain(spec: str) -> list[str]:
    """``"a -> b -> a"`` -> ``["a", "b"]`` (blank links and repeats dropped)."""
    links: list[str] = []
    for link in spec.split("->"):
        link = link.strip()
        if link and link not in links:
            links.append(link)
    return links


def resolve_spec(spec: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The spec to build: ``spec`` itself, else ``AIE_MODEL`` followed by ``AIE_MODEL_FALLBACK``."""
    if spec is not None and spec.strip():
        return spec.strip()
    env = os.environ if environ is None else environ
    primary = (env.get("AIE_MODEL") or "").strip() or "offline"
    fallback = (env.get("AIE_MODEL_FALLBACK") or "").strip()
    return f"{primary} -> {fallback}" if fallback else primary


def _build_link(
    spec: str,
    *,
    client: Any,
    retry: RetryPolicy | None,
    breaker: CircuitBreaker | None,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    failure_threshold: int,
    cooldown_s: float,
    timeout: float,
    prices: PriceTable | None,
    device: str,
    openai_options: dict[str, Any],
) -> ChatModel:
    provider, _, rest = spec.partition(":")
    provider = provider.strip().lower()
    rest = rest.strip()
    if provider == "offline" and not rest:
        from .offline import OfflineReferenceModel

        return OfflineReferenceModel(prices=prices)
    if provider in ("openai", "anthropic") and rest:
        if provider == "openai":
            from .openai_provider import OpenAIModel as Hosted
        else:
            from .anthropic_provider import AnthropicModel as Hosted
        extra = {k: v for k, v in openai_options.items() if v is not None} if provider == "openai" else {}
        inner = Hosted(rest, client=client, timeout=timeout, prices=prices, **extra)
        breaker = breaker or CircuitBreaker(failure_threshold, cooldown_s, clock=clock, name=inner.spec)
        return ResilientModel(inner, retry=retry, breaker=breaker, sleep=sleep)
    if provider == "hf" and rest:
        from .hf_provider import HFModel

        return HFModel(rest, device=device, prices=prices)
    if provider == "local" and rest.lower() in LOCAL_MODELS:
        from .local.spec import local_model

        inner = local_model(rest.lower(), client=client, timeout=timeout, prices=prices, **openai_options)
        breaker = breaker or CircuitBreaker(failure_threshold, cooldown_s, clock=clock, name=inner.spec)
        return ResilientModel(inner, retry=retry, breaker=breaker, sleep=sleep)
    if provider == "local":
        raise ConfigurationError(
            f"unknown local model {rest!r} in {spec!r}; the bundled ones: {', '.join(LOCAL_MODELS)}"
        )
    raise ConfigurationError(f"unknown model spec {spec!r}; use {SPEC_FORMS}")


def get_model(
    spec: str | None = None,
    *,
    client: Any = None,
    clients: Mapping[str, Any] | None = None,
    retry: RetryPolicy | None = None,
    breaker: CircuitBreaker | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    failure_threshold: int = 5,
    cooldown_s: float = 30.0,
    timeout: float = 60.0,
    prices: PriceTable | None = None,
    device: str = "cpu",
    base_url: str | None = None,
    tool_choice: str | None = None,
    json_schema: dict[str, Any] | None = None,
    strict: bool | None = None,
) -> ChatModel:
    """Build the model named by ``spec`` (see the module docstring for the forms).

    ``client`` is an SDK client for a single hosted model (``openai.OpenAI`` or
    ``anthropic.Anthropic``); ``clients`` maps provider names to clients for a chain.
    ``retry``, ``sleep``, ``clock``, ``failure_threshold`` and ``cooldown_s`` set the
    resilience of hosted models (``breaker`` replaces the breaker of a single hosted model).
    ``base_url``, ``tool_choice``, ``json_schema`` and ``strict`` configure ``openai:`` and ``local:`` models
    (see :class:`~curriculum.llm.openai_provider.OpenAIModel`): the server, how tools are chosen, the schema
    of JSON answers, and whether tool calls are validated against their schemas (``local:`` models always
    validate). Raises :class:`~curriculum.llm.errors.ConfigurationError` for an unknown spec, a missing
    key, an unpriced model, or a local model server that cannot start.
    """
    links = split_chain(resolve_spec(spec))
    if not links:
        raise ConfigurationError(f"empty model spec; use {SPEC_FORMS}")
    if client is not None and len(links) > 1:
        raise ConfigurationError("client= serves a single model; pass clients={'openai': ..., ...} for a chain")
    options = dict(
        retry=retry,
        sleep=sleep,
        clock=clock,
        failure_threshold=failure_threshold,
        cooldown_s=cooldown_s,
        timeout=timeout,
        prices=prices,
        device=device,
        openai_options=dict(base_url=base_url, tool_choice=tool_choice, json_schema=json_schema, strict=strict),
    )
    if len(links) == 1:
        link = links[0]
        provider = link.partition(":")[0].strip().lower()
        return _build_link(link, client=client or (clients or {}).get(provider), breaker=breaker, **options)
    built: list[tuple[str, ChatModel]] = []
    skipped: list[tuple[str, ModelError]] = []
    for link in links:
        provider = link.partition(":")[0].strip().lower()
        try:
            built.append((link, _build_link(link, client=(clients or {}).get(provider), breaker=None, **options)))
        except ConfigurationError as err:
            log.warning("fallback chain: skipping %s (%s)", link, err)
            skipped.append((link, err))
    if not built:
        reasons = "; ".join(f"{link}: {err}" for link, err in skipped)
        raise ConfigurationError(f"no model of the chain could be built ({reasons})")
    return FallbackModel(built, skipped=skipped)
