"""Guardrail policy and approval messages: pinned in the run input, decided in code.

The LLM never sees a way around these: workflow code decides allow / approve / block from
the policy in ``RunInput`` (so a replay decides the same), and activities check the final
arguments again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from durable_agents.contracts.action_spec import Risk
from durable_agents.contracts.actions import CATALOG

Decision = Literal["allow", "approve", "block"]

DEFAULT_DECISIONS: dict[Risk, Decision] = {
    Risk.READ: "allow",
    Risk.WRITE: "allow",
    Risk.EXTERNAL: "approve",
    Risk.DESTRUCTIVE: "approve",
}


class Policy(BaseModel):
    """What a run may do without asking; defaults are what a careful user expects."""

    model_config = ConfigDict(extra="forbid")

    decisions: dict[Risk, Decision] = Field(
        default_factory=lambda: dict(DEFAULT_DECISIONS),
        description="Per risk class: allow, approve (ask a person) or block",
    )
    allow_hosts: list[str] = Field(
        default_factory=list,
        description=(
            "Private or loopback hosts HTTP steps may reach: names, IPs or CIDRs, e.g. "
            "127.0.0.1, 10.0.0.0/8, db.internal. Link-local/metadata addresses stay blocked."
        ),
    )
    approval_timeout_seconds: float = Field(
        default=24 * 3600, gt=0, description="Undecided approvals are denied after this"
    )
    max_step_timeout_seconds: float = Field(
        default=3600,
        gt=0,
        description="The longest timeout_seconds a plan may give one step's calls",
    )
    max_step_attempts: int = Field(
        default=10, ge=1, le=100, description="The most max_attempts a plan may give a step"
    )
    plan_signoff: bool = Field(
        default=False, description="Wait for one approval of each plan before running it"
    )
    rate_limits: dict[str, int] = Field(
        default_factory=dict,
        description='Calls per minute per action, e.g. {"http_request": 30}; none by default',
    )

    @field_validator("rate_limits")
    @classmethod
    def _known_actions_positive_limits(cls, limits: dict[str, int]) -> dict[str, int]:
        for action, per_minute in limits.items():
            if action not in CATALOG:
                raise ValueError(f"unknown action {action!r}; use one of: {', '.join(CATALOG)}")
            if per_minute < 1:
                raise ValueError(f"{action}: at least 1 call per minute, got {per_minute}")
        return limits

    def decision_for(self, risk: Risk) -> Decision:
        """The configured decision, or the default for a risk class the file left out."""
        return self.decisions.get(risk, DEFAULT_DECISIONS[risk])


class ApprovalDecision(BaseModel):
    """Payload of the ``approve`` / ``reject`` signals: ``{"step_id": "...", "note": "..."}``."""

    step_id: str
    note: str = ""
    by: str = Field(default="someone", description="Who decided, for the audit trail")
    args_hash: str | None = Field(
        default=None, description="Optional: only decide if the arguments still hash to this"
    )


class DecideRequest(ApprovalDecision):
    """Payload of the ``decide`` update: a decision that is validated before it is accepted."""

    approve: bool


class PendingApproval(BaseModel):
    """A step waiting for a person, with the exact arguments the decision binds to."""

    step_id: str
    title: str
    action: str
    risk: Risk | None = Field(description="None for a plan sign-off or a budget extension")
    reason: str
    args_hash: str
    arguments: JsonValue
    requested_at: datetime
    deadline: datetime


class ApprovalRecord(BaseModel):
    """One entry of the audit trail: who decided what about which exact arguments."""

    step_id: str
    outcome: Literal["approved", "rejected", "timed_out"]
    by: str
    at: datetime
    args_hash: str
    note: str = ""
    via: Literal["signal", "update", "timeout"]


class ModelPrice(BaseModel):
    """US dollars per million tokens."""

    model_config = ConfigDict(extra="forbid")

    prompt: float = Field(ge=0)
    completion: float = Field(ge=0)


# Published list prices (USD per 1M tokens) when this table was written; override per run
# with Budget.prices. A model missing here has no cost unless the run prices it.
DEFAULT_PRICES: dict[str, ModelPrice] = {
    "gpt-4o-mini": ModelPrice(prompt=0.15, completion=0.60),
    "gpt-4o": ModelPrice(prompt=2.50, completion=10.00),
    "gpt-4.1-mini": ModelPrice(prompt=0.40, completion=1.60),
    "gpt-4.1": ModelPrice(prompt=2.00, completion=8.00),
    "qwen2.5-coder-1.5b-instruct-q4_k_m": ModelPrice(prompt=0, completion=0),  # offline
}


class Budget(BaseModel):
    """Limits of one run; None means unlimited. Re-plans are bounded by ``max_replans``."""

    model_config = ConfigDict(extra="forbid")

    max_steps: int | None = Field(default=None, ge=1, description="Steps started")
    max_llm_calls: int | None = Field(default=None, ge=1, description="LLM requests")
    max_tokens: int | None = Field(default=None, ge=1, description="Prompt + completion")
    max_wall_seconds: float | None = Field(default=None, gt=0, description="Since the start")
    max_cost_usd: float | None = Field(
        default=None, gt=0, description="LLM cost from the price table; needs priced models"
    )
    prices: dict[str, ModelPrice] = Field(
        default_factory=dict, description="Per model, on top of the built-in table"
    )

    def price_of(self, model: str) -> ModelPrice | None:
        """This run's price for ``model``: its own table first, then the built-in one."""
        return self.prices.get(model) or DEFAULT_PRICES.get(model)

    on_exhausted: Literal["ask", "fail"] = Field(
        default="ask",
        description='"ask": pause and wait for an approval of key "budget" that extends '
        'the exhausted limit by its original amount; "fail": fail the run',
    )
