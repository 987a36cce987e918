"""``hf:<local path>`` -- a causal language model from a local directory, run with transformers.

* The directory holds what ``save_pretrained`` writes (config, weights, tokenizer); nothing is
  downloaded (``local_files_only=True``).
* The prompt is the tokenizer's chat template when it has one (tools are handed to the template),
  otherwise the plain concatenation ``"<role>: <content>\\n"`` per message followed by
  ``"assistant:"``.
* Generation is greedy (``do_sample=False``), so the same prompt gives the same text.
  Streaming uses transformers' ``TextIteratorStreamer`` with generation on a worker thread.
* A reply holding ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` (the format of
  Qwen/Hermes-style chat templates) is returned as a tool call.
* Usage counts the prompt and generated token ids; the cost is 0 (see ``prices.toml``).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from .base import ChatModel, Generation, Request
from .errors import ConfigurationError
from .pricing import PriceTable
from .types import ToolCall, Usage

__all__ = ["HFModel", "plain_prompt", "parse_tool_calls"]

PROVIDER = "hf"
_TOOL_CALL = re.compile(r"<tool_call>\s*(\{.*?\})\s*</tool_call>", re.S)


@lru_cache(maxsize=2)
def _load(path: str, device: str) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True).to(device)
    model.eval()
    return tokenizer, model


def plain_prompt(messages: list[dict[str, Any]]) -> str:
    """The prompt for a tokenizer without a chat template."""
    lines = [f"{m['role']}: {m.get('content') or ''}" for m in messages]
    return "\n".join(lines) + "\nassistant:"


def parse_tool_calls(text: str) -> tuple[str, list[ToolCall]]:
    """Split ``<tool_call>{json}</tool_call>`` spans out of a reply: (remaining text, calls)."""
    calls = []
    for i, match in enumerate(_TOOL_CALL.finditer(text)):
        try:
            data = json.loads(match.group(1))
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            args = data.get("arguments", {})
            calls.append(ToolCall(id=f"call_{i}", name=data["name"], arguments=args if isinstance(args, dict) else {}))
    if not calls:
        return text, []
    return _TOOL_CALL.sub("", text).strip(), calls


class HFModel(ChatModel):
    """A local causal LM. Build it with ``get_model("hf:/path/to/model")``."""

    provider = PROVIDER

    def __init__(self, path: str, *, device: str = "cpu", prices: PriceTable | None = None) -> None:
        super().__init__(prices=prices)
        resolved = Path(path).expanduser()
        if not (resolved / "config.json").is_file():
            raise ConfigurationError(f"hf:{path}: no config.json there; save a model with save_pretrained first")
        self.path = str(resolved.resolve())
        self.model_name = resolved.name
        self.spec = f"hf:{path}"
        self.device = device
        self.prices.price(PROVIDER, self.model_name)
        self.tokenizer, self.model = _load(self.path, device)

    def _prompt_ids(self, request: Request):
        tokenizer = self.tokenizer
        if getattr(tokenizer, "chat_template", None):
            messages = [{"role": m["role"], "content": m.get("content") or ""} for m in request.messages]
            kwargs: dict[str, Any] = {"add_generation_prompt": True, "return_tensors": "pt", "return_dict": True}
            if request.tools:
                kwargs["tools"] = [
                    {"type": "function", "function": {k: t[k] for k in ("name", "description", "parameters") if k in t}}
                    for t in request.tools
                ]
            encoded = tokenizer.apply_chat_template(messages, **kwargs)
        else:
            encoded = tokenizer(plain_prompt(request.messages), return_tensors="pt")
        return encoded["input_ids"].to(self.device), encoded.get("attention_mask")

    def _generate_kwargs(self, request: Request, input_ids, attention_mask) -> dict[str, Any]:
        tokenizer = self.tokenizer
        kwargs: dict[str, Any] = {
            "input_ids": input_ids,
            "max_new_tokens": request.max_tokens,
            "do_sample": False,
            "pad_token_id": tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id,
        }
        if attention_mask is not None:
            kwargs["attention_mask"] = attention_mask.to(self.device)
        return kwargs

    def _events(self, request: Request) -> Iterator[str | Generation]:
        import torch

        input_ids, attention_mask = self._prompt_ids(request)
        kwargs = self._generate_kwargs(request, input_ids, attention_mask)
        if request.stream:
            from transformers import TextIteratorStreamer

            streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
            result: dict[str, Any] = {}

            def run() -> None:
                try:
                    with torch.inference_mode():
                        result["ids"] = self.model.generate(**kwargs, streamer=streamer)
                except BaseException as exc:  # handed to the reading side below
                    result["error"] = exc
                    streamer.end()

            worker = threading.Thread(target=run, daemon=True)
            worker.start()
            for piece in streamer:
                if piece:
                    yield piece
            worker.join()
            if "error" in result:
                raise result["error"]
            output = result["ids"]
        else:
            with torch.inference_mode():
                output = self.model.generate(**kwargs)
        new_ids = output[0, input_ids.shape[1] :].tolist()
        eos = self.tokenizer.eos_token_id
        stopped = eos is not None and eos in new_ids
        text = self.tokenizer.decode(new_ids, skip_special_tokens=True)
        text, calls = parse_tool_calls(text)
        yield Generation(
            text=text,
            tool_calls=calls,
            usage=Usage(input_tokens=int(input_ids.shape[1]), output_tokens=len(new_ids)),
            model=self.model_name,
            provider=PROVIDER,
            stop_reason="tool_use" if calls else ("end_turn" if stopped else "max_tokens"),
            price_model=self.model_name,
        )
