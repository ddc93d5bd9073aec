"""Step kinds that run in workflow code, not as an activity: a table from params type to
handler. A new in-workflow kind is one handler here and one row in ``IN_WORKFLOW``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Protocol

from pydantic import JsonValue, ValidationError
from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

from durable_agents.contracts import (
    WORKFLOW_NAME,
    ActionParams,
    ActionResult,
    AgentTurn,
    AgentTurnRequest,
    RunInput,
    RunResult,
    Step,
    StepStatus,
    ToolCall,
)
from durable_agents.contracts.actions import (
    AgentParams,
    SubGoalParams,
    WaitForEventParams,
    WaitParams,
)
from durable_agents.contracts.errors import format_validation_error
from durable_agents.contracts.run import MAX_SUB_GOAL_DEPTH, WorkflowActivity
from durable_agents.workflows.budgets import FOR_LLM_CALL, FOR_STEP, LIMITS, remaining
from durable_agents.workflows.calls import CallFailed, activity_failure
from durable_agents.workflows.digest import preview
from durable_agents.workflows.gate import Gate
from durable_agents.workflows.run import Run
from durable_agents.workflows.spending import Spending

AGENT_TOOL_PREVIEW = 2000  # characters of a tool result the agent's model sees


class Performer(Protocol):
    """What a handler needs from the step runner (``workflows.steps.StepRunner``)."""

    run: Run
    spending: Spending
    gate: Gate

    async def perform(
        self, step: Step, item: int | None, params: ActionParams, approved: bool
    ) -> ActionResult: ...


WAITS_BUDGETED = "waits-within-wall-budget-v1"  # workflow.patched id: no wait outlives it


def _wall_left(kit: Performer) -> timedelta | None:
    """What is left of the run's wall-clock budget, or None without one. Measured (eval
    drop_table, memory on): a planned wait_for_event of 3600 s held a run of a 10-minute
    budget for an hour, since the budget was checked only before steps and LLM calls."""
    limit = kit.run.state.budget.max_wall_seconds
    if limit is None or not workflow.patched(WAITS_BUDGETED):
        return None
    return timedelta(seconds=max(limit - kit.spending.spent().seconds, 0.001))


def _outlasted(what: str, kit: Performer) -> CallFailed:
    """The wait stopped when the budget ran out: the re-plan's budget check then asks for
    more time (or fails the run), as for any spent limit."""
    limit = kit.run.state.budget.max_wall_seconds
    return CallFailed(
        f"WallBudgetSpent: {what} outlasts the run's wall-clock budget ({limit:g} s); it "
        "stopped when the budget ran out",
        for_good=False,
    )


async def wait(kit: Performer, step: Step, item: int | None, params: WaitParams) -> ActionResult:
    """A durable timer, never past the run's wall-clock budget."""
    wanted, left = timedelta(seconds=params.seconds), _wall_left(kit)
    if left is not None and left < wanted:
        await workflow.sleep(left, summary=step.title)
        raise _outlasted(f"the wait of {params.seconds:g} s", kit)
    await workflow.sleep(wanted, summary=step.title)
    return ActionResult(output={"waited_seconds": params.seconds})


async def wait_for_event(
    kit: Performer, step: Step, item: int | None, params: WaitForEventParams
) -> ActionResult:
    """Take the oldest unclaimed event of that name, waiting (a durable timer) for one."""
    run, name = kit.run, params.event
    events = run.state.events
    wanted, left = timedelta(seconds=params.timeout_seconds), _wall_left(kit)
    cut = left is not None and left < wanted
    deadline = workflow.now() + (left if left is not None and cut else wanted)
    run.awaited.append(name)
    run.show()
    timed_out = False
    while not events.get(name) and not timed_out:
        try:
            await workflow.wait_condition(
                lambda: bool(events.get(name)),
                timeout=max(deadline - workflow.now(), timedelta(milliseconds=1)),
                timeout_summary=f"event {name}",
            )
        except TimeoutError:
            timed_out = True
    run.awaited.remove(name)
    run.show()
    if not events.get(name) and cut:
        raise _outlasted(f"waiting {params.timeout_seconds:g} s for event {name!r}", kit)
    if not events.get(name):
        raise CallFailed(
            f"EventTimeout: no event {name!r} arrived within {params.timeout_seconds:g} s",
            for_good=False,
        )
    return ActionResult(output=events[name].pop(0))


async def sub_goal(
    kit: Performer, step: Step, item: int | None, params: SubGoalParams
) -> ActionResult:
    """Run a sub-goal as a child AgentWorkflow; its usage and steps count here too."""
    run, spending = kit.run, kit.spending
    if run.input.depth >= MAX_SUB_GOAL_DEPTH:
        raise CallFailed(f"sub-goals nest at most {MAX_SUB_GOAL_DEPTH} deep")
    child_id = f"{workflow.info().workflow_id}.{step.id}"
    if item is not None:
        child_id += f".{item}"
    shares_budget = workflow.patched("child-budget-v1")
    if shares_budget:  # the child needs room for at least one step of its own
        await spending.within_budget(LIMITS, next_steps=1)
    budget = remaining(run.state.budget, spending.spent())
    child_input = RunInput(
        goal=params.goal,
        workspace=run.input.workspace,
        max_parallel=run.input.max_parallel,
        max_replans=params.max_replans,
        max_plan_repairs=run.input.max_plan_repairs,
        policy=run.input.policy,
        budget=budget,
        compensate=run.input.compensate,
        depth=run.input.depth + 1,
        llm_task_queue=run.input.llm_task_queue,
    )
    if shares_budget:
        spending.reserved[child_id] = budget
    try:
        result: RunResult = await workflow.execute_child_workflow(
            WORKFLOW_NAME,
            child_input,
            id=child_id,
            result_type=RunResult,
            static_summary=params.goal[:200],
            memo=run.memo(),  # sub-goal runs inherit the manifest
        )
    except ChildWorkflowError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.details:
            try:
                spending.charge_child(RunResult.model_validate(cause.details[0]))
            except ValidationError:
                workflow.logger.warning("Sub-goal %s failed without a result", child_id)
        message = cause.message if isinstance(cause, ApplicationError) else str(cause or exc)
        raise CallFailed(f"SubGoalFailed: run {child_id}: {message}", for_good=False) from None
    finally:
        spending.reserved.pop(child_id, None)  # its real spending is counted instead
    spending.charge_child(result)
    outputs = {s.id: s.output for s in result.steps if s.status is StepStatus.SUCCEEDED}
    return ActionResult(
        output={"answer": result.answer, "workflow_id": child_id, "outputs": outputs},
        undo=result.undo,
    )


