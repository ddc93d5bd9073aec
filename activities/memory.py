"""Cross-run memory: a short lesson per finished run in PostgreSQL, recalled by full-text
search for a new goal (``remember`` and ``recall`` activities).

Uses the worker's SQL pool (DATABASE_URL); the table is created on first use. Full-text
search (English stemming, any word of the goal, ranked) finds the few lessons that share
the goal's terms; embeddings would cost a model call per run for little gain here.
"""

from __future__ import annotations

import asyncio
import re

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
        """The lessons whose goal and text share most terms with ``request.goal``."""
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
                request.limit,
            )
        except OSError as exc:
            raise action_error(
                f"cannot reach PostgreSQL: {exc}", error_type="SqlConnection", retryable=True
            ) from exc
        return [Lesson(**dict(row)) for row in rows]
