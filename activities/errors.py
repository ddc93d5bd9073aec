"""One translator from provider/HTTP failures to Temporal's retry semantics.

Every activity failure leaves as an ``ApplicationError`` whose ``non_retryable`` flag is
decided here, on purpose:

- HTTP 408, 409, 429 and 5xx, connection errors and timeouts: retryable; a
  ``Retry-After`` header (seconds or HTTP date) becomes ``next_retry_delay``.
- Every other 4xx (400, 401, 403, 404, 422...): not retryable; the same request will fail
  the same way, so it goes back to the planner or the user instead.
- Bad input that validation catches (paths outside the workspace, unparseable data):
  not retryable, type named after the problem.

``details[0]`` carries ``{"attempt": n}`` so workflow code can record attempts of
failed steps; the original exception is chained as ``__cause__``.
"""

from __future__ import annotations

import errno
import functools
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, ParamSpec, TypeVar

import httpx
import openai
from temporalio import activity
from temporalio.exceptions import ApplicationError

from durable_agents.activities.redaction import redact_url, redact_urls

P = ParamSpec("P")
R = TypeVar("R")
RETRYABLE_STATUSES = frozenset({408, 409, 429})
MAX_RETRY_AFTER = timedelta(minutes=5)


def is_retryable_status(status: int) -> bool:
    """408/409/429 and every 5xx are worth retrying; other statuses are final."""
    return status in RETRYABLE_STATUSES or status >= 500


def parse_retry_after(value: str | None, now: datetime | None = None) -> timedelta | None:
    """``Retry-After`` as a delay (capped at 5 minutes), or None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        delay = timedelta(seconds=float(value))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        delay = when - (now or datetime.now(UTC))
    return max(timedelta(0), min(delay, MAX_RETRY_AFTER))


def action_error(
    message: str,
    *,
    error_type: str,
    retryable: bool,
    retry_after: timedelta | None = None,
) -> ApplicationError:
    """An ``ApplicationError`` with the current attempt in its details."""
    details: list[Any] = []
    if activity.in_activity():
        details.append({"attempt": activity.info().attempt})
    return ApplicationError(
        message,
        *details,
        type=error_type,
        non_retryable=not retryable,
        next_retry_delay=retry_after if retryable else None,
    )


def from_status(
    service: str, status: int, body: str, headers: Mapping[str, str] | None = None
) -> ApplicationError:
    """Translate an HTTP status from ``service`` (e.g. "LLM provider")."""
    hint = ""
    if status == 401:
        hint = " (check the API key)"
    elif status == 404 and service == "LLM provider":
        hint = " (check LLM_MODEL and OPENAI_BASE_URL)"
    retryable = is_retryable_status(status)
    retry_after = parse_retry_after(headers.get("retry-after")) if headers else None
    return action_error(
        f"{service} answered HTTP {status}{hint}: {body[:500]}",
        error_type=f"{'Llm' if service == 'LLM provider' else 'Http'}Status{status}",
        retryable=retryable,
        retry_after=retry_after,
    )


def from_openai(error: openai.APIError) -> ApplicationError:
    """Translate an ``openai`` client exception."""
    if isinstance(error, openai.APIStatusError):
        return from_status("LLM provider", error.status_code, error.message, error.response.headers)
    if isinstance(error, openai.APIConnectionError):  # includes APITimeoutError
        return action_error(
            f"cannot reach the LLM provider: {error}", error_type="LlmConnection", retryable=True
        )
    return action_error(
        f"unexpected answer from the LLM provider: {error}",
        error_type="LlmBadResponse",
        retryable=True,
    )


def from_httpx(error: httpx.HTTPError, url: str) -> ApplicationError:
    """Translate a transport-level ``httpx`` failure (no response received); the URL is
    named without user info or query values."""
    kind = "HttpTimeout" if isinstance(error, httpx.TimeoutException) else "HttpConnection"
    return action_error(
        f"request to {redact_url(url)} failed: {type(error).__name__}: {redact_urls(str(error))}",
        error_type=kind,
        retryable=True,
    )


# A path whose shape the file system refuses fails the same way on every attempt.
_FINAL_ERRNOS = frozenset(
    {
        errno.ENOTDIR,
        errno.EISDIR,
        errno.EEXIST,
        errno.ENAMETOOLONG,
        errno.ELOOP,
        errno.EINVAL,
        errno.EACCES,
        errno.EPERM,
        errno.EROFS,
    }
)


def from_os_error(error: OSError) -> ApplicationError:
    """A file system failure: final for a path it refuses (a file where a folder must
    be, a name too long, no permission), retryable for I/O trouble (EIO, a full disk)."""
    final = error.errno in _FINAL_ERRNOS
    return action_error(
        f"the file system refused it: {error.strerror or error} "
        f"({errno.errorcode.get(error.errno or 0, 'error')})",
        error_type="FileSystemRefused" if final else "FileSystemError",
        retryable=not final,
    )


def file_system_errors(
    fn: Callable[P, Awaitable[R]],
) -> Callable[P, Awaitable[R]]:
    """Wrap a file activity so an ``OSError`` leaves as a typed, deliberately (non-)
    retryable error instead of an untyped one Temporal would retry blindly."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except OSError as exc:
            raise from_os_error(exc) from exc

    return wrapper
