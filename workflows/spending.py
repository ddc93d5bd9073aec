"""What a run spends (steps, LLM usage, wall time) against its budget, and asking a
person for more when a limit is used up."""

from __future__ import annotations

from temporalio import workflow

from durable_agents.contracts import Budget, RunResult, StepState, Usage
from durable_agents.workflows.approvals import refusal
from durable_agents.workflows.budgets import (
    Spent,
    describe,
    exhausted_limit,
    extended,
    priced,
    reserved_spending,
    unpriced_problem,
)
from durable_agents.workflows.run import Run


class Spending:
    """The run's account: charges, reservations of running sub-goals, extensions."""

    def __init__(self, run: Run) -> None:
        self._run = run
        self.reserved: dict[str, Budget] = {}  # what running sub-goal runs may spend

    def charge(self, usage: Usage | None) -> Usage | None:
        """Add one LLM call's usage, priced; a cost limit with an unpriced model fails."""
        if usage is None:
            return None
        state = self._run.state
        problem = unpriced_problem(usage, state.budget)
        if problem:
            raise self._run.failure(problem, "BudgetUnpriced")
        usage = priced(usage, state.budget)
        state.usage.add(usage)
        return usage

    def charge_step(self, step: StepState, usage: Usage | None) -> None:
        """Charge a call's usage to the run and show it on the step it belongs to."""
        usage = self.charge(usage)
        if usage is None:
            return
        if step.usage is None:
            step.usage = Usage(model=usage.model)
        step.usage.add(usage)

    def charge_child(self, child: RunResult) -> None:
        """A sub-goal run's usage and started steps count here too."""
        self._run.state.usage.add(child.usage)
        self._run.state.started_steps += sum(
            1 for s in [*child.steps, *child.superseded_steps] if s.started_at
        )

    def spent(self) -> Spent:
        """What the run used, counting what running sub-goals may still spend as used:
        parallel children share the budget instead of each getting all that is left."""
        state = self._run.state
        elapsed = workflow.now() - state.first_started_at
        return reserved_spending(
            Spent(state.started_steps, state.usage, elapsed.total_seconds()),
            self.reserved.values(),
        )

    async def within_budget(self, limits: tuple[str, ...], next_steps: int = 0) -> None:
        """Return once the run may go on; a used-up limit asks for an extension (or fails)."""
        run, state = self._run, self._run.state
        while name := exhausted_limit(state.budget, self.spent(), limits, next_steps=next_steps):
            reason = describe(state.budget, self.spent(), name)
            if run.input.budget.on_exhausted == "fail":
                raise run.failure(reason, "BudgetExhausted")
            extension = extended(state.budget, run.input.budget, name)
            record = await run.desk.ask(
                "budget",
                title=f"Extend {name}",
                action="extend_budget",
                risk=None,
                reason=reason,
                arguments={
                    "limit": name,
                    "from": getattr(state.budget, name),
                    "to": getattr(extension, name),
                },
            )
            why_not = refusal(record)
            if why_not is not None:
                raise run.failure(f"{reason}; not extended: {why_not}", "BudgetExhausted")
            state.budget = extension
