"""One execute round: start every ready step (dependencies settled, condition true) up to
``max_parallel``, skip what can no longer run, until every step of the plan has finished."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping

from temporalio import workflow

from durable_agents.contracts import Phase, StepState, StepStatus
from durable_agents.workflows.budgets import FOR_LLM_STEP, FOR_STEP
from durable_agents.workflows.dag import Frontier, next_moves
from durable_agents.workflows.references import ReferenceProblem, condition_holds
from durable_agents.workflows.steps import StepRunner

Running = dict[str, asyncio.Task[None]]
STOP_ON_FAILURE = "stop-steps-on-failure-v1"  # workflow.patched id


async def execute(runner: StepRunner) -> None:
    """Run the current plan's pending steps; on cancellation or a failure, stop running
    steps first (a run that ended with a local activity in flight was refused by the
    server: "FailWorkflowExecution must be the last command")."""
    runner.run.set_phase(Phase.EXECUTING)
    running: Running = {}
    try:
        await _schedule(runner, running)
    except asyncio.CancelledError:
        await _stop(running)
        raise
    except BaseException:  # a failing run (a budget spent): no step outlives it
        if workflow.patched(STOP_ON_FAILURE):
            await _stop(running)
        raise


async def _stop(running: Running) -> None:
    for task in running.values():
        task.cancel()
    await asyncio.gather(*running.values(), return_exceptions=True)


class _Statuses(Mapping[str, StepStatus]):
    """The steps' statuses, read where they are kept (no copy of the whole plan's)."""

    def __init__(self, steps: Mapping[str, StepState]) -> None:
        self._steps = steps

    def __getitem__(self, step_id: str) -> StepStatus:
        return self._steps[step_id].status

    def __iter__(self) -> Iterator[str]:
        return iter(self._steps)

    def __len__(self) -> int:
        return len(self._steps)


async def _schedule(runner: StepRunner, running: Running) -> None:
    """Start ready steps up to max_parallel until every step has finished. Each pass
    looks at the steps whose dependencies settled since the last (``Frontier``), so a
    step costs the same in a 10-step plan as in a 500-step one; before the round ends,
    one pass over every step makes sure nothing was left pending."""
    run = runner.run
    frontier = Frontier(list(run.steps), run.dependencies)
    statuses = _Statuses(run.steps)
    while True:
        if run.halted:  # an on_failure=fail step failed: start nothing more
            for state in run.state.in_status(StepStatus.PENDING):
                run.skip(state.id, f"not started: {run.halted}")
                frontier.settled([state.id])
        paused = run.paused
        whole = frontier.whole
        moves = next_moves(
            frontier.take(),
            run.dependencies,
            statuses,
            0 if paused else run.input.max_parallel - len(running),
        )
        for step_id, reason in moves.skip.items():
            run.skip(step_id, reason)
        frontier.settled(moves.skip)
        frontier.hold(moves.held)
        settled_without_running = bool(moves.skip)
        for step_id in moves.start:
            if _condition_allows(runner, step_id):
                action = run.state.definitions[step_id].action
                limits = FOR_LLM_STEP if action == "llm" else FOR_STEP
                await runner.spending.within_budget(limits, next_steps=1)
                run.state.started_steps += 1
                run.steps[step_id].status = StepStatus.RUNNING
                running[step_id] = asyncio.create_task(runner.run_step(step_id))
            else:
                settled_without_running = True
                frontier.settled([step_id])
        if settled_without_running:
            continue  # a skip or failure may unblock or skip others; recompute
        if not running:
            if paused and run.state.in_status(StepStatus.PENDING):
                await run.unpaused()
                continue
            if not whole:  # settle the round on a look at every step
                frontier.everything()
                continue
            return
        await workflow.wait_condition(_step_done_or_pause_flipped(runner, running, paused))
        done = [key for key, task in running.items() if task.done()]
        for step_id in done:
            running.pop(step_id).result()  # re-raises cancellation and bugs
        frontier.settled(done)


def _step_done_or_pause_flipped(
    runner: StepRunner, running: Running, paused: bool
) -> Callable[[], bool]:
    return lambda: any(t.done() for t in running.values()) or runner.run.paused != paused


def _condition_allows(runner: StepRunner, step_id: str) -> bool:
    run = runner.run
    when = run.state.definitions[step_id].when
    if not when:
        return True
    try:
        if condition_holds(when, run.reference_context(step_id)):
            return True
        run.skip(step_id, f"condition {when!r} was false")
    except ReferenceProblem as exc:
        run.finish_failed(run.steps[step_id], f"condition could not be evaluated: {exc}")
    return False
