"""``starter.py memory``: the lessons cross-run memory feeds the planner, and forgetting
one that misleads (a run that succeeded with a wrong result teaches its plan to every
similar goal until someone removes it)."""

from __future__ import annotations

import argparse

from durable_agents.activities.memory import MemoryActivities
from durable_agents.activities.sql import SqlActions
from durable_agents.cli.errors import UsageProblem
from durable_agents.runtime.settings import Settings

SHOWN_CHARS = 160  # of a lesson's text per line; --full shows all of it


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("list", "forget"))
    parser.add_argument("runs", nargs="*", metavar="RUN", help="forget: workflow ids")
    parser.add_argument("--goal", help="list: only lessons whose goal contains this text")
    parser.add_argument("--limit", type=int, default=20, help="list: at most this many")
    parser.add_argument("--full", action="store_true", help="list: whole lessons")


async def memory(args: argparse.Namespace, settings: Settings) -> int:
    """List the stored lessons, or forget some runs' lessons."""
    if not settings.database_url:
        raise UsageProblem(
            "cross-run memory lives in PostgreSQL: set DATABASE_URL (e.g. "
            "postgresql://postgres@127.0.0.1:5432/test)"
        )
    if args.action == "forget" and not args.runs:
        raise UsageProblem("memory forget needs the workflow ids whose lessons to remove")
    if args.action == "list" and args.runs:
        raise UsageProblem("memory list takes no run ids (use --goal TEXT to filter)")
    if args.limit < 1:
        raise UsageProblem("--limit must be at least 1")
    sql = SqlActions(settings.database_url)
    try:
        store = MemoryActivities(sql, settings.memory_table)
        if args.action == "forget":
            return _said_forgotten(args.runs, await store.forget(args.runs))
        lessons = await store.stored(args.limit, args.goal)
    finally:
        await sql.aclose()
    if not lessons:
        print("No lessons stored" + (f" for goals containing {args.goal!r}." if args.goal else "."))
    for lesson in lessons:
        text = lesson.lesson if args.full else _short(lesson.lesson)
        print(f"{lesson.workflow_id}  {lesson.outcome}  {lesson.created_at:%Y-%m-%d %H:%M}")
        print(f"  goal: {lesson.goal}")
        print(f"  lesson: {text}")
    return 0


def _said_forgotten(asked: list[str], forgotten: list[str]) -> int:
    for workflow_id in forgotten:
        print(f"Forgot the lesson of {workflow_id}.")
    unknown = sorted(set(asked) - set(forgotten))
    if unknown:
        raise UsageProblem(f"no lesson stored for {', '.join(unknown)}")
    return 0


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SHOWN_CHARS else flat[:SHOWN_CHARS] + " [...]"
