"""Artifact references are bound to the run that stored them; the interceptor expands
only references the calling run may read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import JsonValue
from temporalio.exceptions import ApplicationError

from durable_agents.activities.artifacts import ArtifactStore, Reader, json_pieces
from durable_agents.activities.files import file_write
from durable_agents.contracts import ActionContext, ActionResult
from durable_agents.contracts.actions import FileWriteParams
from durable_agents.contracts.artifacts import ARTIFACT_KEY, may_read
from tests.activities.intercepted import intercepted

BIG: JsonValue = [{"region": "North", "note": "x" * 50, "n": n} for n in range(2000)]


def echo(context: ActionContext, params: FileWriteParams) -> ActionResult:
    return ActionResult(output=params.content)


def context(workspace: Path, *granted: str) -> ActionContext:
    return ActionContext(
        run_id="ignored", step_id="s", workspace=str(workspace), artifact_runs=list(granted)
    )


@pytest.mark.parametrize(
    ("owner", "run", "granted", "allowed"),
    [
        ("run-a", "run-a", (), True),
        ("run-a.sub", "run-a", (), True),  # a sub-goal's output, in its parent
        ("run-a.sub.0", "run-a", (), True),
        ("run-a", "run-a.sub", (), False),  # a sub-goal does not read its parent's
        ("run-ab", "run-a", (), False),  # a prefix is not a parent
        ("run-b", "run-a", (), False),
        ("run-b", "run-a", ("run-b",), True),  # a retry reusing run-b's outputs
        ("run-b.sub", "run-a", ("run-b",), True),
        ("", "run-a", ("",), False),
    ],
)
def test_who_may_read_what(owner: str, run: str, granted: tuple[str, ...], allowed: bool) -> None:
    assert may_read(owner, run, granted) is allowed


async def test_a_reference_works_in_its_run_and_nowhere_else(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "artifacts", threshold=1000)
    made = await intercepted(store, echo, context(tmp_path), FileWriteParams(path="a", content=BIG))
    reference = made.output
    assert isinstance(reference, dict) and reference["run"] == "run-a"
    assert str(reference[ARTIFACT_KEY]).startswith("sha256:")
    passed = FileWriteParams(path="copy.json", content=reference)

    same = await intercepted(store, echo, context(tmp_path), passed, workflow_id="run-a")
    assert same.output == reference  # expanded for the action, shrunk again on the way out

    for caller, forged in (
        ("run-b", reference),  # another run, the reference as run-a made it
        ("run-b", {**reference, "run": "run-b"}),  # claims to be run-b's: not in its store
        ("run-b", {k: v for k, v in reference.items() if k != "run"}),  # bound to no run
    ):
        with pytest.raises(ApplicationError) as caught:
            await intercepted(
                store,
                file_write,
                context(tmp_path),
                FileWriteParams(path="stolen.json", content={"data": forged}),
                workflow_id=caller,
            )
        assert caught.value.type in ("ArtifactNotBound", "ArtifactMissing")
        assert caught.value.non_retryable
    assert not (tmp_path / "stolen.json").exists()

    granted = await intercepted(store, echo, context(tmp_path, "run-a"), passed, workflow_id="r2")
    assert isinstance(granted.output, dict) and granted.output["run"] == "r2"  # re-bound


async def test_a_sub_goal_cannot_read_its_parents(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "artifacts", threshold=1000)
    made = await intercepted(store, echo, context(tmp_path), FileWriteParams(path="a", content=BIG))
    with pytest.raises(ApplicationError, match="not by this run") as caught:
        await intercepted(
            store,
            echo,
            context(tmp_path),
            FileWriteParams(path="a", content=made.output),
            workflow_id="run-a.sub",
        )
    assert caught.value.type == "ArtifactNotBound"


@pytest.mark.parametrize(
    "value",
    [BIG, {"k": {"x": "é"}, "n": [1.5, None, True]}, [], {}, "text", None, [[]], {1: "a"}],
)
def test_pieces_are_exactly_the_one_shot_json(value: JsonValue) -> None:
    assert "".join(json_pieces(value)) == json.dumps(value, ensure_ascii=False)


def test_a_stored_value_reads_back_whole(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path, threshold=10)
    reference = store.shrink(BIG, "run-a")
    assert isinstance(reference, dict)
    assert reference["bytes"] == len(json.dumps(BIG, ensure_ascii=False))
    assert reference["preview"] == json.dumps(BIG)[:500]
    assert store.shrink(BIG, "run-a") == reference  # content-addressed: same file again
    assert store.get(reference, Reader("run-a")) == BIG
    assert list(tmp_path.rglob("*.tmp")) == []
