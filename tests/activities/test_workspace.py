"""The file activities refuse protected paths on the real path (symlinks, case, venvs,
state folders), never create anything outside the workspace, and refuse a workspace
that holds the agent's own code."""

from __future__ import annotations

import os
from pathlib import Path

import aiofiles
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

import durable_agents.activities.workspace as workspace_module
from durable_agents.activities.files import (
    file_append,
    file_delete,
    file_list,
    file_move,
    file_read,
    file_write,
)
from durable_agents.activities.workspace import AGENT_CODE
from durable_agents.contracts import ActionContext
from durable_agents.contracts.actions import (
    FileAppendParams,
    FileDeleteParams,
    FileListParams,
    FileMoveParams,
    FileReadParams,
    FileWriteParams,
)

ENV = ActivityEnvironment()


def ctx(root: Path) -> ActionContext:
    return ActionContext(run_id="r", step_id="s", workspace=str(root))


async def refused(error_type: str, activity: object, root: Path, params: object) -> str:
    with pytest.raises(ApplicationError) as caught:
        await ENV.run(activity, ctx(root), params)  # type: ignore[arg-type]
    assert caught.value.type == error_type and caught.value.non_retryable, caught.value
    return caught.value.message


async def test_git_config_and_hooks_cannot_be_written_or_read(workspace: Path) -> None:
    git = workspace / ".git"
    (git / "hooks").mkdir(parents=True)
    (git / "config").write_text("[core]\n")
    fsmonitor = FileAppendParams(path=".git/config", content="\tfsmonitor = touch /tmp/p\n")
    message = await refused("ProtectedPath", file_append, workspace, fsmonitor)
    assert "hidden files and folders" in message
    hook = FileWriteParams(path=".GIT/hooks/pre-commit", content="#!/bin/sh")  # any case
    await refused("ProtectedPath", file_write, workspace, hook)
    await refused("ProtectedPath", file_read, workspace, FileReadParams(path=".git/config"))
    assert (git / "config").read_text() == "[core]\n"
    assert list((git / "hooks").iterdir()) == []


async def test_code_and_config_are_readable_not_writable(workspace: Path) -> None:
    (workspace / "workflows").mkdir()
    (workspace / "workflows/policy.py").write_text("BLOCK = True\n")
    for path in ("workflows/policy.py", "workflows/Policy.PY", "pyproject.toml", "run.sh"):
        message = await refused(
            "ProtectedPath", file_write, workspace, FileWriteParams(path=path, content="x")
        )
        assert "never written" in message
    await refused(
        "ProtectedPath", file_append, workspace, FileAppendParams(path="x.pth", content="x")
    )
    await refused(
        "ProtectedPath", file_delete, workspace, FileDeleteParams(path="workflows/policy.py")
    )
    read = await ENV.run(file_read, ctx(workspace), FileReadParams(path="workflows/policy.py"))
    assert read.output == "BLOCK = True\n"


async def test_a_symlink_is_judged_by_where_it_leads(workspace: Path) -> None:
    (workspace / ".env").write_text("KEY=secret")
    (workspace / "data/env.txt").symlink_to(workspace / ".env")
    (workspace / "out").mkdir()
    (workspace / "out/notes.txt").symlink_to(workspace / "data/sales.csv")
    message = await refused(
        "ProtectedPath", file_read, workspace, FileReadParams(path="data/env.txt")
    )
    assert "(really '.env')" in message
    await refused(  # the name asked for is code, whatever the link points at
        "ProtectedPath", file_write, workspace, FileWriteParams(path="out/x.py", content="x")
    )


async def test_moves_check_both_ends(workspace: Path) -> None:
    (workspace / ".env").write_text("KEY=secret")
    (workspace / "a.txt").write_text("a")
    out_of_hidden = FileMoveParams(source=".env", destination="out/env.txt")
    await refused("ProtectedPath", file_move, workspace, out_of_hidden)
    into_code = FileMoveParams(source="a.txt", destination="sitecustomize.py")
    await refused("ProtectedPath", file_move, workspace, into_code)
    assert (workspace / ".env").exists() and (workspace / "a.txt").exists()


