"""Per-step on_failure (skip, fail, retry, recover) and the no-progress stop."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from durable_agents.contracts import Policy, Recovery, StepStatus
from tests.fake_llm import FakeLlm
from tests.local_http import LocalHttp, Route, json_route
from tests.workflows.runs import activity_types, assert_replays, plan, run_failure, start

MISSING = {"id": "read", "action": "file_read", "params": {"path": "data/sale.csv"}}


async def test_skip_lets_the_rest_of_the_run_go_on(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    given = plan(
        {**MISSING, "on_failure": "skip"},
        {
            "id": "use",
            "action": "file_write",
            "params": {"path": "o", "content": "${steps.read.output}"},
        },
        {"id": "other", "action": "file_list", "params": {"path": "data"}},
    )
    result = await (await start(client, task_queue, workspace, plan=given, review=False)).result()

    read, use, other = result.steps
    assert result.status == "succeeded"
    assert read.status is StepStatus.SKIPPED and read.error and "FileNotFound" in read.error
    assert read.skip_reason and read.skip_reason.startswith("failed, skipped (on_failure): ")
    assert use.status is StepStatus.SKIPPED and other.output == ["data/sales.csv"]


async def test_fail_stops_the_run_without_a_replan(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    fake_llm.plans.append(
        plan(
            {**MISSING, "on_failure": "fail"},
            {"id": "later", "action": "file_list", "depends_on": ["read"], "params": {}},
        )
    )
    handle = await start(client, task_queue, workspace)
    failure = await run_failure(handle)

    assert str(failure.message).startswith("step 'read' failed (on_failure=fail): FileNotFound")
    assert len(fake_llm.plan_requests) == 1 and not fake_llm.review_requests
    assert await activity_types(handle) == ["look", "plan", "file_read"]


async def test_retry_runs_a_step_again_after_its_retries_ran_out(
    skipping_env: WorkflowEnvironment, task_queue: str, workspace: Path, skipping_worker: Worker
) -> None:
    calls: list[int] = []
    ok: Route = json_route({"ok": True})

    def flaky(handler: object, body: bytes) -> tuple[int, dict[str, str], bytes]:
        calls.append(1)  # down for the whole first round of 5 attempts, then up
        return ok(handler, body) if len(calls) > 5 else (503, {}, b"down")  # type: ignore[arg-type]

    server = LocalHttp({"/flaky": flaky})
    try:
        given = plan(
            {
                "id": "call",
                "action": "http_request",
                "on_failure": "retry",
                "params": {"url": server.url("/flaky")},
            }
        )
        handle = await start(
            skipping_env.client,
            task_queue,
            workspace,
            plan=given,
            review=False,
            policy=Policy(allow_hosts=["127.0.0.1"]),
        )
        result = await handle.result()
    finally:
        server.stop()
    assert result.steps[0].status is StepStatus.SUCCEEDED and len(calls) == 6
    assert await activity_types(handle) == ["http_request", "http_request"]


async def test_recover_retries_with_corrected_params(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    fake_llm.recoveries.append(
        Recovery(
            reason="the file is sales.csv", decision="retry", params={"path": "data/sales.csv"}
        )
    )
    given = plan({**MISSING, "on_failure": "recover"})
    handle = await start(client, task_queue, workspace, plan=given, review=False)
    result = await handle.result()

    read = result.steps[0]
    assert read.status is StepStatus.SUCCEEDED and isinstance(read.output, list)
    assert read.recoveries == ["retry: the file is sales.csv {'path': 'data/sales.csv'}"]
    request = fake_llm.recover_requests[0]
    assert request.arguments == {"path": "data/sale.csv", "format": "auto"}
    assert request.error.startswith("FileNotFound: no such file in the workspace")
    assert result.usage.calls == 1  # the recovery's tokens count
    assert await activity_types(handle) == ["file_read", "recover", "file_read"]
    await assert_replays(handle)


async def test_a_recovery_is_checked_like_a_plan_step(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    fake_llm.recoveries.extend(
        [
            Recovery(reason="go up", decision="retry", params={"path": "../../etc/passwd"}),
            Recovery(reason="not needed", decision="skip"),
        ]
    )
    blocked = plan({**MISSING, "on_failure": "recover"})
    handle = await start(client, task_queue, workspace, plan=blocked, review=False)
    failure = await run_failure(handle)
    assert "recovery (retry): go up; BlockedByPolicy: path '../../etc/passwd' climbs out" in str(
        failure.message
    )
    assert await activity_types(handle) == ["file_read", "recover"]

    skipped = plan({**MISSING, "on_failure": "recover"})
    result = await (await start(client, task_queue, workspace, plan=skipped, review=False)).result()
    assert result.steps[0].status is StepStatus.SKIPPED
    assert "recovery (skip): not needed" in (result.steps[0].skip_reason or "")


async def test_the_same_failure_after_a_replan_stops_the_run(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    def waiting(step_id: str) -> dict[str, object]:
        params = {"event": "never", "timeout_seconds": 0.2}
        return {"id": step_id, "action": "wait_for_event", "params": params}

    fake_llm.plans.extend([plan(waiting("first")), plan(waiting("second"))])
    handle = await start(client, task_queue, workspace, max_replans=5)
    failure = await run_failure(handle)

    assert failure.type == "NoProgress"
    assert "wait_for_event: EventTimeout: no event 'never' arrived within 0.2 s" in str(
        failure.message
    )
    assert len(fake_llm.plan_requests) == 2  # not 6: the loop stopped at the repeat
    await assert_replays(handle)
