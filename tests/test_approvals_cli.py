"""Deciding approvals from the outside: the real ``temporal`` CLI and ``starter.py``."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.worker import Worker

from durable_agents.contracts import Plan, Policy, RunStatus
from durable_agents.runtime.devserver import find_temporal_cli
from tests.local_http import LocalHttp
from tests.test_starter import REPO, clean_env
from tests.workflows.runs import pending_approval, plan, start

LOCAL = Policy(allow_hosts=["127.0.0.1"])
Completed = subprocess.CompletedProcess[str]


@pytest.fixture
def server() -> Iterator[LocalHttp]:
    local = LocalHttp({"/echo": lambda h, body: (201, {}, b"got " + body)})
    yield local
    local.stop()


def post_plan(server: LocalHttp) -> Plan:
    params = {"url": server.url("/echo"), "method": "POST", "text_body": "hi"}
    return plan({"id": "post", "action": "http_request", "params": params})


async def run(command: list[str], env: dict[str, str] | None = None) -> Completed:
    """A subprocess in a thread: the worker in this test's event loop must keep serving."""
    return await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, text=True, timeout=60, check=False
    )


async def starter(client: Client, *args: str, env: dict[str, str] | None = None) -> Completed:
    """starter.py against the session's server (``env`` adds variables)."""
    full = clean_env(TEMPORAL_ADDRESS=client.service_client.config.target_host, **(env or {}))
    return await run([sys.executable, str(REPO / "starter.py"), *args], full)


def own_worker_env(client: Client, workspace: Path) -> dict[str, str]:
    """An environment whose task queue no worker polls, so the starter runs its own."""
    return clean_env(
        TEMPORAL_ADDRESS=client.service_client.config.target_host,
        AGENT_TASK_QUEUE=f"cli-{uuid.uuid4().hex[:8]}",
        AGENT_STATE_DIR=str(workspace / ".state"),
    )


async def test_the_temporal_cli_signal_approves_a_step(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker, server: LocalHttp
) -> None:
    given = post_plan(server)
    handle = await start(client, task_queue, workspace, plan=given, review=False, policy=LOCAL)
    await pending_approval(handle, "post")
    signal = [
        find_temporal_cli(),
        "workflow",
        "signal",
        "--address",
        client.service_client.config.target_host,
        "--workflow-id",
        handle.id,
        "--name",
        "approve",
        "--input",
        json.dumps({"step_id": "post", "note": "via CLI", "by": "ops"}),
    ]
    sent = await run(signal)
    assert sent.returncode == 0, sent.stderr

    result = await handle.result()
    assert result.status == "succeeded" and server.hits == [("POST", "/echo")]
    assert [(a.by, a.note) for a in result.approvals] == [("ops", "via CLI")]


async def test_starter_shows_lists_and_decides(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker, server: LocalHttp
) -> None:
    given = post_plan(server)
    handle = await start(client, task_queue, workspace, plan=given, review=False, policy=LOCAL)
    waiting = await pending_approval(handle, "post")

    status = await starter(client, "status", handle.id)
    assert status.returncode == 0, status.stderr
    assert "[?] awaiting approval post" in status.stdout
    assert f"approve: python starter.py approve {handle.id} post" in status.stdout
    assert f"hash {waiting.args_hash}" in status.stdout
    listed = await starter(client, "pending")
    assert f"starter.py approve {handle.id} post" in listed.stdout

    wrong = await starter(client, "approve", handle.id, "nope")
    assert wrong.returncode == 2 and "no step 'nope' in this run" in wrong.stderr
    assert wrong.stderr.startswith(f"error: run {handle.id}: ") and "ValueError" not in wrong.stderr

    rejected = await starter(client, "reject", handle.id, "post", "--note", "not now")
    assert rejected.returncode == 0, rejected.stderr
    assert rejected.stdout.startswith(f"rejected step 'post' of {handle.id}")
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert ": not now" in str(failed.value.cause) and server.hits == []


