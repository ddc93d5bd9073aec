"""Plans: a graph of typed steps, as the planner writes them and workflow code runs them.

References: any string param may embed ``${<JMESPath>}`` whose root is ``steps``, e.g.
``${steps.read_sales.output}`` or ``${steps.fetch.output.body.items[0].id}``. A string that
is exactly one reference becomes the referenced value itself (list, object, number...);
a reference inside longer text is spliced in as text (JSON for non-strings). A step
depends on every step it references, in addition to ``depends_on``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, JsonValue, model_validator

from durable_agents.contracts.deliverables import Deliverable

STEP_ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"
FOREACH_MAX_ITEMS = 100
# What happens when a step fails after its action's own retries; see ``Step.on_failure``.
OnFailure = Literal["replan", "retry", "skip", "fail", "recover"]


class Compensation(BaseModel):
    """How to undo one finished call, run if the run fails or is cancelled later.

    Declared in a plan (``Step.compensate``) or returned by an action that knows how to
    undo itself (file actions). ``action`` None means it cannot be undone, and why.
    """

    action: str | None = Field(description="A catalog action, e.g. http_request or sql_query")
    params: dict[str, JsonValue] = Field(
        default_factory=dict,
        description="Its params; may reference ${steps.<this step id>.output} and ${item}",
    )
    description: str = ""
    # Set by the run when it records the undo, never taken from a plan: an undo the plan
    # declared is judged by the policy like a step, and needs a person's approval given
    # up front together with its step if the policy asks; an action's own undo (restoring
    # what the run itself changed) may run unasked.
    source: Literal["action", "plan"] = Field(
        default="action", description="Set by the run; a plan's value is ignored"
    )
    approved: bool = Field(default=False, description="Set by the run; approved with its step")


class Step(BaseModel):
    """One node of the plan: an action with params, run once its dependencies succeed."""

    id: str = Field(pattern=STEP_ID_PATTERN, description="Unique snake_case id")
    title: str = Field(default="", description="Short human-readable title (default: the id)")
    action: str = Field(description="Name of an action in the catalog")
    params: dict[str, JsonValue] = Field(default_factory=dict)
    depends_on: list[str] = Field(default_factory=list)
    when: str | None = Field(
        default=None,
        description="Optional JMESPath over {steps: ...}; the step is skipped if false",
    )
    foreach: str | None = Field(
        default=None,
        description=(
            f"Optional JMESPath over {{steps: ...}} giving a list: the step runs once per "
            f"item (at most {FOREACH_MAX_ITEMS}, in parallel), params may use ${{item}} and "
            "${index}; the output is the list of results in item order"
        ),
    )
    on_failure: OnFailure = Field(
        default="replan",
        description=(
            "After the action's own retries: replan (default), retry (the whole step again "
            "later, for transient errors), skip (dependents are skipped, the run goes on), "
            "fail (the run stops), recover (an LLM proposes new params, skip or replan)"
        ),
    )
    compensate: Compensation | None = Field(
        default=None,
        description="How to undo this step if the run fails or is cancelled afterwards",
    )
    expected_output: str = Field(default="", description="What the step should produce")
    timeout_seconds: float | None = Field(
        default=None,
        gt=0,
        description="Each call's start-to-close timeout instead of the action's (at most the "
        "policy's max_step_timeout_seconds); null: the action's",
    )
    max_attempts: int | None = Field(
        default=None,
        ge=1,
        description="Attempts per call instead of the action's retry policy's (at most the "
        "policy's max_step_attempts); 1: never retried; null: the action's",
    )

    @model_validator(mode="after")
    def _titled(self) -> Step:
        """A plan written by hand may leave the title out: the id stands in."""
        if not self.title:
            self.title = self.id
        return self


class Plan(BaseModel):
    """An ordered list of steps; order is for reading, dependencies decide execution."""

    steps: list[Step]
    deliverables: list[Deliverable] = Field(
        default_factory=list,
        description="What the goal must produce, checked on the files as written",
    )


class PlanVersion(BaseModel):
    """A plan as adopted by the run: initial, or a re-plan with the reason for it."""

    version: int
    plan: Plan
    reason: str
    kept_step_ids: list[str] = Field(
        default_factory=list, description="Finished steps carried over, never re-run"
    )
