"""Committed histories of representative runs replay against the current code, so a change
that would break running workflows fails the build (refresh: python -m tests.record_histories)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Worker

from durable_agents.cli.replay import replay_history
from tests.fake_llm import FakeLlm
from tests.record_histories import HISTORIES, SCENARIOS
from tests.test_approvals_cli import starter
from tests.workflows.runs import DEMO_PLAN, start

FILES = sorted(HISTORIES.glob("*.json"))


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


def test_every_scenario_has_a_committed_history() -> None:
    assert set(SCENARIOS) <= {path.stem.split("-")[0] for path in FILES}


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
async def test_a_committed_history_replays(path: Path) -> None:
    verdict = await replay_history(load(path))
    assert verdict.compatible, verdict.text()


async def test_a_history_the_code_would_not_produce_is_reported() -> None:
    history = json.loads((HISTORIES / "success.json").read_text())
    for event in history["events"]:  # as if the code once read a different file first
        attributes = event.get("activityTaskScheduledEventAttributes")
        if attributes and attributes["activityType"]["name"] == "file_read":
            attributes["activityType"]["name"] = "file_list"
    verdict = await replay_history(WorkflowHistory.from_json("tampered", json.dumps(history)))
    assert not verdict.compatible
    assert "NOT compatible" in verdict.text() and "workflow.patched" in verdict.text()
    assert "Nondeterminism error: Activity type of scheduled event 'file_list' does not match" in (
        verdict.text()
    )


async def test_starter_replay_says_whether_a_run_is_compatible(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    handle = await start(client, task_queue, workspace, plan=DEMO_PLAN, review=False)
    await handle.result()
    done = await starter(client, "replay", handle.id)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"compatible: the current code replays run {handle.id}")
    missing = await starter(client, "replay", "no-such-run")
    assert missing.returncode == 2 and "run no-such-run:" in missing.stderr
