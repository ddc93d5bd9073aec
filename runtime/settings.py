"""Application settings, read once from the environment by worker.py / starter.py.

Temporal connection settings are not here: they come from ``temporalio.envconfig``
(profile file + TEMPORAL_* variables), see ``runtime.connection``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from durable_agents.activities.named_workspace import ROOT_ENV
from durable_agents.contracts import TASK_QUEUE

DEFAULT_MODEL = "gpt-4o-mini"


class SettingsProblem(ValueError):
    """An environment variable has a value this project cannot use; the message says which."""


@dataclass(frozen=True)
class Settings:
    """LLM provider, task queue and state directory; the API key never prints."""

    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None
    model: str = DEFAULT_MODEL
    task_queue: str = TASK_QUEUE
    state_dir: Path = Path(".agent-state")
    llm_seed: int | None = None
    database_url: str | None = field(default=None, repr=False)  # may hold a password
    # Offer foreach/on_failure to the planner; None: yes for a configured provider, no for
    # the embedded 1.5B model (measured: offered them, it looped a step over itself).
    planner_step_options: bool | None = None
    # Stream completions so heartbeats carry tokens written so far (None: the embedded
    # model streams, a configured provider does not: not all report usage in streams).
    llm_stream: bool | None = None
    # Worker concurrency. LLM calls run on their own task queue (<task_queue>-llm) with
    # their own limit, so a slow model cannot take the slots HTTP/SQL/file work needs.
    llm_task_queue: str | None = None  # None: "<task_queue>-llm"
    max_activities: int = 100  # concurrent non-LLM activities (the SDK's default)
    max_workflow_tasks: int = 100
    max_llm_calls: int = 4
    # Step outputs over this many bytes of JSON go to the artifact store, not history.
    artifact_dir: Path | None = None  # None: <state_dir>/artifacts
    artifact_threshold: int = 256_000
    # Cross-run memory: lessons in this PostgreSQL table; on when DATABASE_URL is set
    # (AGENT_MEMORY=0 turns it off).
    memory: bool | None = None
    memory_table: str = "agent_lessons"
    # The folder runs started with ``--workspace worker:NAME`` resolve NAME under
    # (AGENT_WORKSPACE_ROOT); the file activities read the same variable when they run,
    # as they do AGENT_STATE_DIR. Checked here so a relative value stops the worker.
    workspace_root: Path | None = None
    # Custom actions the worker adds to the catalog: "package.module:NAME", NAME a list of
    # runtime.custom_actions.CustomAction (AGENT_ACTIONS); imported when the worker starts.
    actions: str | None = None
    # MCP servers whose tools runs may use: a TOML file (AGENT_MCP_CONFIG), see
    # runtime.mcp_tools.load_servers; read when the worker starts.
    mcp_config: str | None = None
    # A model per role (planner, reviewer, recover, agent, llm), with fallbacks, on other
    # providers too: a TOML file (AGENT_LLM_CONFIG), see runtime.llm_models; None: every
    # call uses the default provider's model.
    llm_config: str | None = None

    @property
    def memory_enabled(self) -> bool:
        """Whether runs started here recall and store lessons."""
        return bool(self.database_url) if self.memory is None else self.memory

    @property
    def artifacts(self) -> Path:
        """Where big step outputs are kept (every worker of a run needs the same folder)."""
        return self.artifact_dir or self.state_dir / "artifacts"

    @property
    def llm_queue(self) -> str:
        """The task queue of LLM calls."""
        return self.llm_task_queue or f"{self.task_queue}-llm"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """OPENAI_API_KEY, OPENAI_BASE_URL, LLM_MODEL, LLM_SEED, AGENT_TASK_QUEUE,
        AGENT_STATE_DIR, DATABASE_URL, PLANNER_STEP_OPTIONS, AGENT_LLM_TASK_QUEUE,
        AGENT_MAX_ACTIVITIES, AGENT_MAX_WORKFLOW_TASKS, AGENT_MAX_LLM_CALLS,
        AGENT_ARTIFACT_DIR, AGENT_ARTIFACT_THRESHOLD_BYTES, AGENT_MEMORY,
        AGENT_MEMORY_TABLE, AGENT_WORKSPACE_ROOT, AGENT_ACTIONS, AGENT_MCP_CONFIG,
        AGENT_LLM_CONFIG (a model per role: the file is read by ``runtime.llm_models``).
        Secrets (OPENAI_API_KEY, DATABASE_URL) may instead come from a file named by
        <NAME>_FILE, e.g. a Docker or Kubernetes secret."""
        env = os.environ if env is None else env
        seed = env.get("LLM_SEED") or None
        if seed is not None and not seed.lstrip("-").isdigit():
            raise SettingsProblem(f"LLM_SEED must be an integer, got {seed!r}")
        return cls(
            openai_api_key=secret(env, "OPENAI_API_KEY"),
            openai_base_url=env.get("OPENAI_BASE_URL") or None,
            model=env.get("LLM_MODEL") or DEFAULT_MODEL,
            task_queue=env.get("AGENT_TASK_QUEUE") or TASK_QUEUE,
            state_dir=Path(env.get("AGENT_STATE_DIR") or ".agent-state"),
            llm_seed=int(seed) if seed is not None else None,
            database_url=secret(env, "DATABASE_URL"),
            planner_step_options=_flag(env, "PLANNER_STEP_OPTIONS"),
            llm_stream=_flag(env, "LLM_STREAM"),
            llm_task_queue=env.get("AGENT_LLM_TASK_QUEUE") or None,
            max_activities=_positive(env, "AGENT_MAX_ACTIVITIES", 100),
            max_workflow_tasks=_positive(env, "AGENT_MAX_WORKFLOW_TASKS", 100),
            max_llm_calls=_positive(env, "AGENT_MAX_LLM_CALLS", 4),
            artifact_dir=Path(env["AGENT_ARTIFACT_DIR"]) if env.get("AGENT_ARTIFACT_DIR") else None,
            artifact_threshold=_positive(env, "AGENT_ARTIFACT_THRESHOLD_BYTES", 256_000),
            memory=_flag(env, "AGENT_MEMORY"),
            memory_table=env.get("AGENT_MEMORY_TABLE") or "agent_lessons",
            workspace_root=_absolute(env, ROOT_ENV),
            actions=env.get("AGENT_ACTIONS") or None,
            mcp_config=env.get("AGENT_MCP_CONFIG") or None,
            llm_config=env.get("AGENT_LLM_CONFIG") or None,
        )

    @property
    def provider_configured(self) -> bool:
        """True when a hosted or self-run provider is set; else the offline model is used."""
        return bool(self.openai_api_key or self.openai_base_url)


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name) or None
    if value is None:
        return default
    if not value.isdigit() or int(value) < 1:
        raise SettingsProblem(f"{name} must be a whole number of at least 1, got {value!r}")
    return int(value)


def _absolute(env: Mapping[str, str], name: str) -> Path | None:
    value = env.get(name) or None
    if value is not None and not Path(value).is_absolute():
        raise SettingsProblem(f"{name} must be an absolute folder, got {value!r}")
    return Path(value) if value is not None else None


def secret(env: Mapping[str, str], name: str) -> str | None:
    """``name`` from the environment, or the content of the file ``<name>_FILE`` names."""
    if value := env.get(name):
        return value
    path = env.get(f"{name}_FILE")
    if not path:
        return None
    try:
        return Path(path).read_text(encoding="utf-8").strip() or None
    except OSError as exc:
        raise SettingsProblem(f"{name}_FILE={path}: cannot read it ({exc.strerror})") from exc


def _flag(env: Mapping[str, str], name: str) -> bool | None:
    value = (env.get(name) or "").strip().lower()
    if not value:
        return None
    if value not in ("1", "0", "true", "false"):
        raise SettingsProblem(f"{name} must be 1 or 0, got {value!r}")
    return value in ("1", "true")
