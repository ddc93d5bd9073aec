"""``starter.py retry RUN [--from-step STEP]``: a new run of the same goal and plan that
takes the outputs of steps which already succeeded, by step id and a hash of their
resolved arguments, and runs the rest (from STEP on, and whatever depends on it).

Unlike ``temporal workflow reset`` (which rewinds the same workflow to an earlier
workflow task and re-executes everything after it, with code that must still replay),
a retry is a fresh run with the current code: nothing that finished runs again unless
its arguments changed or you name it.
"""

from __future__ import annotations

from temporalio.client import Client

from durable_agents.cli.report import fetch_record
from durable_agents.contracts import Plan, RunInput, Step, StepStatus
from durable_agents.contracts.run import ReusedStep
from durable_agents.workflows.plan_checks import step_dependencies

UNDO_ATTEMPTED = frozenset({"undone", "failed"})  # a failed undo may have half-worked


class RetryProblem(ValueError):
    """The run cannot be retried as asked; the message says why."""


def dependents(definitions: dict[str, Step], root: str) -> set[str]:
    """``root`` and every step that depends on it, directly or not."""
    found = {root}
    changed = True
    while changed:
        changed = False
        for key, step in definitions.items():
            if key not in found and step_dependencies(step) & found:
                found.add(key)
                changed = True
    return found


async def retry_input(client: Client, run_id: str, from_step: str | None) -> tuple[RunInput, str]:
    """The new run's input, and a line saying what it reuses and what it runs."""
    history = await client.get_workflow_handle(run_id).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    [original] = await client.data_converter.decode(started.input.payloads, [RunInput])
    assert isinstance(original, RunInput)
    record = await fetch_record(client, run_id)
    definitions: dict[str, Step] = {}
    for plan in record.plans:
        definitions.update({step.id: step for step in plan.steps})
    current = [definitions[s.id] for s in record.steps if s.id in definitions]
    if not current:
        raise RetryProblem(f"run {run_id} has no plan to retry; start it again with --goal")
    if from_step is not None and from_step not in {s.id for s in current}:
        known = ", ".join(s.id for s in current)
        raise RetryProblem(f"run {run_id} has no step {from_step!r}; its steps: {known}")
    again = dependents({s.id: s for s in current}, from_step) if from_step else set()
    # A step whose effect the failed run undid (or tried to) is not done any more: its
    # output describes something that is gone, so it runs again.
    undone = {c.step_id for c in record.compensations if c.outcome in UNDO_ATTEMPTED}
    reuse, unhashed = [], []
    for state in record.steps:
        if state.status is not StepStatus.SUCCEEDED or state.id in again | undone:
            continue
        if state.args_hash is None:
            unhashed.append(state.id)
            continue
        reuse.append(
            ReusedStep(
                step_id=state.id,
                action=state.action,
                args_hash=state.args_hash,
                output=state.output,
                # the run that made the output (a step this run reused names its source):
                # its artifacts are the ones the new run is granted
                run_id=state.reused_from or run_id,
            )
        )
    retried = original.model_copy(
        update={"plan": Plan(steps=current), "reuse": reuse, "carried": None}
    )
    note = f"reusing {', '.join(r.step_id for r in reuse) or 'nothing'}"
    note += (
        f"; running {', '.join(s.id for s in current if s.id not in {r.step_id for r in reuse})}"
    )
    if unhashed:
        note += f" ({', '.join(unhashed)} finished before runs recorded argument hashes)"
    return retried, note
