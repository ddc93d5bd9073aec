import dataclasses
import json
import os
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from durable_agents.activities.files import (
    UNDO_CAPTURE_BYTES,
    file_append,
    file_delete,
    file_list,
    file_move,
    file_read,
    file_write,
)
from durable_agents.contracts import CATALOG, ActionContext, Compensation, Policy
from durable_agents.contracts.actions import (
    FileAppendParams,
    FileDeleteParams,
    FileListParams,
    FileMoveParams,
    FileReadParams,
    FileWriteParams,
)


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


def on_attempt(number: int) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=number)
    return env


async def test_append_is_whole_and_a_retry_does_not_double_it(workspace: Path) -> None:
    params = FileAppendParams(path="out/log.txt", content="one\n")
    await ActivityEnvironment().run(file_append, ctx(workspace), params)
    await on_attempt(2).run(file_append, ctx(workspace), params)  # retry of the same call
    more = FileAppendParams(path="out/log.txt", content={"n": 2})
    result = await ActivityEnvironment().run(file_append, ctx(workspace), more)
    assert (workspace / "out/log.txt").read_text() == 'one\n{\n  "n": 2\n}\n'
    assert result.output["bytes"] == len('one\n{\n  "n": 2\n}\n')  # type: ignore[index,call-overload]


async def test_delete_refuses_folders_and_a_retry_finds_it_done(workspace: Path) -> None:
    (workspace / "old.txt").write_text("x")
    params = FileDeleteParams(path="old.txt")
    done = await ActivityEnvironment().run(file_delete, ctx(workspace), params)
    assert done.output == {"path": "old.txt", "deleted": True}
    assert not (workspace / "old.txt").exists()
    again = await on_attempt(2).run(file_delete, ctx(workspace), params)
    assert again.output == {"path": "old.txt", "deleted": False}
    with pytest.raises(ApplicationError) as missing:
        await ActivityEnvironment().run(file_delete, ctx(workspace), params)
    assert missing.value.type == "FileNotFound"
    with pytest.raises(ApplicationError, match="is a folder"):
        await ActivityEnvironment().run(file_delete, ctx(workspace), FileDeleteParams(path="data"))


async def test_move_keeps_an_existing_destination_unless_told(workspace: Path) -> None:
    (workspace / "a.txt").write_text("a")
    (workspace / "b.txt").write_text("b")
    keep = FileMoveParams(source="a.txt", destination="b.txt")
    with pytest.raises(ApplicationError, match=r"b\.txt exists; set overwrite"):
        await ActivityEnvironment().run(file_move, ctx(workspace), keep)
    moved = FileMoveParams(source="a.txt", destination="archive/a.txt")
    result = await ActivityEnvironment().run(file_move, ctx(workspace), moved)
    assert result.output == {"from": "a.txt", "to": "archive/a.txt"}
    assert (workspace / "archive/a.txt").read_text() == "a" and not (workspace / "a.txt").exists()
    retried = await on_attempt(2).run(file_move, ctx(workspace), moved)
    assert retried.output == {"to": "archive/a.txt"}
    with pytest.raises(ApplicationError, match="outside the workspace"):
        escape = FileMoveParams(source="b.txt", destination="../b.txt")
        await ActivityEnvironment().run(file_move, ctx(workspace), escape)


def approved(root: Path) -> ActionContext:
    return ActionContext(run_id="r", step_id="s", workspace=str(root), approved=True)


async def undo_all(root: Path, undo: list[Compensation]) -> None:
    """Run the undo records the way the workflow does: each one as its action."""
    actions = {"file_write": file_write, "file_delete": file_delete, "file_move": file_move}
    for step in undo:
        assert step.action is not None, step.description
        params = CATALOG[step.action].params_model.model_validate(step.params)
        await ActivityEnvironment().run(actions[step.action], approved(root), params)


async def test_every_change_returns_an_undo_that_restores_the_files(workspace: Path) -> None:
    env = ActivityEnvironment()
    (workspace / "notes.txt").write_text("old notes")
    (workspace / "log.txt").write_text("line 1\n")
    (workspace / "gone.txt").write_text("keep me")
    (workspace / "report.json").write_text("[1]")
    (workspace / "archive").mkdir()
    (workspace / "archive/report.json").write_text("[0]")
    before = {p: p.read_bytes() for p in workspace.rglob("*") if p.is_file()}

    results = [
        await env.run(file_write, ctx(workspace), FileWriteParams(path="out/new.txt", content="x")),
        await env.run(
            file_write, approved(workspace), FileWriteParams(path="notes.txt", content="new")
        ),
        await env.run(
            file_append, ctx(workspace), FileAppendParams(path="log.txt", content="line 2\n")
        ),
        await env.run(file_delete, ctx(workspace), FileDeleteParams(path="gone.txt")),
        await env.run(
            file_move,
            ctx(workspace),
            FileMoveParams(source="report.json", destination="archive/report.json", overwrite=True),
        ),
    ]
    assert [[u.action for u in r.undo] for r in results] == [
        ["file_delete"],
        ["file_write"],
        ["file_write"],
        ["file_write"],
        ["file_move", "file_write"],
    ]
    for result in reversed(results):  # newest first, as the saga unwinds
        await undo_all(workspace, result.undo)

    after = {p: p.read_bytes() for p in workspace.rglob("*") if p.is_file()}
    assert after == before


async def test_a_retry_still_knows_what_an_append_replaced(workspace: Path) -> None:
    (workspace / "log.txt").write_text("a\n")
    params = FileAppendParams(path="log.txt", content="b\n")
    await ActivityEnvironment().run(file_append, ctx(workspace), params)
    retried = await on_attempt(2).run(file_append, ctx(workspace), params)
    assert retried.undo[0].params == {"path": "log.txt", "content": "a\n", "format": "text"}


async def test_what_cannot_be_undone_says_why(workspace: Path) -> None:
    (workspace / "big.bin").write_bytes(b"\xff" * 10)
    (workspace / "huge.txt").write_text("x" * (UNDO_CAPTURE_BYTES + 1))
    env = ActivityEnvironment()
    binary = await env.run(file_delete, ctx(workspace), FileDeleteParams(path="big.bin"))
    huge = await env.run(
        file_write, approved(workspace), FileWriteParams(path="huge.txt", content="y")
    )
    written = FileWriteParams(path="out.txt", content="z")
    await env.run(file_write, ctx(workspace), written)
    rewritten = await on_attempt(2).run(file_write, ctx(workspace), written)

    assert [r.undo[0].action for r in (binary, huge, rewritten)] == [None, None, None]
    assert "not text" in binary.undo[0].description
    assert f"more than the {UNDO_CAPTURE_BYTES}" in huge.undo[0].description
    assert "earlier attempt" in rewritten.undo[0].description
