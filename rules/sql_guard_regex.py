"""The regular-expression SQL classifier that ``sql_guard`` replaced, kept only so runs
started before the ``sql_guard.PATCH`` marker replay as they ran. It is unsafe (comment
and literal ordering hides statements; side-effecting functions pass as reads): nothing
new is decided with it, and the ``sql_query`` activity always re-checks with the parser.
"""

from __future__ import annotations

import re

from durable_agents.rules.sql_guard import Judgement

_LITERALS = re.compile(r"'(?:[^']|'')*'|\$(\w*)\$.*?\$\1\$", re.DOTALL)
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
_QUOTED_NAMES = re.compile(r'"(?:[^"]|"")*"')
_READ_STARTS = ("select", "with", "show", "explain", "values", "table")
_WRITE_WORDS = re.compile(r"\b(insert|update|delete|merge|into)\b")
_DESTROY_WORDS = re.compile(r"\b(drop|truncate)\b")
_UNBOUNDED = re.compile(r"(^|\()\s*(delete|update)\b")


def regex_sql_effect(sql: str) -> Judgement:
    """The old verdict, word for word ("destructive" is now called "blocked")."""
    text = _COMMENTS.sub(" ", _LITERALS.sub("''", sql))
    text = _QUOTED_NAMES.sub('"x"', text).lower()
    found: Judgement = ("read", "only reads")
    for statement in [" ".join(part.split()) for part in text.split(";") if part.strip()]:
        if _DESTROY_WORDS.search(statement):
            return "blocked", f"'{statement[:80]}' drops or truncates data"
        if _UNBOUNDED.search(statement) and not re.search(r"\bwhere\b", statement):
            return "blocked", f"'{statement[:80]}' changes every row (no WHERE)"
        if _WRITE_WORDS.search(statement) or not statement.startswith(_READ_STARTS):
            found = ("write", f"'{statement[:80]}' changes data")
    return found
