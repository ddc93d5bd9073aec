"""How a pydantic ``ValidationError`` reads in messages: one ``field: message`` per problem.

One wording for plan files, step params, policy files and LLM answers alike, so a person
(or the planner, shown its own mistakes) always sees the same shape.
"""

from __future__ import annotations

from pydantic import ValidationError


def validation_problems(error: ValidationError, root: str = "params") -> list[str]:
    """One ``field.path: message`` per problem; ``root`` names a problem of the whole value."""
    return [
        f"{'.'.join(str(part) for part in item['loc']) or root}: {item['msg']}"
        for item in error.errors()
    ]


def format_validation_error(error: ValidationError, root: str = "params") -> str:
    """The problems on one line, separated by ``; ``."""
    return "; ".join(validation_problems(error, root))
