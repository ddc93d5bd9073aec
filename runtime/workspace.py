"""The folder a run's file steps are confined to, as the starter picks it.

``--workspace DIR``, or by default ``./workspace`` under the current folder, created the
first time with the demo's ``data/sales.csv`` (so the README's demo runs from a checkout
without giving the run the checkout itself). A folder that holds the agent's own code
(the checkout, or any folder above it) is refused: file steps could rewrite the code and
its guardrails. The worker refuses it too (``activities.workspace``).

``--workspace worker:NAME`` names a folder under the worker's AGENT_WORKSPACE_ROOT
instead (a worker in a container or on another machine): the starter cannot see that
disk, so it only checks that NAME cannot leave the root and sends it as given; the worker
resolves it (``activities.named_workspace``).
"""

from __future__ import annotations

from pathlib import Path

from durable_agents.activities.named_workspace import WORKER_PREFIX, name_problem, worker_relative
from durable_agents.activities.workspace import AGENT_CODE, holds_agent_code
from durable_agents.examples.catalog import prepare_workspace

DEFAULT_WORKSPACE = "workspace"


class WorkspaceProblem(ValueError):
    """The workspace cannot be used; the message says why and what to do."""


def workspace_path(given: Path | None) -> Path:
    """The absolute workspace folder for ``--workspace`` (None: the default)."""
    return (given if given is not None else Path.cwd() / DEFAULT_WORKSPACE).absolute()


def workspace_name(given: str | None) -> str:
    """What ``RunInput.workspace`` holds for ``--workspace`` (nothing checked or created):
    a ``worker:NAME`` as given, else the absolute folder."""
    if given is not None and worker_relative(given) is not None:
        return given
    return str(workspace_path(Path(given) if given is not None else None))


def ready_workspace(given: Path | None) -> Path:
    """The workspace folder, checked; the default one is created (and seeded) if missing."""
    folder = workspace_path(given)
    if given is None and not folder.exists():
        folder.mkdir(parents=True)
        prepare_workspace(folder)
    if not folder.is_dir():
        raise WorkspaceProblem(f"workspace {given or folder} is not a folder")
    if holds_agent_code(folder):
        raise WorkspaceProblem(
            f"workspace {folder} contains the agent's own code ({AGENT_CODE}), which file "
            "steps could rewrite; use a folder without it, e.g. the default ./workspace"
        )
    return folder.resolve()


def ready_run_workspace(given: str | None) -> str:
    """``RunInput.workspace`` for ``--workspace``, checked: a local folder as
    ``ready_workspace`` makes it, or a ``worker:NAME`` that cannot leave the worker's root."""
    if given is None or (name := worker_relative(given)) is None:
        return str(ready_workspace(Path(given) if given is not None else None))
    if problem := name_problem(name):
        raise WorkspaceProblem(
            f"workspace {given} {problem}; e.g. --workspace {WORKER_PREFIX}projects/a is "
            "the folder projects/a under the worker's AGENT_WORKSPACE_ROOT"
        )
    return given
