"""The run report (``starter.py report RUN``): per-step cost and time, the critical path,
the slowest steps, and what could have run in parallel but did not.

Pure functions over a run's step records: a closed run's result, or the partial result a
failed run carries (no worker needed), or an open run's status query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, Field
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from durable_agents.contracts import (
    ApprovalRecord,
    CompensationRecord,
    Plan,
    RunResult,
    RunStatus,
    Step,
    StepState,
)
from durable_agents.workflows.plan_checks import step_dependencies, steps_read

WAIT_WORTH_NOTING_SECONDS = 1.0


class StepRow(BaseModel):
    id: str
    action: str
    status: str
    attempts: int
    seconds: float | None = Field(description="Working time: approval waits not counted")
    tokens: int
    cost_usd: float
    model: str | None = Field(default=None, description="The model that answered its LLM calls")
    approval_seconds: float | None = Field(default=None, description="Waited for a person")
    reused_from: str | None = Field(default=None, description="A retry took its output")


class Report(BaseModel):
    """What ``report`` prints; ``--json`` prints this model."""

    run_id: str
    status: str
    seconds: float | None
    steps: list[StepRow]
    critical_path: list[str] = Field(description="The chain of steps that set the duration")
    critical_seconds: float
    slowest: list[str]
    waited: list[str] = Field(description="Steps that started well after they were ready")
    needless_dependencies: list[str] = Field(
        description="depends_on entries whose output the step never reads: could run in parallel"
    )


@dataclass(frozen=True)
class RunRecord:
    """A run's step records, however it ended: label (completed, failed, running...),
    its steps and the plan versions that defined them."""

    label: str
    steps: list[StepState]
    plans: list[Plan]
    compensations: list[CompensationRecord] = field(default_factory=list)
    approvals: list[ApprovalRecord] = field(default_factory=list)


async def fetch_record(client: Client, run_id: str) -> RunRecord:
    """From the result when closed (no worker needed), else from the status query."""
    handle = client.get_workflow_handle(run_id, result_type=RunResult)
    state = (await handle.describe()).status
    label = state.name.lower() if state else "unknown"
    if state is WorkflowExecutionStatus.COMPLETED:
        result = await handle.result()
        plans = [v.plan for v in result.plans]
        return RunRecord(label, result.steps, plans, result.compensations, result.approvals)
    if state is WorkflowExecutionStatus.FAILED:
        try:
            await handle.result()
        except WorkflowFailureError as failure:
            cause = failure.cause
            if isinstance(cause, ApplicationError) and cause.details:
                partial = RunResult.model_validate(cause.details[0])
                plans = [v.plan for v in partial.plans]
                return RunRecord(
                    label, partial.steps, plans, partial.compensations, partial.approvals
                )
    status = await handle.query("status", result_type=RunStatus)  # open (needs a worker)
    return RunRecord(
        label,
        status.steps,
        [status.plan] if status.plan else [],
        status.compensations,
        status.approvals,
    )


async def fetch_report(client: Client, run_id: str) -> Report:
    """The report of any run."""
    record = await fetch_record(client, run_id)
    return build_report(run_id, record.label, record.steps, record.plans, record.approvals)


def _seconds(state: StepState, decided: datetime | None = None) -> float | None:
    """The step's working time: from its start, or from the person's decision when it
    waited for one, to its end; None for a step that did not run (or was reused)."""
    if state.reused_from or not (state.started_at and state.finished_at):
        return None
    begun = decided if decided and decided > state.started_at else state.started_at
    return (state.finished_at - begun).total_seconds()


def _decided(approvals: list[ApprovalRecord]) -> dict[str, datetime]:
    """When each step's (last) approval came."""
    found: dict[str, datetime] = {}
    for record in approvals:
        if record.outcome == "approved":
            found[record.step_id] = max(record.at, found.get(record.step_id, record.at))
    return found


