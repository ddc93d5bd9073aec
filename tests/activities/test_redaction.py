"""Redaction helpers: URL credentials and query values, known secrets, activity errors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput

from durable_agents.activities.redaction import (
    REDACTED,
    RedactingInterceptor,
    Redactor,
    redact_url,
    redact_urls,
)

KEY = "sk-test-0123456789abcdef"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://user:s3cretpw@127.0.0.1:8080/x?token=tok123", "http://127.0.0.1:8080/x?token=***"),
        ("https://api.example.com/v1/items", "https://api.example.com/v1/items"),
        ("https://h/p?a=1&b=&c#frag", "https://h/p?a=***&b=***&***#***"),
        ("postgresql://app:p%40ss@db:5432/main", "postgresql://db:5432/main"),
        ("http://u:p@ss@h?x=1", "http://h?x=***"),  # the last @ ends the user info
        ("http://[::1]:9/x", "http://[::1]:9/x"),
        ("not a url", "not a url"),
    ],
)
def test_a_url_keeps_scheme_host_and_path_only(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_every_url_in_a_text_is_redacted_and_the_rest_kept() -> None:
    text = "request to 'http://u:pw@h/a?k=v' failed; see https://docs.example.com/errors."
    assert redact_urls(text) == (
        "request to 'http://h/a?k=***' failed; see https://docs.example.com/errors."
    )


def test_known_secrets_are_replaced_but_short_values_are_not() -> None:
    redact = Redactor([KEY, "admin", "p@ss word 42"])
    text = f"Incorrect API key provided: {KEY}; admin; p%40ss%20word%2042 / p@ss word 42"
    assert redact(text) == f"Incorrect API key provided: {REDACTED}; admin; {REDACTED} / {REDACTED}"
    assert Redactor()("nothing here") == "nothing here"


def test_a_secret_containing_another_is_replaced_whole() -> None:
    redact = Redactor(["abcdefgh", "abcdefgh-ijklmnop"])
    assert redact("x abcdefgh-ijklmnop y") == f"x {REDACTED} y"


def test_an_application_error_keeps_its_semantics_and_loses_the_secret() -> None:
    redact = Redactor([KEY])
    try:
        try:
            raise ValueError(f"provider said {KEY}")
        except ValueError as original:
            raise ApplicationError(
                f"LLM provider answered HTTP 401: {KEY}",
                {"attempt": 2, "body": [f"key={KEY}"]},
                type="LlmStatus401",
                non_retryable=True,
                next_retry_delay=timedelta(seconds=3),
            ) from original
    except ApplicationError as raised:
        error = raised
    clean = redact.error(error)

    assert isinstance(clean, ApplicationError) and clean is not error
    assert clean.message == f"LLM provider answered HTTP 401: {REDACTED}"
    assert clean.details == ({"attempt": 2, "body": [f"key={REDACTED}"]},)
    assert clean.type == "LlmStatus401" and clean.non_retryable
    assert clean.next_retry_delay == timedelta(seconds=3)
    assert clean.__traceback__ is not None
    cause = clean.__cause__
    assert isinstance(cause, ApplicationError) and cause.type == "ValueError"
    assert cause.message == f"provider said {REDACTED}" and not cause.non_retryable


def test_errors_without_secrets_and_temporal_errors_pass_unchanged() -> None:
    redact = Redactor([KEY])
    plain = ApplicationError("HTTP 404: not found", type="HttpStatus404")
    cancelled = CancelledError(f"cancelled {KEY}")
    assert redact.error(plain) is plain
    assert redact.error(cancelled) is cancelled
    other = RuntimeError(f"GET http://u:pw@h/?t={KEY}")
    clean = redact.error(other)
    assert isinstance(clean, ApplicationError) and clean.type == "RuntimeError"
    assert clean.message == "GET http://h/?t=***"


class _Failing(ActivityInboundInterceptor):
    def __init__(self, error: BaseException) -> None:
        self.error = error

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        raise self.error


async def test_the_interceptor_raises_the_redacted_error() -> None:
    interceptor = RedactingInterceptor(Redactor([KEY]))
    leaking = interceptor.intercept_activity(_Failing(ApplicationError(f"echo {KEY}", type="T")))
    with pytest.raises(ApplicationError) as raised:
        await leaking.execute_activity(None)  # type: ignore[arg-type]
    assert raised.value.message == f"echo {REDACTED}" and raised.value.type == "T"
    clean = ApplicationError("fine")
    passing = interceptor.intercept_activity(_Failing(clean))
    with pytest.raises(ApplicationError) as raised:
        await passing.execute_activity(None)  # type: ignore[arg-type]
    assert raised.value is clean
