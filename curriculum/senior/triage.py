"""The support-ticket triage task: data, prompts, and how a causal LM is scored on it.

The data set is synthetic (see ``data/support-tickets/README.md``): short tickets labelled
``billing``, ``account``, ``bug``, ``feature`` or ``cancel``, with a training split and a held-out
split whose half uses phrasings training never saw.

A causal LM classifies a ticket by *label scoring*: the log-probability of each label as the
continuation of the prompt, highest wins. No free-text parsing, so even a small model has a
well-defined accuracy, and the same code scores a 7B model.

Example::

    >>> train, heldout = load_split("train"), load_split("heldout")
    >>> len(train), len(heldout), LABELS[0]
    (600, 200, 'billing')
    >>> prompt_text("My card was charged twice.").splitlines()[-1]
    'assistant:'
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curriculum.paths import DATA_DIR

__all__ = [
    "LABELS",
    "DATA_PATH",
    "Ticket",
    "load_split",
    "prompt_messages",
    "prompt_text",
    "training_example",
    "training_text",
    "label_logprobs",
    "answer_perplexity",
    "predict_labels",
    "accuracy",
    "perplexity",
    "TriageLoRA",
    "triage_model_path",
    "load_triage_model",
]

LABELS: tuple[str, ...] = ("billing", "account", "bug", "feature", "cancel")
DATA_PATH = DATA_DIR / "support-tickets"
QUESTION = "Which team: billing, account, bug, feature or cancel?"


@dataclass(frozen=True)
class Ticket:
    """One labelled ticket; ``hard`` uses another category's words, ``phrasing`` is "seen" or "new"."""

    id: str
    text: str
    label: str
    hard: bool
    phrasing: str


def load_split(name: str) -> list[Ticket]:
    """The ``"train"`` (600) or ``"heldout"`` (200) tickets, in file order."""
    if name not in ("train", "heldout"):
        raise ValueError(f"split must be 'train' or 'heldout' (got {name!r})")
    path = DATA_PATH / f"{name}.jsonl"
    with open(path, encoding="utf-8") as fh:
        return [Ticket(**json.loads(line)) for line in fh if line.strip()]


def prompt_messages(ticket_text: str) -> list[dict[str, str]]:
    """The chat messages that ask a model to triage one ticket (one user turn)."""
    if not isinstance(ticket_text, str) or not ticket_text.strip():
        raise ValueError("a ticket must be a non-empty string")
    return [{"role": "user", "content": f"{QUESTION}\nTicket: {ticket_text.strip()}"}]


def prompt_text(ticket_text: str) -> str:
    """The prompt as one string, in the format the ``hf:`` provider uses for a model without a chat template."""
    from curriculum.llm.hf_provider import plain_prompt

    return plain_prompt(prompt_messages(ticket_text))


def training_example(ticket: Ticket) -> tuple[str, str]:
    """``(prompt, " <label>")``: a supervised fine-tuning pair (loss on the answer only)."""
    return prompt_text(ticket.text), f" {ticket.label}"


def training_text(ticket: Ticket) -> str:
    """Prompt and answer as one string."""
    prompt, answer = training_example(ticket)
    return prompt + answer


def _pad_batch(rows: list[list[int]], pad_id: int, left: bool = False):
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        span = slice(width - len(r), width) if left else slice(0, len(r))
        ids[i, span] = torch.tensor(r, dtype=torch.long)
        mask[i, span] = 1
    return ids, mask


def _pad_id(tokenizer) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (tokenizer.eos_token_id or 0)


def _token_logprobs(model, ids, mask):
    """log p(token t | tokens < t) for t >= 1, shape (batch, width - 1)."""
    import torch

    device = next(model.parameters()).device
    ids, mask = ids.to(device), mask.to(device)
    with torch.inference_mode():
        logits = model(input_ids=ids, attention_mask=mask).logits.float()
    logp = torch.log_softmax(logits[:, :-1], dim=-1)
    return logp.gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1).cpu()


def _label_ids(tokenizer, labels: Sequence[str]) -> list[list[int]]:
    eos = tokenizer.eos_token or ""
    return [tokenizer(f" {label}{eos}", add_special_tokens=False)["input_ids"] for label in labels]


