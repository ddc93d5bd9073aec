"""Compensation (saga): the undo of every finished call, and unwinding them newest first.

Workflow-side bookkeeping only; running an undo is the workflow's job (an activity call).
An undo is recorded when its call succeeds, so calls of failed or superseded steps that
did finish (a foreach item, say) are undone too: what happened in the world counts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from durable_agents.contracts.plan import Compensation
from durable_agents.contracts.run import CompensationRecord, UndoEntry

Undo = Callable[[str, int | None, Compensation], Awaitable[CompensationRecord]]


class Saga:
    """The run's ledger of undoable calls, oldest first."""

    def __init__(self, ledger: list[UndoEntry]) -> None:
        self._finished = ledger  # the run state's list: continue-as-new carries it
        self.records: list[CompensationRecord] = []

    def record(self, step_id: str, item: int | None, undo: list[Compensation]) -> None:
        """Remember how to undo one finished call (nothing to remember: a pure read)."""
        if undo:
            self._finished.append(UndoEntry(step_id=step_id, item=item, undo=list(undo)))

    def pending(self) -> list[Compensation]:
        """Every undo not run yet, in the order to run them (newest call first)."""
        return [undo for done in reversed(self._finished) for undo in done.undo]

    async def unwind(self, run: Undo) -> list[CompensationRecord]:
        """Run every undo newest call first; a failed undo is recorded, the rest still run."""
        while self._finished:
            done = self._finished.pop()
            for undo in done.undo:
                self.records.append(await run(done.step_id, done.item, undo))
        return self.records
