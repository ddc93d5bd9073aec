"""foreach, wait_for_event and sub_goal steps on a real dev server (LLM faked by name)."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from durable_agents.contracts import ApprovalDecision, Budget, Plan, Policy, Review, RunEvent
from durable_agents.contracts.plan import FOREACH_MAX_ITEMS
from durable_agents.workflows.agent import AgentWorkflow
from tests.fake_llm import FakeLlm
from tests.local_http import LocalHttp
from tests.workflows.runs import (
    activity_types,
    assert_replays,
    pending_approval,
    plan,
    run_failure,
    start,
)


def names_file(workspace: Path, names: list[str]) -> dict[str, object]:
    (workspace / "names.json").write_text(json.dumps([{"name": n} for n in names]))
    return {"id": "names", "action": "file_read", "params": {"path": "names.json"}}


async def test_foreach_runs_items_in_parallel_and_keeps_their_order(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    barrier = threading.Barrier(3, timeout=20)

    def meet(handler: object, body: bytes) -> tuple[int, dict[str, str], bytes]:
        barrier.wait()  # only passes when all three items are in flight at once
        return 200, {"Content-Type": "application/json"}, body

    server = LocalHttp({"/meet": meet})
    try:
        each = {
            "id": "post",
            "action": "http_request",
            "foreach": "steps.names.output",
            "params": {
                "method": "PUT",
                "url": server.url("/meet"),
                "json_body": {"who": "${item.name}", "n": "${index}"},
            },
        }
        handle = await start(
            client,
            task_queue,
            workspace,
            plan=plan(names_file(workspace, ["ann", "bob", "cy"]), each),
            review=False,
            max_parallel=3,
            policy=Policy(allow_hosts=["127.0.0.1"], decisions={"external": "allow"}),
        )
        result = await handle.result()
    finally:
        server.stop()
    outputs = result.steps[1].output
    assert isinstance(outputs, list)
    assert [o["body"] for o in outputs] == [  # type: ignore[index,call-overload]
        {"who": "ann", "n": 0},
        {"who": "bob", "n": 1},
        {"who": "cy", "n": 2},
    ]
    assert await activity_types(handle) == ["file_read"] + ["http_request"] * 3
    await assert_replays(handle)


async def test_max_parallel_caps_calls_across_foreach_steps(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    """Two foreach steps of three items with max_parallel=2: never more than two calls
    in flight (each step's own semaphore used to allow max_parallel squared)."""
    lock = threading.Condition()
    in_flight, most = 0, 0

    def count(handler: object, body: bytes) -> tuple[int, dict[str, str], bytes]:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
            lock.notify_all()
            # hold the call while others may still arrive: a third would show at once
            lock.wait_for(lambda: in_flight > 2, timeout=0.5)
            in_flight -= 1
        return 200, {"Content-Type": "application/json"}, body

    server = LocalHttp({"/count": count})
    try:
        steps = [
            {
                "id": name,
                "action": "http_request",
                "foreach": "steps.names.output",
                "depends_on": ["names"],
                "params": {"method": "PUT", "url": server.url("/count"), "json_body": {}},
            }
            for name in ("first", "second")
        ]
        handle = await start(
            client,
            task_queue,
            workspace,
            plan=plan(names_file(workspace, ["a", "b", "c"]), *steps),
            review=False,
            max_parallel=2,
            policy=Policy(allow_hosts=["127.0.0.1"], decisions={"external": "allow"}),
        )
        result = await handle.result()
    finally:
        server.stop()
    assert result.status == "succeeded"
    assert len(server.hits) == 6
    assert most == 2, f"{most} calls ran at once with max_parallel=2"
    await assert_replays(handle)


async def test_foreach_asks_once_for_all_items_and_bounds_the_count(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    for name in ("a", "b"):
        (workspace / f"{name}.tmp").write_text(name)
    delete_each = {
        "id": "delete",
        "action": "file_delete",
        "foreach": "steps.names.output",
        "params": {"path": "${item.name}.tmp"},
    }
    handle = await start(
        client, task_queue, workspace, plan=plan(names_file(workspace, ["a", "b"]), delete_each)
    )
    pending = await pending_approval(handle, "delete")
    assert pending.arguments == {
        "items": [{"path": "a.tmp", "missing_ok": False}, {"path": "b.tmp", "missing_ok": False}]
    }
    assert pending.reason.startswith("2 of 2 items: ")
    await handle.signal(AgentWorkflow.approve, ApprovalDecision(step_id="delete"))
    result = await handle.result()
    assert result.status == "succeeded"
    assert not list(workspace.glob("*.tmp"))

    too_many = names_file(workspace, [f"n{i}" for i in range(FOREACH_MAX_ITEMS + 1)])
    listing = {"id": "ls", "action": "file_list", "foreach": "steps.names.output", "params": {}}
    handle = await start(client, task_queue, workspace, plan=plan(too_many, listing), review=False)
    failure = await run_failure(handle)
    assert f"gave {FOREACH_MAX_ITEMS + 1} items; the limit is {FOREACH_MAX_ITEMS}" in str(
        failure.message
    )


async def test_an_event_payload_becomes_the_output_even_if_it_came_early(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    given = plan(
        {"id": "go", "action": "wait_for_event", "params": {"event": "go"}},
        {
            "id": "paid",
            "action": "wait_for_event",
            "depends_on": ["go"],
            "params": {"event": "payment.received"},
        },
        {
            "id": "record",
            "action": "file_write",
            "params": {"path": "out/paid.txt", "content": "${steps.paid.output.amount}"},
        },
    )
    handle = await start(client, task_queue, workspace, plan=given, review=False)
    early = RunEvent(name="payment.received", payload={"amount": 42})
    await handle.signal(AgentWorkflow.event, early)  # before any step waits for it
    async with asyncio.timeout(20):
        while (await handle.query(AgentWorkflow.status)).awaited_events != ["go"]:
            await asyncio.sleep(0.05)
    await handle.signal(AgentWorkflow.event, RunEvent(name="go"))
    result = await handle.result()

    assert json.loads((workspace / "out/paid.txt").read_text()) == 42
    assert [s.output for s in result.steps[:2]] == [None, {"amount": 42}]
    await assert_replays(handle)


async def test_an_event_that_never_comes_times_out(
    skipping_env: WorkflowEnvironment, task_queue: str, workspace: Path, skipping_worker: Worker
) -> None:
    given = plan({"id": "wait", "action": "wait_for_event", "params": {"event": "callback"}})
    handle = await start(skipping_env.client, task_queue, workspace, plan=given, review=False)
    failure = await run_failure(handle)  # the test server skips the hour
    assert "EventTimeout: no event 'callback' arrived within 3600 s" in str(failure.message)


async def test_a_sub_goal_runs_as_a_child_with_its_own_plan(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    parent_plan = plan(
        {"id": "part", "action": "sub_goal", "params": {"goal": "write the greeting"}},
        {
            "id": "copy",
            "action": "file_write",
            "params": {"path": "out/copy.txt", "content": "${steps.part.output.answer}"},
        },
    )
    child_plan = plan(
        {"id": "greet", "action": "file_write", "params": {"path": "out/hi.txt", "content": "hi"}}
    )
    fake_llm.plans.extend([parent_plan, child_plan])
    fake_llm.reviews.extend(
        [Review(verdict="done", answer="wrote hi"), Review(verdict="done", answer="all done")]
    )
    handle = await start(client, task_queue, workspace, goal="greet, then copy the answer")
    result = await handle.result()

    assert result.answer == "all done"
    assert (workspace / "out/hi.txt").read_text() == "hi"
    assert (workspace / "out/copy.txt").read_text() == "wrote hi"
    child_id = f"{handle.id}.part"
    assert result.steps[0].output == {
        "answer": "wrote hi",
        "workflow_id": child_id,
        "outputs": {"greet": {"path": "out/hi.txt", "bytes": 2}},
    }
    goals = [r.goal for r in fake_llm.plan_requests]
    assert goals == ["greet, then copy the answer", "write the greeting"]
    assert result.usage.calls == 4  # the child's plan and review count in the parent
    child = client.get_workflow_handle(child_id)
    assert await activity_types(child) == ["look", "plan", "file_write", "review"]
    await assert_replays(handle)
    await assert_replays(child)


async def test_a_sub_goal_run_cannot_nest_deeper_than_the_limit(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    nested = Plan.model_validate(
        {"steps": [{"id": "deeper", "title": "x", "action": "sub_goal", "params": {"goal": "x"}}]}
    )
    handle = await start(client, task_queue, workspace, plan=nested, depth=2)
    failure = await run_failure(handle)
    assert "sub-goal 2 levels deep, the limit" in str(failure.message)
    assert (await handle.query(AgentWorkflow.status)).steps == []  # nothing was adopted


async def test_parallel_sub_goals_share_the_budget_instead_of_each_spending_all_of_it(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    parent_plan = plan(
        {"id": "a", "action": "sub_goal", "params": {"goal": "write two files"}},
        {"id": "b", "action": "sub_goal", "params": {"goal": "write two files"}},
    )
    child_plan = plan(
        {"id": "one", "action": "file_write", "params": {"path": "out/1.txt", "content": "1"}},
        {"id": "two", "action": "file_write", "params": {"path": "out/2.txt", "content": "2"}},
    )
    fake_llm.plans.extend([child_plan, child_plan])
    budget = Budget(max_steps=3, on_exhausted="fail")
    handle = await start(
        client, task_queue, workspace, plan=parent_plan, review=False, budget=budget
    )
    failure = await run_failure(handle)

    assert failure.type == "BudgetExhausted" and "max_steps" in failure.message
    child_steps = 0
    for child in ("a", "b"):
        try:
            types = await activity_types(client.get_workflow_handle(f"{handle.id}.{child}"))
        except RPCError:  # never started: nothing was left for it
            continue
        child_steps += types.count("file_write")
    assert 2 + child_steps <= 3  # the two sub_goal steps count, and so does every child step
    await assert_replays(handle)
