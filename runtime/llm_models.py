"""A model per role: which models the planner, the reviewer, ``recover``, agent turns and
``llm`` steps use, first choice then fallbacks, on which providers.

``AGENT_LLM_CONFIG`` names a TOML file::

    [providers.local]                   # "default" is OPENAI_API_KEY / OPENAI_BASE_URL
    base_url = "http://127.0.0.1:11434/v1"
    api_key_env = "LOCAL_KEY"           # the NAME of a variable (or LOCAL_KEY_FILE)
    stream = false                      # optional; else LLM_STREAM, else off

    [roles]                             # plan, review, recover, agent, llm
    plan = ["default/gpt-4o", "local/qwen2.5-coder"]
    review = "default/gpt-4o-mini"

A model is ``provider/model`` (the text before the first ``/`` names a provider, so
``local/meta-llama/Llama-3`` is model ``meta-llama/Llama-3`` of ``local``); a bare name
is a model of the default provider. A role left out uses the default provider's model.
Reading the file checks its shape; keys are looked up by ``LlmProvider`` on the worker
only, so a starter can record the chains without them.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from durable_agents.runtime.offline_model import MODEL_NAME
from durable_agents.runtime.settings import Settings, SettingsProblem, secret

ROLES = ("plan", "review", "recover", "agent", "llm")
DEFAULT_PROVIDER = "default"
CONFIG_VARIABLE = "AGENT_LLM_CONFIG"
_PROVIDER_KEYS = ("base_url", "api_key_env", "stream")
_PROVIDER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,62}$")
_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class LlmConfigProblem(SettingsProblem):
    """The AGENT_LLM_CONFIG file cannot be used as written; the message says what to fix."""


@dataclass(frozen=True)
class ProviderSpec:
    """One ``[providers.<name>]`` table: where it is and the variable holding its key."""

    name: str
    base_url: str | None = None
    api_key_env: str | None = None  # None: a local server that wants no key
    stream: bool | None = None  # None: LLM_STREAM, else off


@dataclass(frozen=True)
class ModelRef:
    """One entry of a role's chain."""

    provider: str
    model: str

    def __str__(self) -> str:
        return f"{self.provider}/{self.model}"


@dataclass(frozen=True)
class LlmConfig:
    """The providers a config declares and the chains of the roles it names."""

    providers: Mapping[str, ProviderSpec]
    roles: Mapping[str, tuple[ModelRef, ...]]


def load_llm_config(path: str | None) -> LlmConfig | None:
    """The file ``path`` (AGENT_LLM_CONFIG) names, checked; None when unset."""
    if not path:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise LlmConfigProblem(
            f"{CONFIG_VARIABLE}={path}: cannot read it ({exc.strerror}); "
            "name an existing TOML file or unset the variable"
        ) from None
    return parse_llm_config(text, f"{CONFIG_VARIABLE}={path}")


