from pathlib import Path

import pytest

from durable_agents.runtime.llm_provider import LlmProvider
from durable_agents.runtime.offline_model import OFFLINE_SEED
from durable_agents.runtime.settings import Settings, SettingsProblem


def test_the_seed_defaults_to_fixed_offline_and_unset_for_a_provider() -> None:
    assert LlmProvider(Settings.from_env({})).seed == OFFLINE_SEED
    assert LlmProvider(Settings.from_env({"OPENAI_API_KEY": "sk-x"})).seed is None
    explicit = Settings.from_env({"OPENAI_API_KEY": "sk-x", "LLM_SEED": "-3"})
    assert LlmProvider(explicit).seed == -3


def test_a_seed_that_is_not_a_number_is_refused_with_its_value() -> None:
    with pytest.raises(ValueError, match="LLM_SEED must be an integer, got 'abc'"):
        Settings.from_env({"LLM_SEED": "abc"})


def test_the_key_never_appears_in_the_settings_repr() -> None:
    assert "sk-secret" not in repr(Settings.from_env({"OPENAI_API_KEY": "sk-secret"}))


def test_secrets_may_come_from_files(tmp_path: Path) -> None:
    key_file = tmp_path / "openai_key"
    key_file.write_text("sk-from-file\n")
    settings = Settings.from_env({"OPENAI_API_KEY_FILE": str(key_file)})
    assert settings.openai_api_key == "sk-from-file" and settings.provider_configured
    assert "sk-from-file" not in repr(settings)
    with pytest.raises(SettingsProblem, match="DATABASE_URL_FILE=/no/such: cannot read it"):
        Settings.from_env({"DATABASE_URL_FILE": "/no/such"})


def test_the_workspace_root_is_an_absolute_folder_or_unset() -> None:
    assert Settings.from_env({}).workspace_root is None
    root = Settings.from_env({"AGENT_WORKSPACE_ROOT": "/workspace"}).workspace_root
    assert root == Path("/workspace")
    with pytest.raises(SettingsProblem, match="AGENT_WORKSPACE_ROOT must be an absolute folder"):
        Settings.from_env({"AGENT_WORKSPACE_ROOT": "workspace"})
