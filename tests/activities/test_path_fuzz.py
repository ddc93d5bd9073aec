"""Fuzzing the workspace guard against the real file system.

Paths are built from the pieces attackers use (``..``, percent-encoding, backslashes,
full-width dots, case, symlinks that lead out, protected names). The oracle is the file
system itself, not the guard's own rules: whatever a path says, a write never changes
anything outside the workspace or any protected file, and a read never returns what
lies outside or behind a protected name.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from durable_agents.activities.files import file_append, file_delete, file_read, file_write
from durable_agents.contracts import ActionContext, Policy
from durable_agents.contracts.actions import (
    FileAppendParams,
    FileDeleteParams,
    FileReadParams,
    FileWriteParams,
)
from durable_agents.rules.policy import judge

SECRET = "outside-secret-7f3a"
GIT_CONFIG = "[core]\n\tbare = false\n"
CODE = "GUARD = True\n"
PIECES = [
    *("..", ".", "", "data", "a.csv", "new.txt", "out", "notes.txt"),
    *("link_out", "link_file", "link_git", "inner", "loop"),
    *(".git", ".GIT", "config", "hooks", "code.py", "Code.PY", "pyproject.toml"),
    *("%2e%2e", "..%2f", "%252e%252e", "\uff0e\uff0e", "~", "C:", "x\x00y", "git~1", ".env"),
]
ENV = ActivityEnvironment()
ALLOW_CHANGES = Policy(decisions={"destructive": "allow", "write": "allow"})


def paths() -> st.SearchStrategy[str]:
    separators = st.sampled_from(["/", "\\", "//", "/./"])
    return st.builds(
        lambda lead, parts, sep: lead + sep.join(parts),
        st.sampled_from(["", "/", "./", "\\"]),
        st.lists(st.sampled_from(PIECES), min_size=1, max_size=5),
        separators,
    )


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[Path, Path]]:
    """``outer/workspace`` with data, protected files and symlinks leading out, next to
    ``outer/outside`` holding a secret."""
    outer = Path(tempfile.mkdtemp(prefix="path-fuzz-"))
    root, outside = outer / "workspace", outer / "outside"
    (root / "data").mkdir(parents=True)
    (root / ".git").mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET)
    (root / "data" / "a.csv").write_text("x\n1\n")
    (root / ".git" / "config").write_text(GIT_CONFIG)
    (root / "code.py").write_text(CODE)
    os.symlink(outside, root / "link_out")
    os.symlink(outside / "secret.txt", root / "link_file")
    os.symlink(root / ".git", root / "link_git")
    os.symlink(root / "data", root / "inner")
    os.symlink(root / "loop", root / "loop")
    yield root, outer
    shutil.rmtree(outer)


def snapshot(outer: Path, root: Path) -> dict[str, str]:
    """Everything outside the workspace, and the protected files inside it."""
    seen: dict[str, str] = {}
    for path in sorted(outer.rglob("*")):
        inside = root in path.parents or path == root
        if path.is_symlink() or path.is_dir():
            if not inside:
                seen[str(path)] = "dir"
            continue
        if not inside:
            seen[str(path)] = path.read_text()
    seen["git"] = (root / ".git" / "config").read_text()
    seen["code"] = (root / "code.py").read_text()
    seen["git-entries"] = ",".join(sorted(p.name for p in (root / ".git").iterdir()))
    return seen


def context(root: Path) -> ActionContext:
    return ActionContext(run_id="fuzz", step_id="s", workspace=str(root))


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=paths(), kind=st.sampled_from(["write", "append", "delete"]))
async def test_no_path_changes_anything_outside_or_protected(
    world: tuple[Path, Path], path: str, kind: str
) -> None:
    root, outer = world
    before = snapshot(outer, root)
    calls = {
        "write": (file_write, FileWriteParams(path=path, content="fuzz")),
        "append": (file_append, FileAppendParams(path=path, content="fuzz")),
        "delete": (file_delete, FileDeleteParams(path=path, missing_ok=True)),
    }
    activity, params = calls[kind]
    try:
        await ENV.run(activity, context(root), params)  # type: ignore[arg-type]
    except ApplicationError as refused:
        assert refused.non_retryable, refused  # a refusal is final and says why
    assert snapshot(outer, root) == before, f"{kind} {path!r} changed what it must not"
    (root / "data" / "a.csv").write_text("x\n1\n")  # a legitimate delete may remove it


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=paths())
async def test_no_path_reads_what_lies_outside_or_behind_a_protected_name(
    world: tuple[Path, Path], path: str
) -> None:
    root, _ = world
    try:
        result = await ENV.run(file_read, context(root), FileReadParams(path=path))
    except ApplicationError as refused:
        assert refused.non_retryable, refused
        return
    text = str(result.output)
    assert SECRET not in text and "bare = false" not in text, f"{path!r} read {text[:80]!r}"


@settings(max_examples=500, deadline=None)
@given(path=paths(), action=st.sampled_from(["file_read", "file_write", "file_delete"]))
def test_the_policy_never_allows_a_path_that_names_a_way_out(path: str, action: str) -> None:
    """The pure policy (workflow code, no I/O) blocks every planned path that could climb
    out, whatever the file system would make of it later."""
    params = {"path": path, "content": "x"} if action == "file_write" else {"path": path}
    verdict = judge(action, params, ALLOW_CHANGES)
    parts = path.replace("\\", "/").split("/")
    climbs = any(p in ("..", "%2e%2e", "..%2f", "%252e%252e") for p in parts)
    absolute = path.startswith(("/", "\\", "~")) or "C:" in parts[:1]
    if climbs or absolute or "\x00" in path:
        assert verdict.decision == "block", (path, verdict)
