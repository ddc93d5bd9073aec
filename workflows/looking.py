"""Look before planning: the ``look`` activity reads the shape of the inputs the goal
names (files, tables) so the first plan uses their real field and column names. A help,
never a dependency: trouble is logged and the run plans without it."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from durable_agents.contracts import ActionContext, Looked, LookRequest
from durable_agents.contracts.run import WorkflowActivity
from durable_agents.workflows.calls import activity_failure

LOOK_PATCH = "look-before-planning-v1"
LOOK_TIMEOUT = timedelta(seconds=30)
LOOK_RETRY = RetryPolicy(maximum_attempts=2)


async def look(goal: str, context: ActionContext) -> Looked:
    """What the goal's inputs look like, for the planner; nothing on trouble, and nothing
    for runs started before this existed (they replay as they ran)."""
    if not workflow.patched(LOOK_PATCH):
        return Looked()
    try:
        looked: Looked = await workflow.execute_activity(
            WorkflowActivity.LOOK,
            LookRequest(goal=goal, context=context),
            result_type=Looked,
            start_to_close_timeout=LOOK_TIMEOUT,
            retry_policy=LOOK_RETRY,
            summary="look at the inputs",
        )
    except ActivityError as exc:
        workflow.logger.warning("Planning without a look at the inputs: %s", activity_failure(exc))
        return Looked()
    return looked
