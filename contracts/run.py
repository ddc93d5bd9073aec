"""The run's durable contract: what a client starts, queries and receives back."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field, JsonValue, field_serializer, field_validator

from durable_agents.contracts.deliverables import DeliverableCheck
from durable_agents.contracts.limits import MAX_DEPTH, deeper_than
from durable_agents.contracts.plan import Compensation, Plan, PlanVersion, Step
from durable_agents.contracts.policy import ApprovalRecord, Budget, PendingApproval, Policy
from durable_agents.contracts.tools import ToolSpec

TASK_QUEUE = "agent-workflows"
WORKFLOW_NAME = "AgentWorkflow"


class WorkflowActivity(StrEnum):
    """The activities the workflow itself calls, by name (the catalog's actions are
    named by their specs)."""

    PLAN = "plan"
    REVIEW = "review"
    RECOVER = "recover"
    AGENT_TURN = "agent_turn"
    RECALL = "recall"
    REMEMBER = "remember"
    INSPECT = "inspect"
    LOOK = "look"


MAX_SUB_GOAL_DEPTH = 2  # a run may start sub-goal runs, and they theirs, no deeper
EVENT_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$"


class Usage(BaseModel):
    """Token usage of LLM calls; ``calls`` counts requests, including failed parses."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = Field(default=0.0, description="From the run's price table")
    model: str | None = Field(default=None, description="Set on one call's usage")

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, other: Usage | None) -> None:
        """Accumulate another call's usage in place."""
        if other is None:
            return
        self.calls += other.calls
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cost_usd = round(self.cost_usd + other.cost_usd, 6)


class RunInput(BaseModel):
    """Everything a run needs, pinned at start so replays decide the same way."""

    goal: str = Field(min_length=1, max_length=20_000)
    workspace: str = Field(
        description="Absolute folder that file actions are confined to, or worker:NAME: "
        "the folder NAME under the worker's AGENT_WORKSPACE_ROOT"
    )
    plan: Plan | None = Field(default=None, description="A given plan skips LLM planning")
    review: bool = Field(default=True, description="Ask the LLM to judge the results")
    review_checked: bool = Field(
        default=True,
        description="Ask it also when every deliverable's content passed its checks in "
        "code; False: such a run is done without a reviewer (measured with the embedded "
        "1.5B model: its reviewer sent a correct, fully checked file back to re-planning)",
    )
    max_parallel: int = Field(default=4, ge=1, le=64)
    max_replans: int = Field(default=2, ge=0, le=20)
    max_plan_repairs: int = Field(default=3, ge=0, le=10)
    policy: Policy = Field(default_factory=Policy, description="Guardrails and approvals")
    budget: Budget = Field(default_factory=Budget, description="Limits; unlimited by default")
    compensate: bool = Field(
        default=True,
        description="If the run fails or is cancelled, undo finished steps, newest first",
    )
    depth: int = Field(default=0, ge=0, le=MAX_SUB_GOAL_DEPTH, description="0 for a top-level run")
    continue_after_events: int = Field(
        default=10_000,
        ge=1,
        description="At a re-plan boundary past this many history events (or when the "
        "server suggests it), continue as a new run carrying the state",
    )
    memory: bool = Field(
        default=False,
        description="Recall lessons of similar runs for planning, and store this run's "
        "(needs the worker's DATABASE_URL)",
    )
    search_attributes: bool = Field(
        default=False,
        description="The cluster has the agent's search attributes (contracts.visibility): "
        "publish the phase and pending approvals to visibility",
    )
    visible_title: str | None = Field(
        default=None,
        description="AgentTitle to publish with them; None when payloads are sealed (the "
        "goal must not reach visibility in plain text)",
    )
    reuse: list[ReusedStep] = Field(
        default_factory=list, description="starter.py retry: outputs of an earlier run's steps"
    )
    carried: CarriedState | None = Field(
        default=None, description="Set by continue-as-new: where the previous run stopped"
    )
    llm_task_queue: str | None = Field(
        default=None,
        description="Task queue for LLM calls (plan, review, recover, agent turns, llm "
        "steps), whose worker limits them separately so a slow model cannot take the "
        "slots HTTP/SQL/file work needs; None: the run's own task queue",
    )
    local_llm_steps: bool = Field(
        default=False,
        description="Run llm steps as local activities on the workflow's worker: no task "
        "queue round trip per call (wide fan-outs to a fast provider finish sooner), but "
        "no live progress, no heartbeats and no separate LLM queue for them",
    )


class RunEvent(BaseModel):
    """Input of the ``event`` signal: a named event a ``wait_for_event`` step waits for.

    Events that arrive before a step waits for them are kept, oldest first.
    """

    name: str = Field(pattern=EVENT_NAME_PATTERN)
    payload: JsonValue = None

    @field_validator("payload")
    @classmethod
    def _shallow(cls, payload: JsonValue) -> JsonValue:
        # A deeper payload could be kept but not decoded again once wrapped in the run's
        # result or continue-as-new state; the signal is refused (dropped, logged) instead.
        if deeper_than(payload):
            raise ValueError(f"the payload nests more than {MAX_DEPTH} levels deep")
        return payload


class CompensationRecord(BaseModel):
    """One undo the run attempted (or could not attempt) after a failure or cancel."""

    step_id: str
    item: int | None = Field(default=None, description="The foreach item, if any")
    compensation: Compensation
    outcome: Literal["undone", "failed", "impossible", "blocked"]
    error: str | None = None


class StepStatus(StrEnum):
    """Lifecycle of a step; succeeded, failed and skipped are final."""

    PENDING = "pending"
    AWAITING_APPROVAL = "awaiting_approval"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


