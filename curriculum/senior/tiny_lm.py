"""The course's own small causal language model, pretrained from scratch on CPU and cached.

No 7B checkpoint can be downloaded in this course, so the senior notebooks fine-tune, quantize
and serve a model the course builds itself: a Llama-style decoder (``LlamaForCausalLM``, every
projection an ``nn.Linear``, so peft's LoRA and torch's dynamic int8 quantization apply to it
exactly as they apply to a 7B Llama) with a byte-level BPE tokenizer trained offline with the
``tokenizers`` library.

* Corpus: the Python language reference that ships with CPython (``pydoc_data.topics``).
* First call of :func:`load_tiny_lm`: trains the tokenizer and pretrains the model with a fixed
  seed (about a minute on two CPU cores), then saves both with ``save_pretrained`` under
  ``curriculum.paths.cache_dir("tiny-lm", <key>)``. The key hashes the corpus, the config and
  the training code version, so changing any of them builds a new model instead of reusing a
  stale one.
* Later calls load the saved files in well under a second. The folder is a normal Hugging Face
  model directory, so ``get_model("hf:" + str(tiny_lm_path()))`` serves it through the model layer.

Example::

    >>> from curriculum.senior.tiny_lm import load_tiny_lm
    >>> model, tokenizer = load_tiny_lm()          # builds once, then loads from the cache
    >>> type(model).__name__
    'LlamaForCausalLM'

Why one module of this size: tokenizer training, pretraining, caching and fine-tuning of the one tiny model the
senior notebooks share.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import math
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curriculum.paths import cache_dir

__all__ = [
    "CODE_VERSION",
    "TinyLMConfig",
    "corpus_text",
    "cache_key",
    "train_tokenizer",
    "build_model",
    "pretrain",
    "fine_tune",
    "tiny_lm_path",
    "load_tiny_lm",
    "count_parameters",
    "cache_lock",
    "named_model_path",
]

#: Bump when the training code changes in a way that changes the weights it produces.
CODE_VERSION = "1"
SPECIAL_TOKENS = {"pad_token": "<|pad|>", "bos_token": "<|bos|>", "eos_token": "<|eos|>"}


@dataclass(frozen=True)
class TinyLMConfig:
    """Architecture and pretraining budget of the tiny LM (every field goes into the cache key)."""

    vocab_size: int = 2048
    hidden_size: int = 128
    num_layers: int = 2
    num_heads: int = 4
    intermediate_size: int = 384
    context: int = 128
    steps: int = 300
    batch_size: int = 8
    lr: float = 3e-3
    seed: int = 0

    def __post_init__(self) -> None:
        for name in (
            "vocab_size",
            "hidden_size",
            "num_layers",
            "num_heads",
            "intermediate_size",
            "context",
            "steps",
            "batch_size",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"TinyLMConfig.{name} must be a positive int (got {value!r})")
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size {self.hidden_size} must be divisible by num_heads {self.num_heads}")
        if self.vocab_size < 300:
            raise ValueError("vocab_size must be at least 300 (256 byte symbols plus merges and special tokens)")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive (got {self.lr!r})")


def corpus_text() -> str:
    """The pretraining corpus: every topic of CPython's bundled language reference, in sorted order."""
    from pydoc_data.topics import topics

    return "\n\n".join(topics[name].strip() for name in sorted(topics))


def cache_key(config: TinyLMConfig, text: str) -> str:
    """16 hex digits of SHA-256 over the corpus, the config and :data:`CODE_VERSION`."""
    digest = hashlib.sha256()
    digest.update(hashlib.sha256(text.encode("utf-8")).hexdigest().encode())
    digest.update(json.dumps(dataclasses.asdict(config), sort_keys=True).encode())
    digest.update(CODE_VERSION.encode())
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def cache_lock(folder: Path) -> Iterator[None]:
    """An exclusive file lock in ``folder`` (two processes never build the same artefact at once)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def train_tokenizer(text: str, vocab_size: int):
    """A byte-level BPE tokenizer trained on ``text`` (a ``PreTrainedTokenizerFast``).

    Byte-level means every string can be encoded, including words the corpus never had.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    if not text.strip():
        raise ValueError("cannot train a tokenizer on an empty corpus")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=list(SPECIAL_TOKENS.values()),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    tok.train_from_iterator(paragraphs, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, **SPECIAL_TOKENS)


