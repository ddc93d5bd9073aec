import pytest
from pydantic import JsonValue

from durable_agents.contracts import StepState, StepStatus
from durable_agents.workflows.completion import missing_files, promised_files

DEMO_GOAL = (
    "Read data/sales.csv, total the revenue per region, and write the totals to out/revenue.json"
)


@pytest.mark.parametrize(
    ("goal", "expected"),
    [
        (DEMO_GOAL, ["out/revenue.json"]),
        ("Save the summary as ./report.md.", ["report.md"]),
        ("Write a summary of data/x.csv to 'out/y.json'; then stop", ["out/y.json"]),
        ("Export users into `exports/users.csv`", ["exports/users.csv"]),
        ("Read data/sales.csv and tell me the best region.", []),
        ("Write a haiku about Temporal.", []),
        ("Write the secrets to /etc/passwd.txt or ../up.txt", []),
    ],
)
def test_promised_files_are_the_write_targets_a_goal_names(goal: str, expected: list[str]) -> None:
    assert promised_files(goal) == expected


def _write(status: StepStatus, output: JsonValue) -> StepState:
    return StepState(
        id="w", title="write", action="file_write", plan_version=1, status=status, output=output
    )


def test_a_promised_file_counts_only_once_a_write_succeeded() -> None:
    assert missing_files(DEMO_GOAL, []) == ["out/revenue.json"]
    failed = _write(StepStatus.FAILED, None)
    assert missing_files(DEMO_GOAL, [failed]) == ["out/revenue.json"]
    elsewhere = _write(StepStatus.SUCCEEDED, {"path": "out/other.json", "bytes": 2})
    assert missing_files(DEMO_GOAL, [elsewhere]) == ["out/revenue.json"]
    written = _write(StepStatus.SUCCEEDED, {"path": "out/./revenue.json", "bytes": 2})
    assert missing_files(DEMO_GOAL, [elsewhere, written]) == []
