"""Oversized inputs end in a clear limit, never a hang: a 100 KB goal, a 1,000-step plan,
a 10 MB HTTP response (refused by the default cap; kept as an artifact when allowed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from durable_agents.cli import main
from durable_agents.contracts import Policy
from durable_agents.contracts.artifacts import is_artifact
from tests.local_http import LocalHttp
from tests.workflows.runs import plan, run_failure, start

TEN_MB = json.dumps({"rows": ["x" * 1000] * 10_000}).encode()


def test_a_100_kb_goal_is_refused_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--goal", "a" * 100_000]) == 2
    assert capsys.readouterr().err == "error: goal: String should have at most 20000 characters\n"


def test_a_1000_step_plan_is_refused_before_it_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps = [{"id": f"s{n}", "title": "x", "action": "file_list"} for n in range(1000)]
    plan_file = tmp_path / "huge.json"
    plan_file.write_text(json.dumps({"steps": steps}))
    assert main(["--plan", str(plan_file)]) == 2
    err = capsys.readouterr().err
    assert "the plan has more than 500 steps" in err and len(err.splitlines()) == 1


async def test_a_10_mb_response_is_capped_by_default_and_kept_aside_when_allowed(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    assert len(TEN_MB) > 10_000_000
    server = LocalHttp(
        {"/big": lambda handler, body: (200, {"Content-Type": "application/json"}, TEN_MB)}
    )
    policy = Policy(allow_hosts=["127.0.0.1"])
    try:
        capped = plan(
            {"id": "get", "action": "http_request", "params": {"url": server.url("/big")}}
        )
        handle = await start(
            client, task_queue, workspace, plan=capped, review=False, policy=policy
        )
        failure = await run_failure(handle)
        assert "ResponseTooLarge" in str(failure.message)

        params = {"url": server.url("/big"), "max_response_bytes": 20_000_000}
        allowed = plan({"id": "get", "action": "http_request", "params": params})
        handle = await start(
            client, task_queue, workspace, plan=allowed, review=False, policy=policy
        )
        result = await handle.result()
    finally:
        server.stop()
    assert is_artifact(result.steps[0].output)
    assert len((await handle.fetch_history()).to_json()) < 200_000
