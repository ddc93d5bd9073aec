from hypothesis import given, settings
from hypothesis import strategies as st

from durable_agents.contracts import StepStatus
from durable_agents.workflows.dag import Frontier, find_cycle, next_moves

P, R, S, F, K = (
    StepStatus.PENDING,
    StepStatus.RUNNING,
    StepStatus.SUCCEEDED,
    StepStatus.FAILED,
    StepStatus.SKIPPED,
)


def test_independent_steps_start_together_up_to_the_slots() -> None:
    deps: dict[str, set[str]] = {"a": set(), "b": set(), "c": set(), "d": {"a"}}
    status = {"a": P, "b": P, "c": P, "d": P}
    assert next_moves(list(deps), deps, status, free_slots=2).start == ["a", "b"]
    assert next_moves(list(deps), deps, status, free_slots=9).start == ["a", "b", "c"]


def test_a_step_waits_for_all_dependencies() -> None:
    deps = {"a": set(), "b": set(), "c": {"a", "b"}}
    moves = next_moves(list(deps), deps, {"a": S, "b": R, "c": P}, free_slots=4)
    assert moves.start == [] and moves.skip == {}
    moves = next_moves(list(deps), deps, {"a": S, "b": S, "c": P}, free_slots=4)
    assert moves.start == ["c"]


def test_failure_and_skip_propagate_with_reasons() -> None:
    deps = {"a": set(), "b": {"a"}, "c": {"b"}}
    moves = next_moves(list(deps), deps, {"a": F, "b": P, "c": P}, free_slots=4)
    assert moves.skip == {"b": "dependency 'a' failed"}
    moves = next_moves(list(deps), deps, {"a": F, "b": K, "c": P}, free_slots=4)
    assert moves.skip == {"c": "dependency 'b' was skipped"}


def test_find_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"a"}}) == ["a", "a"]


def _passes(
    deps: dict[str, set[str]], slots: int, outcomes: list[bool], picks: list[int], whole: bool
) -> list[tuple[list[str], dict[str, str]]]:
    """The scheduler's loop, in miniature: every pass's starts and skips until all steps
    settle. Running steps finish one at a time (``picks`` chooses which, ``outcomes``
    whether it succeeded); ``whole`` scans every step each pass, else the Frontier."""
    order = list(deps)
    status = dict.fromkeys(order, P)
    frontier = Frontier(order, deps)
    running: list[str] = []
    passes = []
    finished = 0
    while True:
        moves = next_moves(order if whole else frontier.take(), deps, status, slots - len(running))
        passes.append((moves.start, moves.skip))
        for step_id in moves.skip:
            status[step_id] = K
        frontier.settled(moves.skip)
        frontier.hold(moves.held)
        for step_id in moves.start:
            status[step_id] = R
            running.append(step_id)
        if moves.skip:
            continue
        if not running:
            return passes
        done = running.pop(picks[finished % len(picks)] % len(running))
        status[done] = S if outcomes[finished % len(outcomes)] else F
        finished += 1
        frontier.settled([done])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 30), max_size=3), min_size=1, max_size=30),
    st.integers(1, 4),
    st.lists(st.booleans(), min_size=1, max_size=10),
    st.lists(st.integers(0, 10), min_size=1, max_size=10),
)
def test_the_frontier_moves_exactly_as_a_scan_of_every_step(
    edges: list[list[int]], slots: int, outcomes: list[bool], picks: list[int]
) -> None:
    """Random DAGs (each step depends on some earlier ones), slot counts, finishing
    orders and failures: passes over the frontier start and skip the same steps, in the
    same order, as passes over the whole plan; and every step ends settled."""
    deps = {
        f"s{index}": {f"s{earlier % index}" for earlier in targets} if index else set()
        for index, targets in enumerate(edges)
    }
    scanned = _passes(deps, slots, outcomes, picks, whole=True)
    assert _passes(deps, slots, outcomes, picks, whole=False) == scanned
    assert sorted(s for starts, skips in scanned for s in [*starts, *skips]) == sorted(deps)
