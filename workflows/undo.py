"""Undoing a failed or cancelled run: every finished call's undo, newest first, each run
as its action's activity and judged again on its resolved arguments."""

from __future__ import annotations

from pydantic import ValidationError
from temporalio import workflow
from temporalio.exceptions import ActivityError

from durable_agents.contracts import Phase
from durable_agents.contracts.errors import format_validation_error
from durable_agents.contracts.plan import Compensation
from durable_agents.contracts.run import CompensationRecord
from durable_agents.workflows.calls import activity_failure
from durable_agents.workflows.gate import UndoRefused
from durable_agents.workflows.steps import StepRunner


async def compensate(runner: StepRunner, why: str) -> bool:
    """Undo finished calls newest first, if the run allows it and there is any."""
    run = runner.run
    if not (run.input.compensate and run.saga.pending()):
        return False
    if not workflow.patched("saga-v1"):
        return False
    run.set_phase(Phase.COMPENSATING)
    workflow.logger.info("The run %s; undoing %d calls", why, len(run.saga.pending()))

    async def undo_one(step_id: str, item: int | None, undo: Compensation) -> CompensationRecord:
        return await _undo(runner, step_id, item, undo)

    await run.saga.unwind(undo_one)
    return True


async def _undo(
    runner: StepRunner, step_id: str, item: int | None, undo: Compensation
) -> CompensationRecord:
    """Run one undo; what could not or may not run is recorded, never raised."""

    def record(outcome: str, error: str | None = None) -> CompensationRecord:
        return CompensationRecord.model_validate(
            {"step_id": step_id, "item": item, "compensation": undo}
            | {"outcome": outcome, "error": error}
        )

    actions = runner.run.actions
    if undo.action is None or undo.action not in actions:
        return record("impossible", undo.description or "no undo is known")
    spec = actions[undo.action]
    try:
        params = spec.params_model.model_validate(undo.params)
    except ValidationError as exc:
        return record("failed", f"params invalid: {format_validation_error(exc)}")
    try:
        approved = runner.gate.undo_clearance(undo, params.model_dump(mode="json"))
    except UndoRefused as refused:
        return record("blocked", str(refused))
    context = runner.action_context(step_id, approved=approved)
    try:
        await runner.action_activity(spec, context, params, f"undo {step_id}: {undo.description}")
    except ActivityError as exc:
        return record("failed", activity_failure(exc))
    return record("undone")
