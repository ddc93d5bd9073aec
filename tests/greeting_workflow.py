"""A host application's own workflow, unrelated to agents (a module of its own, so the
workflow sandbox imports nothing else from the tests)."""

from temporalio import workflow


@workflow.defn(name="Greeting")
class Greeting:
    @workflow.run
    async def run(self, name: str) -> str:
        return f"hello {name}"
