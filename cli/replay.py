"""Replaying a run's history against the current code: does this code still run it?

A run that is still open (or that ``retry``/reset would continue) must replay to the same
commands under the new code; otherwise its worker fails the next workflow task with a
nondeterminism error. This answers the question before a deploy, not after.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer

from durable_agents.runtime.codec import codec_from_env, data_converter
from durable_agents.workflows.agent import AgentWorkflow

_CORE_MESSAGE = re.compile(r'message: "([^"]+)"')


@dataclass(frozen=True)
class ReplayVerdict:
    """Whether the current code replays a history, and where it did not."""

    run_id: str
    events: int
    problem: str | None

    @property
    def compatible(self) -> bool:
        return self.problem is None

    def text(self) -> str:
        if self.problem is None:
            return (
                f"compatible: the current code replays run {self.run_id} "
                f"({self.events} events) to the same decisions"
            )
        return (
            f"NOT compatible: the current code diverges on run {self.run_id} "
            f"({self.events} events): {self.problem}\n"
            "Put the change behind workflow.patched(...) (see README: Deploying a new "
            "version), or let this run finish on the old workers."
        )


async def replay_history(history: WorkflowHistory) -> ReplayVerdict:
    """Replay one history with AgentWorkflow and the configured converter."""
    replayer = Replayer(workflows=[AgentWorkflow], data_converter=data_converter(codec_from_env()))
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    failure = result.replay_failure
    problem = None if failure is None else _readable(failure)
    return ReplayVerdict(history.workflow_id, len(history.events), problem)


def _readable(failure: Exception) -> str:
    """The core's own sentence (e.g. which activity type differs), not the whole struct."""
    text = str(failure)
    found = _CORE_MESSAGE.search(text)
    return found[1] if found else f"{type(failure).__name__}: {text}"


async def replay_run(client: Client, run_id: str) -> ReplayVerdict:
    """Fetch a run's history from the server and replay it."""
    history = await client.get_workflow_handle(run_id).fetch_history()
    return await replay_history(history)
