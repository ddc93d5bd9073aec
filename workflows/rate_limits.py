"""Per-action rate limits from workflow time: how long the next call must wait."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

WINDOW = timedelta(minutes=1)


def rate_delay(starts: Sequence[datetime], now: datetime, per_minute: int) -> timedelta:
    """Zero if a call may start at ``now``; else the wait until the window has room."""
    recent = sorted(start for start in starts if now - start < WINDOW)
    if len(recent) < per_minute:
        return timedelta(0)
    return recent[len(recent) - per_minute] + WINDOW - now
