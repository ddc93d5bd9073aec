"""Cross-run memory: a short lesson per finished run in PostgreSQL, recalled by full-text
search for a new goal (``remember`` and ``recall`` activities).

Uses the worker's SQL pool (DATABASE_URL); the table is created on first use. Full-text
search (English stemming, any word of the goal, ranked) finds the few lessons that share
the goal's terms; embeddings would cost a model call per run for little gain here.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from datetime import datetime

from temporalio import activity

from durable_agents.activities.errors import action_error
from durable_agents.activities.sql import SqlActions
from durable_agents.contracts import Lesson, RecallRequest

DEFAULT_TABLE = "agent_lessons"
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_WORD = re.compile(r"[A-Za-z0-9]{3,}")


class MemoryActivities:
    """Bound methods are the activities; ``table`` is validated as an identifier."""

    def __init__(self, sql: SqlActions, table: str = DEFAULT_TABLE) -> None:
        if not _IDENTIFIER.match(table):
            raise ValueError(f"memory table name {table!r} is not a plain identifier")
        self._sql = sql
        self._table = table
        self._ready = False
        self._lock = asyncio.Lock()

    async def _ensure_table(self) -> None:
        async with self._lock:
            if self._ready:
                return
            pool = await self._sql.pool()
            async with pool.acquire() as connection, connection.transaction():
                # one creator at a time across workers (CREATE ... IF NOT EXISTS can race)
                await connection.execute("SELECT pg_advisory_xact_lock(hashtext($1))", self._table)
                await connection.execute(
                    f"""CREATE TABLE IF NOT EXISTS {self._table} (
                        workflow_id text PRIMARY KEY,
                        goal text NOT NULL,
                        outcome text NOT NULL,
                        lesson text NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        search tsvector GENERATED ALWAYS AS
                            (to_tsvector('english', goal || ' ' || lesson)) STORED)"""
                )
                await connection.execute(
                    f"CREATE INDEX IF NOT EXISTS {self._table}_search "
                    f"ON {self._table} USING gin (search)"
                )
            self._ready = True

    @activity.defn(name="remember")
    async def remember(self, lesson: Lesson) -> None:
        """Store a run's lesson; a retry replaces, never duplicates."""
        await self._ensure_table()
        pool = await self._sql.pool()
        await pool.execute(
            f"""INSERT INTO {self._table} (workflow_id, goal, outcome, lesson)
                VALUES ($1, $2, $3, $4)
                ON CONFLICT (workflow_id) DO UPDATE
                SET goal = excluded.goal, outcome = excluded.outcome, lesson = excluded.lesson""",
            lesson.workflow_id,
            lesson.goal,
            lesson.outcome,
            lesson.lesson,
        )

    @activity.defn(name="recall")
    async def recall(self, request: RecallRequest) -> list[Lesson]:
        """The lessons of goals like ``request.goal``: full-text search finds candidates,
        then only those whose goal shares most of its subject terms are kept."""
        words = sorted({word.lower() for word in _WORD.findall(request.goal)})
        if not words:
            return []
        await self._ensure_table()
        pool = await self._sql.pool()
        try:
            rows = await pool.fetch(
                f"""SELECT workflow_id, goal, outcome, lesson FROM {self._table},
                        to_tsquery('english', $1) AS query
                    WHERE search @@ query
                    ORDER BY ts_rank(search, query) DESC, created_at DESC
                    LIMIT $2""",
                " | ".join(words),
                CANDIDATES,
            )
        except OSError as exc:
            raise action_error(
                f"cannot reach PostgreSQL: {exc}", error_type="SqlConnection", retryable=True
            ) from exc
        lessons = [Lesson(**dict(row)) for row in rows]
        scored = [(similarity(request.goal, lesson.goal), lesson) for lesson in lessons]
        relevant = [pair for pair in scored if pair[0] >= RELEVANT]
        relevant.sort(key=lambda pair: -pair[0])  # stable: ties keep the search's order
        return [lesson for _, lesson in relevant[: request.limit]]

    async def stored(self, limit: int, goal: str | None = None) -> list[StoredLesson]:
        """The newest lessons, or those whose goal contains ``goal`` (for a person:
        ``starter.py memory``); not an activity."""
        await self._ensure_table()
        pool = await self._sql.pool()
        rows = await pool.fetch(
            f"""SELECT workflow_id, goal, outcome, lesson, created_at FROM {self._table}
                WHERE $1::text IS NULL OR strpos(lower(goal), lower($1)) > 0
                ORDER BY created_at DESC, workflow_id LIMIT $2""",
            goal,
            limit,
        )
        return [StoredLesson(**dict(row)) for row in rows]

    async def forget(self, workflow_ids: Sequence[str]) -> list[str]:
        """Delete these runs' lessons (a misleading one: a false success, a stale API);
        the ids that had one. Not an activity: a person decides."""
        await self._ensure_table()
        pool = await self._sql.pool()
        rows = await pool.fetch(
            f"DELETE FROM {self._table} WHERE workflow_id = ANY($1::text[]) RETURNING workflow_id",
            list(workflow_ids),
        )
        return sorted(str(row["workflow_id"]) for row in rows)


class StoredLesson(Lesson):
    """A lesson as stored, with when."""

    created_at: datetime


# Words that say how a goal is done or where, not what it is about: two goals sharing only
# these ("write ... to out/x.json") are not alike. Measured: recalling on them fed a POST
# goal a file_read of another goal's file, and a SQL goal a CSV read.
GENERIC = frozenset(
    [
        "write",
        "save",
        "read",
        "file",
        "json",
        "csv",
        "txt",
        "data",
        "out",
        "the",
        "and",
        "from",
        "into",
        "with",
        "per",
        "each",
        "every",
        "them",
        "their",
        "then",
        "all",
        "its",
        "that",
        "this",
        "what",
        "which",
        "give",
        "get",
        "put",
        "make",
        "find",
        "list",
        "show",
        "new",
        "create",
        "result",
        "results",
        "output",
        "input",
        "value",
        "values",
        "number",
        "numbers",
    ]
)
RELEVANT = 0.6  # share of the two goals' subject terms they have in common (Jaccard)
CANDIDATES = 20  # found by full-text search, then scored


def subject_terms(goal: str) -> set[str]:
    """The words of a goal that say what it is about, singular ("totals" -> "total")."""
    terms = set()
    for word in _WORD.findall(goal.lower()):
        if word in GENERIC or word.isdigit():
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        terms.add(word)
    return terms


def similarity(goal: str, other: str) -> float:
    """Jaccard similarity of the goals' subject terms (0: nothing shared, 1: the same)."""
    mine, theirs = subject_terms(goal), subject_terms(other)
    if not mine or not theirs:
        return 0.0
    return len(mine & theirs) / len(mine | theirs)
