"""Workspaces named relative to the worker's workspace root: ``worker:projects/a``.

A starter on a laptop cannot name a folder inside a worker's container or on another
machine: its absolute path means nothing there. So it sends a name, ``worker:NAME``, and
each worker resolves it under its own root, AGENT_WORKSPACE_ROOT (``/workspace`` in
docker-compose.temporal.yml). ``worker:`` alone is the root itself. A name that is
absolute or has a ``..`` part is refused by the starter before the run exists and again
here (``WorkspaceOutsideRoot``), and so is a name that leads out of the root through a
symlink; a worker without a root refuses every name (``NoWorkspaceRoot``), and a name
that is not a folder on the worker is ``WorkspaceNotFound``. All are non-retryable: the
same run input fails the same way. Absolute workspaces are untouched by this module.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path, PureWindowsPath

from durable_agents.activities.errors import action_error

WORKER_PREFIX = "worker:"
ROOT_ENV = "AGENT_WORKSPACE_ROOT"


def worker_relative(workspace: str) -> str | None:
    """The name after ``worker:``, or None for a workspace given as a folder."""
    return workspace.removeprefix(WORKER_PREFIX) if workspace.startswith(WORKER_PREFIX) else None


def name_problem(name: str) -> str | None:
    """Why a name cannot be resolved under any root, or None. Pure, so the starter checks
    it too; separators of every platform count, since the worker may run on another."""
    if "\x00" in name:
        return "contains a NUL byte"
    if name.startswith(("/", "\\")) or PureWindowsPath(name).drive:
        return "is an absolute path, not a folder under the worker's root"
    if ".." in name.replace("\\", "/").split("/"):
        return "has a '..' part, which could leave the worker's root"
    return None


def resolve_named(workspace: str, env: Mapping[str, str] | None = None) -> Path:
    """The real folder ``worker:NAME`` names on this worker, or a typed refusal."""
    name = workspace.removeprefix(WORKER_PREFIX)
    env = os.environ if env is None else env
    if not env.get(ROOT_ENV):
        raise action_error(
            f"the run's workspace {workspace!r} is named relative to the worker's workspace "
            f"root, and this worker has none: set {ROOT_ENV} on the worker (e.g. /workspace), "
            "or start the run with --workspace set to a folder the worker can see",
            error_type="NoWorkspaceRoot",
            retryable=False,
        )
    root = Path(env[ROOT_ENV]).resolve()
    problem = name_problem(name)
    folder = root if problem else (root / name).resolve()
    if problem or not (folder == root or root in folder.parents):
        raise action_error(
            f"the run's workspace {workspace!r} "
            f"{problem or f'leads to {folder}, outside the worker root {root}'}; "
            "name a folder under it, e.g. worker:projects/a",
            error_type="WorkspaceOutsideRoot",
            retryable=False,
        )
    if not folder.is_dir():
        raise action_error(
            f"the run's workspace {workspace!r} is {folder} on this worker, which is not a "
            f"folder; create it under {ROOT_ENV} ({root})",
            error_type="WorkspaceNotFound",
            retryable=False,
        )
    return folder
