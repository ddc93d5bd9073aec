"""How an action is described and called: its risk class, the base of its params model,
and the spec workflow code calls it by (timeouts, retry policies, heartbeats)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from temporalio.common import RetryPolicy

# Error type of an activity that found, on the real system, that it needs a person's
# approval (e.g. a write would replace a file); workflow code asks, then runs it again.
NEEDS_APPROVAL = "NeedsApproval"
BUILT_IN = "built-in"  # ActionSpec.source of the catalog's own actions


class Risk(StrEnum):
    """How much harm a step can do; the approvals/guardrails policy keys on this."""

    READ = "read"
    WRITE = "write"  # inside the workspace
    EXTERNAL = "external"  # a side effect outside the run: non-GET HTTP, SQL writes
    DESTRUCTIVE = "destructive"  # deletes or overwrites what exists


class ActionParams(BaseModel):
    """Base for params models: unknown keys are errors, so typos reach the planner."""

    model_config = ConfigDict(extra="forbid")


FILE_RETRY = RetryPolicy(maximum_attempts=3, initial_interval=timedelta(milliseconds=200))
NETWORK_RETRY = RetryPolicy(
    maximum_attempts=5,
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
)
# Providers throttle and fail often: with 30 % of calls failing (tests/test_llm_faults.py),
# 5 attempts lost about 1 call in 400 (a run, measured once in 6); 10 lose 1 in 170,000.
LLM_RETRY = RetryPolicy(
    maximum_attempts=10,
    initial_interval=timedelta(seconds=2),
    maximum_interval=timedelta(seconds=60),
)
# A 1.5B model on two busy cores needs up to ~80 s per plan; hosted models far less.
LLM_TIMEOUT = timedelta(minutes=5)
# Heartbeating activities beat every second; the SDK sends at most every 0.8 x this.
HEARTBEAT_TIMEOUT = timedelta(seconds=10)


@dataclass(frozen=True)
class ActionSpec:
    """One catalog entry: what the planner sees and how workflow code calls it."""

    name: str
    description: str
    params_model: type[ActionParams]
    risk: Risk
    start_to_close: timedelta
    retry_policy: RetryPolicy
    example: str
    runs_in_workflow: bool = False  # executed by workflow code (a timer, signal, child)
    # Long calls heartbeat so a cancel reaches them and a dead worker shows quickly.
    heartbeat: timedelta | None = None
    uses_llm: bool = False  # runs on the run's LLM task queue when it has one
    # Offered to expert (configured) planners only: a small model misuses it (measured:
    # JMESPath in transform, loops in agent and sub_goal) and each action lengthens the
    # prompt it reads; plans given by a person may still use it.
    expert_only: bool = False
    # A deterministic function of its params with no side effect (transform, records,
    # set_keys): run as a local activity, recorded in history as a marker without a
    # server round trip per call (bench/step_overhead.py), and safe to run again.
    pure: bool = False
    # Params offered to expert (configured) planners only (a small model fills every field
    # the grammar offers: measured with when/foreach); plans given by a person may set them.
    expert_params: frozenset[str] = frozenset()
    source: str = BUILT_IN  # or "app" / "mcp:<server>": a custom action (contracts.tools)
    classified: bool = False  # the worker judges each call's risk from its params
