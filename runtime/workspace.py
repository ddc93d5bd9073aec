"""The folder a run's file steps are confined to, as the starter picks it.

``--workspace DIR``, or by default ``./workspace`` under the current folder, created the
first time with the demo's ``data/sales.csv`` (so the README's demo runs from a checkout
without giving the run the checkout itself). A folder that holds the agent's own code
(the checkout, or any folder above it) is refused: file steps could rewrite the code and
its guardrails. The worker refuses it too (``activities.workspace``).
"""

from __future__ import annotations

from pathlib import Path

from durable_agents.activities.workspace import AGENT_CODE, holds_agent_code
from durable_agents.examples.catalog import prepare_workspace

DEFAULT_WORKSPACE = "workspace"


class WorkspaceProblem(ValueError):
    """The workspace cannot be used; the message says why and what to do."""


def workspace_path(given: Path | None) -> Path:
    """The absolute workspace folder for ``--workspace`` (None: the default)."""
    return (given if given is not None else Path.cwd() / DEFAULT_WORKSPACE).absolute()


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
