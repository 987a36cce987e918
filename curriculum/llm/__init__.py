"""The model layer: one small interface for the offline reference model, OpenAI, Anthropic and local models.

``get_model("local:smollm2")`` is SmolLM2-135M-Instruct served by llama.cpp on this machine
(:mod:`curriculum.llm.local`); ``openai:<model>`` with ``OPENAI_BASE_URL`` reaches any OpenAI-compatible server.

Example::

    from curriculum.llm import get_model

    model = get_model()                       # AIE_MODEL, or the offline reference model
    done = model.complete([
        {"role": "system", "content": "Answer from the sources and cite them as [n]."},
        {"role": "user", "content": "[1] (source: python-reference/pass) pass is a null operation: "
                                    "when it is executed, nothing happens.\\n\\n"
                                    "Question: What does pass do?"},
    ])
    done.text        # 'pass is a null operation: when it is executed, nothing happens. [1]'
    done.usage       # Usage(input_tokens=..., output_tokens=..., cached_tokens=0, ...)
    done.cost_usd    # priced from prices.toml / genai-prices

See ``curriculum/llm/README.md`` for the providers, the offline model's grammar and the prices.
"""

from __future__ import annotations

from .base import ChatModel, CompletionStream
from .errors import (
    AllModelsFailedError,
    CircuitOpenError,
    ConfigurationError,
    InvalidRequestError,
    ModelError,
    ProviderError,
    SchemaMismatchError,
    UnknownPriceError,
)
from .factory import get_model
from .offline_qa import ABSTAIN_PREFIX
from .pricing import Price, PriceTable, default_price_table
from .resilience import CircuitBreaker, FallbackModel, ResilientModel, RetryPolicy
from .tokens import count_tokens
from .types import Completion, Message, ToolCall, ToolSpec, Usage

__all__ = [
    "get_model",
    "ChatModel",
    "CompletionStream",
    "Completion",
    "ToolCall",
    "Usage",
    "Message",
    "ToolSpec",
    "ModelError",
    "ConfigurationError",
    "InvalidRequestError",
    "ProviderError",
    "CircuitOpenError",
    "AllModelsFailedError",
    "UnknownPriceError",
    "SchemaMismatchError",
    "RetryPolicy",
    "CircuitBreaker",
    "ResilientModel",
    "FallbackModel",
    "Price",
    "PriceTable",
    "default_price_table",
    "count_tokens",
    "ABSTAIN_PREFIX",
]
