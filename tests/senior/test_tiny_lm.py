"""The course's tiny LM: configuration checks, cache keys, the cache itself, and the training loop."""

import dataclasses

import pytest
import torch

from curriculum.senior import tiny_lm

MICRO = tiny_lm.TinyLMConfig(
    vocab_size=300, hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32, context=16, steps=2, batch_size=2
)


def test_config_refuses_nonsense():
    with pytest.raises(ValueError, match="divisible"):
        tiny_lm.TinyLMConfig(hidden_size=30, num_heads=4)
    with pytest.raises(ValueError, match="positive int"):
        tiny_lm.TinyLMConfig(steps=0)
    with pytest.raises(ValueError, match="vocab_size"):
        tiny_lm.TinyLMConfig(vocab_size=100)
    with pytest.raises(ValueError, match="lr"):
        tiny_lm.TinyLMConfig(lr=0)


def test_cache_key_covers_corpus_config_and_code():
    base = tiny_lm.cache_key(MICRO, "some corpus")
    assert base == tiny_lm.cache_key(MICRO, "some corpus")
    assert base != tiny_lm.cache_key(MICRO, "some corpus!")
    assert base != tiny_lm.cache_key(dataclasses.replace(MICRO, seed=1), "some corpus")
    assert base != tiny_lm.cache_key(dataclasses.replace(MICRO, steps=3), "some corpus")


def test_corpus_is_the_bundled_language_reference():
    text = tiny_lm.corpus_text()
    assert "assert" in text and len(text) > 100_000
    assert text == tiny_lm.corpus_text()


def test_tokenizer_round_trips_unseen_text(micro_llama):
    _, tokenizer, _ = micro_llama
    text = "Ünïcode and emojis 🚀 survive: byte-level BPE never fails"
    assert tokenizer.decode(tokenizer(text)["input_ids"]) == text
    with pytest.raises(ValueError, match="empty corpus"):
        tiny_lm.train_tokenizer("   ", 300)


def test_model_is_llama_with_linear_layers(micro_llama):
    model, _, _ = micro_llama
    assert type(model).__name__ == "LlamaForCausalLM"
    names = {n.split(".")[-1] for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    assert {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head"} <= names


def test_build_is_cached_and_reused(private_cache, monkeypatch):
    monkeypatch.setattr(
        tiny_lm,
        "corpus_text",
        lambda: "The pass statement does nothing.\n\nLoops repeat code until a condition fails.\n\n" * 30,
    )
    path = tiny_lm.tiny_lm_path(MICRO, verbose=False)
    assert path.parent == private_cache / "tiny-lm" and (path / "config.json").is_file()
    meta = tiny_lm.metadata(MICRO)
    assert meta["key"] == path.name and meta["config"]["steps"] == 2 and len(meta["corpus_sha256"]) == 64

    def fail(*args, **kwargs):
        raise AssertionError("the cached model must be reused, not rebuilt")

    monkeypatch.setattr(tiny_lm, "_build", fail)
    assert tiny_lm.tiny_lm_path(MICRO, verbose=False) == path
    model, tokenizer = tiny_lm.load_tiny_lm(MICRO, verbose=False)
    assert not model.training and tokenizer.eos_token == "<|eos|>"
    assert not list(private_cache.joinpath("tiny-lm").glob(".building-*")), "no half-built folder may remain"


def test_named_model_path_links_to_the_folder(private_cache, monkeypatch):
    monkeypatch.setattr(tiny_lm, "corpus_text", lambda: "Some text to learn from, repeated a few times.\n\n" * 40)
    path = tiny_lm.tiny_lm_path(MICRO, verbose=False)
    link = tiny_lm.named_model_path(path, "micro-lm")
    assert link.name == "micro-lm" and link.resolve() == path.resolve()
    assert tiny_lm.named_model_path(path, "micro-lm") == link
    with pytest.raises(ValueError, match="model name"):
        tiny_lm.named_model_path(path, "../escape")
    with pytest.raises(ValueError, match="config.json"):
        tiny_lm.named_model_path(private_cache, "nothing-here")


def test_fine_tune_trains_only_the_answer_of_pairs(micro_llama):
    model, tokenizer, _ = micro_llama
    import copy

    full, answer_only = copy.deepcopy(model), copy.deepcopy(model)
    pairs = [("user: route this\nassistant:", " billing"), ("user: and this\nassistant:", " bug")]
    losses = tiny_lm.fine_tune(answer_only, tokenizer, pairs, steps=3, batch_size=2, lr=1e-2)
    assert len(losses) == 3 and all(l > 0 for l in losses)
    tiny_lm.fine_tune(full, tokenizer, [p + a for p, a in pairs], steps=1, batch_size=2, lr=1e-2)
    assert not answer_only.training


def test_fine_tune_refuses_bad_input(micro_llama):
    model, tokenizer, _ = micro_llama
    with pytest.raises(ValueError, match="at least one"):
        tiny_lm.fine_tune(model, tokenizer, [], steps=1)
    with pytest.raises(ValueError, match="positive ints"):
        tiny_lm.fine_tune(model, tokenizer, ["x"], steps=0)
    with pytest.raises(ValueError, match="lr"):
        tiny_lm.fine_tune(model, tokenizer, ["x"], steps=1, lr=0)
    with pytest.raises(ValueError, match="pair of strings"):
        tiny_lm.fine_tune(model, tokenizer, [("a", "b", "c")], steps=1)
    frozen = torch.nn.Linear(2, 2)
    frozen.requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable"):
        tiny_lm._optimise(frozen, lambda step: {}, 1, 1e-3, None)


def test_pretrain_lowers_the_loss(micro_llama):
    import copy

    model, tokenizer, text = micro_llama
    model = copy.deepcopy(model)
    ids = tokenizer(text)["input_ids"]
    config = dataclasses.replace(MICRO, steps=30, lr=1e-2)
    losses = tiny_lm.pretrain(model, ids, config)
    assert sum(losses[-5:]) / 5 < losses[0]
    with pytest.raises(ValueError, match="need more than the context"):
        tiny_lm.pretrain(model, ids[:5], config)
