"""DAG scheduling over step states: what can start, what must be skipped, cycles."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from durable_agents.contracts.run import StepStatus

_BLOCKING = {StepStatus.FAILED: "failed", StepStatus.SKIPPED: "was skipped"}


def find_cycle(graph: Mapping[str, set[str]]) -> list[str]:
    """A dependency cycle as a path (first node repeated at the end), or [] if none."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(graph, white)
    trail: list[str] = []

    def visit(node: str) -> list[str]:
        colour[node] = grey
        trail.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in colour:
                continue
            if colour[nxt] == grey:
                return [*trail[trail.index(nxt) :], nxt]
            if colour[nxt] == white and (found := visit(nxt)):
                return found
        trail.pop()
        colour[node] = black
        return []

    for node in sorted(graph):
        if colour[node] == white and (found := visit(node)):
            return found
    return []


@dataclass
class Schedule:
    """What to do next: steps to start now, and steps to skip with a reason."""

    start: list[str] = field(default_factory=list)
    skip: dict[str, str] = field(default_factory=dict)
    held: list[str] = field(default_factory=list)  # ready, but no free slot this time


def next_moves(
    order: Sequence[str],
    dependencies: Mapping[str, set[str]],
    status: Mapping[str, StepStatus],
    free_slots: int,
) -> Schedule:
    """Pending steps whose dependencies all succeeded start (in plan order, up to
    ``free_slots``); pending steps with a failed or skipped dependency are skipped."""
    schedule = Schedule()
    for step_id in order:
        if status[step_id] is not StepStatus.PENDING:
            continue
        blocked = sorted(d for d in dependencies[step_id] if status[d] in _BLOCKING)
        if blocked:
            first = blocked[0]
            schedule.skip[step_id] = f"dependency '{first}' {_BLOCKING[status[first]]}"
        elif all(status[d] is StepStatus.SUCCEEDED for d in dependencies[step_id]):
            if len(schedule.start) < free_slots:
                schedule.start.append(step_id)
            else:
                schedule.held.append(step_id)
    return schedule


class Frontier:
    """The steps a scheduling pass must look at: every step at first, then only those
    whose dependencies settled since the last pass and those held for a free slot. A pass
    then costs what changed, not the plan's length (a full scan per pass made a chain's
    scheduling quadratic). Passes over the frontier, in plan order, move exactly as
    passes over the whole plan would: a pending step can only become ready or blocked
    when one of its dependencies settles."""

    def __init__(self, order: Sequence[str], dependencies: Mapping[str, set[str]]) -> None:
        self._position = {step_id: index for index, step_id in enumerate(order)}
        self._dependents: dict[str, list[str]] = {}
        for step_id in order:
            for dependency in dependencies[step_id]:
                self._dependents.setdefault(dependency, []).append(step_id)
        self._due: set[str] | None = None  # None: every step

    @property
    def whole(self) -> bool:
        """Whether the next pass looks at every step."""
        return self._due is None

    def everything(self) -> None:
        """Look at every step next pass (after a change this class is not told of)."""
        self._due = None

    def settled(self, step_ids: Iterable[str]) -> None:
        """These steps finished (or were skipped): their dependents are due a look."""
        if self._due is not None:
            for step_id in step_ids:
                self._due.update(self._dependents.get(step_id, ()))

    def hold(self, step_ids: Iterable[str]) -> None:
        """Ready steps that found no free slot: due a look next pass."""
        if self._due is not None:
            self._due.update(step_ids)

    def take(self) -> list[str]:
        """The steps due a look, in plan order; the frontier is then empty."""
        due = self._position if self._due is None else self._due
        taken = sorted(due, key=self._position.__getitem__)
        self._due = set()
        return taken