async def agent(kit: Performer, step: Step, item: int | None, params: AgentParams) -> ActionResult:
    """ReAct: LLM turns (activities) and tool calls (each judged, approved if the policy
    asks, run as its action's activity) until the model answers without a tool call.

    The model sees tool results as previews (with where the whole result is); the step's
    output keeps every call's full output, for later steps to reference.
    """
    run, spending = kit.run, kit.spending
    transcript: list[dict[str, JsonValue]] = []
    calls: list[JsonValue] = []
    state = run.steps[step.id]
    for turn in range(1, params.max_iterations + 1):
        await run.unpaused()
        await spending.within_budget(FOR_LLM_CALL)
        try:
            reply: AgentTurn = await workflow.execute_activity(
                WorkflowActivity.AGENT_TURN,
                AgentTurnRequest(
                    task=params.task,
                    tools=params.tools,
                    custom_actions=[t for t in run.tools or [] if t.name in params.tools],
                    transcript=transcript,
                    final=turn == params.max_iterations,
                ),
                result_type=AgentTurn,
                **run.llm_options(f"{step.id}: agent turn {turn}"),
            )
        except ActivityError as exc:
            raise CallFailed(f"AgentTurnFailed: {activity_failure(exc)}", for_good=False) from None
        spending.charge_step(state, reply.usage)
        if not reply.tool_calls:
            answer = {"answer": reply.content or "", "turns": turn, "tool_calls": calls}
            return ActionResult(output=answer)
        transcript.append(
            {
                "role": "assistant",
                "content": reply.content,
                "tool_calls": [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": call.arguments},
                    }
                    for call in reply.tool_calls
                ],
            }
        )
        for call in reply.tool_calls:
            status, output = await _tool_call(kit, step, item, call, params.tools)
            shown = preview(output, AGENT_TOOL_PREVIEW)
            if len(shown) > AGENT_TOOL_PREVIEW:  # cut: the model gets a preview and where
                shown += (  # the whole result is, for a later step to reference
                    f" [shortened; in full: steps.{step.id}.output.tool_calls[{len(calls)}].output]"
                )
            transcript.append({"role": "tool", "tool_call_id": call.id, "content": shown})
            record: dict[str, JsonValue] = {"tool": call.name, "arguments": call.arguments}
            calls.append(record | {"status": status, "output": output})
    raise CallFailed(  # unreachable with a model that obeys tool_choice "none"
        f"AgentNoAnswer: no final answer after {params.max_iterations} turns", for_good=False
    )


async def _tool_call(
    kit: Performer, step: Step, item: int | None, call: ToolCall, allowed: list[str]
) -> tuple[str, JsonValue]:
    """One tool call of an agent step: (status, output or the error the model sees)."""
    if call.name not in allowed:
        return "refused", f"unknown tool {call.name!r}; use one of: {', '.join(allowed)}"
    spec = kit.run.actions.get(call.name)
    if spec is None or spec.runs_in_workflow:
        usable = ", ".join(name for name in allowed if name in kit.run.actions)
        return "refused", f"unknown tool {call.name!r}; use one of: {usable}"
    try:
        params = spec.params_model.model_validate_json(call.arguments or "{}")
    except ValidationError as exc:
        return "invalid", f"invalid arguments: {format_validation_error(exc)}"
    arguments = params.model_dump(mode="json")
    try:
        verdict = await kit.gate.verdict(call.name, arguments)
    except CallFailed as failed:
        return "blocked", failed.error
    if verdict.decision == "block":
        return "blocked", f"BlockedByPolicy: {verdict.reason}"
    tool_step = step.model_copy(update={"action": call.name})
    await kit.spending.within_budget(FOR_STEP, next_steps=1)
    kit.run.state.started_steps += 1
    try:
        if verdict.decision == "approve":
            await kit.gate.ask(tool_step, verdict, arguments)
        result = await kit.perform(tool_step, item, params, verdict.decision == "approve")
    except CallFailed as failed:
        return ("refused" if failed.refused else "failed"), failed.error
    kit.spending.charge_step(kit.run.steps[step.id], result.usage)
    kit.run.saga.record(step.id, item, result.undo)
    return "succeeded", result.output


Handler = Callable[[Performer, Step, "int | None", Any], Awaitable[ActionResult]]

IN_WORKFLOW: dict[type[ActionParams], Handler] = {
    WaitParams: wait,
    WaitForEventParams: wait_for_event,
    SubGoalParams: sub_goal,
    AgentParams: agent,
}