def build_report(
    run_id: str,
    status: str,
    steps: list[StepState],
    plans: list[Plan],
    approvals: list[ApprovalRecord] | None = None,
) -> Report:
    """Analyse a run's steps (the current plan's; superseded ones are not on its path)."""
    definitions: dict[str, Step] = {}
    for plan in plans:
        definitions.update({step.id: step for step in plan.steps})
    states = {state.id: state for state in steps}
    decided = _decided(approvals or [])
    rows = []
    for s in steps:
        waited = decided.get(s.id)
        rows.append(
            StepRow(
                id=s.id,
                action=s.action,
                status=s.status.value,
                attempts=s.attempts,
                seconds=_seconds(s, waited),
                tokens=s.usage.total_tokens if s.usage else 0,
                cost_usd=s.usage.cost_usd if s.usage else 0.0,
                model=s.usage.model if s.usage else None,
                approval_seconds=(
                    round((waited - s.started_at).total_seconds(), 3)
                    if waited and s.started_at and waited > s.started_at
                    else None
                ),
                reused_from=s.reused_from,
            )
        )
    depends = {
        key: step_dependencies(definitions[key]) & set(states)
        for key in states
        if key in definitions
    }
    path, total = _critical_path(states, depends, decided)
    timed = sorted((r for r in rows if r.seconds is not None), key=lambda r: -(r.seconds or 0))
    starts = [s.started_at for s in steps if s.started_at]
    ends = [s.finished_at for s in steps if s.finished_at]
    return Report(
        run_id=run_id,
        status=status,
        seconds=(max(ends) - min(starts)).total_seconds() if starts and ends else None,
        steps=rows,
        critical_path=path,
        critical_seconds=round(total, 3),
        slowest=[f"{r.id} ({r.seconds:.2f} s)" for r in timed[:3]],
        waited=_waited(states, depends)
        + [
            f"{r.id} waited {r.approval_seconds:.1f} s for approval"
            for r in rows
            if r.approval_seconds
        ],
        needless_dependencies=_needless(definitions, states),
    )


def _critical_path(
    states: dict[str, StepState],
    depends: dict[str, set[str]],
    decided: dict[str, datetime],
) -> tuple[list[str], float]:
    """The dependency chain with the largest summed working time (a DAG, so memoised DFS)."""
    best: dict[str, tuple[float, list[str]]] = {}

    def longest(key: str) -> tuple[float, list[str]]:
        if key not in best:
            own = _seconds(states[key], decided.get(key)) or 0.0
            before = max(
                (longest(d) for d in depends.get(key, ()) if d in states), default=(0.0, [])
            )
            best[key] = (before[0] + own, [*before[1], key])
        return best[key]

    if not states:
        return [], 0.0
    total, path = max((longest(key) for key in states), key=lambda found: found[0])
    return path, total


def _waited(states: dict[str, StepState], depends: dict[str, set[str]]) -> list[str]:
    """Steps whose start came well after their last dependency finished (max_parallel,
    a pause, an approval, a rate limit or a budget question held them)."""
    found = []
    for key, state in states.items():
        if state.started_at is None:
            continue
        ready: datetime | None = max(
            (f for d in depends.get(key, ()) if (f := states[d].finished_at)), default=None
        )
        if ready is not None:
            gap = (state.started_at - ready).total_seconds()
            if gap > WAIT_WORTH_NOTING_SECONDS:
                found.append(f"{key} started {gap:.1f} s after it was ready")
    return found


def _needless(definitions: dict[str, Step], states: dict[str, StepState]) -> list[str]:
    """Declared dependencies the step's params, condition and foreach never read."""
    found = []
    for key in states:
        step = definitions.get(key)
        if step is None:
            continue
        read = steps_read(step)
        for dependency in step.depends_on:
            if dependency not in read:
                found.append(f"{key} waits for {dependency} but never reads its output")
    return found


def report_text(report: Report) -> str:
    """The report as a table and a few findings."""
    total = f"{report.seconds:.2f} s" if report.seconds is not None else "-"
    lines = [f"run {report.run_id}: {report.status}, steps took {total} end to end", ""]
    lines.append(
        f"{'step':<24} {'action':<14} {'status':<10} {'tries':>5} {'seconds':>8} "
        f"{'tokens':>7} {'cost $':>8}  model"
    )
    for row in report.steps:
        seconds = f"{row.seconds:.2f}" if row.seconds is not None else "-"
        line = (
            f"{row.id[:24]:<24} {row.action[:14]:<14} {row.status:<10} {row.attempts:>5} "
            f"{seconds:>8} {row.tokens:>7} {row.cost_usd:>8.4f}  {row.model or '-'}"
        )
        lines.append(line + (f"  reused from {row.reused_from}" if row.reused_from else ""))
    lines += [
        "",
        f"critical path ({report.critical_seconds:.2f} s): "
        + (" -> ".join(report.critical_path) or "-"),
    ]
    lines.append("slowest: " + (", ".join(report.slowest) or "-"))
    if report.waited:
        lines.append("ready but waiting: " + "; ".join(report.waited))
    if report.needless_dependencies:
        lines.append("could run in parallel: " + "; ".join(report.needless_dependencies))
    return "\n".join(lines)
