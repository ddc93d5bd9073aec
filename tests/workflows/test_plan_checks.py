from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from durable_agents.contracts import Compensation, Plan, Step
from durable_agents.contracts.run import MAX_SUB_GOAL_DEPTH
from durable_agents.workflows.plan_checks import nesting_problems, step_dependencies, validate_plan
from tests.fake_llm import FakeLlm
from tests.workflows.runs import assert_replays, plan, run_failure, start


def step(step_id: str, action: str = "file_read", **params: object) -> Step:
    return Step.model_validate(
        {"id": step_id, "title": step_id, "action": action, "params": params or {"path": "x"}}
    )


def test_a_valid_plan_has_no_errors() -> None:
    plan = Plan(
        steps=[
            step("read", path="data/sales.csv"),
            step("total", "transform", input="${steps.read.output}", group_by="region"),
            step("write", "file_write", path="out/t.json", content="${steps.total.output}"),
        ]
    )
    assert validate_plan(plan) == []


def test_references_are_dependencies() -> None:
    s = step("write", "file_write", path="a", content="x ${steps.total.output[0]} y")
    s.depends_on = ["read"]
    s.when = "steps.check.output"
    assert step_dependencies(s) == {"read", "total", "check"}


def test_each_problem_is_reported_with_the_step() -> None:
    plan = Plan(
        steps=[
            step("a"),
            step("a"),
            step("b", "teleport"),
            step("c", "file_read", path=5),
            step("d", "file_read", path="x", colour="red"),
            step("e", "file_write", path="x", content="${steps.ghost.output}"),
            step("f", "transform", input="${steps.a.output[}"),
        ]
    )
    errors = "\n".join(validate_plan(plan))
    assert "step id 'a' is used twice" in errors
    assert "unknown action 'teleport'" in errors
    assert "step 'c' (file_read) param path: Input should be a valid string" in errors
    assert "step 'd' (file_read) param colour: Extra inputs are not permitted" in errors
    assert "unknown step 'ghost'" in errors
    assert "step 'f': invalid JMESPath" in errors


def test_missing_required_param_is_reported() -> None:
    plan = Plan(steps=[step("w", "file_write", path="out.txt")])
    assert validate_plan(plan) == [
        "step 'w' (file_write) param content: Field required",
        "step 'w': file_write accepts params: path, content, format",
    ]


def test_a_reference_may_stand_in_for_a_required_param() -> None:
    plan = Plan(steps=[step("a"), step("w", "wait", seconds="${steps.a.output}")])
    assert validate_plan(plan) == []


def test_cycles_are_found() -> None:
    a = step("a", "file_write", path="a", content="${steps.b.output}")
    b = step("b", "file_write", path="b", content="${steps.a.output}")
    errors = validate_plan(Plan(steps=[a, b]))
    assert errors == ["dependency cycle: a -> b -> a; remove one dependency"]


def test_finished_steps_can_be_referenced_on_replan() -> None:
    finished = {"read": step("read")}
    plan = Plan(steps=[step("write", "file_write", path="o", content="${steps.read.output}")])
    assert validate_plan(plan, finished) == []
    assert "unknown step 'read'" in "".join(validate_plan(plan))


def test_empty_plan() -> None:
    assert validate_plan(Plan(steps=[])) == ["the plan has no steps; add at least one step"]


def test_a_totalling_expression_beside_group_by_is_caught_while_input_is_a_reference() -> None:
    step = {
        "id": "totals",
        "title": "t",
        "action": "transform",
        "params": {
            "input": "${steps.read.output}",
            "expression": "sum(revenue)",
            "group_by": "region",
            "aggregate": {"revenue": "sum"},
        },
        "depends_on": ["read"],
    }
    read = Step(id="read", title="r", action="file_list", params={})
    errors = validate_plan(Plan.model_validate({"steps": [step]}), {"read": read})
    assert any("set expression to null and name the totals" in e for e in errors), errors


