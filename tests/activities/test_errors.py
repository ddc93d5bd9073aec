from datetime import UTC, datetime, timedelta

import httpx
import openai
import pytest

from durable_agents.activities.errors import from_httpx, from_openai, from_status, parse_retry_after


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
def test_transient_statuses_retry(status: int) -> None:
    error = from_status("LLM provider", status, "busy")
    assert not error.non_retryable
    assert error.type == f"LlmStatus{status}"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_permanent_statuses_do_not_retry(status: int) -> None:
    error = from_status("HTTP server", status, "no")
    assert error.non_retryable
    assert error.next_retry_delay is None


def test_retry_after_seconds_and_dates() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("7") == timedelta(seconds=7)
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", now) == timedelta(seconds=30)
    assert parse_retry_after("99999") == timedelta(minutes=5)
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    error = from_status("LLM provider", 429, "slow down", {"retry-after": "3"})
    assert error.next_retry_delay == timedelta(seconds=3)


def test_openai_errors_are_translated() -> None:
    request = httpx.Request("POST", "http://llm/v1/chat/completions")
    unauthorized = openai.AuthenticationError(
        "bad key", response=httpx.Response(401, request=request), body=None
    )
    error = from_openai(unauthorized)
    assert error.non_retryable and "check the API key" in error.message
    assert not from_openai(openai.APIConnectionError(request=request)).non_retryable
    assert not from_openai(openai.APITimeoutError(request=request)).non_retryable


def test_transport_errors_retry() -> None:
    error = from_httpx(httpx.ConnectError("refused"), "http://x")
    assert not error.non_retryable and error.type == "HttpConnection"
    assert from_httpx(httpx.ReadTimeout("slow"), "http://x").type == "HttpTimeout"
