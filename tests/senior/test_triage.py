"""Label scoring, answer perplexity and prompts of the triage task, on a micro model."""

import math

import numpy as np
import pytest
import torch

from curriculum.senior import triage


def _naive_scores(model, tokenizer, texts, labels):
    out = np.zeros((len(texts), len(labels)))
    for i, text in enumerate(texts):
        prompt = tokenizer(triage.prompt_text(text), add_special_tokens=False)["input_ids"]
        for j, label in enumerate(labels):
            answer = tokenizer(f" {label}{tokenizer.eos_token}", add_special_tokens=False)["input_ids"]
            ids = torch.tensor([prompt + answer])
            with torch.no_grad():
                logp = torch.log_softmax(model(input_ids=ids).logits[0, :-1].float(), -1)
            out[i, j] = sum(float(logp[len(prompt) - 1 + k, answer[k]]) for k in range(len(answer)))
    return out


def test_cached_label_scoring_equals_scoring_each_sequence(micro_llama):
    model, tokenizer, _ = micro_llama
    texts = ["I was charged twice", "The page crashes with error 500 every single time I open it", "cancel please"]
    got = triage.label_logprobs(model, tokenizer, texts, batch_size=2)
    want = _naive_scores(model, tokenizer, texts, triage.LABELS)
    assert got.shape == (3, len(triage.LABELS))
    assert np.allclose(got, want, atol=1e-4)
    assert triage.predict_labels(model, tokenizer, texts) == [triage.LABELS[i] for i in want.argmax(1)]


def test_answer_perplexity_matches_the_gold_scores(micro_llama):
    model, tokenizer, _ = micro_llama
    tickets = triage.load_split("heldout")[:4]
    scores = _naive_scores(model, tokenizer, [t.text for t in tickets], triage.LABELS)
    lengths = [
        len(tokenizer(f" {l}{tokenizer.eos_token}", add_special_tokens=False)["input_ids"]) for l in triage.LABELS
    ]
    idx = [triage.LABELS.index(t.label) for t in tickets]
    want = math.exp(-sum(scores[k, i] for k, i in enumerate(idx)) / sum(lengths[i] for i in idx))
    assert abs(triage.answer_perplexity(model, tokenizer, tickets) - want) < 1e-3 * want


def test_perplexity_of_texts(micro_llama):
    model, tokenizer, _ = micro_llama
    value = triage.perplexity(
        model, tokenizer, ["a short text", "and another, somewhat longer text than the first"], batch_size=1
    )
    assert value > 1 and value == pytest.approx(
        triage.perplexity(
            model, tokenizer, ["a short text", "and another, somewhat longer text than the first"], batch_size=2
        ),
        rel=1e-4,
    )


def test_prompts_and_errors():
    text = triage.prompt_text("My card was charged twice.")
    assert (
        text
        == "user: Which team: billing, account, bug, feature or cancel?\nTicket: My card was charged twice.\nassistant:"
    )
    for label in triage.LABELS:
        assert label in text
    ticket = triage.load_split("train")[0]
    prompt, answer = triage.training_example(ticket)
    assert answer == " " + ticket.label and triage.training_text(ticket) == prompt + answer
    with pytest.raises(ValueError, match="non-empty"):
        triage.prompt_messages("   ")
    with pytest.raises(ValueError):
        triage.accuracy(["a"], ["a", "b"])
    with pytest.raises(ValueError):
        triage.accuracy([], [])
    assert triage.accuracy(["a", "b"], ["a", "c"]) == 0.5
