"""What a SQL text does, judged conservatively: read, write, or destructive.

Comments and string literals are removed first, so ``DROP`` hidden behind ``/* */`` or
mixed case is still seen and a ``';'`` inside a literal does not split a statement. Any
statement that is not plainly a read counts as a write; ``DROP``/``TRUNCATE`` and a
``DELETE``/``UPDATE`` without ``WHERE`` are destructive.
"""

from __future__ import annotations

import re
from typing import Literal

SqlEffect = Literal["read", "write", "destructive"]

_LITERALS = re.compile(r"'(?:[^']|'')*'|\$(\w*)\$.*?\$\1\$", re.DOTALL)
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
_QUOTED_NAMES = re.compile(r'"(?:[^"]|"")*"')
_READ_STARTS = ("select", "with", "show", "explain", "values", "table")
# Statement heads other than _READ_STARTS are writes; these find writes inside a read
# (a data-modifying CTE, SELECT ... INTO a new table).
_WRITE_WORDS = re.compile(r"\b(insert|update|delete|merge|into)\b")
_DESTROY_WORDS = re.compile(r"\b(drop|truncate)\b")
_UNBOUNDED = re.compile(r"(^|\()\s*(delete|update)\b")


def statements(sql: str) -> list[str]:
    """Lower-cased statements with comments, literals and quoted names blanked."""
    text = _COMMENTS.sub(" ", _LITERALS.sub("''", sql))
    text = _QUOTED_NAMES.sub('"x"', text).lower()
    return [" ".join(part.split()) for part in text.split(";") if part.strip()]


def sql_effect(sql: str) -> tuple[SqlEffect, str]:
    """The strongest effect of any statement in ``sql``, with the reason."""
    found: tuple[SqlEffect, str] = ("read", "only reads")
    for statement in statements(sql):
        if _DESTROY_WORDS.search(statement):
            return "destructive", f"'{statement[:80]}' drops or truncates data"
        if _UNBOUNDED.search(statement) and not re.search(r"\bwhere\b", statement):
            return "destructive", f"'{statement[:80]}' changes every row (no WHERE)"
        if _WRITE_WORDS.search(statement) or not statement.startswith(_READ_STARTS):
            found = ("write", f"'{statement[:80]}' changes data")
    return found
