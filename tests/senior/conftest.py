"""Shared fixtures of the senior-phase tests: one torch thread, a private cache folder."""

import pytest


@pytest.fixture(autouse=True)
def _one_thread():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture()
def private_cache(tmp_path, monkeypatch):
    """Point ``curriculum.paths.cache_dir`` at a temporary folder."""
    monkeypatch.setenv("AIE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="session")
def micro_llama():
    """A randomly initialised 1-layer Llama and a byte-level tokenizer trained on a few paragraphs."""
    from curriculum.senior import tiny_lm

    text = "\n\n".join(
        [
            "The billing team handles charges, invoices and refunds for every plan.",
            "The account team resets passwords and two-factor authentication.",
            "A bug is something broken: an error, a crash, a blank page.",
            "A feature request asks for something the product does not do yet.",
            "To cancel, the owner ends the subscription in the settings.",
        ]
        * 20
    )
    tokenizer = tiny_lm.train_tokenizer(text, 300)
    config = tiny_lm.TinyLMConfig(
        vocab_size=300,
        hidden_size=16,
        num_layers=1,
        num_heads=2,
        intermediate_size=32,
        context=16,
        steps=3,
        batch_size=2,
    )
    model = tiny_lm.build_model(config, tokenizer).eval()
    return model, tokenizer, text
