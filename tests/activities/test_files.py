import json
import os
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.files import file_list, file_read, file_write
from contracts import ActionContext, Policy
from contracts.actions import FileListParams, FileReadParams, FileWriteParams


def ctx(root: Path) -> ActionContext:
    return ActionContext(run_id="r", step_id="s", workspace=str(root))


async def test_read_parses_csv_and_json(workspace: Path) -> None:
    env = ActivityEnvironment()
    (workspace / "a.json").write_text('{"k": [1, 2]}')
    rows = await env.run(file_read, ctx(workspace), FileReadParams(path="data/sales.csv"))
    assert rows.output[0] == {  # type: ignore[index]
        "date": "2026-01-05",
        "region": "North",
        "product": "Widget",
        "units": 12,
        "revenue": 240.0,
    }
    parsed = await env.run(file_read, ctx(workspace), FileReadParams(path="a.json"))
    assert parsed.output == {"k": [1, 2]}
    text = await env.run(file_read, ctx(workspace), FileReadParams(path="a.json", format="text"))
    assert text.output == '{"k": [1, 2]}'


async def test_write_is_atomic_and_creates_folders(workspace: Path) -> None:
    env = ActivityEnvironment()
    params = FileWriteParams(path="out/deep/t.json", content=[{"a": 1}])
    result = await env.run(file_write, ctx(workspace), params)
    written = workspace / "out/deep/t.json"
    assert result.output == {"path": "out/deep/t.json", "bytes": written.stat().st_size}
    assert json.loads((workspace / "out/deep/t.json").read_text()) == [{"a": 1}]
    assert os.listdir(workspace / "out/deep") == ["t.json"]  # no temp file left behind
    await env.run(file_write, ctx(workspace), FileWriteParams(path="r.csv", content=[{"a": 1}]))
    assert (workspace / "r.csv").read_text() == "a\n1\n"


@pytest.mark.parametrize(
    "path", ["../outside.txt", "data/../../outside.txt", "/etc/passwd", "/tmp/x.txt"]
)
async def test_paths_outside_the_workspace_are_refused(workspace: Path, path: str) -> None:
    env = ActivityEnvironment()
    for activity_fn, params in (
        (file_read, FileReadParams(path=path)),
        (file_write, FileWriteParams(path=path, content="x")),
    ):
        with pytest.raises(ApplicationError) as caught:
            await env.run(activity_fn, ctx(workspace), params)
        assert caught.value.type == "PathOutsideWorkspace" and caught.value.non_retryable
    assert not (workspace.parent / "outside.txt").exists()


async def test_symlinks_cannot_escape(workspace: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cret")
    (workspace / "link.txt").symlink_to(secret)
    (workspace / "linkdir").symlink_to(tmp_path)
    env = ActivityEnvironment()
    with pytest.raises(ApplicationError, match="outside the workspace"):
        await env.run(file_read, ctx(workspace), FileReadParams(path="link.txt"))
    with pytest.raises(ApplicationError, match="outside the workspace"):
        await env.run(
            file_write, ctx(workspace), FileWriteParams(path="linkdir/secret.txt", content="x")
        )
    assert secret.read_text() == "s3cret"
    listed = await env.run(file_list, ctx(workspace), FileListParams(recursive=True))
    assert listed.output == ["data/sales.csv"]  # links leading out are not listed


async def test_missing_file_is_not_retryable(workspace: Path) -> None:
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(file_read, ctx(workspace), FileReadParams(path="nope"))
    assert caught.value.type == "FileNotFound" and caught.value.non_retryable
    assert caught.value.details == ({"attempt": 1},)


async def test_replacing_different_content_needs_approval(workspace: Path) -> None:
    env = ActivityEnvironment()
    target = workspace / "report.txt"
    target.write_text("old")
    params = FileWriteParams(path="report.txt", content="new")
    with pytest.raises(ApplicationError) as caught:
        await env.run(file_write, ctx(workspace), params)
    assert caught.value.type == "NeedsApproval" and caught.value.non_retryable
    assert caught.value.message == "report.txt exists; writing replaces its content"
    assert target.read_text() == "old"

    same = FileWriteParams(path="report.txt", content="old")  # a retried write: no change
    await env.run(file_write, ctx(workspace), same)
    approved = ctx(workspace).model_copy(update={"approved": True})
    await env.run(file_write, approved, params)
    assert target.read_text() == "new"


@pytest.mark.parametrize(("decision", "outcome"), [("allow", "written"), ("block", "blocked")])
async def test_the_policy_can_allow_or_block_replacing(
    workspace: Path, decision: str, outcome: str
) -> None:
    (workspace / "r.txt").write_text("old")
    policy = Policy.model_validate({"decisions": {"destructive": decision}})
    context = ActionContext(run_id="r", step_id="s", workspace=str(workspace), policy=policy)
    params = FileWriteParams(path="r.txt", content="new")
    if outcome == "written":
        await ActivityEnvironment().run(file_write, context, params)
        assert (workspace / "r.txt").read_text() == "new"
    else:
        with pytest.raises(ApplicationError, match=r"blocked by the run.s policy: r\.txt exists"):
            await ActivityEnvironment().run(file_write, context, params)
