"""The guardrail policy as a table: allow / approve / block, tricky encodings included."""

import pytest
from pydantic import JsonValue

from durable_agents.contracts.action_spec import Risk
from durable_agents.contracts.policy import Decision, Policy
from durable_agents.rules.egress import legacy_ipv4, parse_address
from durable_agents.rules.policy import arguments_hash, judge
from durable_agents.rules.sql_guard import SqlEffect, sql_effect

LOOPBACK_OK = Policy(allow_hosts=["127.0.0.1", "localhost", "10.0.0.0/8", "169.254.0.0/16"])
STRICT_WRITES = Policy(decisions={Risk.WRITE: "approve"})
NO_READS = Policy(decisions={Risk.READ: "block"})


def get(url: str) -> dict[str, JsonValue]:
    return {"url": url, "method": "GET"}


CASES: list[tuple[str, str, dict[str, JsonValue], Policy, Decision]] = [
    # reads and workspace writes run freely
    ("read csv", "file_read", {"path": "data/sales.csv"}, Policy(), "allow"),
    ("write out", "file_write", {"path": "out/x.json", "content": 1}, Policy(), "allow"),
    ("list root", "file_list", {"path": "."}, Policy(), "allow"),
    ("dots in a name", "file_read", {"path": "data/v1..2.csv"}, Policy(), "allow"),
    ("transform", "transform", {"input": [1]}, Policy(), "allow"),
    ("llm", "llm", {"prompt": "hi"}, Policy(), "allow"),
    ("wait", "wait", {"seconds": 1}, Policy(), "allow"),
    ("path from a reference", "file_read", {"path": "${steps.a.output}"}, Policy(), "allow"),
    ("public GET", "http_request", get("https://api.example.com/x"), Policy(), "allow"),
    ("HEAD", "http_request", {"url": "https://example.com", "method": "HEAD"}, Policy(), "allow"),
    ("url from a reference", "http_request", get("${steps.a.output.url}"), Policy(), "allow"),
    ("allowed loopback", "http_request", get("http://127.0.0.1:8080/x"), LOOPBACK_OK, "allow"),
    ("allowed CIDR", "http_request", get("http://10.1.2.3/"), LOOPBACK_OK, "allow"),
    ("allowed localhost", "http_request", get("http://localhost:9/"), LOOPBACK_OK, "allow"),
    ("names wait for DNS", "http_request", get("http://db.internal/"), Policy(), "allow"),
    # a person decides
    ("POST", "http_request", {"url": "https://a.example/x", "method": "POST"}, Policy(), "approve"),
    (
        "DELETE",
        "http_request",
        {"url": "https://a.example/1", "method": "DELETE"},
        Policy(),
        "approve",
    ),
    (
        "lower-case put",
        "http_request",
        {"url": "https://a.example", "method": "put"},
        Policy(),
        "approve",
    ),
    (
        "writes need approval",
        "file_write",
        {"path": "o.txt", "content": ""},
        STRICT_WRITES,
        "approve",
    ),
    # blocked outright
    ("absolute path", "file_read", {"path": "/etc/passwd"}, Policy(), "block"),
    ("parent dir", "file_read", {"path": "../secrets.txt"}, Policy(), "block"),
    ("climb via subdir", "file_read", {"path": "data/../../x"}, Policy(), "block"),
    ("encoded traversal", "file_read", {"path": "..%2f..%2fetc/passwd"}, Policy(), "block"),
    ("double-encoded", "file_read", {"path": "%252e%252e/x"}, Policy(), "block"),
    ("home dir", "file_read", {"path": "~/.ssh/id_rsa"}, Policy(), "block"),
    ("windows drive", "file_write", {"path": "C:\\Windows\\x", "content": ""}, Policy(), "block"),
    ("backslash climb", "file_list", {"path": "..\\x"}, Policy(), "block"),
    ("NUL byte", "file_read", {"path": "a.txt\x00.csv"}, Policy(), "block"),
    ("file scheme", "http_request", get("file:///etc/passwd"), Policy(), "block"),
    ("gopher", "http_request", get("gopher://example.com/"), Policy(), "block"),
    ("no scheme", "http_request", get("example.com/x"), Policy(), "block"),
    ("metadata v4", "http_request", get("http://169.254.169.254/latest"), Policy(), "block"),
    (
        "metadata even if allowed",
        "http_request",
        get("http://169.254.169.254/"),
        LOOPBACK_OK,
        "block",
    ),
    ("mapped v6", "http_request", get("http://[::ffff:169.254.169.254]/"), Policy(), "block"),
    ("aws v6 metadata", "http_request", get("http://[fd00:ec2::254]/"), LOOPBACK_OK, "block"),
    ("decimal IP", "http_request", get("http://2852039166/"), Policy(), "block"),
    ("hex IP", "http_request", get("http://0xA9FEA9FE/"), Policy(), "block"),
    ("octal IP", "http_request", get("http://0251.0376.0251.0376/"), Policy(), "block"),
    ("short loopback", "http_request", get("http://127.1/"), Policy(), "block"),
    ("NAT64 metadata", "http_request", get("http://[64:ff9b::a9fe:a9fe]/"), Policy(), "block"),
    ("private v4", "http_request", get("http://10.0.0.5/"), Policy(), "block"),
    ("private v6", "http_request", get("http://[fd12:3456::1]/"), Policy(), "block"),
    ("localhost", "http_request", get("http://localhost:8080/"), Policy(), "block"),
    ("sub.localhost", "http_request", get("http://app.localhost/"), Policy(), "block"),
    ("gcp metadata", "http_request", get("http://metadata.google.internal/"), Policy(), "block"),
    ("unspecified", "http_request", get("http://0.0.0.0:80/"), Policy(), "block"),
    ("userinfo trick", "http_request", get("http://api.example.com@127.0.0.1/"), Policy(), "block"),
    (
        "POST to metadata",
        "http_request",
        {"url": "http://169.254.169.254", "method": "POST"},
        Policy(),
        "block",
    ),
    ("reads blocked by policy", "file_read", {"path": "a.txt"}, NO_READS, "block"),
    ("append", "file_append", {"path": "out/log.txt", "content": "x"}, Policy(), "allow"),
    ("delete", "file_delete", {"path": "out/old.json"}, Policy(), "approve"),
    ("move", "file_move", {"source": "a.txt", "destination": "b/a.txt"}, Policy(), "approve"),
    ("move out", "file_move", {"source": "a.txt", "destination": "../a.txt"}, Policy(), "block"),
    ("delete absolute", "file_delete", {"path": "/etc/hosts"}, Policy(), "block"),
    # SQL: decided per statement
    ("SQL read", "sql_query", {"sql": "SELECT * FROM t WHERE a = $1"}, Policy(), "allow"),
    ("SQL write", "sql_query", {"sql": "INSERT INTO t VALUES ($1)"}, Policy(), "approve"),
    ("SQL drop", "sql_query", {"sql": "drop table t"}, Policy(), "block"),
    ("SQL hidden delete", "sql_query", {"sql": "SELECT 1; DELETE FROM t"}, Policy(), "block"),
    ("SQL from a reference", "sql_query", {"sql": "${steps.a.output}"}, Policy(), "approve"),
]


