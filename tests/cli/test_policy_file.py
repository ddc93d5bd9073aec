from pathlib import Path

import pytest

from durable_agents.cli.policy_file import PolicyFileProblem, load_policy
from durable_agents.contracts.action_spec import Risk

EXAMPLE = Path(__file__).parents[2] / "examples" / "policy.toml"


def test_the_documented_example_loads_and_flags_come_last() -> None:
    policy = load_policy(EXAMPLE, allow_hosts=["db.internal"], approval_timeout_seconds=60)
    assert policy.decision_for(Risk.WRITE) == "approve"
    assert policy.allow_hosts == ["127.0.0.1", "10.0.0.0/8", "db.internal"]
    assert policy.approval_timeout_seconds == 60
    assert policy.rate_limits == {"http_request": 30}


def test_no_file_gives_the_defaults() -> None:
    policy = load_policy(None)
    assert policy.decision_for(Risk.READ) == "allow"
    assert policy.decision_for(Risk.EXTERNAL) == "approve"


def test_json_works_and_problems_say_where(tmp_path: Path) -> None:
    good = tmp_path / "p.json"
    good.write_text('{"plan_signoff": true}')
    assert load_policy(good).plan_signoff
    bad = tmp_path / "p.toml"
    bad.write_text("allow_hosts = [")
    with pytest.raises(PolicyFileProblem, match=r"p\.toml cannot be parsed"):
        load_policy(bad)
    typo = tmp_path / "typo.json"
    typo.write_text('{"alow_hosts": []}')
    with pytest.raises(PolicyFileProblem, match="alow_hosts: Extra inputs are not permitted"):
        load_policy(typo)