async def test_a_virtualenv_under_any_name_is_not_written(workspace: Path) -> None:
    (workspace / "tools/lib").mkdir(parents=True)
    (workspace / "tools/pyvenv.cfg").write_text("home = /usr/bin\n")
    message = await refused(
        "ProtectedPath",
        file_write,
        workspace,
        FileWriteParams(path="tools/lib/notes.txt", content="x"),
    )
    assert "virtual environment" in message


async def test_the_state_folder_is_off_limits_under_any_name(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = workspace / "runstate"
    (state / "artifacts").mkdir(parents=True)
    (state / "artifacts/x.json").write_text("{}")
    monkeypatch.setenv("AGENT_STATE_DIR", str(state))
    message = await refused(
        "ProtectedPath", file_read, workspace, FileReadParams(path="runstate/artifacts/x.json")
    )
    assert "state folder" in message
    listed = await ENV.run(file_list, ctx(workspace), FileListParams(path=".", recursive=True))
    assert listed.output == ["data/sales.csv"]


async def test_listing_leaves_protected_files_out(workspace: Path) -> None:
    (workspace / ".git").mkdir()
    (workspace / ".git/config").write_text("")
    (workspace / ".env").write_text("")
    (workspace / "keys").mkdir()
    (workspace / "keys/server.pem").write_text("")
    (workspace / "run.py").write_text("")
    listed = await ENV.run(file_list, ctx(workspace), FileListParams(path=".", recursive=True))
    assert listed.output == ["data/sales.csv", "run.py"]  # code is readable, so listed
    await refused("ProtectedPath", file_list, workspace, FileListParams(path=".git"))


@pytest.mark.parametrize("path", [".", "./", "data", "data/", "out/../."])
async def test_a_write_to_a_folder_creates_nothing_anywhere(
    workspace: Path, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = spy_on_opens(monkeypatch)
    parent_before = sorted(os.listdir(workspace.parent))
    inside_before = sorted(p.as_posix() for p in workspace.rglob("*"))
    for activity, params in (
        (file_write, FileWriteParams(path=path, content="planted")),
        (file_append, FileAppendParams(path=path, content="planted")),
    ):
        with pytest.raises(ApplicationError) as caught:
            await ENV.run(activity, ctx(workspace), params)  # type: ignore[arg-type]
        assert caught.value.type == "IsAFolder" and caught.value.non_retryable
    assert opened == []  # refused before any temporary file was made
    assert sorted(os.listdir(workspace.parent)) == parent_before
    assert sorted(p.as_posix() for p in workspace.rglob("*")) == inside_before


def spy_on_opens(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every path the file activities open, in order."""
    opened: list[Path] = []
    real = aiofiles.open

    def spy(file: object, *args: object, **kwargs: object) -> object:
        opened.append(Path(str(file)))
        return real(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(aiofiles, "open", spy)
    return opened


async def test_temporary_files_stay_next_to_their_file(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = spy_on_opens(monkeypatch)
    await ENV.run(file_write, ctx(workspace), FileWriteParams(path="top.txt", content="x"))
    await ENV.run(file_append, ctx(workspace), FileAppendParams(path="out/log.txt", content="x"))
    temporary = [p for p in opened if p.name.endswith(".tmp")]
    assert [p.parent for p in temporary] == [workspace.resolve(), workspace.resolve() / "out"]


async def test_a_workspace_holding_the_agents_code_is_refused() -> None:
    for root in (AGENT_CODE, AGENT_CODE.parent):
        message = await refused(
            "UnsafeWorkspace", file_read, root, FileReadParams(path="README.md")
        )
        assert "contains the agent's own code" in message


def test_code_installed_in_a_protected_folder_does_not_condemn_the_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for installed, refused_too in (
        (".venv/lib/python3.11/site-packages", False),
        ("venv/lib/python3.11/site-packages", False),
        ("tools/agent", True),
        (".", True),
    ):
        monkeypatch.setattr(workspace_module, "AGENT_CODE", (tmp_path / installed).resolve())
        assert workspace_module.holds_agent_code(tmp_path) is refused_too, installed
