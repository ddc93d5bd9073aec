"""What every part of a run shares: its records, the moment it is in, its approval desk
and its saga, plus the run's ways to fail and to show itself in the Web UI.

Workflow code only (deterministic): the parts (planning, scheduling, steps, undo, review)
take a ``Run`` and act on it; the workflow class is the shell around them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import timedelta
from typing import Any, Literal

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

from durable_agents.contracts import (
    Phase,
    RunInput,
    RunResult,
    StepDigest,
    StepState,
    StepStatus,
)
from durable_agents.contracts.action_spec import (
    HEARTBEAT_TIMEOUT,
    LLM_RETRY,
    LLM_TIMEOUT,
    ActionSpec,
)
from durable_agents.contracts.actions import CATALOG
from durable_agents.contracts.deliverables import DeliverableCheck
from durable_agents.contracts.plan import Plan
from durable_agents.contracts.run import RunState
from durable_agents.contracts.tools import (
    LIST_TOOLS,
    TOOLS_LISTED_PATCH,
    ToolListing,
    ToolSpec,
    run_actions,
)
from durable_agents.contracts.visibility import (
    AGENT_PENDING,
    AGENT_PHASE,
    AGENT_TITLE,
    AWAITING_APPROVAL,
    TITLE_CHARS,
)
from durable_agents.workflows.approvals import ApprovalDesk
from durable_agents.workflows.calls import activity_failure
from durable_agents.workflows.digest import approval_details, digest, event_details
from durable_agents.workflows.plan_checks import fingerprint, step_dependencies
from durable_agents.workflows.saga import Saga

SEARCH_ATTRIBUTES_PATCH = "search-attributes-v1"  # workflow.patched id: publish to visibility
READS_OWN_STEPS = "reads-own-steps-v1"  # workflow.patched id: a step sees what it depends on
TOOL_LISTING_TIMEOUT = timedelta(seconds=30)


class Run:
    """One run: its records (``state``, carried whole by continue-as-new) and its moment."""

    def __init__(self, run_input: RunInput) -> None:
        self.input = run_input
        carried = run_input.carried
        self.state = (
            RunState.model_validate(dict(carried))
            if carried is not None
            else RunState(budget=run_input.budget, first_started_at=workflow.info().start_time)
        )
        self.dependencies = {
            key: step_dependencies(step) for key, step in self.state.definitions.items()
        }
        self.phase = Phase.PLANNING
        self.paused = False
        self.awaited: list[str] = []  # events wait_for_event steps wait for now
        self.asking: dict[str, asyncio.Lock] = {}  # one approval at a time per step
        self.halted: str | None = None  # why an on_failure=fail step stopped the run
        self.checks: list[DeliverableCheck] = []  # the last round's deliverable checks
        timeout = timedelta(seconds=run_input.policy.approval_timeout_seconds)
        self.desk = ApprovalDesk(timeout, on_change=self.show, audit=self.state.approvals)
        self.saga = Saga(self.state.undo)
        self._published: tuple[str, tuple[str, ...]] | None = None  # in visibility now
        # The worker's custom actions, once asked (``list_tools``), and the run's catalog.
        self.tools: list[ToolSpec] | None = None
        self.actions: dict[str, ActionSpec] = dict(CATALOG)

    @property
    def steps(self) -> dict[str, StepState]:
        return self.state.steps

    def set_phase(self, phase: Phase) -> None:
        self.phase = phase
        self.show()

    def show(self) -> None:
        """The run's current details in the Web UI: phase, progress, what waits for whom."""
        done = len(self.state.in_status(StepStatus.SUCCEEDED))
        summary = (
            f"**{self.phase.value}** · plan v{len(self.state.plans)} · {done}/"
            f"{len(self.steps)} steps succeeded · {self.state.usage.total_tokens} tokens"
        )
        if self.paused:
            summary += " · **paused** (signal resume to continue)"
        run_id = workflow.info().workflow_id
        waiting = [approval_details(run_id, p) for p in self.desk.pending.values()]
        waiting += [event_details(run_id, name) for name in self.awaited]
        workflow.set_current_details("\n\n".join([summary, *waiting]))
        if self.input.search_attributes:
            self.publish()

    def publish(self) -> None:
        """The phase (or awaiting_approval) and the waiting steps, to visibility: upserted
        only when they change, so history gets one event per change."""
        pending = sorted(self.desk.pending)
        phase = AWAITING_APPROVAL if pending and not self.phase.closed else self.phase.value
        shown = (phase, tuple(pending))
        if shown == self._published or not workflow.patched(SEARCH_ATTRIBUTES_PATCH):
            return
        updates: list[SearchAttributeUpdate[Any]] = [
            AGENT_PHASE.value_set(phase),
            AGENT_PENDING.value_set(pending),
        ]
        if self._published is None and self.input.visible_title:
            updates.append(AGENT_TITLE.value_set(self.input.visible_title[:TITLE_CHARS]))
        workflow.upsert_search_attributes(updates)
        self._published = shown

    async def unpaused(self) -> None:
        await workflow.wait_condition(lambda: not self.paused, timeout_summary="paused")

    def skip(self, step_id: str, reason: str) -> None:
        state = self.steps[step_id]
        state.status, state.skip_reason = StepStatus.SKIPPED, reason
        state.finished_at = workflow.now()

    def finish_failed(self, state: StepState, error: str, *, for_good: bool = True) -> None:
        """``for_good``: the same step would fail the same way again, so a re-plan that
        repeats it is refused (transient errors that outlasted their retries may pass)."""
        state.status, state.error, state.finished_at = StepStatus.FAILED, error, workflow.now()
        if for_good:
            self.state.hopeless[fingerprint(self.state.definitions[state.id])] = error

    def digest(self, state: StepState) -> StepDigest:
        return digest(state, self.state.definitions[state.id])

    def reference_context(self, step_id: str | None = None) -> dict[str, dict[str, Any]]:
        """What ``${steps...}`` references and ``when`` conditions read: for ``step_id``,
        the steps it depends on (every step its expressions name is one) and itself, so
        resolving a step costs the same in a 10-step plan as in a 500-step one."""
        readable: Iterable[str] = self.steps
        if step_id is not None and workflow.patched(READS_OWN_STEPS):
            readable = sorted((self.dependencies[step_id] | {step_id}) & self.steps.keys())
        steps = self.steps
        return {
            "steps": {
                key: {"output": steps[key].output, "status": steps[key].status.value}
                for key in readable
            }
        }

    def result(
        self, status: Literal["succeeded", "failed"], answer: str, error: str | None = None
    ) -> RunResult:
        return RunResult(
            status=status,
            answer=answer,
            error=error,
            steps=list(self.steps.values()),
            superseded_steps=self.state.superseded,
            usage=self.state.usage,
            plans=self.state.plans,
            approvals=self.desk.audit,
            compensations=self.saga.records,
            undo=self.saga.pending() if status == "succeeded" else [],
            deliverables=self.checks,
            custom_actions=self.tools or [],
        )

    def failure(self, message: str, error_type: str = "RunFailed") -> ApplicationError:
        """The run's end as a failure, carrying the partial result."""
        self.set_phase(Phase.FAILED)
        result = self.result("failed", "", message)
        return ApplicationError(message, result, type=error_type, non_retryable=True)

    async def list_tools(self, needed: bool = True) -> None:
        """Ask a worker once for its custom actions (an activity, recorded, so replay reads
        the same catalog whatever workers register later); ``needed`` False (a given plan
        of built-ins only) does not ask. A worker that cannot answer (one built without
        the listing) leaves the run with the built-in catalog: plans naming others are
        refused as naming unknown actions."""
        if self.tools is not None or not needed or not workflow.patched(TOOLS_LISTED_PATCH):
            return
        try:
            listing: ToolListing = await workflow.execute_activity(
                LIST_TOOLS,
                result_type=ToolListing,
                start_to_close_timeout=TOOL_LISTING_TIMEOUT,
                retry_policy=RetryPolicy(maximum_attempts=2),
                summary="list custom actions",
            )
        except ActivityError as exc:
            workflow.logger.warning(
                "No custom actions: listing them failed: %s", activity_failure(exc)
            )
            listing = ToolListing()
        self.tools = listing.tools
        self.actions = run_actions(listing.tools)

    def uses_unknown_actions(self, plan: Plan) -> bool:
        """Whether a plan names actions beyond the built-in catalog (custom ones)."""
        named = {step.action for step in plan.steps}
        named |= {s.compensate.action for s in plan.steps if s.compensate and s.compensate.action}
        for step in plan.steps:
            tools = step.params.get("tools") if step.action == "agent" else None
            named |= {str(tool) for tool in tools} if isinstance(tools, list) else set()
        return not named <= set(CATALOG)

    async def llm_activity(self, name: str, request: object, **options: Any) -> Any:
        """Plan or review: when the LLM provider fails for good (a rejected key, a bad
        model name) or beyond its retries, the run fails with that reason, undone."""
        try:
            return await workflow.execute_activity(name, request, **options)
        except ActivityError as exc:
            raise self.failure(
                f"the {name} call to the LLM failed: {activity_failure(exc)}", "LlmFailed"
            ) from None

    def llm_options(self, summary: str) -> dict[str, Any]:
        """How the workflow calls its LLM activities: timeouts, retries, the LLM queue."""
        return {
            "start_to_close_timeout": LLM_TIMEOUT,
            "heartbeat_timeout": HEARTBEAT_TIMEOUT,
            "retry_policy": LLM_RETRY,
            "task_queue": self.input.llm_task_queue,
            "summary": summary,
        }

    @staticmethod
    def memo() -> dict[str, object] | None:
        """The run's memo for runs it starts (continued or sub-goal): its manifest."""
        manifest = workflow.memo_value("manifest", None)
        return {"manifest": manifest} if manifest is not None else None
