"""Workspaces named under the worker's root (``worker:NAME``), on real files: resolved
under AGENT_WORKSPACE_ROOT, and every way out of it refused with a typed error."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from durable_agents.activities.files import file_list, file_read, file_write
from durable_agents.activities.named_workspace import ROOT_ENV, name_problem
from durable_agents.contracts import ActionContext
from durable_agents.contracts.actions import FileListParams, FileReadParams, FileWriteParams

ENV = ActivityEnvironment()


def ctx(workspace: str) -> ActionContext:
    return ActionContext(run_id="r", step_id="s", workspace=workspace)


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "root"
    (folder / "projects/a/data").mkdir(parents=True)
    (folder / "projects/a/data/notes.txt").write_text("hello")
    monkeypatch.setenv(ROOT_ENV, str(folder))
    return folder


async def refused(workspace: str, error_type: str) -> str:
    with pytest.raises(ApplicationError) as caught:
        await ENV.run(file_write, ctx(workspace), FileWriteParams(path="x.txt", content="x"))
    assert caught.value.type == error_type and caught.value.non_retryable, caught.value
    return caught.value.message


async def test_a_name_resolves_under_the_workers_root(root: Path) -> None:
    workspace = "worker:projects/a"
    read = await ENV.run(file_read, ctx(workspace), FileReadParams(path="data/notes.txt"))
    assert read.output == "hello"
    written = FileWriteParams(path="out/report.txt", content="done")
    await ENV.run(file_write, ctx(workspace), written)
    assert (root / "projects/a/out/report.txt").read_text() == "done"
    listed = await ENV.run(file_list, ctx(workspace), FileListParams(path=".", recursive=True))
    assert listed.output == ["data/notes.txt", "out/report.txt"]  # relative to the named one
    at_root = await ENV.run(file_list, ctx("worker:"), FileListParams(path=".", recursive=True))
    assert "projects/a/out/report.txt" in at_root.output  # worker: alone is the root


@pytest.mark.parametrize(
    "workspace",
    ["worker:..", "worker:../root2", "worker:projects/../../x", "worker:..\\x", "worker:/etc"],
)
async def test_a_name_that_leaves_the_root_is_refused(
    root: Path, workspace: str, tmp_path: Path
) -> None:
    (tmp_path / "root2").mkdir()
    message = await refused(workspace, "WorkspaceOutsideRoot")
    assert workspace in message or repr(workspace) in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["root", "root2"]
    assert not list((tmp_path / "root2").iterdir()) and not (root / "x.txt").exists()


async def test_a_symlink_out_of_the_root_is_refused(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "projects/link").symlink_to(outside)
    message = await refused("worker:projects/link", "WorkspaceOutsideRoot")
    assert f"outside the worker root {root}" in message
    assert not list(outside.iterdir())


async def test_a_worker_without_a_root_or_the_folder_says_so(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = await refused("worker:projects/b", "WorkspaceNotFound")
    assert f"{root / 'projects/b'} on this worker" in message
    monkeypatch.delenv(ROOT_ENV)
    message = await refused("worker:projects/a", "NoWorkspaceRoot")
    assert f"set {ROOT_ENV}" in message


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("projects/a", None),
        ("", None),
        (".", None),
        ("a..b/c", None),  # only a whole '..' part leaves
        ("../x", "'..' part"),
        ("a/..", "'..' part"),
        ("a\\..\\..\\x", "'..' part"),  # a Windows worker splits on backslashes
        ("/etc", "absolute path"),
        ("\\\\server\\share", "absolute path"),
        ("C:\\x", "absolute path"),
        ("C:x", "absolute path"),
        ("a\x00b", "NUL byte"),
    ],
)
def test_names_are_judged_the_same_on_every_platform(name: str, problem: str | None) -> None:
    found = name_problem(name)
    assert (found is None) if problem is None else (found is not None and problem in found)
