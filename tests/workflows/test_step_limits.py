"""A plan's own timeout and attempts per step, within the limits the policy sets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from durable_agents.contracts import Plan, Policy
from durable_agents.rules.policy import limit_problems
from tests.local_http import LocalHttp
from tests.workflows.runs import assert_replays, plan, run_failure, start


@pytest.fixture
def flaky() -> Iterator[LocalHttp]:
    server = LocalHttp({"/busy": lambda handler, body: (503, {}, b"busy")})
    yield server
    server.stop()


async def test_a_step_with_its_own_timeout_and_attempts_is_called_with_them(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker, flaky: LocalHttp
) -> None:
    fetch = {"id": "fetch", "action": "http_request", "params": {"url": flaky.url("/busy")}}
    given = plan({**fetch, "timeout_seconds": 7, "max_attempts": 2, "on_failure": "fail"})
    policy = Policy(allow_hosts=["127.0.0.1"])
    handle = await start(client, task_queue, workspace, plan=given, review=False, policy=policy)
    failure = await run_failure(handle)

    assert "HTTP 503" in str(failure.message)
    assert flaky.hits == [("GET", "/busy")] * 2  # the action's own policy tries 5 times
    scheduled = [
        event.activity_task_scheduled_event_attributes
        for event in (await handle.fetch_history()).events
        if event.HasField("activity_task_scheduled_event_attributes")
    ]
    assert [(s.activity_type.name, s.start_to_close_timeout.seconds) for s in scheduled] == [
        ("http_request", 7)
    ]
    assert scheduled[0].retry_policy.maximum_attempts == 2
    await assert_replays(handle)


def test_limits_beyond_the_policy_or_on_workflow_steps_are_refused() -> None:
    given = Plan.model_validate(
        {
            "steps": [
                {"id": "a", "action": "file_list", "timeout_seconds": 7200},
                {"id": "b", "action": "file_list", "max_attempts": 50},
                {"id": "c", "action": "wait", "params": {"seconds": 1}, "max_attempts": 1},
                {"id": "d", "action": "file_list", "timeout_seconds": 5, "max_attempts": 1},
            ]
        }
    )
    errors = limit_problems(given, Policy(max_step_attempts=20))
    assert errors == [
        "step 'a': timeout_seconds 7200 is over the policy's max_step_timeout_seconds (3600)",
        "step 'b': max_attempts 50 is over the policy's max_step_attempts (20)",
        "step 'c': timeout_seconds and max_attempts do not apply to wait (it runs in the "
        "workflow); leave them out",
    ]
    assert limit_problems(given, Policy(max_step_timeout_seconds=9000, max_step_attempts=50)) == [
        errors[2]
    ]


async def test_a_run_refuses_a_given_plan_over_its_policys_limits(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    listing = {"id": "ls", "action": "file_list", "params": {"path": "data"}, "max_attempts": 9}
    policy = Policy(max_step_attempts=3)
    handle = await start(
        client, task_queue, workspace, plan=plan(listing), review=False, policy=policy
    )
    message = str((await run_failure(handle)).message)
    assert message.startswith("the given plan is invalid: step 'ls': max_attempts 9 is over")
