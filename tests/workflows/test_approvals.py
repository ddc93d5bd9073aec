"""Approvals and guardrails in the running workflow: signals, the update, timeouts, blocks."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import CancelledError
from temporalio.worker import Worker

from durable_agents.contracts import (
    ApprovalDecision,
    Budget,
    DecideRequest,
    ModelPrice,
    Policy,
    Review,
    RunInput,
    StepStatus,
)
from durable_agents.workflows.agent import AgentWorkflow
from tests.fake_llm import FakeLlm
from tests.local_http import LocalHttp
from tests.workflows.runs import (
    activity_types,
    assert_replays,
    pending_approval,
    plan,
    replace_file_plan,
    run_failure,
    start,
)

LOCAL = Policy(allow_hosts=["127.0.0.1"])


@pytest.fixture
def server() -> Iterator[LocalHttp]:
    local = LocalHttp({"/echo": lambda h, body: (201, {}, b"got " + body)})
    yield local
    local.stop()


def post(server: LocalHttp, text: str, step_id: str = "post") -> dict[str, object]:
    params = {"url": server.url("/echo"), "method": "POST", "text_body": text}
    return {"id": step_id, "action": "http_request", "params": params}


async def test_a_post_waits_for_a_signal_and_runs_once_approved(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker, server: LocalHttp
) -> None:
    given = plan(post(server, "hello"))
    handle = await start(client, task_queue, workspace, plan=given, review=False, policy=LOCAL)
    waiting = await pending_approval(handle, "post")

    assert waiting.risk.value == "external" and "HTTP POST" in waiting.reason
    assert waiting.arguments["text_body"] == "hello"  # type: ignore[index,call-overload]
    assert server.hits == []  # nothing is sent before a person decides
    status = await handle.query(AgentWorkflow.status)
    assert status.steps[0].status is StepStatus.AWAITING_APPROVAL

    await handle.signal(
        AgentWorkflow.approve, ApprovalDecision(step_id="post", by="alice", note="fine")
    )
    result = await handle.result()
    assert result.status == "succeeded" and server.hits == [("POST", "/echo")]
    [record] = result.approvals
    assert (record.outcome, record.by, record.note, record.via) == (
        "approved",
        "alice",
        "fine",
        "signal",
    )
    assert record.args_hash == waiting.args_hash
    await assert_replays(handle)


async def test_the_update_validates_then_a_rejection_fails_a_given_plan(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker, server: LocalHttp
) -> None:
    handle = await start(
        client, task_queue, workspace, plan=plan(post(server, "x")), review=False, policy=LOCAL
    )
    waiting = await pending_approval(handle, "post")

    with pytest.raises(WorkflowUpdateFailedError) as unknown:
        await handle.execute_update(
            AgentWorkflow.decide, DecideRequest(step_id="nope", approve=True)
        )
    assert "no step 'nope' in this run; steps: post" in str(unknown.value.cause)
    stale = DecideRequest(step_id="post", approve=True, args_hash="0" * 16)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(AgentWorkflow.decide, stale)
    assert f"now waits with arguments hash {waiting.args_hash}" in str(refused.value.cause)

    record = await handle.execute_update(
        AgentWorkflow.decide,
        DecideRequest(step_id="post", approve=False, by="bob", note="not today"),
    )
    assert record.outcome == "rejected" and record.via == "update"
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert "Rejected by bob: not today" in str(failed.value.cause)
    assert server.hits == []
    await assert_replays(handle)


async def test_an_undecided_approval_times_out_as_a_timeout(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker, server: LocalHttp
) -> None:
    policy = Policy(allow_hosts=["127.0.0.1"], approval_timeout_seconds=0.5)
    handle = await start(
        client, task_queue, workspace, plan=plan(post(server, "x")), review=False, policy=policy
    )
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert "ApprovalTimedOut: no decision within 0.5 s" in str(failed.value.cause)
    status = await handle.query(AgentWorkflow.status)
    assert [(a.outcome, a.via) for a in status.approvals] == [("timed_out", "timeout")]
    assert server.hits == []


async def test_a_replan_with_new_arguments_needs_a_new_approval(
    client: Client,
    task_queue: str,
    workspace: Path,
    fake_llm: FakeLlm,
    agent_worker: Worker,
    server: LocalHttp,
) -> None:
    fake_llm.plans.append(plan(post(server, "first")))
    fake_llm.plans.append(plan(post(server, "second")))
    fake_llm.reviews.append(Review(verdict="done", answer="posted"))
    handle = await start(client, task_queue, workspace, policy=LOCAL)
    first = await pending_approval(handle, "post")
    await handle.signal(AgentWorkflow.reject, ApprovalDecision(step_id="post", note="wrong text"))

    second = await pending_approval(handle, "post")
    assert second.args_hash != first.args_hash and second.arguments["text_body"] == "second"  # type: ignore[index,call-overload]
    old = DecideRequest(step_id="post", approve=True, args_hash=first.args_hash)
    with pytest.raises(WorkflowUpdateFailedError) as stale:
        await handle.execute_update(AgentWorkflow.decide, old)
    assert "stale decision" in str(stale.value.cause)
    await handle.signal(AgentWorkflow.approve, ApprovalDecision(step_id="post"))
    result = await handle.result()

    assert result.status == "succeeded" and server.hits == [("POST", "/echo")]
    assert [a.outcome for a in result.approvals] == ["rejected", "approved"]
    assert "Rejected by someone: wrong text" in (fake_llm.plan_requests[1].feedback or "")
    await assert_replays(handle)


async def test_a_blocked_step_goes_back_to_the_planner_with_the_reason(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    metadata = {"url": "http://169.254.169.254/latest/meta-data", "method": "GET"}
    fake_llm.plans.append(plan({"id": "peek", "action": "http_request", "params": metadata}))
    fake_llm.plans.append(plan({"id": "ls", "action": "file_list", "params": {}}))
    handle = await start(client, task_queue, workspace)
    result = await handle.result()

    [error] = fake_llm.plan_requests[1].errors
    assert error.startswith("step 'peek' is blocked by the run's policy: 169.254.169.254 is")
    assert await activity_types(handle) == ["look", "plan", "plan", "file_list", "review"]
    assert result.status == "succeeded"


async def test_a_reference_cannot_smuggle_a_blocked_value(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    (workspace / "target.txt").write_text("http://169.254.169.254/latest")
    given = plan(
        {"id": "read", "action": "file_read", "params": {"path": "target.txt"}},
        {"id": "call", "action": "http_request", "params": {"url": "${steps.read.output}"}},
    )
    handle = await start(client, task_queue, workspace, plan=given, review=False)
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert "step 'call' failed: BlockedByPolicy: 169.254.169.254 is a link-local" in str(
        failed.value.cause
    )
    assert await activity_types(handle) == ["file_read"]  # the call never reached a worker


def listing(step_id: str, after: str | None = None) -> dict[str, object]:
    return {
        "id": step_id,
        "action": "file_list",
        "params": {"path": "data"},
        "depends_on": [after] if after else [],
    }


async def test_pause_starts_nothing_until_resume(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    run_input = RunInput(
        goal="list", workspace=str(workspace), plan=plan(listing("ls")), review=False
    )
    handle = await client.start_workflow(
        AgentWorkflow.run,
        run_input,
        id=f"paused-{uuid.uuid4()}",
        task_queue=task_queue,
        start_signal="pause",
    )
    status = await handle.query(AgentWorkflow.status)
    assert status.paused and status.steps[0].status is StepStatus.PENDING
    assert await activity_types(handle) == []

    await handle.signal(AgentWorkflow.resume)
    result = await handle.result()
    assert result.status == "succeeded" and await activity_types(handle) == ["file_list"]
    await assert_replays(handle)


async def test_plan_signoff_shows_the_plan_and_a_rejection_replans(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    fake_llm.plans.append(plan(listing("everything")))
    fake_llm.plans.append(plan(listing("ls")))
    handle = await start(client, task_queue, workspace, policy=Policy(plan_signoff=True))
    first = await pending_approval(handle, "plan")
    assert first.action == "plan" and first.risk is None
    assert first.arguments["steps"][0]["id"] == "everything"  # type: ignore[index,call-overload]
    assert await activity_types(handle) == ["look", "plan"]  # nothing runs before the sign-off

    await handle.signal(AgentWorkflow.reject, ApprovalDecision(step_id="plan", note="too much"))
    second = await pending_approval(handle, "plan")
    assert second.args_hash != first.args_hash
    await handle.signal(AgentWorkflow.approve, ApprovalDecision(step_id="plan"))
    result = await handle.result()

    assert "too much" in (fake_llm.plan_requests[1].feedback or "")
    assert [s.id for s in result.steps] == ["ls"]
    assert [a.outcome for a in result.approvals] == ["rejected", "approved"]
    await assert_replays(handle)


async def test_a_used_up_budget_asks_for_an_extension(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    given = plan(listing("a"), listing("b", after="a"), listing("c", after="b"))
    handle = await start(
        client, task_queue, workspace, plan=given, review=False, budget=Budget(max_steps=2)
    )
    ask = await pending_approval(handle, "budget")
    assert ask.arguments == {"limit": "max_steps", "from": 2, "to": 4}
    assert "budget max_steps = 2 is used up (2 used)" in ask.reason
    assert await activity_types(handle) == ["file_list", "file_list"]

    await handle.signal(AgentWorkflow.approve, ApprovalDecision(step_id="budget"))
    result = await handle.result()
    assert [s.status for s in result.steps] == [StepStatus.SUCCEEDED] * 3
    status = await handle.query(AgentWorkflow.status)
    assert status.budget is not None and status.budget.max_steps == 4
    await assert_replays(handle)


# One plan call of the fake LLM: 1 call, 60 tokens; at $1000 per 1M tokens it costs $0.06.
EXPENSIVE = {"fake-model": ModelPrice(prompt=1000, completion=1000)}


@pytest.mark.parametrize(
    ("budget", "message"),
    [
        (Budget(max_llm_calls=1), "budget max_llm_calls = 1 is used up (1 used)"),
        (Budget(max_tokens=60), "budget max_tokens = 60 is used up (60 used)"),
        (
            Budget(max_cost_usd=0.05, prices=EXPENSIVE),
            "budget max_cost_usd = 0.05 is used up (0.06 used)",
        ),
    ],
)
async def test_a_budget_that_may_not_be_extended_fails_the_run(
    client: Client,
    task_queue: str,
    workspace: Path,
    fake_llm: FakeLlm,
    agent_worker: Worker,
    budget: Budget,
    message: str,
) -> None:
    fake_llm.plans.append(plan(listing("ls")))
    strict = budget.model_copy(update={"on_exhausted": "fail"})
    handle = await start(client, task_queue, workspace, budget=strict)
    cause = await run_failure(handle)
    assert (cause.type, cause.message) == ("BudgetExhausted", message)
    assert await activity_types(handle) == ["look", "plan", "file_list"]  # the step ran, no review


async def test_cancelling_a_run_that_waits_for_approval_runs_nothing(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker, server: LocalHttp
) -> None:
    handle = await start(
        client, task_queue, workspace, plan=plan(post(server, "x")), review=False, policy=LOCAL
    )
    await pending_approval(handle, "post")
    await handle.cancel()
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert isinstance(failed.value.cause, CancelledError)
    assert server.hits == []


async def test_replacing_an_existing_file_waits_for_approval(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    given = replace_file_plan(workspace)
    handle = await start(client, task_queue, workspace, plan=given, review=False)
    waiting = await pending_approval(handle, "write")
    assert waiting.risk is not None and waiting.risk.value == "destructive"
    assert waiting.reason == "notes.txt exists; writing replaces its content"
    assert (workspace / "notes.txt").read_text() == "old"

    await handle.signal(AgentWorkflow.approve, ApprovalDecision(step_id="write"))
    result = await handle.result()
    assert result.status == "succeeded" and (workspace / "notes.txt").read_text() == "new"
    assert await activity_types(handle) == ["file_write", "file_write"]
    await assert_replays(handle)


async def test_a_cost_limit_with_an_unpriced_model_fails_with_the_fix(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    fake_llm.plans.append(plan(listing("ls")))
    handle = await start(client, task_queue, workspace, budget=Budget(max_cost_usd=1))
    cause = await run_failure(handle)
    assert cause.type == "BudgetUnpriced"
    assert "model 'fake-model' has no price; add it to the budget's prices" in cause.message


async def test_cancelling_a_run_stops_a_running_http_call(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    release = threading.Event()

    def slow(handler: object, body: bytes) -> tuple[int, dict[str, str], bytes]:
        release.wait(60)  # a call that would hang far longer than the test
        return 200, {}, b"late"

    server = LocalHttp({"/slow": slow})
    try:
        call = {"id": "call", "action": "http_request", "params": {"url": server.url("/slow")}}
        handle = await start(
            client, task_queue, workspace, plan=plan(call), review=False, policy=LOCAL
        )
        async with asyncio.timeout(20):
            while not server.hits:  # the request is in flight
                await asyncio.sleep(0.05)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
    finally:
        release.set()
        server.stop()
    assert isinstance(failed.value.cause, CancelledError)
    history = await handle.fetch_history()
    # The run waited until the activity itself stopped: its cancellation is in history.
    assert any(e.HasField("activity_task_canceled_event_attributes") for e in history.events)


async def test_signals_of_any_shape_never_fail_a_workflow_task(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker, server: LocalHttp
) -> None:
    """No input (the CLI without --input, an empty Web UI form), two inputs, null, a
    string, or an input to a signal that takes none: ignored, and the run still obeys."""
    given = plan(post(server, "hello"))
    handle = await start(client, task_queue, workspace, plan=given, review=False, policy=LOCAL)
    await pending_approval(handle, "post")
    for name in ("approve", "reject", "event"):
        await handle.signal(name)  # no payload at all
        await handle.signal(name, args=[{"step_id": "post"}, {"step_id": "post"}])
        await handle.signal(name, None)
        await handle.signal(name, "post")
    await handle.signal("pause", {"why": "an input pause does not take"})
    await handle.signal("resume", "neither does resume")
    status = await handle.query(AgentWorkflow.status)  # answered: the run is alive
    assert [p.step_id for p in status.pending_approvals] == ["post"] and not status.paused

    await handle.signal(AgentWorkflow.approve, ApprovalDecision(step_id="post"))
    result = await handle.result()
    assert result.status == "succeeded" and server.hits == [("POST", "/echo")]
    history = await handle.fetch_history()
    failed_tasks = [
        e for e in history.events if e.HasField("workflow_task_failed_event_attributes")
    ]
    assert failed_tasks == []
    await assert_replays(handle)
