"""The raw baseline of bench/waiting_memory.py: a workflow that waits for a signal, in a
module of its own so the sandbox re-imports only this (as it does the agent workflow's
module) for each run."""

from temporalio import workflow


@workflow.defn
class RawWaiting:
    def __init__(self) -> None:
        self.approved = False

    @workflow.run
    async def run(self) -> bool:
        await workflow.wait_condition(lambda: self.approved)
        return True

    @workflow.signal
    def approve(self) -> None:
        self.approved = True

    @workflow.query
    def waiting(self) -> bool:
        return not self.approved
