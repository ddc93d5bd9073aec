"""The host's own workflow, in a module that imports nothing of durable_agents."""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.shout import shout


@workflow.defn
class HostGreeting:
    """Greets through the host's own activity."""

    @workflow.run
    async def run(self, name: str) -> str:
        loud = await workflow.execute_activity(
            shout, name, start_to_close_timeout=timedelta(seconds=10)
        )
        return f"hello {loud}"