def label_logprobs(
    model: Any,
    tokenizer: Any,
    ticket_texts: Sequence[str],
    labels: Sequence[str] = LABELS,
    batch_size: int = 32,
):
    """Array (n_tickets, n_labels): log p(`` <label>`` + EOS | prompt) under ``model``.

    Each batch of prompts runs once (left-padded, with explicit positions); every label is then
    scored from the prompt's key/value cache, so the cost is one prompt pass plus a few tokens
    per label.
    """
    import numpy as np
    import torch

    texts = list(ticket_texts)
    if not texts:
        raise ValueError("no tickets to score")
    if not labels:
        raise ValueError("no labels to score")
    device = next(model.parameters()).device
    label_ids = _label_ids(tokenizer, labels)
    prompts = [tokenizer(prompt_text(t), add_special_tokens=False)["input_ids"] for t in texts]
    scores = np.zeros((len(texts), len(labels)))
    for start in range(0, len(prompts), batch_size):
        ids, mask = _pad_batch(prompts[start : start + batch_size], _pad_id(tokenizer), left=True)
        ids, mask = ids.to(device), mask.to(device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        n = ids.shape[0]
        with torch.inference_mode():
            out = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True)
            first = torch.log_softmax(out.logits[:, -1].float(), dim=-1)
            # transformers 5 names the key/value cache ``cache`` (``past_key_values`` before)
            cache_arg = "cache" if "cache" in out else "past_key_values"
            cache = out[cache_arg]
            for j, lab in enumerate(label_ids):
                total = first[:, lab[0]].clone()
                if len(lab) > 1:
                    follow = torch.tensor([lab[:-1]] * n, device=device)
                    cont_mask = torch.cat([mask, torch.ones_like(follow)], dim=1)
                    cont_pos = positions[:, -1:] + torch.arange(1, len(lab), device=device)
                    step = model(
                        input_ids=follow,
                        attention_mask=cont_mask,
                        position_ids=cont_pos,
                        use_cache=True,
                        **{cache_arg: cache},
                    )
                    logp = torch.log_softmax(step.logits.float(), dim=-1)
                    target = torch.tensor(lab[1:], device=device)
                    total += logp.gather(-1, target.expand(n, -1).unsqueeze(-1)).squeeze(-1).sum(-1)
                    cache.crop(-(len(lab) - 1))
                scores[start : start + n, j] = total.cpu().numpy()
    return scores


def predict_labels(
    model: Any, tokenizer: Any, ticket_texts: Sequence[str], labels: Sequence[str] = LABELS
) -> list[str]:
    """The highest-scoring label for each ticket."""
    scores = label_logprobs(model, tokenizer, ticket_texts, labels)
    return [labels[i] for i in scores.argmax(axis=1)]


def answer_perplexity(model: Any, tokenizer: Any, tickets: Sequence[Ticket], labels: Sequence[str] = LABELS) -> float:
    """exp(mean NLL per token of the gold answer `` <label>`` + EOS, given the prompt): the held-out loss of SFT."""
    tickets = list(tickets)
    if not tickets:
        raise ValueError("no tickets to score")
    scores = label_logprobs(model, tokenizer, [t.text for t in tickets], labels)
    lengths = [len(ids) for ids in _label_ids(tokenizer, labels)]
    index = {label: i for i, label in enumerate(labels)}
    nll = -sum(scores[k, index[t.label]] for k, t in enumerate(tickets))
    return math.exp(nll / sum(lengths[index[t.label]] for t in tickets))


def accuracy(predicted: Sequence[str], gold: Sequence[str]) -> float:
    """Share of positions where ``predicted`` equals ``gold`` (same length, not empty)."""
    if len(predicted) != len(gold):
        raise ValueError(f"{len(predicted)} predictions for {len(gold)} gold labels")
    if not gold:
        raise ValueError("accuracy of an empty set is undefined")
    return sum(p == g for p, g in zip(predicted, gold)) / len(gold)


