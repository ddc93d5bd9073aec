from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from durable_agents.contracts import Policy
from durable_agents.workflows.rate_limits import rate_delay

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(*seconds: float) -> list[datetime]:
    return [T0 + timedelta(seconds=s) for s in seconds]


def test_calls_wait_until_the_last_minute_has_room() -> None:
    assert rate_delay([], T0, 2) == timedelta(0)
    assert rate_delay(at(0), T0 + timedelta(seconds=1), 2) == timedelta(0)
    assert rate_delay(at(0, 10), T0 + timedelta(seconds=20), 2) == timedelta(seconds=40)
    assert rate_delay(at(0, 10, 30), T0 + timedelta(seconds=61), 2) == timedelta(seconds=9)
    assert rate_delay(at(0, 10), T0 + timedelta(seconds=60), 2) == timedelta(0)


def test_limits_name_real_actions() -> None:
    with pytest.raises(ValidationError, match="unknown action 'curl'"):
        Policy(rate_limits={"curl": 5})
    with pytest.raises(ValidationError, match="at least 1 call per minute"):
        Policy(rate_limits={"http_request": 0})