def parse_llm_config(text: str, source: str = CONFIG_VARIABLE) -> LlmConfig:
    """A config from TOML text; ``source`` starts every problem's message."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LlmConfigProblem(f"{source}: not valid TOML ({exc})") from None
    unknown = set(data) - {"providers", "roles"}
    if unknown:
        raise LlmConfigProblem(
            f"{source}: unknown table {', '.join(sorted(unknown))}; "
            "the file has [providers.<name>] and [roles] only"
        )
    providers = {
        name: _provider(source, name, table)
        for name, table in _table(source, "providers", data.get("providers")).items()
    }
    roles: dict[str, tuple[ModelRef, ...]] = {}
    for role, value in _table(source, "roles", data.get("roles")).items():
        if role not in ROLES:
            raise LlmConfigProblem(
                f"{source}: unknown role {role!r} in [roles]; use one of {', '.join(ROLES)}"
            )
        roles[role] = _chain(source, role, value, providers)
    return LlmConfig(providers=providers, roles=roles)


def _table(source: str, name: str, value: object) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise LlmConfigProblem(f"{source}: {name} must be a table ([{name}])")
    return value


def _provider(source: str, name: str, table: object) -> ProviderSpec:
    where = f"{source}: [providers.{name}]"
    if name == DEFAULT_PROVIDER:
        raise LlmConfigProblem(
            f"{where}: 'default' is OPENAI_API_KEY / OPENAI_BASE_URL / LLM_MODEL; "
            "give this provider another name"
        )
    if not _PROVIDER_NAME.match(name):
        raise LlmConfigProblem(f"{where}: name it with letters, digits, '_', '-' or '.'")
    if not isinstance(table, dict):
        raise LlmConfigProblem(f"{where}: must be a table with base_url and api_key_env")
    if "api_key" in table:
        raise LlmConfigProblem(
            f"{where}: a key never goes in the file; put it in an environment variable "
            "(or a file named by <NAME>_FILE) and give that variable's name as api_key_env"
        )
    unknown = set(table) - set(_PROVIDER_KEYS)
    if unknown:
        raise LlmConfigProblem(
            f"{where}: unknown key {', '.join(sorted(unknown))}; use {', '.join(_PROVIDER_KEYS)}"
        )
    base_url, key_env, stream = (table.get(key) for key in _PROVIDER_KEYS)
    if base_url is not None and not (isinstance(base_url, str) and base_url.strip()):
        raise LlmConfigProblem(f'{where}: base_url must be a URL, e.g. "http://host:8000/v1"')
    if key_env is not None and not (isinstance(key_env, str) and _VARIABLE_NAME.match(key_env)):
        raise LlmConfigProblem(
            f'{where}: api_key_env must be an environment variable name, e.g. "LOCAL_KEY"'
        )
    if base_url is None and key_env is None:
        raise LlmConfigProblem(f"{where}: give base_url (and api_key_env if it needs a key)")
    if stream is not None and not isinstance(stream, bool):
        raise LlmConfigProblem(f"{where}: stream must be true or false")
    return ProviderSpec(name=name, base_url=base_url, api_key_env=key_env, stream=stream)


def _chain(
    source: str, role: str, value: object, providers: Mapping[str, ProviderSpec]
) -> tuple[ModelRef, ...]:
    where = f"{source}: roles.{role}"
    entries = [value] if isinstance(value, str) else value
    if not isinstance(entries, list) or not entries:
        raise LlmConfigProblem(
            f'{where}: give a model ("provider/model") or a list of them, first choice first'
        )
    chain: list[ModelRef] = []
    for entry in entries:
        if not isinstance(entry, str) or not entry.strip():
            raise LlmConfigProblem(f"{where}: {entry!r} is not a model name")
        provider, _, model = entry.strip().partition("/")
        if not model:
            provider, model = DEFAULT_PROVIDER, provider
        if provider != DEFAULT_PROVIDER and provider not in providers:
            declared = ", ".join([DEFAULT_PROVIDER, *providers])
            raise LlmConfigProblem(
                f"{where}: unknown provider {provider!r} in {entry!r}; declare "
                f"[providers.{provider}] or use one of {declared} (a model whose name has "
                f"a '/' is written with its provider: default/{entry})"
            )
        ref = ModelRef(provider, model)
        if ref not in chain:
            chain.append(ref)
    return tuple(chain)


def provider_key(
    spec: ProviderSpec, env: Mapping[str, str], source: str = CONFIG_VARIABLE
) -> str | None:
    """The provider's key from the variable (or ``<NAME>_FILE``) its table names."""
    if spec.api_key_env is None:
        return None
    key = secret(env, spec.api_key_env)
    if key is None:
        raise LlmConfigProblem(
            f"{source}: [providers.{spec.name}] api_key_env = {spec.api_key_env!r}, but neither "
            f"{spec.api_key_env} nor {spec.api_key_env}_FILE is set on this worker; set "
            "one (the key itself never goes in the config file)"
        )
    return key


def default_model(settings: Settings) -> str:
    """The model of the default provider: LLM_MODEL, or the embedded offline model."""
    return settings.model if settings.provider_configured else MODEL_NAME


def role_chains(settings: Settings, config: LlmConfig | None = None) -> dict[str, list[str]]:
    """Each role's chain as ``provider/model`` text (never a key), e.g. for a manifest;
    ``config`` defaults to the file ``settings.llm_config`` names."""
    config = config if config is not None else load_llm_config(settings.llm_config)
    fallback = [f"{DEFAULT_PROVIDER}/{default_model(settings)}"]
    roles = config.roles if config is not None else {}
    return {
        role: [str(ref) for ref in roles[role]] if role in roles else list(fallback)
        for role in ROLES
    }


__all__ = [
    "CONFIG_VARIABLE",
    "DEFAULT_PROVIDER",
    "ROLES",
    "LlmConfig",
    "LlmConfigProblem",
    "ModelRef",
    "ProviderSpec",
    "default_model",
    "load_llm_config",
    "parse_llm_config",
    "provider_key",
    "role_chains",
]