def build_model(config: TinyLMConfig, tokenizer) -> Any:
    """A freshly initialised ``LlamaForCausalLM`` of the given size (seeded with ``config.seed``)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    llama = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size,
        num_hidden_layers=config.num_layers,
        num_attention_heads=config.num_heads,
        num_key_value_heads=config.num_heads,
        max_position_embeddings=max(config.context, 256),
        tie_word_embeddings=False,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(config.seed)
    return LlamaForCausalLM(llama)


def count_parameters(model: Any, trainable_only: bool = False) -> int:
    """Number of parameters of a torch module (only those with ``requires_grad`` when asked)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _lr_at(step: int, steps: int, lr: float, warmup: int) -> float:
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def _optimise(
    model: Any, batches: Callable[[int], dict], steps: int, lr: float, log: Callable[[int, float], None] | None
) -> list[float]:
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters")
    optimizer = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.95), weight_decay=0.0)
    warmup = max(1, min(50, steps // 10))
    losses: list[float] = []
    device = params[0].device
    model.train()
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = _lr_at(step, steps, lr, warmup)
        out = model(**{k: v.to(device) for k, v in batches(step).items()})
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(float(out.loss.detach()))
        if log is not None:
            log(step, losses[-1])
    model.eval()
    return losses


def pretrain(
    model: Any, token_ids: Sequence[int], config: TinyLMConfig, log: Callable[[int, float], None] | None = None
) -> list[float]:
    """Next-token pretraining on random windows of one long token stream; returns the loss per step."""
    import torch

    ids = torch.tensor(list(token_ids), dtype=torch.long)
    if ids.numel() <= config.context + 1:
        raise ValueError(f"the corpus has {ids.numel()} tokens; need more than the context of {config.context}")
    generator = torch.Generator().manual_seed(config.seed)

    def batch(_: int) -> dict:
        starts = torch.randint(0, ids.numel() - config.context, (config.batch_size,), generator=generator)
        window = torch.stack([ids[s : s + config.context] for s in starts.tolist()])
        return {"input_ids": window, "labels": window}

    torch.manual_seed(config.seed)
    return _optimise(model, batch, config.steps, config.lr, log)


def fine_tune(
    model: Any,
    tokenizer: Any,
    examples: Sequence[str | tuple[str, str]],
    *,
    steps: int = 150,
    batch_size: int = 16,
    lr: float = 1e-3,
    seed: int = 0,
    max_length: int = 128,
    log: Callable[[int, float], None] | None = None,
) -> list[float]:
    """Train ``model``'s trainable parameters on ``examples``; returns the loss of every step.

    A string trains on all of its tokens (continued pretraining). A ``(prompt, completion)``
    pair trains on the completion only, the prompt being context (supervised fine-tuning);
    the EOS token is appended either way. Works for a full model and for a peft model alike
    (only ``requires_grad`` parameters move). Batches are drawn with a seeded generator, so the
    same call gives the same weights.
    """
    import torch

    examples = list(examples)
    if not examples:
        raise ValueError("fine_tune needs at least one training example")
    if not isinstance(steps, int) or steps < 1 or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"steps and batch_size must be positive ints (got {steps!r}, {batch_size!r})")
    if not lr > 0:
        raise ValueError(f"lr must be positive (got {lr!r})")
    eos = tokenizer.eos_token or ""
    encoded: list[tuple[list[int], list[int]]] = []
    for example in examples:
        if isinstance(example, str):
            ids = tokenizer(example + eos, add_special_tokens=False)["input_ids"]
            targets = list(ids)
        elif isinstance(example, tuple) and len(example) == 2 and all(isinstance(x, str) for x in example):
            prompt = tokenizer(example[0], add_special_tokens=False)["input_ids"]
            answer = tokenizer(example[1] + eos, add_special_tokens=False)["input_ids"]
            ids, targets = prompt + answer, [-100] * len(prompt) + answer
        else:
            raise ValueError(
                f"an example must be a string or a (prompt, completion) pair of strings (got {example!r:.80})"
            )
        encoded.append((ids[-max_length:], targets[-max_length:]))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (tokenizer.eos_token_id or 0)
    generator = torch.Generator().manual_seed(seed)

    def batch(_: int) -> dict:
        rows = torch.randint(0, len(encoded), (batch_size,), generator=generator).tolist()
        width = max(len(encoded[r][0]) for r in rows)
        input_ids = torch.full((batch_size, width), pad, dtype=torch.long)
        labels = torch.full((batch_size, width), -100, dtype=torch.long)
        mask = torch.zeros((batch_size, width), dtype=torch.long)
        for i, r in enumerate(rows):
            ids, targets = encoded[r]
            input_ids[i, : len(ids)] = torch.tensor(ids)
            labels[i, : len(ids)] = torch.tensor(targets)
            mask[i, : len(ids)] = 1
        return {"input_ids": input_ids, "attention_mask": mask, "labels": labels}

    torch.manual_seed(seed)
    return _optimise(model, batch, steps, lr, log)


def _build(config: TinyLMConfig, text: str, target: Path, verbose: bool) -> None:
    import torch

    start = time.perf_counter()
    if verbose:
        print(f"tiny-lm: first use, pretraining from scratch ({config.steps} steps); cached at {target}")
    tokenizer = train_tokenizer(text, config.vocab_size)
    eos = tokenizer.eos_token_id
    ids: list[int] = []
    for paragraph in text.split("\n\n"):
        if paragraph.strip():
            ids.extend(tokenizer(paragraph, add_special_tokens=False)["input_ids"])
            ids.append(eos)
    model = build_model(config, tokenizer)

    def log(step: int, loss: float) -> None:
        if verbose and (step % 100 == 0 or step == config.steps - 1):
            print(f"  step {step:>4}  loss {loss:.3f}  ({time.perf_counter() - start:.0f} s)")

    threads = torch.get_num_threads()
    torch.set_num_threads(
        1
    )  # same float results on every machine; on a shared CPU also faster than two contending threads
    try:
        with torch.random.fork_rng():
            losses = pretrain(model, ids, config, log)
    finally:
        torch.set_num_threads(threads)
    scratch = Path(tempfile.mkdtemp(prefix=".building-", dir=target.parent))
    try:
        model.save_pretrained(scratch)
        tokenizer.save_pretrained(scratch)
        meta = {
            "key": target.name,
            "config": dataclasses.asdict(config),
            "code_version": CODE_VERSION,
            "corpus": "pydoc_data.topics",
            "corpus_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
            "corpus_tokens": len(ids),
            "parameters": count_parameters(model),
            "first_loss": losses[0],
            "final_loss": sum(losses[-20:]) / len(losses[-20:]),
            "train_seconds": round(time.perf_counter() - start, 1),
            "torch_threads": 1,
            "torch_version": torch.__version__,
        }
        (scratch / "tiny_lm.json").write_text(json.dumps(meta, indent=1))
        os.replace(scratch, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def tiny_lm_path(config: TinyLMConfig | None = None, verbose: bool = True) -> Path:
    """The cached model folder for ``config`` (default: :class:`TinyLMConfig()`), built on first use."""
    config = config or TinyLMConfig()
    text = corpus_text()
    root = cache_dir("tiny-lm")
    target = root / cache_key(config, text)
    if (target / "tiny_lm.json").is_file():
        return target
    with cache_lock(root):
        if not (target / "tiny_lm.json").is_file():
            _build(config, text, target, verbose)
    return target


def load_tiny_lm(config: TinyLMConfig | None = None, verbose: bool = True) -> tuple[Any, Any]:
    """``(model, tokenizer)`` of the tiny LM in eval mode on the CPU (pretrained on first use)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = tiny_lm_path(config, verbose)
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True)
    model.eval()
    return model, tokenizer


def metadata(config: TinyLMConfig | None = None) -> dict:
    """What was recorded when the model was built: corpus hash, parameters, losses, seconds."""
    return json.loads((tiny_lm_path(config) / "tiny_lm.json").read_text())


def named_model_path(folder: Path, name: str) -> Path:
    """A link ``<cache>/models/<name>`` to a cached model folder, so ``get_model("hf:" + str(link))``
    reports the model as ``name`` instead of its cache key."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name):
        raise ValueError(f"model name must be 1-64 letters, digits, '.', '_' or '-' (got {name!r})")
    folder = Path(folder).resolve()
    if not (folder / "config.json").is_file():
        raise ValueError(f"{folder} is not a saved model folder (no config.json)")
    links = cache_dir("models")
    link = links / name
    if link.is_symlink() and link.resolve() == folder:
        return link
    scratch = links / f".{name}.{os.getpid()}"
    if scratch.is_symlink() or scratch.exists():
        scratch.unlink()
    scratch.symlink_to(folder, target_is_directory=True)
    os.replace(scratch, link)
    return link