@pytest.mark.parametrize(
    ("action", "params", "policy", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_policy_table(
    action: str, params: dict[str, JsonValue], policy: Policy, expected: Decision
) -> None:
    verdict = judge(action, params, policy)
    assert verdict.decision == expected, verdict.reason
    assert verdict.reason


SQL_CASES: list[tuple[str, SqlEffect]] = [
    ("SELECT * FROM t WHERE a = 1", "read"),
    ("  with x as (select 1) select * from x", "read"),
    ("SELECT 'drop table x; delete from t' AS s", "read"),
    ("/* DROP TABLE t */ SELECT 1 -- truncate", "read"),
    ('SELECT "drop" FROM t', "read"),
    ("INSERT INTO t VALUES (1)", "write"),
    ("UPDATE t SET a = 1 WHERE id = 2", "write"),
    ("delete from t where id = 3", "write"),
    ("WITH d AS (DELETE FROM t WHERE x RETURNING *) SELECT * FROM d", "write"),
    ("SELECT * INTO backup FROM t", "write"),
    ("CREATE TABLE t (a int)", "write"),
    ("SET search_path TO evil", "blocked"),  # session state: never (was a write)
    ("DROP TABLE users", "blocked"),
    ("DrOp TaBlE users", "blocked"),
    ("TRUNCATE t", "blocked"),
    ("DELETE FROM t", "blocked"),
    ("update t set a = 1", "blocked"),
    ("SELECT 1; DROP TABLE t", "blocked"),
    ("SELECT 1 /* x */; DeLeTe FROM t -- WHERE id = 1", "blocked"),
    ("ALTER TABLE t DROP COLUMN a", "blocked"),
    ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "blocked"),
]


@pytest.mark.parametrize(("sql", "expected"), SQL_CASES)
def test_sql_effect_table(sql: str, expected: SqlEffect) -> None:
    effect, reason = sql_effect(sql)
    assert effect == expected, reason


def test_legacy_ipv4_forms_match_inet_aton() -> None:
    assert str(legacy_ipv4("2852039166")) == "169.254.169.254"
    assert str(legacy_ipv4("127.1")) == "127.0.0.1"
    assert str(legacy_ipv4("10.1.65535")) == "10.1.255.255"
    assert legacy_ipv4("256.1.1.1") is None and legacy_ipv4("1.2.3.4.5") is None
    assert legacy_ipv4("example.com") is None and legacy_ipv4("1..2") is None
    assert str(parse_address("[::ffff:10.0.0.1]")) == "10.0.0.1"


def test_block_reasons_say_what_to_do() -> None:
    private = judge("http_request", get("http://10.0.0.5/"), Policy())
    assert "add it to the policy's allow_hosts" in private.reason
    absolute = judge("file_read", {"path": "/etc/passwd"}, Policy())
    assert "use a path relative to the workspace" in absolute.reason


def test_the_approval_hash_changes_with_any_argument() -> None:
    first = arguments_hash("http_request", {"url": "https://a", "method": "POST"})
    assert first == arguments_hash("http_request", {"method": "POST", "url": "https://a"})
    assert first != arguments_hash("http_request", {"url": "https://b", "method": "POST"})
