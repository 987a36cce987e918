"""``get_model``: spec strings, the AIE_MODEL / AIE_MODEL_FALLBACK environment, chains."""

from __future__ import annotations

import pytest

from curriculum.llm import ConfigurationError, FallbackModel, ResilientModel, get_model
from curriculum.llm.factory import resolve_spec, split_chain


def test_chain_string_splits_on_arrows_and_drops_repeats():
    assert split_chain(" anthropic:claude-haiku-4-5 ->openai:gpt-4o-mini-> offline -> offline") == [
        "anthropic:claude-haiku-4-5",
        "openai:gpt-4o-mini",
        "offline",
    ]


def test_environment_names_the_model_and_the_fallback_links():
    env = {"AIE_MODEL": "anthropic:claude-haiku-4-5", "AIE_MODEL_FALLBACK": "openai:gpt-4o-mini -> offline"}
    assert resolve_spec(None, env) == "anthropic:claude-haiku-4-5 -> openai:gpt-4o-mini -> offline"
    assert resolve_spec(None, {}) == "offline"
    assert resolve_spec(None, {"AIE_MODEL_FALLBACK": "offline"}) == "offline -> offline"
    assert resolve_spec("openai:gpt-4o-mini", env) == "openai:gpt-4o-mini"


def test_aie_model_switches_the_default_model(monkeypatch, no_api_keys):
    monkeypatch.setenv("AIE_MODEL", "openai:gpt-4o-mini")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    model = get_model()
    assert isinstance(model, ResilientModel) and model.spec == "openai:gpt-4o-mini"


def test_chain_link_without_a_key_is_skipped_and_listed(no_api_keys):
    model = get_model("anthropic:claude-haiku-4-5 -> offline")
    assert isinstance(model, FallbackModel) and model.spec == "offline"
    assert [spec for spec, _ in model.skipped] == ["anthropic:claude-haiku-4-5"]
    assert "ANTHROPIC_API_KEY" in str(model.skipped[0][1])


def test_chain_where_no_link_can_be_built_is_refused(no_api_keys):
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        get_model("openai:gpt-4o-mini -> anthropic:claude-haiku-4-5")


@pytest.mark.parametrize("spec", ["gpt-4o", "openai:", "offline:big", "mistral:large", "hf:"])
def test_unknown_specs_are_refused_with_the_accepted_forms(spec, no_api_keys):
    with pytest.raises(ConfigurationError, match="openai:<model>"):
        get_model(spec)


def test_single_client_with_a_chain_is_refused(openai_sdk):
    client, _ = openai_sdk()
    with pytest.raises(ConfigurationError, match="clients="):
        get_model("openai:gpt-4o-mini -> offline", client=client)


def test_hosted_models_are_wrapped_with_retries_and_a_breaker(openai_sdk):
    client, _ = openai_sdk()
    model = get_model("openai:gpt-4o-mini", client=client, failure_threshold=2, cooldown_s=5)
    assert isinstance(model, ResilientModel)
    assert (model.breaker.failure_threshold, model.breaker.cooldown_s) == (2, 5)
    assert model.inner.client.max_retries == 0  # the layer retries, not the SDK
