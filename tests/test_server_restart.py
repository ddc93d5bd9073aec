"""Restarting the dev server mid-run (SQLite in WAL mode, the way starter.py runs it): the
worker reconnects and the run completes from what the server had persisted."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from durable_agents.runtime.connection import connect_when_ready
from durable_agents.runtime.devserver import find_temporal_cli, server_args
from durable_agents.workflows.agent import AgentWorkflow
from tests.conftest import running_worker
from tests.fake_llm import FakeLlm
from tests.processes import free_port
from tests.workflows.runs import plan, start


def start_server(db_file: Path, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [find_temporal_cli(), *server_args(db_file, port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=30)


async def test_a_run_survives_a_server_restart(
    tmp_path: Path, task_queue: str, workspace: Path, fake_llm: FakeLlm
) -> None:
    db_file, port = tmp_path / "temporal.db", free_port()
    address = f"127.0.0.1:{port}"
    steps = plan(
        {"id": "before", "action": "file_write", "params": {"path": "a.txt", "content": "1"}},
        {"id": "pause", "action": "wait", "depends_on": ["before"], "params": {"seconds": 3}},
        {
            "id": "after",
            "action": "file_write",
            "depends_on": ["pause"],
            "params": {"path": "b.txt", "content": "2"},
        },
    )
    server = start_server(db_file, port)
    try:
        client = await connect_when_ready({}, address)
        async with running_worker(client, task_queue, fake_llm):
            handle = await start(client, task_queue, workspace, plan=steps, review=False)
            async with asyncio.timeout(20):
                while not (workspace / "a.txt").exists():
                    await asyncio.sleep(0.05)
            stop_server(server)  # while the run waits on its durable timer
            server = start_server(db_file, port)  # same database file, same port
            async with asyncio.timeout(90):
                result = await handle.result()
            status = await handle.query(AgentWorkflow.status)
    finally:
        stop_server(server)
    assert result.status == "succeeded"
    assert (workspace / "b.txt").read_text() == "2" and status.phase.value == "succeeded"
