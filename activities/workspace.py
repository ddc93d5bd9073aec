"""Confinement of file actions to the run's workspace root, and the paths inside it they
may not touch.

A path is accepted only if, with every symlink resolved, it stays inside the resolved
root (else ``PathOutsideWorkspace``) and neither the path as asked nor the real path
meets a rule of ``rules.paths`` (else ``ProtectedPath``); writing actions also refuse
anything inside a virtual environment (a folder holding ``pyvenv.cfg``) and targets that
are the workspace itself or a folder. A workspace that holds the agent's own code, or a
path inside the agent's state folder (AGENT_STATE_DIR, AGENT_ARTIFACT_DIR), is refused
(``UnsafeWorkspace``, ``ProtectedPath``). All of these errors are non-retryable.

The workspace is an absolute folder, or ``worker:NAME``: a folder under the worker's
AGENT_WORKSPACE_ROOT (``activities.named_workspace``), for a worker that does not share
the starter's file system.
"""

from __future__ import annotations

import os
from pathlib import Path

from temporalio.exceptions import ApplicationError

from durable_agents.activities.errors import action_error
from durable_agents.activities.named_workspace import resolve_named, worker_relative
from durable_agents.rules.paths import ENV_RULE, protected_rule

AGENT_CODE = Path(__file__).resolve().parents[1]  # the folder holding activities/, workflows/
STATE_RULE = (
    "the agent's state folder (AGENT_STATE_DIR, AGENT_ARTIFACT_DIR) is never read or written"
)


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def state_folders() -> list[Path]:
    """The worker's state and artifact folders (other runs' data and histories live there)."""
    state = Path(os.environ.get("AGENT_STATE_DIR") or ".agent-state")
    folders = [state.resolve(), (state / "artifacts").resolve()]
    if os.environ.get("AGENT_ARTIFACT_DIR"):
        folders.append(Path(os.environ["AGENT_ARTIFACT_DIR"]).resolve())
    return folders


def holds_agent_code(folder: Path) -> bool:
    """Whether ``folder`` is, or contains, the folder of the agent's own code where file
    actions could write it (code installed under ``.venv/`` or ``site-packages/`` inside
    a workspace is already out of their reach)."""
    root = folder.resolve()
    if not _within(AGENT_CODE, root):
        return False
    inside = AGENT_CODE.relative_to(root).as_posix()
    return inside == "." or protected_rule(inside, writing=True) is None


def _real_root(workspace: str) -> Path:
    """The real folder of a workspace as the run names it (a folder or ``worker:NAME``)."""
    if worker_relative(workspace) is not None:
        return resolve_named(workspace)
    return Path(workspace).resolve()


def workspace_root(workspace: str) -> Path:
    """The real workspace folder; refused when it holds the agent's own code."""
    root = _real_root(workspace)
    if holds_agent_code(root):
        raise action_error(
            f"the workspace {root} contains the agent's own code ({AGENT_CODE}); file steps "
            "could rewrite it and its guardrails. Start the run with --workspace set to a "
            "folder without it (the starter's default is ./workspace)",
            error_type="UnsafeWorkspace",
            retryable=False,
        )
    return root


def _protected(relative: str, real: str, rule: str) -> ApplicationError:
    shown = repr(relative) if real == relative else f"{relative!r} (really {real!r})"
    return action_error(
        f"path {shown} is protected: {rule}; use another path",
        error_type="ProtectedPath",
        retryable=False,
    )


def confine(workspace: str, relative: str, *, writing: bool = False) -> Path:
    """The real path of ``relative`` under ``workspace``, or a typed error."""
    root = workspace_root(workspace)
    if not relative.strip():
        raise action_error("empty path", error_type="InvalidPath", retryable=False)
    if "\x00" in relative:  # the OS cannot take it: a typed refusal, not a retried crash
        raise action_error(
            f"path {relative!r} contains a NUL byte", error_type="InvalidPath", retryable=False
        )
    try:
        candidate = (root / relative).resolve()
    except (RuntimeError, OSError) as exc:  # a symlink loop, a name too long
        raise action_error(
            f"path {relative!r} cannot be resolved: {exc}",
            error_type="InvalidPath",
            retryable=False,
        ) from None
    if not _within(candidate, root):
        raise action_error(
            f"path {relative!r} resolves to {candidate}, outside the workspace {root}; "
            "use a path inside the workspace",
            error_type="PathOutsideWorkspace",
            retryable=False,
        )
    inside = candidate.relative_to(root).as_posix()
    for name in (relative, inside):
        rule = protected_rule(name, writing=writing)
        if rule:
            raise _protected(relative, inside, rule)
    if any(_within(candidate, folder) for folder in state_folders()):
        raise _protected(relative, inside, STATE_RULE)
    if writing:
        _refuse_environment(root, candidate, relative)
    return candidate


def _refuse_environment(root: Path, candidate: Path, relative: str) -> None:
    """A virtual environment under any name: a folder on the way holding ``pyvenv.cfg``."""
    folder = candidate.parent
    while _within(folder, root):
        if (folder / "pyvenv.cfg").exists():
            raise action_error(
                f"path {relative!r} is inside a virtual environment ({folder.name}): "
                f"{ENV_RULE}; use another path",
                error_type="ProtectedPath",
                retryable=False,
            )
        if folder == root:
            break
        folder = folder.parent


def writable_file(workspace: str, relative: str, action: str) -> Path:
    """Where a file action may create or replace a file: confined, not protected, not the
    workspace itself and not a folder (checked before any temporary file exists)."""
    path = confine(workspace, relative, writing=True)
    root = _real_root(workspace)
    if path == root or relative.rstrip().endswith(("/", "\\")) or path.is_dir():
        raise action_error(
            f"path {relative!r} is {'the workspace itself' if path == root else 'a folder'}; "
            f"{action} needs a file name inside the workspace",
            error_type="IsAFolder",
            retryable=False,
        )
    return path


def relative_name(workspace: str, path: Path) -> str:
    """How a path inside the workspace is shown back to the planner."""
    return path.relative_to(_real_root(workspace)).as_posix()


def visible(relative: str) -> bool:
    """Whether ``file_list`` shows a path: protected ones (hidden, keys) are left out."""
    return protected_rule(relative, writing=False) is None


def not_found(relative: str) -> ApplicationError:
    """A missing file is the plan's mistake, not a transient fault."""
    return action_error(
        f"no such file in the workspace: {relative!r}", error_type="FileNotFound", retryable=False
    )
