"""Pydantic models shared by client, workflow and activities; a leaf with no side effects."""

from contracts.actions import CATALOG, ActionParams, ActionSpec, Risk
from contracts.llm import (
    ActionContext,
    ActionResult,
    PlanDraft,
    PlanRequest,
    Review,
    ReviewOutcome,
    ReviewRequest,
    StepDigest,
)
from contracts.plan import Plan, PlanVersion, Step
from contracts.policy import (
    ApprovalDecision,
    ApprovalRecord,
    Budget,
    DecideRequest,
    PendingApproval,
    Policy,
)
from contracts.run import (
    FINAL_STATUSES,
    TASK_QUEUE,
    WORKFLOW_NAME,
    Phase,
    RunInput,
    RunResult,
    RunStatus,
    StepState,
    StepStatus,
    Usage,
)

__all__ = [
    "CATALOG",
    "FINAL_STATUSES",
    "TASK_QUEUE",
    "WORKFLOW_NAME",
    "ActionContext",
    "ActionParams",
    "ActionResult",
    "ActionSpec",
    "ApprovalDecision",
    "ApprovalRecord",
    "Budget",
    "DecideRequest",
    "PendingApproval",
    "Phase",
    "Plan",
    "PlanDraft",
    "PlanRequest",
    "PlanVersion",
    "Policy",
    "Review",
    "ReviewOutcome",
    "ReviewRequest",
    "Risk",
    "RunInput",
    "RunResult",
    "RunStatus",
    "Step",
    "StepDigest",
    "StepState",
    "StepStatus",
    "Usage",
]
