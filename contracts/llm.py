"""Inputs and outputs of the LLM-backed activities (plan, review) and of every action."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    Field,
    JsonValue,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from durable_agents.contracts.deliverables import DeliverableCheck
from durable_agents.contracts.plan import Compensation, Plan, Step
from durable_agents.contracts.policy import Policy
from durable_agents.contracts.run import Usage
from durable_agents.contracts.tools import ToolSpec

# The policy fields activities check again on final arguments (files, HTTP, SQL, look).
ACTIVITY_POLICY_FIELDS = ("decisions", "allow_hosts")


class ActionContext(BaseModel):
    """Who is calling an action: set by workflow code, never by the planner."""

    run_id: str
    step_id: str
    workspace: str
    policy: Policy = Field(default_factory=Policy, description="Checked again on final args")
    approved: bool = Field(
        default=False,
        description="A person approved this step's exact arguments (a replace, a SQL write)",
    )
    artifact_runs: list[str] = Field(
        default_factory=list,
        description="Other runs whose stored artifacts this run may read (and their "
        "sub-goals'): the runs whose outputs a retry reuses",
    )
    variation: int = Field(
        default=0,
        ge=0,
        description="Which plan version redoes this step (0: the first): an llm step redone "
        "after a failed check samples differently instead of writing the same answer",
    )

    @model_serializer(mode="wrap")
    def _slim(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """What an activity reads, no more: every call carries it into history (measured:
        413 bytes with the whole policy, about half without what activities never read);
        the policy's decisions and hosts are always sent, so the run's pinned ones apply."""
        data: dict[str, Any] = handler(self)
        data["policy"] = {key: data["policy"][key] for key in ACTIVITY_POLICY_FIELDS}
        for key, default in (("approved", False), ("artifact_runs", []), ("variation", 0)):
            if data.get(key) == default:
                del data[key]
        return data


class ActionResult(BaseModel):
    """An action's output, plus what the workflow cannot see itself (attempt, usage)."""

    output: JsonValue
    attempt: int = 1
    usage: Usage | None = None
    undo: list[Compensation] = Field(
        default_factory=list, description="How to undo what this call did, in order"
    )


class StepDigest(BaseModel):
    """A compact view of a step for LLM prompts: previews, never whole payloads."""

    id: str
    title: str
    action: str
    status: str
    params_preview: str = ""
    output_preview: str = ""
    error: str | None = None


class PlanRequest(BaseModel):
    """Ask for a plan; on repair, ``errors`` holds exactly what was wrong last time."""

    goal: str
    finished_steps: list[StepDigest] = Field(default_factory=list)
    failed_steps: list[StepDigest] = Field(
        default_factory=list, description="Steps that failed, with their params and error"
    )
    feedback: str | None = None
    previous_answer: str | None = None
    errors: list[str] = Field(default_factory=list)
    rejected_plan: str | None = Field(default=None, description="The answer that had errors")
    lessons: list[str] = Field(
        default_factory=list, description="What earlier runs with similar goals learned"
    )
    variation: int = Field(
        default=0, ge=0, description="Which plan or repair of the run this is: varies sampling"
    )
    observations: list[str] = Field(
        default_factory=list,
        description="What the goal's inputs look like (files, tables), probed before planning",
    )
    custom_actions: list[ToolSpec] = Field(
        default_factory=list, description="The worker's actions beyond the built-in catalog"
    )


class PlanDraft(BaseModel):
    """The planner's answer: a parsed plan, or the parse errors to send back."""

    plan: Plan | None
    raw: str
    errors: list[str] = Field(default_factory=list)
    usage: Usage


class ReviewRequest(BaseModel):
    """The goal and compact step results, for the reviewer to judge."""

    goal: str
    steps: list[StepDigest]
    replans_left: int
    deliverables: list[DeliverableCheck] = Field(
        default_factory=list, description="What the goal asks for, as read back and checked"
    )


class Review(BaseModel):
    """The reviewer's verdict; ``answer`` is shown to the user when done.

    Field order matters: a model that states the outcome before judging it judges far
    better (offline model, all steps succeeded: 0/6 "done" -> 6/6).
    """

    answer: str = Field(description="The outcome for the user, with the key values")
    verdict: Literal["done", "replan", "fail"]
    feedback: str = Field(default="", description="For replan: what the next plan must fix")


class ReviewOutcome(BaseModel):
    """A review plus the tokens it cost."""

    review: Review
    usage: Usage


class RecoverRequest(BaseModel):
    """A failed step (after its retries) for the recover activity to propose a way out."""

    goal: str
    step: Step
    arguments: dict[str, JsonValue] = Field(description="The params the failed call used")
    error: str
    attempt: int = Field(description="1 for the first recovery of this call")
    custom_action: ToolSpec | None = Field(
        default=None, description="The step's action, when it is a custom one"
    )


class Recovery(BaseModel):
    """The recover activity's proposal; workflow code validates it like a plan step."""

    reason: str = Field(description="Why this should work, in one sentence")
    decision: Literal["retry", "skip", "replan"]
    params: dict[str, JsonValue] | None = Field(
        default=None, description="For retry: the complete new params for the same action"
    )


class RecoverOutcome(BaseModel):
    """A recovery proposal plus the tokens it cost."""

    recovery: Recovery
    usage: Usage


class ToolCall(BaseModel):
    """One tool call the model asked for; ``arguments`` is its raw JSON text."""

    id: str
    name: str
    arguments: str


class AgentTurnRequest(BaseModel):
    """One turn of an agent step: the task, the tools, and the compact transcript so far
    (OpenAI chat messages: assistant tool calls and tool results as previews)."""

    task: str
    tools: list[str]
    custom_actions: list[ToolSpec] = Field(
        default_factory=list, description="Those of ``tools`` that are custom actions"
    )
    transcript: list[dict[str, JsonValue]] = Field(default_factory=list)
    final: bool = Field(default=False, description="The last turn: answer, call no tool")


class AgentTurn(BaseModel):
    """The model's reply: tool calls to make, or (with none) the final answer."""

    content: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    usage: Usage


ERRORS_MET = "failed: "  # starts the part of a lesson text that lists the errors met


class Lesson(BaseModel):
    """What one finished run learned, kept for runs with similar goals (cross-run memory)."""

    workflow_id: str
    goal: str
    outcome: Literal["succeeded", "failed"]
    lesson: str = Field(max_length=2000)


class LookRequest(BaseModel):
    """Probe the inputs a goal names (workspace files, PostgreSQL tables) before planning."""

    goal: str
    context: ActionContext


class Looked(BaseModel):
    """What the ``look`` activity saw: one short observation per input, nothing on trouble."""

    observations: list[str] = Field(default_factory=list)
    text_words: dict[str, int] = Field(
        default_factory=dict,
        description="Words in each text file the goal names, read whole: a summary's budget",
    )


class RecallRequest(BaseModel):
    """Find the lessons most relevant to a goal."""

    goal: str
    limit: int = Field(default=3, ge=1, le=10)
