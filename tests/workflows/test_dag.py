from durable_agents.contracts import StepStatus
from durable_agents.workflows.dag import find_cycle, next_moves

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
