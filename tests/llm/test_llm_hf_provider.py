"""``hf:<path>``: a tiny randomly initialised Llama-style model saved to a temporary directory."""

from __future__ import annotations

import pytest

from curriculum.llm import ConfigurationError, Usage, get_model
from curriculum.llm.hf_provider import parse_tool_calls, plain_prompt

SENTENCES = [
    "system user assistant : the model answers from sources",
    "pass is a null operation and nothing happens",
    "break terminates the nearest enclosing loop",
    "what does pass do ?",
]
CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }} : {{ m['content'] }} . {% endfor %}"
    "{% if add_generation_prompt %}assistant : {% endif %}"
)


def save_tiny_model(directory, chat_template: str | None) -> str:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    tokenizer.train_from_iterator(
        SENTENCES, trainers.WordLevelTrainer(special_tokens=["<unk>", "<pad>", "<s>", "</s>"])
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, unk_token="<unk>", pad_token="<pad>", bos_token="<s>", eos_token="</s>"
    )
    if chat_template:
        fast.chat_template = chat_template
    fast.save_pretrained(directory)
    config = LlamaConfig(
        vocab_size=fast.vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=128,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(directory)
    return str(directory)


@pytest.fixture(scope="module")
def templated_path(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("tiny-llama-chat"), CHAT_TEMPLATE)


@pytest.fixture(scope="module")
def plain_path(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("tiny-llama-plain"), None)


CHAT = [{"role": "system", "content": "answers from sources"}, {"role": "user", "content": "what does pass do ?"}]


def test_greedy_generation_is_deterministic_and_local_models_cost_nothing(templated_path):
    model = get_model(f"hf:{templated_path}")
    first, second = model.complete(CHAT, max_tokens=6), model.complete(CHAT, max_tokens=6)
    assert first.text == second.text
    assert first.provider == "hf" and first.cost_usd == 0.0
    assert first.model == model.model_name


def test_usage_counts_prompt_and_generated_token_ids(templated_path):
    model = get_model(f"hf:{templated_path}")
    prompt_ids = model.tokenizer.apply_chat_template(CHAT, add_generation_prompt=True, return_dict=True)["input_ids"]
    done = model.complete(CHAT, max_tokens=5)
    assert done.usage.input_tokens == len(prompt_ids)
    assert 1 <= done.usage.output_tokens <= 5
    assert done.stop_reason in ("max_tokens", "end_turn")
    if done.usage.output_tokens == 5:
        assert done.stop_reason == "max_tokens"


def test_streamed_text_matches_the_non_streamed_text(templated_path):
    model = get_model(f"hf:{templated_path}")
    pieces: list[str] = []
    streamed = model.complete(CHAT, max_tokens=6, stream=True, on_token=pieces.append)
    assert streamed.text == model.complete(CHAT, max_tokens=6).text
    assert "".join(pieces).strip() == streamed.text.strip()


def test_tokenizer_without_chat_template_gets_the_plain_prompt(plain_path):
    model = get_model(f"hf:{plain_path}")
    done = model.complete(CHAT, max_tokens=3)
    expected = len(model.tokenizer(plain_prompt(CHAT))["input_ids"])
    assert done.usage.input_tokens == expected and isinstance(done.usage, Usage)


def test_plain_prompt_lists_roles_then_the_assistant_cue():
    assert plain_prompt(CHAT) == "system: answers from sources\nuser: what does pass do ?\nassistant:"


def test_tool_call_markup_in_a_reply_becomes_a_tool_call():
    text, calls = parse_tool_calls(
        'Checking. <tool_call>{"name": "search_docs", "arguments": {"query": "pass"}}</tool_call>'
    )
    assert text == "Checking." and calls[0].name == "search_docs" and calls[0].arguments == {"query": "pass"}


def test_directory_without_a_model_is_refused(tmp_path):
    with pytest.raises(ConfigurationError, match="config.json"):
        get_model(f"hf:{tmp_path}")
