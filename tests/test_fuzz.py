"""Fuzzing: plans, references, conditions and signal payloads. Every bad input ends as a
readable, typed error; no input makes a workflow task fail (a stuck run)."""

from __future__ import annotations

import asyncio
import random
import string
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from durable_agents.contracts import CATALOG, Plan, Policy, RunEvent, RunStatus
from durable_agents.workflows.agent import AgentWorkflow
from durable_agents.workflows.plan_checks import validate_plan
from durable_agents.workflows.references import ReferenceProblem, condition_holds, resolve
from tests.workflows.runs import start

IDS = st.sampled_from(["a", "b", "c", "read", "x1"])
FRAGMENTS = st.sampled_from(
    [
        "${steps.a.output}",
        "${steps.b.output[0]}",
        "${",
        "}",
        "${steps.",
        "steps.c.output",
        "${item}",
        "${length(steps.a.output)}",
        "${steps.a.output | [?x > `1`]}",
        "plain",
        "",
    ]
)
TEXT = st.lists(st.one_of(FRAGMENTS, st.text(max_size=8)), max_size=4).map("".join)
JSON: st.SearchStrategy[Any] = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)),
    max_leaves=8,
)
STEP = st.fixed_dictionaries(
    {
        "id": IDS,
        "title": st.just("t"),
        "action": st.sampled_from([*CATALOG, "rm_rf", ""]),
        "params": st.dictionaries(
            st.sampled_from(["path", "input", "url", "content", "x"]), JSON, max_size=3
        ),
        "depends_on": st.lists(IDS, max_size=2),
        "when": st.one_of(st.none(), TEXT),
        "foreach": st.one_of(st.none(), TEXT),
    }
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(STEP, max_size=5))
def test_plan_validation_only_ever_returns_sentences(steps: list[dict[str, Any]]) -> None:
    try:
        plan = Plan.model_validate({"steps": steps})
    except ValidationError:
        return  # malformed JSON shape: pydantic's own typed error
    errors = validate_plan(plan)
    assert all(isinstance(error, str) and error for error in errors)


@settings(max_examples=300)
@given(TEXT, JSON)
def test_references_and_conditions_fail_only_with_reference_problems(
    expression: str, output: Any
) -> None:
    context = {"steps": {"a": {"output": output, "status": "succeeded"}}}
    for attempt in (
        lambda: resolve(expression, context),
        lambda: condition_holds(expression, context),
    ):
        try:
            attempt()
        except ReferenceProblem as problem:
            assert str(problem)


def random_plans(count: int, seed: int = 20261122) -> list[Plan]:
    """Seeded random plans that pass validation, for running through the workflow."""
    chooser = random.Random(seed)
    plans: list[Plan] = []
    while len(plans) < count:
        steps = []
        for index in range(chooser.randint(1, 4)):
            earlier = f"${{steps.s{index - 1}.output}}" if index else "literal"
            action = chooser.choice(
                ["transform", "file_write", "file_read", "wait", "file_list", "transform"]
            )
            params: dict[str, Any] = {
                "transform": {
                    "input": chooser.choice([earlier, [1, 2], "text"]),
                    "expression": chooser.choice([None, "[0]", "length(@)", "nope("]),
                },
                "file_write": {
                    "path": chooser.choice(["out/a.txt", "../escape.txt", "out/b.json"]),
                    "content": earlier,
                },
                "file_read": {"path": chooser.choice(["data/sales.csv", "missing.txt"])},
                "wait": {"seconds": chooser.choice([0.01, 0.05])},
                "file_list": {"path": chooser.choice(["data", "nope"])},
            }[action]
            when = chooser.choice(
                [None, None, f"steps.s{index - 1}.output" if index else None, "`false`"]
            )
            steps.append(
                {"id": f"s{index}", "title": "t", "action": action, "params": params, "when": when}
            )
        plan = Plan.model_validate({"steps": steps})
        if not validate_plan(plan):
            plans.append(plan)
    return plans


async def test_random_plans_and_junk_signals_never_leave_a_run_stuck(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    junk = random.Random(7)
    handles = []
    # replacing files is allowed: runs share the workspace, and a run waiting for a
    # person's approval is not stuck, it is waiting
    policy = Policy(decisions={"destructive": "allow"})
    for given_plan in random_plans(20):
        handle = await start(
            client, task_queue, workspace, plan=given_plan, review=False, policy=policy
        )
        handles.append(handle)
        name = "".join(junk.choices(string.ascii_letters, k=5))
        try:
            await handle.signal(
                AgentWorkflow.event, RunEvent(name=name, payload={"junk": [1, None]})
            )
            await handle.signal("approve", {"step_id": name, "note": 42, "args_hash": "nope"})
            await handle.signal("reject", {"unexpected": True})
            await handle.signal("event", {"name": "bad name!"})
        except RPCError as ended:  # a short plan may finish before its junk arrives
            assert ended.status is RPCStatusCode.NOT_FOUND, ended
    async with asyncio.timeout(120):
        for handle in handles:
            try:
                result = await handle.result()
                assert result.status == "succeeded"
            except WorkflowFailureError as failure:
                assert isinstance(failure.cause, ApplicationError), failure.cause
                assert failure.cause.type in {"RunFailed", "InvalidPlan", "NoProgress"}
                assert failure.cause.message
            status = await handle.query(AgentWorkflow.status)
            assert isinstance(status, RunStatus)
