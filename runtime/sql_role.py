"""A start-up warning when DATABASE_URL connects as a PostgreSQL superuser (or a role that
may read or write server files or run programs).

The SQL guard decides what a statement may do; the role decides what the server lets it
do. A superuser turns any gap in the guard (a view or operator calling a function, a
missed catalogue entry) into server files, shell commands and every database. The check
only logs: a worker whose database is down or slow still starts.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 5.0
# Predefined roles that reach outside the database (COPY to/from files and programs).
FILE_ROLES = ("pg_read_server_files", "pg_write_server_files", "pg_execute_server_program")
_PRIVILEGES = """
    SELECT current_user::text AS role, r.rolsuper AS superuser,
           array(SELECT f FROM unnest($1::text[]) AS f
                 WHERE pg_has_role(current_user, f, 'MEMBER')) AS file_roles
    FROM pg_roles r WHERE r.rolname = current_user
"""
ADVICE = (
    "connect as a least-privilege role instead (LOGIN, NOSUPERUSER, rights on the agent's "
    "own schema only): see 'SQL' in docs/security.md"
)


async def privileged_role_warning(database_url: str | None) -> str | None:
    """The warning for a superuser (or file-role) DATABASE_URL, logged; None when fine,
    unset or unreachable (never raises: the worker starts anyway)."""
    if not database_url:
        return None
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            connection = await asyncpg.connect(database_url, timeout=CHECK_TIMEOUT_SECONDS)
            try:
                row = await connection.fetchrow(_PRIVILEGES, list(FILE_ROLES))
            finally:
                await connection.close()
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        logger.info("could not check the SQL role's privileges (%s); starting anyway", exc)
        return None
    if row is None:
        return None
    if row["superuser"]:
        reach = (
            "every database, role and table on the server, server files "
            "(pg_read_file, COPY ... TO '/path') and shell commands (COPY ... PROGRAM)"
        )
    elif row["file_roles"]:
        reach = f"server files or programs (member of {', '.join(row['file_roles'])})"
    else:
        return None
    warning = (
        f"DATABASE_URL connects as PostgreSQL role {row['role']!r}, which can reach {reach}. "
        f"The SQL guard blocks those statements, but a gap in it would run with these "
        f"rights; {ADVICE}"
    )
    logger.warning(warning)
    return warning
