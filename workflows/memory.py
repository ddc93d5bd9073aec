"""Cross-run memory (``RunInput.memory``): lessons of earlier runs for the planner, and
this run's lesson stored at its end. A help, never a dependency: trouble is logged."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from durable_agents.contracts import Lesson, RecallRequest
from durable_agents.contracts.run import WorkflowActivity
from durable_agents.workflows.calls import activity_failure
from durable_agents.workflows.digest import lesson_text
from durable_agents.workflows.run import Run

MEMORY_TIMEOUT = timedelta(seconds=30)
MEMORY_RETRY = RetryPolicy(maximum_attempts=3)  # memory is a help: never hold a run up long


async def recall(goal: str) -> list[str]:
    """Lessons of earlier runs with similar goals, for the planner; none on trouble."""
    try:
        found: list[Lesson] = await workflow.execute_activity(
            WorkflowActivity.RECALL,
            RecallRequest(goal=goal),
            result_type=list[Lesson],
            start_to_close_timeout=MEMORY_TIMEOUT,
            retry_policy=MEMORY_RETRY,
            summary="recall lessons",
        )
    except ActivityError as exc:
        workflow.logger.warning("No lessons recalled: %s", activity_failure(exc))
        return []
    return [f"{lesson.outcome} run for {lesson.goal!r}: {lesson.lesson}" for lesson in found]


async def remember(run: Run, outcome: Literal["succeeded", "failed"], summary: str) -> None:
    """Store what this run learned; the run's outcome never depends on it."""
    if not run.input.memory:
        return
    text = lesson_text(outcome, summary, list(run.steps.values()), run.state.superseded)
    lesson = Lesson(
        workflow_id=workflow.info().workflow_id,
        goal=run.input.goal[:2000],
        outcome=outcome,
        lesson=text,
    )
    try:
        await workflow.execute_activity(
            WorkflowActivity.REMEMBER,
            lesson,
            start_to_close_timeout=MEMORY_TIMEOUT,
            retry_policy=MEMORY_RETRY,
            summary="remember the lesson",
        )
    except ActivityError as exc:
        workflow.logger.warning("Lesson not stored: %s", activity_failure(exc))
