"""The worker's secrets, collected from the environment and files; log records scrubbed."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from durable_agents.activities.redaction import REDACTED, Redactor
from durable_agents.runtime.logs import JsonFormatter, RedactingFilter
from durable_agents.runtime.secrets import known_secrets, url_password
from durable_agents.runtime.settings import Settings


def test_secrets_come_from_variables_files_and_settings(tmp_path: Path) -> None:
    key_file = tmp_path / "openai_key"
    key_file.write_text("sk-from-a-file-123\n")
    env = {
        "OPENAI_API_KEY_FILE": str(key_file),
        "TEMPORAL_API_KEY": "temporal-cloud-key",
        "AGENT_PAYLOAD_KEY": "bXkgcGF5bG9hZCBrZXk=",
        "AGENT_CODEC_TOKEN": "codec-token-42",
        "DATABASE_URL": "postgresql://app:p%40ssw0rd!@db/main",
        "AGENT_TASK_QUEUE": "not-a-secret",
        "DATABASE_URL_FILE": str(tmp_path / "missing"),  # unreadable: skipped, not raised
    }
    settings = Settings(openai_api_key="sk-set-in-code-456")
    assert known_secrets(env, settings) == {
        "sk-from-a-file-123",
        "temporal-cloud-key",
        "bXkgcGF5bG9hZCBrZXk=",
        "codec-token-42",
        "p%40ssw0rd!",
        "p@ssw0rd!",
        "sk-set-in-code-456",
    }
    assert known_secrets({}) == frozenset()
    assert url_password("postgresql://app@db/main") is None
    assert url_password("http://[bad") is None


def _record(msg: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("failed with sk-logged-key-789")
        except ValueError:
            exc_info = sys.exc_info()
    return logging.LogRecord("httpx", logging.INFO, __file__, 1, msg, args, exc_info)


def test_the_filter_scrubs_message_arguments_and_exceptions() -> None:
    scrub = RedactingFilter(Redactor(["sk-logged-key-789"]))
    request = _record(
        'HTTP Request: %s %s "%s"', "GET", "http://u:s3cretpw@h:1/x?token=tok123", "HTTP/1.1 200"
    )
    assert scrub.filter(request)
    assert request.getMessage() == 'HTTP Request: GET http://h:1/x?token=*** "HTTP/1.1 200"'

    failed = _record("call failed: %s", "sk-logged-key-789", exc=True)
    assert scrub.filter(failed)
    text = logging.Formatter().format(failed)
    entry = json.loads(JsonFormatter().format(failed))
    for shown in (text, entry["message"], entry["exception"]):
        assert "sk-logged-key-789" not in shown and REDACTED in shown
    assert "ValueError: failed with" in entry["exception"]

    broken = _record("%d items", "sk-logged-key-789")  # bad arguments: still scrubbed
    assert scrub.filter(broken) and "sk-logged-key-789" not in broken.getMessage()


def test_the_keys_of_an_llm_configs_providers_are_secrets(tmp_path: Path) -> None:
    """A provider's key lives in the variable its api_key_env names (or <NAME>_FILE)."""
    config = tmp_path / "llm.toml"
    config.write_text(
        '[providers.local]\nbase_url = "http://127.0.0.1:1/v1"\napi_key_env = "LOCAL_KEY"\n'
        '[providers.other]\nbase_url = "http://127.0.0.1:2/v1"\napi_key_env = "OTHER_KEY"\n'
    )
    (tmp_path / "other.key").write_text("sk-other-from-file\n")
    env = {
        "AGENT_LLM_CONFIG": str(config),
        "LOCAL_KEY": "sk-local-123",
        "OTHER_KEY_FILE": str(tmp_path / "other.key"),
    }
    found = known_secrets(env)
    assert {"sk-local-123", "sk-other-from-file"} <= found
    settings = Settings(llm_config=str(config))  # a worker's settings built in code
    assert "sk-local-123" in known_secrets(env | {"AGENT_LLM_CONFIG": ""}, settings)
    assert Redactor(found)("rejected key sk-local-123") == f"rejected key {REDACTED}"
    broken = env | {"AGENT_LLM_CONFIG": str(tmp_path / "missing.toml")}
    assert "sk-local-123" not in known_secrets(broken)  # refused at start instead
