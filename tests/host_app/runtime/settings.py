"""The host's own settings (same module name as ``durable_agents.runtime.settings``)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class HostSettings:
    """Where the Temporal server is, the task queue and the agent runs' workspace."""

    address: str
    task_queue: str
    workspace: Path

    @classmethod
    def from_argv(cls, argv: list[str] | None = None) -> HostSettings:
        """``main.py ADDRESS TASK_QUEUE WORKSPACE``."""
        address, task_queue, workspace = (sys.argv[1:] if argv is None else argv)[:3]
        return cls(address, task_queue, Path(workspace).resolve())