def perplexity(model: Any, tokenizer: Any, texts: Sequence[str], batch_size: int = 32) -> float:
    """exp(mean negative log-likelihood per predicted token) of ``texts`` (each followed by EOS)."""
    texts = list(texts)
    if not texts:
        raise ValueError("no texts to score")
    eos = tokenizer.eos_token or ""
    encoded = [tokenizer(t + eos, add_special_tokens=False)["input_ids"] for t in texts]
    total, count = 0.0, 0
    for start in range(0, len(encoded), batch_size):
        ids, mask = _pad_batch(encoded[start : start + batch_size], _pad_id(tokenizer))
        logp = _token_logprobs(model, ids, mask)
        keep = mask[:, 1:].bool()
        total -= float(logp[keep].sum())
        count += int(keep.sum())
    return math.exp(total / count)


# -- the course's triage-tuned model (tiny LM + LoRA, merged), cached like the base model --------


@dataclass(frozen=True)
class TriageLoRA:
    """LoRA settings of the cached triage model (every field goes into its cache key)."""

    r: int = 16
    alpha: int = 32
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    steps: int = 300
    batch_size: int = 16
    lr: float = 5e-3
    seed: int = 0


def _data_sha256() -> str:
    digest = hashlib.sha256()
    for name in ("train.jsonl",):
        digest.update((DATA_PATH / name).read_bytes())
    return digest.hexdigest()


def triage_model_path(settings: TriageLoRA | None = None, verbose: bool = True) -> Path:
    """Folder of the tiny LM fine-tuned on the training split with LoRA and merged (built on first use).

    A normal Hugging Face model folder: ``get_model("hf:" + str(path))`` serves it, and its greedy
    answer to :func:`prompt_messages` is the label.
    """
    from curriculum.senior import tiny_lm

    settings = settings or TriageLoRA()
    base = tiny_lm.tiny_lm_path(verbose=verbose)
    digest = hashlib.sha256()
    digest.update(base.name.encode())
    digest.update(_data_sha256().encode())
    digest.update(json.dumps(dataclasses.asdict(settings), sort_keys=True).encode())
    digest.update(training_text(Ticket("x", "x", "bug", False, "seen")).encode())
    root = base.parent
    target = root / f"{base.name}-triage-{digest.hexdigest()[:12]}"
    if (target / "triage.json").is_file():
        return target
    with tiny_lm.cache_lock(root):
        if not (target / "triage.json").is_file():
            _build_triage(base, settings, target, verbose)
    return target


def _build_triage(base: Path, settings: TriageLoRA, target: Path, verbose: bool) -> None:
    import time

    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from curriculum.senior.tiny_lm import fine_tune

    start = time.perf_counter()
    if verbose:
        print(f"triage model: first use, LoRA fine-tuning the tiny LM ({settings.steps} steps); cached at {target}")
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(base, local_files_only=True)
    config = LoraConfig(
        r=settings.r,
        lora_alpha=settings.alpha,
        target_modules=list(settings.target_modules),
        lora_dropout=0.0,
        task_type="CAUSAL_LM",
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # reproducible weights, and no thread contention on a shared CPU
    try:
        with torch.random.fork_rng():
            torch.manual_seed(settings.seed)
            peft_model = get_peft_model(model, config)
            examples = [training_example(t) for t in load_split("train")]
            losses = fine_tune(
                peft_model,
                tokenizer,
                examples,
                steps=settings.steps,
                batch_size=settings.batch_size,
                lr=settings.lr,
                seed=settings.seed,
            )
    finally:
        torch.set_num_threads(threads)
    merged = peft_model.merge_and_unload()
    merged.eval()
    scratch = Path(tempfile.mkdtemp(prefix=".building-", dir=target.parent))
    try:
        merged.save_pretrained(scratch)
        tokenizer.save_pretrained(scratch)
        meta = {
            "base": base.name,
            "lora": dataclasses.asdict(settings),
            "data_sha256": _data_sha256(),
            "final_loss": sum(losses[-10:]) / len(losses[-10:]),
            "train_seconds": round(time.perf_counter() - start, 1),
        }
        (scratch / "triage.json").write_text(json.dumps(meta, indent=1))
        os.replace(scratch, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def load_triage_model(settings: TriageLoRA | None = None, verbose: bool = True) -> tuple[Any, Any]:
    """``(model, tokenizer)``: the triage-tuned tiny LM (a plain ``LlamaForCausalLM``), eval mode, CPU."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = triage_model_path(settings, verbose)
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True)
    model.eval()
    return model, tokenizer