FINAL_STATUSES = frozenset({StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.SKIPPED})


class StepState(BaseModel):
    """A step's record: status, attempts, timing, output or the reason it has none."""

    id: str
    title: str
    action: str
    plan_version: int
    status: StepStatus = StepStatus.PENDING
    attempts: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    output: JsonValue = None
    error: str | None = None
    skip_reason: str | None = None
    usage: Usage | None = None
    recoveries: list[str] = Field(
        default_factory=list, description="What on_failure=recover proposed, in order"
    )
    args_hash: str | None = Field(
        default=None, description="Hash of the action and its resolved arguments (all items)"
    )
    reused_from: str | None = Field(
        default=None, description="The run whose output this step took instead of running"
    )


class ReusedStep(BaseModel):
    """A finished step of an earlier run whose output a retry takes instead of running it
    again, if the step has the same id, action and resolved arguments."""

    step_id: str
    action: str
    args_hash: str
    output: JsonValue
    run_id: str


class UndoEntry(BaseModel):
    """A finished call's undo, carried across continue-as-new."""

    step_id: str
    item: int | None = None
    undo: list[Compensation]


class RunState(BaseModel):
    """A run's records: everything workflow code decides from that outlives a step.

    The workflow holds one of these; continue-as-new carries it as it is (``CarriedState``
    adds only why the next plan is made), so no field is listed twice. Steps and
    definitions are kept by id and written as lists, as they always were.
    """

    steps: dict[str, StepState] = Field(default_factory=dict)
    definitions: dict[str, Step] = Field(default_factory=dict)
    superseded: list[StepState] = Field(default_factory=list)
    plans: list[PlanVersion] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    replans: int = 0
    budget: Budget
    started_steps: int = 0
    first_started_at: datetime = Field(description="For the wall-time budget")
    hopeless: dict[str, str] = Field(
        default_factory=dict, description="Fingerprint -> error of a step failing for good"
    )
    last_failures: list[str] = Field(default_factory=list)
    undo: list[UndoEntry] = Field(default_factory=list, description="The saga's ledger")
    approvals: list[ApprovalRecord] = Field(default_factory=list)
    events: dict[str, list[JsonValue]] = Field(
        default_factory=dict, description="Unclaimed events, oldest first"
    )
    lessons: list[str] = Field(default_factory=list)
    observations: list[str] = Field(
        default_factory=list, description="What the goal's inputs looked like before planning"
    )
    text_words: dict[str, int] = Field(
        default_factory=dict, description="Words in each text file the goal names (look)"
    )
    continued: int = Field(default=0, description="How many runs came before this one")

    @field_validator("steps", "definitions", mode="before")
    @classmethod
    def _by_id(cls, value: object) -> object:
        if isinstance(value, list):
            return {item["id"] if isinstance(item, dict) else item.id: item for item in value}
        return value

    @field_serializer("steps", "definitions")
    def _as_list(self, value: dict[str, Any]) -> list[Any]:
        return list(value.values())

    def in_status(self, status: StepStatus) -> list[StepState]:
        """The current plan's steps with ``status``, in plan order."""
        return [state for state in self.steps.values() if state.status is status]


class CarriedState(RunState):
    """What continue-as-new carries, at a re-plan boundary (no step running, no approval
    pending): the run's records and why the next plan is made."""

    feedback: str = Field(description="What the next plan must change")
    previous_answer: str = ""
    reason: str = Field(description="The next plan version's reason")
    continued: int = Field(default=1, description="How many runs came before this one")


class Phase(StrEnum):
    """Where the plan -> execute -> review loop is."""

    PLANNING = "planning"
    EXECUTING = "executing"
    REVIEWING = "reviewing"
    COMPENSATING = "compensating"  # undoing finished steps after a failure or cancel
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def closed(self) -> bool:
        """The run has ended (its outcome)."""
        return self in (Phase.SUCCEEDED, Phase.FAILED, Phase.CANCELLED)


class RunStatus(BaseModel):
    """Answer of the ``status`` query: a snapshot a person or a CLI can render."""

    phase: Phase
    plan_version: int
    replans: int
    steps: list[StepState]
    usage: Usage
    plan: Plan | None = None
    pending_approvals: list[PendingApproval] = Field(default_factory=list)
    paused: bool = False
    budget: Budget | None = Field(default=None, description="Current limits, with extensions")
    approvals: list[ApprovalRecord] = Field(default_factory=list, description="Audit trail")
    awaited_events: list[str] = Field(
        default_factory=list, description="Events that wait_for_event steps wait for now"
    )
    compensations: list[CompensationRecord] = Field(default_factory=list)


class RunResult(BaseModel):
    """What a run returns (or carries as failure details): answer, steps, usage, plans."""

    status: Literal["succeeded", "failed"]
    answer: str
    error: str | None = None
    steps: list[StepState]
    superseded_steps: list[StepState] = Field(
        default_factory=list, description="Failed or skipped steps a re-plan replaced"
    )
    usage: Usage
    plans: list[PlanVersion]
    approvals: list[ApprovalRecord] = Field(default_factory=list, description="Audit trail")
    compensations: list[CompensationRecord] = Field(
        default_factory=list, description="After a failure: what was undone and what not"
    )
    undo: list[Compensation] = Field(
        default_factory=list,
        description="After success: how to undo the run, newest first (a parent run uses it)",
    )
    deliverables: list[DeliverableCheck] = Field(
        default_factory=list, description="The last round's checks of what the goal asks for"
    )
    custom_actions: list[ToolSpec] = Field(
        default_factory=list, description="The worker's custom actions the run could use"
    )


RunInput.model_rebuild()  # it names CarriedState and ReusedStep, defined after it
