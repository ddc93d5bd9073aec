"""The secret values this process knows, collected once at start so error texts and log
lines can be scrubbed of them (``activities.redaction.Redactor``).

They are the values of OPENAI_API_KEY, TEMPORAL_API_KEY, AGENT_PAYLOAD_KEY,
AGENT_CODEC_TOKEN, the password in DATABASE_URL and the keys of AGENT_LLM_CONFIG's
providers (the variables its ``api_key_env`` entries name), each also read from the file
its ``<NAME>_FILE`` variable names (as ``runtime.settings`` reads them), plus the key and
the password of a ``Settings`` object built in code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

from durable_agents.activities.redaction import Redactor
from durable_agents.runtime.llm_models import CONFIG_VARIABLE, load_llm_config
from durable_agents.runtime.settings import Settings, SettingsProblem, secret

SECRET_VARIABLES = (
    "OPENAI_API_KEY",
    "TEMPORAL_API_KEY",
    "AGENT_PAYLOAD_KEY",
    "AGENT_CODEC_TOKEN",
)
URL_VARIABLES = ("DATABASE_URL",)  # only the password in it is secret


def known_secrets(
    env: Mapping[str, str] | None = None, settings: Settings | None = None
) -> frozenset[str]:
    """Every secret value the environment (and ``settings``) holds; unreadable files are
    skipped here (the settings report them)."""
    env = os.environ if env is None else env
    found = {_value(env, name) for name in SECRET_VARIABLES}
    found |= {_value(env, name) for name in _provider_key_variables(env, settings)}
    urls = {_value(env, name) for name in URL_VARIABLES}
    if settings is not None:
        found.add(settings.openai_api_key)
        urls.add(settings.database_url)
    for url in filter(None, urls):
        password = url_password(url)
        found |= {password, unquote(password)} if password else set()
    return frozenset(value for value in found if value)


def _provider_key_variables(env: Mapping[str, str], settings: Settings | None) -> list[str]:
    """The variables AGENT_LLM_CONFIG names as its providers' keys (``api_key_env``);
    a config that cannot be read has none here (the worker refuses it at start)."""
    path = settings.llm_config if settings is not None else env.get(CONFIG_VARIABLE)
    try:
        config = load_llm_config(path)
    except SettingsProblem:
        return []
    if config is None:
        return []
    return [p.api_key_env for p in config.providers.values() if p.api_key_env]


def redactor(env: Mapping[str, str] | None = None, settings: Settings | None = None) -> Redactor:
    """A ``Redactor`` for this process's secrets."""
    return Redactor(known_secrets(env, settings))


def url_password(url: str) -> str | None:
    """The password of a URL's user info as written (``postgresql://user:pw@host/db``)."""
    try:
        return urlsplit(url).password or None
    except ValueError:
        return None


def _value(env: Mapping[str, str], name: str) -> str | None:
    """Best effort: a secret file that cannot be read has nothing to redact."""
    try:
        return secret(env, name)
    except SettingsProblem:
        return None
