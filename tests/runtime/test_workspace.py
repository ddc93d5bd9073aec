"""The starter's workspace: ./workspace by default (created with the demo data), never a
folder that holds the agent's own code."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from durable_agents.cli import main
from durable_agents.runtime.workspace import WorkspaceProblem, ready_workspace
from tests.test_starter import EXPECTED, clean_env, totals

REPO = Path(__file__).parents[2]


def test_the_default_is_a_workspace_folder_seeded_with_the_demo_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = ready_workspace(None)
    assert folder == (tmp_path / "workspace").resolve()
    assert (folder / "data/sales.csv").read_text() == (REPO / "data/sales.csv").read_text()
    (folder / "data/sales.csv").unlink()
    assert ready_workspace(None) == folder  # seeded once, when created; kept as the user left it
    assert not (folder / "data/sales.csv").exists()


@pytest.mark.parametrize("folder", [REPO, REPO.parent, REPO / "."])
def test_a_workspace_holding_the_agents_code_is_refused(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(WorkspaceProblem, match="contains the agent's own code"):
        ready_workspace(folder)
    assert main(["--goal", "g", "--workspace", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "contains the agent's own code" in err and len(err.strip().splitlines()) == 1


def test_running_from_the_checkout_does_not_hand_it_over(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """From a checkout, the default is <checkout>/workspace: inside it, holding no code."""
    fake_checkout = tmp_path / "checkout"
    fake_checkout.mkdir()
    monkeypatch.chdir(fake_checkout)
    assert ready_workspace(None) == (fake_checkout / "workspace").resolve()


async def test_the_readme_demo_plan_runs_in_the_default_workspace(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    env = clean_env(
        TEMPORAL_ADDRESS=temporal_env.client.service_client.config.target_host,
        AGENT_TASK_QUEUE=f"ws-{uuid.uuid4().hex[:8]}",
        AGENT_STATE_DIR=str(tmp_path / ".agent-state"),
    )
    plan = str(REPO / "examples/revenue_plan.json")
    done = subprocess.run(
        [sys.executable, str(REPO / "starter.py"), "--plan", plan],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert totals(tmp_path / "workspace/out/revenue.json") == EXPECTED
    assert sorted(p.name for p in tmp_path.iterdir()) == [".agent-state", "workspace"]


@pytest.mark.parametrize(
    ("workspace", "problem"),
    [("worker:../x", "has a '..' part"), ("worker:/srv/x", "is an absolute path")],
)
def test_a_worker_name_that_leaves_the_root_is_refused_before_the_run(
    workspace: str, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--goal", "g", "--workspace", workspace]) == 2
    err = capsys.readouterr().err.strip()
    assert f"workspace {workspace} {problem}" in err and len(err.splitlines()) == 1
    assert main(["--example", "data_pipeline", "--workspace", "worker:a"]) == 2
    assert "instead of a worker: name" in capsys.readouterr().err


async def test_a_run_started_with_a_worker_name_works_in_the_workers_root(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Starter and worker do not share paths: the starter's folder has no workspace, the
    worker's root (AGENT_WORKSPACE_ROOT) has projects/a, and the run works there."""
    root, host = tmp_path / "worker-root", tmp_path / "host"
    (root / "projects/a/data").mkdir(parents=True)
    (root / "projects/a/data/sales.csv").write_text((REPO / "data/sales.csv").read_text())
    host.mkdir()
    env = clean_env(
        TEMPORAL_ADDRESS=temporal_env.client.service_client.config.target_host,
        AGENT_TASK_QUEUE=f"ws-{uuid.uuid4().hex[:8]}",
        AGENT_STATE_DIR=str(tmp_path / ".agent-state"),
        AGENT_WORKSPACE_ROOT=str(root),
    )
    plan = str(REPO / "examples/revenue_plan.json")
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "starter.py"),
            "--plan",
            plan,
            "--workspace",
            "worker:projects/a",
        ],
        cwd=host,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert totals(root / "projects/a/out/revenue.json") == EXPECTED
    assert list(host.iterdir()) == []  # no ./workspace made on the starter's side
