"""DAG scheduling over step states: what can start, what must be skipped, cycles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
        elif len(schedule.start) < free_slots and all(
            status[d] is StepStatus.SUCCEEDED for d in dependencies[step_id]
        ):
            schedule.start.append(step_id)
    return schedule
