"""The run manifest: what a run was started with, kept in its memo (``manifest``) so a
person can tell which prompts, model, policy and catalog produced a history, and an
operator can tell which runs an upgrade would meet.

``models`` is each role's chain of ``provider/model`` as this process's AGENT_LLM_CONFIG
has it (never a key); the worker's file decides, so keep the two the same."""

from __future__ import annotations

import hashlib
import json
from importlib import metadata

from durable_agents.activities.prompts import (
    AGENT_RULES,
    PLANNER_RULES,
    RECOVER_RULES,
    REVIEWER_RULES,
    STEP_OPTION_RULES,
)
from durable_agents.contracts import CATALOG, RunInput
from durable_agents.runtime.llm_models import role_chains
from durable_agents.runtime.offline_model import MODEL_NAME
from durable_agents.runtime.settings import Settings

PROMPTS = {
    "planner": PLANNER_RULES,
    "planner_step_options": STEP_OPTION_RULES,
    "reviewer": REVIEWER_RULES,
    "recover": RECOVER_RULES,
    "agent": AGENT_RULES,
}


def fingerprint(value: object) -> str:
    """A short stable hash of JSON-able data or text."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def catalog_version() -> str:
    """Changes whenever an action is added, removed, or changes params, risk or limits."""
    return fingerprint(
        {
            name: [spec.risk, spec.params_model.model_json_schema(), str(spec.start_to_close)]
            for name, spec in CATALOG.items()
        }
    )


def run_manifest(settings: Settings, run_input: RunInput) -> dict[str, object]:
    """The manifest of a run about to start (as this process sees the code and settings)."""
    try:
        version = metadata.version("durable-agents")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return {
        "code_version": version,
        "catalog_version": catalog_version(),
        "prompts": {name: fingerprint(text) for name, text in PROMPTS.items()},
        "model": settings.model if settings.provider_configured else MODEL_NAME,
        "models": role_chains(settings),
        "policy": fingerprint(run_input.policy.model_dump(mode="json")),
        "budget": fingerprint(run_input.budget.model_dump(mode="json")),
    }
