"""Protected workspace paths, as the policy judges them before any I/O (rules/paths.py)."""

import pytest

from durable_agents.contracts.policy import Policy
from durable_agents.rules.paths import (
    CODE_RULE,
    CONFIG_RULE,
    ENV_RULE,
    HIDDEN_RULE,
    SECRET_RULE,
    protected_rule,
    target_problem,
)
from durable_agents.rules.policy import judge

WRITE_ONLY = [
    ("rules/policy.py", CODE_RULE),
    ("Setup.PY", CODE_RULE),
    ("x.py.", CODE_RULE),  # Windows drops trailing dots
    ("x.py ", CODE_RULE),
    ("lib/site.pth", CODE_RULE),
    ("run.sh", CODE_RULE),
    ("tools\\deploy.ps1", CODE_RULE),
    ("pyproject.toml", CONFIG_RULE),
    ("examples/policy.toml", CONFIG_RULE),
    ("setup.cfg", CONFIG_RULE),
    ("Makefile", CONFIG_RULE),
    ("dockerfile.dev", CONFIG_RULE),
    ("requirements-dev.txt", CONFIG_RULE),
    ("docker-compose.temporal.yml", CONFIG_RULE),
    ("package.json", CONFIG_RULE),
    ("venv/lib/notes.txt", ENV_RULE),
    ("lib/site-packages/x.txt", ENV_RULE),
    ("__pycache__/a.txt", ENV_RULE),
]
ALWAYS = [
    (".git/config", HIDDEN_RULE),
    ("sub/.git/hooks/pre-commit", HIDDEN_RULE),
    (".GIT/config", HIDDEN_RULE),
    (".git./config", HIDDEN_RULE),
    (".git::$INDEX_ALLOCATION/config", HIDDEN_RULE),  # NTFS: the same folder
    ("GIT~1/config", HIDDEN_RULE),  # its 8.3 short name
    (".env", HIDDEN_RULE),
    (".agent-state/artifacts/ab/x.json", HIDDEN_RULE),
    (".venv/bin/python", HIDDEN_RULE),
    (".github/workflows/ci.yml", HIDDEN_RULE),
    (".bashrc", HIDDEN_RULE),
    ("\uff0eenv", HIDDEN_RULE),  # a fullwidth full stop: NFKC makes it ".env"
    ("certs/server.PEM", SECRET_RULE),
    ("keys/id_ed25519", SECRET_RULE),
    ("secrets/openai_api_key", SECRET_RULE),
]
DATA = [
    "data/sales.csv",
    "out/revenue.json",
    "out/report.md",
    "notes.txt",
    "a/b/c.yaml",
    "v1..2.csv",
]


@pytest.mark.parametrize(("path", "rule"), WRITE_ONLY)
def test_code_and_config_are_readable_but_never_written(path: str, rule: str) -> None:
    assert protected_rule(path, writing=True) == rule
    assert protected_rule(path, writing=False) is None


@pytest.mark.parametrize(("path", "rule"), ALWAYS)
def test_hidden_and_secret_paths_are_neither_read_nor_written(path: str, rule: str) -> None:
    assert protected_rule(path, writing=True) == rule
    assert protected_rule(path, writing=False) == rule


@pytest.mark.parametrize("path", DATA)
def test_data_paths_are_free(path: str) -> None:
    assert protected_rule(path, writing=True) is None


@pytest.mark.parametrize("path", [".", "", "./", "out/", "out\\"])
def test_writes_need_a_file_name(path: str) -> None:
    problem = target_problem("file_write", path)
    assert problem is not None and ("workspace itself" in problem or "names a folder" in problem)
    assert target_problem("file_list", ".") is None


@pytest.mark.parametrize(
    ("action", "params"),
    [
        ("file_append", {"path": ".git/config", "content": "[core]\n\tfsmonitor = x"}),
        ("file_write", {"path": "rules/policy.py", "content": "ALLOW = True"}),
        ("file_write", {"path": ".", "content": "x"}),
        ("file_move", {"source": "data/a.txt", "destination": "evil.sh"}),
        ("file_move", {"source": ".env", "destination": "out/env.txt"}),
        ("file_delete", {"path": "pyproject.toml"}),
        ("file_read", {"path": ".env"}),
        ("file_list", {"path": ".git"}),
    ],
)
def test_the_policy_blocks_them_whatever_it_allows(action: str, params: dict[str, str]) -> None:
    lenient = Policy(decisions={"write": "allow", "destructive": "allow", "read": "allow"})
    verdict = judge(action, params, lenient)
    assert verdict.decision == "block"
    assert "protected" in verdict.reason or "workspace itself" in verdict.reason


def test_reading_code_stays_allowed() -> None:
    assert judge("file_read", {"path": "rules/policy.py"}, Policy()).decision == "allow"
