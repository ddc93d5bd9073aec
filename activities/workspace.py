"""Confinement of file actions to the run's workspace root.

A path is accepted only if, with every symlink resolved, it stays inside the resolved
root: ``../`` escapes, absolute paths elsewhere and symlinks pointing out are refused
with a non-retryable ``PathOutsideWorkspace`` error.
"""

from __future__ import annotations

from pathlib import Path

from temporalio.exceptions import ApplicationError

from activities.errors import action_error


def confine(workspace: str, relative: str) -> Path:
    """The real path of ``relative`` under ``workspace``, or a typed error."""
    root = Path(workspace).resolve()
    if not relative.strip():
        raise action_error("empty path", error_type="InvalidPath", retryable=False)
    candidate = (root / relative).resolve()
    if candidate != root and root not in candidate.parents:
        raise action_error(
            f"path {relative!r} resolves to {candidate}, outside the workspace {root}; "
            "use a path inside the workspace",
            error_type="PathOutsideWorkspace",
            retryable=False,
        )
    return candidate


def relative_name(workspace: str, path: Path) -> str:
    """How a path inside the workspace is shown back to the planner."""
    return path.relative_to(Path(workspace).resolve()).as_posix()


def not_found(relative: str) -> ApplicationError:
    """A missing file is the plan's mistake, not a transient fault."""
    return action_error(
        f"no such file in the workspace: {relative!r}", error_type="FileNotFound", retryable=False
    )
