"""Redaction: the worker's own secrets and URL credentials never leave in error texts.

``Redactor`` replaces every known secret value (the worker's keys and passwords, see
``runtime.secrets``) with ``[redacted]``, and every URL's user info and query values (a
URL keeps its scheme, host, port and path). ``RedactingInterceptor`` applies it to every
activity failure before the failure is written to history: the message, the string
details and each chained cause; type, retryability and retry delay are kept.

A secret shorter than ``MIN_SECRET_CHARS`` is not scrubbed: short values ("admin",
"test") occur in ordinary text too often, and scrubbing them would garble it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from temporalio.exceptions import ApplicationError, FailureError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

REDACTED = "[redacted]"
MASK = "***"
MIN_SECRET_CHARS = 8
# scheme://, then anything up to whitespace, a quote or an angle bracket.
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s'\"<>`]+")


def redact_url(url: str) -> str:
    """``url`` without user info, each query value (and any fragment) replaced by ***."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    split = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    netloc, tail = rest[:split], rest[split:]
    host = netloc.rpartition("@")[2]
    tail, hash_, fragment = tail.partition("#")
    path, question, query = tail.partition("?")
    if question:
        pairs = (part.partition("=") for part in query.split("&"))
        query = "&".join(f"{name}={MASK}" if eq else MASK for name, eq, _ in pairs if name)
    return f"{scheme}://{host}{path}{question}{query}{hash_}{MASK if fragment else ''}"


def redact_urls(text: str) -> str:
    """``text`` with every URL in it passed through ``redact_url``."""
    return _URL.sub(lambda match: redact_url(match.group()), text)


class Redactor:
    """``redactor(text)``: known secrets become ``[redacted]``, URLs lose credentials."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = {s for s in secrets if len(s) >= MIN_SECRET_CHARS}
        values |= {quote(s, safe="") for s in values}  # as it appears inside a URL
        # Longest first, so a secret that contains another is replaced whole.
        ordered = sorted(values, key=len, reverse=True)
        self._secrets = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __call__(self, text: str) -> str:
        if self._secrets is not None:
            text = self._secrets.sub(REDACTED, text)
        return redact_urls(text) if "://" in text else text

    def value(self, value: Any) -> Any:
        """Strings inside lists, tuples and dicts redacted; other values as they are."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, list | tuple):
            return type(value)(self.value(item) for item in value)
        if isinstance(value, dict):
            return {key: self.value(item) for key, item in value.items()}
        return value

    def error(self, error: BaseException) -> BaseException:
        """``error`` with its message, details and causes redacted: a copy when anything
        changed, else ``error`` itself. Temporal's own errors (cancellation, timeouts) and
        BaseExceptions pass as they are; any other exception becomes the ApplicationError
        the SDK would have made of it (its message, its class name as type, retryable)."""
        cause = error.__cause__
        if cause is None and not error.__suppress_context__:
            cause = error.__context__
        clean_cause = self.error(cause) if cause is not None else None
        if isinstance(error, ApplicationError):
            message, details = self(error.message), self.value(list(error.details))
            if message == error.message and details == list(error.details) and clean_cause is cause:
                return error
            copy = ApplicationError(
                message,
                *details,
                type=error.type,
                non_retryable=error.non_retryable,
                next_retry_delay=error.next_retry_delay,
                category=error.category,
            )
        elif isinstance(error, FailureError) or not isinstance(error, Exception):
            return error
        else:
            message = self(str(error))
            if message == str(error) and clean_cause is cause:
                return error
            copy = ApplicationError(message, type=type(error).__name__)
        copy.__cause__ = clean_cause
        copy.__suppress_context__ = True
        return copy.with_traceback(error.__traceback__)


class RedactingInterceptor(Interceptor):
    """Worker interceptor: every activity failure leaves redacted (put it first, so it
    also sees the failures of the interceptors after it)."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Inbound(next, self.redactor)


class _Inbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, redactor: Redactor) -> None:
        super().__init__(next)
        self._redactor = redactor

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await self.next.execute_activity(input)
        except Exception as error:
            clean = self._redactor.error(error)
            if clean is error:
                raise
            raise clean from clean.__cause__