def test_a_policy_file_that_blocks_fails_a_plan_before_it_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from durable_agents import cli

    plan_file = tmp_path / "plan.json"
    step = {"id": "peek", "title": "p", "action": "http_request"}
    step["params"] = {"url": "http://10.0.0.5/"}  # type: ignore[assignment]
    plan_file.write_text(json.dumps({"steps": [step]}))
    assert cli.main(["--plan", str(plan_file)]) == 2
    assert "step 'peek' is blocked by the run's policy: 10.0.0.5" in capsys.readouterr().err
    bad_policy = tmp_path / "policy.toml"
    bad_policy.write_text('[decisions]\nread = "maybe"\n')
    assert cli.main(["--plan", str(plan_file), "--policy", str(bad_policy)]) == 2
    assert "decisions.read" in capsys.readouterr().err


async def test_yes_approves_for_scripts_and_the_output_says_so(
    client: Client, server: LocalHttp, workspace: Path
) -> None:
    plan_file = workspace / "post.json"
    plan_file.write_text(post_plan(server).model_dump_json())
    env = own_worker_env(client, workspace)
    command = [sys.executable, str(REPO / "starter.py"), "--plan", str(plan_file)]
    command += ["--allow-host", "127.0.0.1", "--yes", "--workspace", str(workspace)]
    done = await run(command, env)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "'post' needs approval (http_request, external: HTTP POST" in done.stdout
    assert "approved step 'post'" in done.stdout
    assert server.hits == [("POST", "/echo")]


async def test_pause_and_resume_from_the_command_line(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker, server: LocalHttp
) -> None:
    handle = await start(
        client, task_queue, workspace, plan=post_plan(server), review=False, policy=LOCAL
    )
    await pending_approval(handle, "post")
    paused = await starter(client, "pause", handle.id)
    assert paused.returncode == 0 and paused.stdout.strip() == f"sent pause to {handle.id}"
    assert (await handle.query("status", result_type=RunStatus)).paused
    resumed = await starter(client, "resume", handle.id)
    assert resumed.returncode == 0
    assert not (await handle.query("status", result_type=RunStatus)).paused
    missing = await starter(client, "pause", "no-such-run")
    assert missing.returncode == 2 and "run no-such-run:" in missing.stderr
    await handle.cancel()


async def test_a_terminal_run_asks_and_a_y_approves(
    client: Client, server: LocalHttp, workspace: Path
) -> None:
    plan_file = workspace / "post.json"
    plan_file.write_text(post_plan(server).model_dump_json())
    env = own_worker_env(client, workspace)
    terminal, stdin = pty.openpty()  # the starter sees a terminal on stdin and asks
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(REPO / "starter.py"),
        "--plan",
        str(plan_file),
        "--allow-host",
        "127.0.0.1",
        "--workspace",
        str(workspace),
        env=env,
        stdin=stdin,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    seen = b""
    try:
        async with asyncio.timeout(60):
            while b"Approve step 'post'? [y/N" not in seen:
                chunk = await process.stdout.read(4096)
                assert chunk, f"the starter ended without asking: {seen.decode()}"
                seen += chunk
        assert server.hits == []
        os.write(terminal, b"y\n")
        rest, errors = await asyncio.wait_for(process.communicate(), 60)
    finally:
        os.close(terminal)
        os.close(stdin)
    output = (seen + rest).decode()
    assert process.returncode == 0, output + errors.decode()
    assert "approved step 'post'" in output and server.hits == [("POST", "/echo")]


async def test_an_event_from_the_command_line_feeds_the_waiting_step(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    wait = {"id": "paid", "action": "wait_for_event", "params": {"event": "paid"}}
    handle = await start(client, task_queue, workspace, plan=plan(wait), review=False)
    async with asyncio.timeout(20):
        while (await handle.query("status", result_type=RunStatus)).awaited_events != ["paid"]:
            await asyncio.sleep(0.05)
    status = await starter(client, "status", handle.id)
    assert f"waiting for event 'paid': python starter.py event {handle.id} paid" in status.stdout

    bad = await starter(client, "event", handle.id, "paid", "--payload", "{amount: 1}")
    assert bad.returncode == 2 and "--payload is not JSON" in bad.stderr
    sent = await starter(client, "event", handle.id, "paid", "--payload", '{"amount": 1}')
    assert sent.returncode == 0, sent.stderr
    result = await handle.result()
    assert result.steps[0].output == {"amount": 1}
