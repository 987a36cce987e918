"""``openai:<model>`` -- the Chat Completions API through the official ``openai`` 2.x SDK.

Translation from the provider-neutral format:

* system messages stay ``{"role": "system"}`` messages, in place;
* tools become ``{"type": "function", "function": {name, description, parameters}}``;
  ``tool_choice`` is not sent (the API's default, ``auto``);
* an assistant message's ``tool_calls`` become ``function`` tool calls with JSON-text arguments,
  and a tool message becomes ``{"role": "tool", "tool_call_id", "content"}``;
* ``max_tokens`` is sent as ``max_completion_tokens``; ``temperature`` is sent except to the
  reasoning models (o1/o3/o4/gpt-5 families), which accept only their default;
* ``cache_prefix=True`` sends a ``prompt_cache_key`` derived from the system prompt and tools,
  so calls sharing that prefix are routed to the same cache (OpenAI caches prompt prefixes of
  1024+ tokens by itself); the cached count comes back in
  ``usage.prompt_tokens_details.cached_tokens``;
* ``stream=True`` asks for ``stream_options.include_usage`` so usage arrives in the last chunk.

The key comes from ``OPENAI_API_KEY``; pass ``client=`` (an ``openai.OpenAI``) to use your own.

Any OpenAI-compatible server (llama.cpp's, vLLM, Ollama, LM Studio, ``transformers serve``) is reached
the same way: ``base_url=`` or ``OPENAI_BASE_URL``. A server on this machine (a loopback address) needs
no key, and a model the price table does not know is priced at $0 per token there (provider ``local``:
its cost is the compute time, ``Completion.latency_ms``); on another machine such a model is refused.

Structured output: ``json_schema=`` asks for JSON answers matching a schema (``response_format``);
``tool_choice=`` (``auto``, ``required``, ``none`` or a tool's name) is sent with the tools; ``strict=True``
validates every tool call and JSON answer against its schema and raises
:class:`~curriculum.llm.errors.SchemaMismatchError` on a mismatch. ``dialect="llama.cpp"`` speaks
``llama_cpp.server``'s form: ``max_tokens``, ``response_format`` ``{"type": "json_object", "schema"}``,
and tools as a reply decoded under one union schema (:mod:`curriculum.llm.local.tools`: its own
``tool_choice="auto"`` ignores ``max_tokens``); a streamed reply with tools arrives in one piece. Its
streams carry no usage: ``count_tokens=`` (the served model's tokenizer) counts it instead.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from .base import ChatModel, Generation, Request
from .errors import ConfigurationError, ProviderError
from .local.schema import DIALECTS, check_json_answer, check_tool_calls, response_format, tool_choice_param
from .local.tools import chatml_prompt, protocol_generation, protocol_messages, reply_schema
from .messages import system_text
from .pricing import LOCAL_PROVIDER, PriceTable, is_loopback, served_price
from .resilience import status_error
from .types import ToolCall, Usage

__all__ = ["OpenAIModel", "openai_params", "openai_messages", "openai_tools", "parse_arguments", "is_loopback"]

PROVIDER = "openai"
_TRANSIENT_STREAM_ERRORS = {"server_error", "rate_limit_error", "timeout"}
_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")
_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "function_call": "tool_use"}


def openai_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Provider-neutral messages -> Chat Completions messages."""
    out: list[dict[str, Any]] = []
    for m in messages:
        role = m["role"]
        if role in ("system", "user"):
            out.append({"role": role, "content": m["content"]})
        elif role == "assistant":
            calls = m.get("tool_calls") or []
            message: dict[str, Any] = {
                "role": "assistant",
                "content": (m.get("content") or None) if calls else m["content"],
            }
            if calls:
                message["tool_calls"] = [
                    {
                        "id": c["id"],
                        "type": "function",
                        "function": {"name": c["name"], "arguments": json.dumps(c.get("arguments", {}))},
                    }
                    for c in calls
                ]
            out.append(message)
        else:
            out.append({"role": "tool", "tool_call_id": m["tool_call_id"], "content": m["content"]})
    return out