def test_foreach_items_and_their_checks() -> None:
    each = step("each", "file_write", path="out/${item.name}.txt", content="${index}")
    each.foreach = "steps.read.output"
    assert step_dependencies(each) == {"read"}
    assert validate_plan(Plan(steps=[step("read"), each])) == []

    stray = step("stray", "file_write", path="out/${item}.txt", content="x")
    bad_foreach = step("bad", "file_write", path="x", content="y")
    bad_foreach.foreach = "item"  # evaluated before any item exists
    errors = validate_plan(Plan(steps=[stray, bad_foreach]))
    assert errors == [
        "step 'stray': expression 'item' uses item/index, which only a foreach step has",
        "step 'bad' foreach: expression 'item' uses item/index, which only a foreach step has",
    ]


def test_a_declared_undo_is_checked_like_a_step() -> None:
    create = step("create", "http_request", url="http://x/items", method="POST")
    create.compensate = Compensation(
        action="http_request",
        params={"method": "DELETE", "url": "http://x/items/${steps.create.output.body.id}"},
    )
    assert validate_plan(Plan(steps=[create])) == []

    later = step("later", "file_read", path="x")
    wrong = step("wrong", "file_write", path="x", content="y")
    wrong.compensate = Compensation(
        action="file_delete", params={"path": "${steps.later.output}", "colour": "red"}
    )
    timer = step("timer", "file_read", path="x")
    timer.compensate = Compensation(action="wait", params={"seconds": 1})
    errors = validate_plan(Plan(steps=[later, wrong, timer]))
    assert errors == [
        "step 'wrong' compensate (file_delete) param colour: Extra inputs are not permitted",
        "step 'wrong': file_delete accepts params: path, missing_ok",
        "step 'wrong' compensate references step 'later', which this step does not depend on; "
        "an undo may read only this step's output and its dependencies' outputs",
        "step 'timer' compensate: wait cannot undo anything; use an action with an effect",
    ]


def test_sub_goals_stop_at_the_depth_limit() -> None:
    plan = Plan(steps=[step("child", "sub_goal", goal="do a part")])
    assert validate_plan(plan) == []
    assert nesting_problems(plan, MAX_SUB_GOAL_DEPTH - 1) == []
    assert nesting_problems(plan, MAX_SUB_GOAL_DEPTH) == [
        f"step 'child': this run is a sub-goal {MAX_SUB_GOAL_DEPTH} levels deep, the limit; "
        "do the work with the other actions instead of sub_goal"
    ]


def test_a_step_cannot_read_its_own_output() -> None:
    # The 1.5B planner wrote exactly this (seed 2): a foreach over the step's own output.
    looped = step("total", "transform", input="${steps.read.output}", group_by="region")
    looped.foreach = "steps.total.output"
    errors = validate_plan(Plan(steps=[step("read"), looped]))
    assert errors == [
        "step 'total' reads its own output (steps.total), which does not exist before it "
        "runs; reference an earlier step's output instead"
    ]


async def test_planning_stops_when_two_plans_in_a_row_hit_the_same_block(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    """A POST to a private address the policy does not allow: asking the planner again
    cannot help (measured: 4 plans, 14 minutes with the embedded model). Two is enough."""
    for step_id in ("post", "send"):  # the ids differ, the block is the same
        fake_llm.plans.append(
            plan(
                {
                    "id": step_id,
                    "action": "http_request",
                    "params": {"url": "http://127.0.0.1:9/tickets", "method": "POST"},
                }
            )
        )
    handle = await start(client, task_queue, workspace, goal="POST a ticket to 127.0.0.1")
    failure = await run_failure(handle)
    assert "the run's policy blocks what the goal needs (two plans in a row)" in str(
        failure.message
    )
    assert "--allow-host 127.0.0.1" in str(failure.message)
    assert len(fake_llm.plan_requests) == 2
    await assert_replays(handle)
