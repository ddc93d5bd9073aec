"""AgentWorkflow on a real dev server, LLM activities faked under their real names."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from durable_agents.contracts import Policy, Review, RunResult, RunStatus, StepStatus
from durable_agents.workflows.agent import AgentWorkflow
from tests.fake_llm import FakeLlm
from tests.local_http import LocalHttp
from tests.workflows.runs import DEMO_PLAN, activity_types, assert_replays, plan, start

TOTALS = [
    {"region": "North", "revenue": 643},
    {"region": "South", "revenue": 379.5},
    {"region": "East", "revenue": 599.5},
    {"region": "West", "revenue": 808},
]


async def test_planned_run_writes_the_file_and_replays(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    fake_llm.plans.append(DEMO_PLAN)
    fake_llm.reviews.append(Review(verdict="done", answer="North 643 ..."))
    handle = await start(client, task_queue, workspace)
    result = await handle.result()

    assert result.status == "succeeded" and result.answer == "North 643 ..."
    assert json.loads((workspace / "out/revenue.json").read_text()) == TOTALS
    assert [s.status for s in result.steps] == [StepStatus.SUCCEEDED] * 3
    assert all(s.attempts == 1 and s.started_at and s.finished_at for s in result.steps)
    assert result.usage.calls == 2 and result.usage.prompt_tokens == 80
    assert [p.reason for p in result.plans] == ["initial plan"]
    review = fake_llm.review_requests[0]
    assert '"revenue": 643' in review.steps[1].output_preview

    status = await handle.query(AgentWorkflow.status)
    assert isinstance(status, RunStatus) and status.phase.value == "succeeded"
    assert status.plan is not None and len(status.plan.steps) == 3
    await assert_replays(handle)


async def test_independent_steps_really_overlap(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    barrier = threading.Barrier(3, timeout=20)

    def meet(handler: object, body: bytes) -> tuple[int, dict[str, str], bytes]:
        barrier.wait()  # only passes when all three requests are in flight at once
        return 200, {"Content-Type": "application/json"}, b'{"ok": true}'

    server = LocalHttp({"/meet": meet})
    try:
        steps = [
            {"id": f"call_{n}", "action": "http_request", "params": {"url": server.url("/meet")}}
            for n in range(3)
        ]
        handle = await start(
            client,
            task_queue,
            workspace,
            plan=plan(*steps),
            review=False,
            max_parallel=3,
            policy=Policy(allow_hosts=["127.0.0.1"]),
        )
        result = await handle.result()
    finally:
        server.stop()
    assert [s.output for s in result.steps] == [
        {
            "status": 200,
            "headers": {"content-type": "application/json", "content-length": "12"},
            "body": {"ok": True},
        }
    ] * 3
    latest_start = max(s.started_at for s in result.steps if s.started_at)
    assert all(s.finished_at and s.finished_at >= latest_start for s in result.steps)


async def test_failure_skips_dependents_and_replans_with_the_error(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    fake_llm.plans.append(
        plan(
            {"id": "read", "action": "file_read", "params": {"path": "data/missing.csv"}},
            {
                "id": "after",
                "action": "file_write",
                "params": {"path": "o.txt", "content": "${steps.read.output}"},
            },
            {
                "id": "later",
                "action": "file_write",
                "params": {"path": "p.txt", "content": "${steps.after.output}"},
            },
            {
                "id": "never",
                "action": "wait",
                "params": {"seconds": 1},
                "when": "steps.listed.output[?contains(@, 'zzz')]",
                "depends_on": ["listed"],
            },
            {"id": "listed", "action": "file_list", "params": {"path": "data"}},
        )
    )
    fake_llm.plans.append(DEMO_PLAN)
    handle = await start(client, task_queue, workspace)
    result = await handle.result()

    first = {s.id: s for s in result.superseded_steps}
    assert first["read"].status is StepStatus.FAILED
    assert first["read"].error == "FileNotFound: no such file in the workspace: 'data/missing.csv'"
    assert first["after"].skip_reason == "dependency 'read' failed"
    assert first["later"].skip_reason == "dependency 'after' was skipped"
    assert first["never"].skip_reason is not None and "was false" in first["never"].skip_reason
    replan_request = fake_llm.plan_requests[1]
    assert replan_request.feedback is not None and "FileNotFound" in replan_request.feedback
    assert [s.id for s in replan_request.finished_steps] == ["listed"]
    assert [s.id for s in replan_request.failed_steps] == ["read"]
    assert "data/missing.csv" in replan_request.failed_steps[0].params_preview
    assert result.status == "succeeded"
    assert [p.kept_step_ids for p in result.plans] == [[], ["listed"]]
    await assert_replays(handle)


async def test_a_replan_that_repeats_a_step_failing_for_good_is_sent_back(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    missing = {"id": "read", "action": "file_read", "params": {"path": "data/missing.csv"}}
    fake_llm.plans.append(plan(missing))
    fake_llm.plans.append(plan({**missing, "id": "read_again"}))  # same action and params
    fake_llm.plans.append(plan(DEMO_PLAN.steps[0].model_dump()))
    handle = await start(client, task_queue, workspace)
    result = await handle.result()

    repair = fake_llm.plan_requests[2]
    assert repair.errors == [
        "step 'read_again' repeats the exact file_read params that already failed with: "
        "FileNotFound: no such file in the workspace: 'data/missing.csv'; change the params "
        "or take another approach"
    ]
    kinds = ["look", "plan", "file_read", "plan", "plan", "file_read", "review"]
    assert await activity_types(handle) == kinds
    assert result.status == "succeeded" and len(result.plans) == 2
    await assert_replays(handle)


async def test_replan_keeps_finished_steps_and_never_reruns_them(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    fake_llm.plans.append(plan(DEMO_PLAN.steps[0].model_dump()))
    fake_llm.reviews.append(Review(verdict="replan", answer="", feedback="also total it"))
    fake_llm.plans.append(DEMO_PLAN)  # repeats "read": must be kept, not run again
    fake_llm.reviews.append(Review(verdict="done", answer="done"))
    handle = await start(client, task_queue, workspace)
    result = await handle.result()

    assert await activity_types(handle) == [
        "look",
        "plan",
        "file_read",
        "review",
        "plan",
        "transform",
        "file_write",
        "review",
    ]
    assert [s.id for s in result.steps] == ["read", "total", "write"]
    assert result.steps[0].plan_version == 1 and result.steps[2].plan_version == 2
    assert result.plans[1].reason == "re-plan 1: also total it"
    assert [s.id for s in result.plans[1].plan.steps] == ["total", "write"]
    assert json.loads((workspace / "out/revenue.json").read_text()) == TOTALS


async def test_a_file_the_goal_names_but_no_step_wrote_forces_a_replan(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    fake_llm.plans.append(plan(*[s.model_dump() for s in DEMO_PLAN.steps[:2]]))
    fake_llm.plans.append(DEMO_PLAN)
    goal = "Total the revenue per region and write the totals to out/revenue.json."
    handle = await start(client, task_queue, workspace, goal=goal)
    result = await handle.result()

    # The reviewer is never asked about the incomplete run: code decides it is not done.
    assert await activity_types(handle) == [
        "look",
        "plan",
        "file_read",
        "transform",
        "inspect",  # the goal's file is read back: not there
        "plan",
        "file_write",
        "inspect",
        "review",
    ]
    feedback = fake_llm.plan_requests[1].feedback
    assert feedback is not None and "out/revenue.json was not written" in feedback
    assert "Add a file_write step whose path is out/revenue.json" in feedback
    assert result.plans[1].reason.startswith("re-plan 1: All steps finished, but out/revenue")
    assert json.loads((workspace / "out/revenue.json").read_text()) == TOTALS
    await assert_replays(handle)


async def test_invalid_plans_are_repaired_with_the_exact_errors(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    fake_llm.plans.append(["the answer was not valid JSON"])
    fake_llm.plans.append(plan({"id": "x", "action": "teleport", "params": {}}))
    fake_llm.plans.append(DEMO_PLAN)
    result = await (await start(client, task_queue, workspace)).result()

    assert result.status == "succeeded"
    assert fake_llm.plan_requests[1].errors == ["the answer was not valid JSON"]
    assert fake_llm.plan_requests[1].rejected_plan == "{bad"
    assert "unknown action 'teleport'" in fake_llm.plan_requests[2].errors[0]


async def test_a_plan_that_stays_invalid_fails_the_run_clearly(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    for _ in range(2):
        fake_llm.plans.append(plan({"id": "x", "action": "teleport", "params": {}}))
    handle = await start(client, task_queue, workspace, max_plan_repairs=1)
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "InvalidPlan"
    assert cause.message.startswith("no valid plan after 2 attempts: step 'x': unknown action")
    partial = RunResult.model_validate(cause.details[0])
    assert partial.status == "failed" and partial.usage.calls == 2


async def test_replans_are_bounded(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    for _ in range(2):
        fake_llm.plans.append(plan({"id": "ls", "action": "file_list", "params": {}}))
        fake_llm.reviews.append(Review(verdict="replan", answer="", feedback="try again"))
    handle = await start(client, task_queue, workspace, max_replans=1)
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    assert "re-plan limit (1) reached; last feedback: try again" in str(caught.value.cause)
    assert (await activity_types(handle)).count("file_list") == 1  # kept across the re-plan


async def test_given_plan_with_a_wait_timer_needs_no_llm(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    given = plan(
        {"id": "pause", "action": "wait", "params": {"seconds": 0.2}},
        {"id": "ls", "action": "file_list", "params": {"path": "data"}, "depends_on": ["pause"]},
    )
    handle = await start(client, task_queue, workspace, plan=given, review=False)
    result = await handle.result()
    assert result.steps[0].output == {"waited_seconds": 0.2}
    assert result.steps[1].output == ["data/sales.csv"]
    assert 'ls: ["data/sales.csv"]' in result.answer
    assert fake_llm.plan_requests == [] and result.usage.calls == 0
    assert await activity_types(handle) == ["file_list"]  # the wait is a timer, not an activity
    await assert_replays(handle)