def uses_tool_protocol(request: Request, tool_choice: str | None, dialect: str) -> bool:
    """True when the llama.cpp dialect sends tools as a union-schema reply (see :mod:`.local.tools`)."""
    return dialect == "llama.cpp" and bool(request.tools) and tool_choice != "none"


def openai_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Provider-neutral tools -> Chat Completions function tools."""
    return [
        {
            "type": "function",
            "function": {
                "name": t["name"],
                "description": t.get("description", ""),
                "parameters": t.get("parameters", {"type": "object", "properties": {}}),
            },
        }
        for t in tools
    ]


def prefix_cache_key(request: Request) -> str:
    """A stable key for the cacheable prefix: the system prompt and the tools."""
    prefix = json.dumps([system_text(request.messages), request.tools or []], sort_keys=True)
    return "aie-" + hashlib.sha256(prefix.encode()).hexdigest()[:32]


def openai_params(
    model: str,
    request: Request,
    *,
    tool_choice: str | None = None,
    json_schema: dict[str, Any] | None = None,
    dialect: str = "openai",
    hosted: bool = True,
) -> dict[str, Any]:
    """The keyword arguments for ``client.chat.completions.create``.

    ``hosted=False`` (a compatible server, not OpenAI's API) sends the limit as ``max_tokens``, the field
    llama.cpp, Ollama, vLLM and LM Studio all read (llama.cpp ignores ``max_completion_tokens``).
    """
    llama_cpp = dialect == "llama.cpp"
    messages = openai_messages(request.messages)
    choice = None
    if request.tools and tool_choice is not None:
        choice = tool_choice_param(tool_choice, [t["name"] for t in request.tools])  # refuses an unknown name
    params: dict[str, Any] = {"model": model, "messages": messages}
    params["max_completion_tokens" if hosted and not llama_cpp else "max_tokens"] = request.max_tokens
    if not model.startswith(_REASONING_PREFIXES):
        params["temperature"] = request.temperature
    if request.seed is not None:
        params["seed"] = request.seed
    if uses_tool_protocol(request, tool_choice, dialect):
        params["messages"] = protocol_messages(messages, request.messages, request.tools, tool_choice)
        params["response_format"] = response_format(reply_schema(request.tools, tool_choice, json_schema), dialect)
    else:
        if request.tools and not llama_cpp:
            params["tools"] = openai_tools(request.tools)
            if choice is not None:
                params["tool_choice"] = choice
        if json_schema is not None:
            params["response_format"] = response_format(json_schema, dialect)
    if request.cache_prefix:
        params["prompt_cache_key"] = prefix_cache_key(request)
    if request.stream:
        params["stream"] = True
        params["stream_options"] = {"include_usage": True}
    return params


def parse_arguments(text: str | None) -> dict[str, Any]:
    """Decode a tool call's JSON arguments; text that is not a JSON object is kept under ``_raw``."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return {"_raw": text}
    return value if isinstance(value, dict) else {"_raw": text}


def _usage(usage: Any) -> Usage:
    if usage is None:
        return Usage()
    details = getattr(usage, "prompt_tokens_details", None)
    return Usage(
        input_tokens=usage.prompt_tokens or 0,
        output_tokens=usage.completion_tokens or 0,
        cached_tokens=(getattr(details, "cached_tokens", None) or 0) if details else 0,
        cache_write_tokens=(getattr(details, "cache_write_tokens", None) or 0) if details else 0,
    )


class OpenAIModel(ChatModel):
    """A model behind the Chat Completions API: OpenAI's, or any compatible server at ``base_url``.

    Build it with ``get_model("openai:gpt-4o-mini")``, or ``OPENAI_BASE_URL=http://127.0.0.1:8080/v1
    get_model("openai:<served name>")`` for a local server (see the module docstring for the options).
    """

    provider = PROVIDER

    def __init__(
        self,
        model: str,
        *,
        client: Any = None,
        timeout: float = 60.0,
        prices: PriceTable | None = None,
        base_url: str | None = None,
        tool_choice: str | None = None,
        json_schema: dict[str, Any] | None = None,
        strict: bool = False,
        dialect: str = "openai",
        spec: str | None = None,
        count_tokens: Callable[[str], int] | None = None,
    ) -> None:
        super().__init__(prices=prices)
        if dialect not in DIALECTS:
            raise ConfigurationError(f"unknown dialect {dialect!r}; use one of {DIALECTS}")
        self.model_name = model
        self.spec = spec or f"openai:{model}"
        import openai

        self._sdk = openai
        if base_url is None:
            base_url = str(client.base_url) if client is not None else os.environ.get("OPENAI_BASE_URL") or None
        self.base_url = base_url.rstrip("/") if base_url else None
        self.local = is_loopback(self.base_url)
        self.price = served_price(self.prices, PROVIDER, model, self.base_url)  # refuses an unpriced model now
        self.provider = self.price.provider if self.price.provider == LOCAL_PROVIDER else PROVIDER
        self.tool_choice = tool_choice
        self.json_schema = json_schema
        self.strict = strict
        self.dialect = dialect
        self.count_tokens = count_tokens  # for streams without usage: the served model's tokenizer
        if client is None:
            key = os.environ.get("OPENAI_API_KEY") or ("no-key-needed-on-loopback" if self.local else None)
            if not key:
                where = f" at {self.base_url}" if self.base_url else ""
                raise ConfigurationError(f"{self.spec}{where} needs an API key: set OPENAI_API_KEY (or pass client=)")
            client = openai.OpenAI(api_key=key, base_url=self.base_url, timeout=timeout, max_retries=0)
        else:
            client = client.with_options(max_retries=0)  # retries happen in curriculum.llm.resilience
        self.client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.spec}{' at ' + self.base_url if self.base_url else ''}>"

    @property
    def hosted(self) -> bool:
        """True when this is OpenAI's own API (no base URL, or api.openai.com)."""
        return not self.base_url or urlsplit(self.base_url).hostname == "api.openai.com"

    @property
    def _where(self) -> str:
        return "openai" if self.hosted else f"the server at {self.base_url}"

    def _error(self, exc: Exception) -> ProviderError:
        sdk = self._sdk
        where = self._where
        if isinstance(exc, sdk.APITimeoutError):
            return ProviderError(f"{where} timed out: {exc}", provider=PROVIDER, retryable=True, kind="timeout")
        if isinstance(exc, sdk.APIConnectionError):
            return ProviderError(
                f"{where} is unreachable: {exc} (is a server running there?)",
                provider=PROVIDER,
                retryable=True,
                kind="connection",
            )
        if isinstance(exc, sdk.APIStatusError) and exc.status_code < 400:  # an error event inside a stream
            transient = getattr(exc, "type", None) in _TRANSIENT_STREAM_ERRORS
            return ProviderError(
                f"{where}: the stream failed: {exc}", provider=PROVIDER, retryable=transient, kind="stream"
            )
        if isinstance(exc, sdk.APIStatusError):
            return status_error(PROVIDER, exc.status_code, exc.response.headers, str(exc))
        if isinstance(exc, (sdk.APIResponseValidationError, ValueError)):
            return ProviderError(
                f"{where} answered something that is not a chat completion: {exc}", provider=PROVIDER, kind="garbage"
            )
        return ProviderError(
            f"{where} stopped mid-answer: {type(exc).__name__}: {exc}", provider=PROVIDER, retryable=True, kind="stream"
        )

    def _garbage(self, what: Any) -> ProviderError:
        return ProviderError(
            f"{self._where} answered something that is not a chat completion: {str(what)[:120]!r}",
            provider=PROVIDER,
            kind="garbage",
        )

    def _events(self, request: Request) -> Iterator[str | Generation]:
        import httpx

        params = openai_params(
            self.model_name,
            request,
            tool_choice=self.tool_choice,
            json_schema=self.json_schema,
            dialect=self.dialect,
            hosted=self.hosted,
        )
        protocol = uses_tool_protocol(request, self.tool_choice, self.dialect)
        try:
            if request.stream:
                generation = yield from self._streamed(params, emit=not protocol)
            else:
                generation = self._generation(self.client.chat.completions.create(**params))
        except (self._sdk.OpenAIError, httpx.TransportError, ValueError) as exc:
            raise self._error(exc) from exc
        if protocol:
            generation = protocol_generation(generation, request, self.provider)
            if request.stream and generation.text:
                yield generation.text
        yield self._checked(generation, request)

    def _checked(self, generation: Generation, request: Request) -> Generation:
        """Validate tool calls (``strict``) and JSON answers (``json_schema``) against their schemas."""
        hit_limit = generation.stop_reason == "max_tokens" or generation.usage.output_tokens >= request.max_tokens
        where = dict(provider=self.provider, hit_limit=hit_limit, max_tokens=request.max_tokens)
        if generation.tool_calls and (self.strict or self.tool_choice not in (None, "none", "auto")):
            check_tool_calls(generation.tool_calls, request.tools or [], **where)
        elif self.json_schema is not None and not generation.tool_calls:
            check_json_answer(generation.text, self.json_schema, **where)
        return generation

    def _generation(self, response: Any) -> Generation:
        if not getattr(response, "choices", None) or getattr(response.choices[0], "message", None) is None:
            raise self._garbage(response)
        choice = response.choices[0]
        message = choice.message
        calls = [
            ToolCall(id=c.id, name=c.function.name, arguments=parse_arguments(c.function.arguments))
            for c in (message.tool_calls or [])
            if getattr(c, "function", None) is not None
        ]
        return Generation(
            text=message.content or "",
            tool_calls=calls,
            usage=_usage(response.usage),
            model=response.model or self.model_name,
            provider=self.provider,
            stop_reason=_STOP_REASONS.get(choice.finish_reason, choice.finish_reason),
            price_model=self.model_name,
        )

    def _count_usage(self, params: dict[str, Any], generated: str) -> Usage:
        """Usage of a stream that carries none (llama.cpp's), counted with ``count_tokens`` when there is one.

        The prompt is counted as the server renders it (ChatML, :func:`~.local.tools.chatml_prompt`) with the
        model's own vocabulary, so a streamed answer reports the same usage as the whole one.
        """
        if self.count_tokens is None:
            return Usage()
        return Usage(
            input_tokens=self.count_tokens(chatml_prompt(params["messages"])),
            output_tokens=self.count_tokens(generated),
        )

    def _streamed(self, params: dict[str, Any], emit: bool = True) -> Iterator[str]:
        """Yield the text deltas (when ``emit``); return the Generation (``yield from`` hands it to ``_events``)."""
        text: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        usage = None
        finish = None
        model = self.model_name
        with self.client.chat.completions.create(**params) as chunks:
            for chunk in chunks:
                if getattr(chunk, "choices", None) is None:
                    raise self._garbage(chunk)
                model = chunk.model or model
                if chunk.usage is not None:
                    usage = chunk.usage
                for choice in chunk.choices:
                    delta = choice.delta
                    if delta.content:
                        text.append(delta.content)
                        if emit:
                            yield delta.content
                    for call in delta.tool_calls or []:
                        slot = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                        slot["id"] = call.id or slot["id"]
                        if call.function is not None:
                            slot["name"] += call.function.name or ""
                            slot["arguments"] += call.function.arguments or ""
                    finish = choice.finish_reason or finish
        if usage is None:
            counted = self._count_usage(params, "".join(text) + "".join(c["arguments"] for c in calls.values()))
        else:
            counted = _usage(usage)
        return Generation(
            text="".join(text),
            tool_calls=[
                ToolCall(id=c["id"], name=c["name"], arguments=parse_arguments(c["arguments"]))
                for _, c in sorted(calls.items())
            ],
            usage=counted,
            model=model,
            provider=self.provider,
            stop_reason=_STOP_REASONS.get(finish, finish),
            price_model=self.model_name,
        )
