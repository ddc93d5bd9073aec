"""The ``http_request`` action over one shared ``httpx.AsyncClient`` (injected)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from urllib.parse import urlsplit

import httpx
from pydantic import JsonValue
from temporalio import activity
from temporalio.exceptions import ApplicationError

from durable_agents.activities.errors import action_error, from_httpx, from_status
from durable_agents.activities.heartbeat import heartbeating
from durable_agents.activities.limits import parse_json
from durable_agents.activities.redaction import redact_url
from durable_agents.contracts import ActionContext, ActionResult
from durable_agents.contracts.actions import HttpRequestParams
from durable_agents.contracts.policy import Policy
from durable_agents.rules.egress import address_problem, parse_address, url_problem

MAX_REDIRECTS = 5
NON_IDEMPOTENT = frozenset({"POST", "PATCH"})
KEPT_HEADERS = ("content-type", "content-length", "location", "etag", "last-modified")


class HttpActions:
    """Holds the worker's HTTP client; its bound method is the registered activity."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    @activity.defn(name="http_request")
    async def http_request(self, context: ActionContext, params: HttpRequestParams) -> ActionResult:
        """Send the request; 408/429/5xx retry, other 4xx fail the step with the body."""
        await check_destination(params.url, context.policy)  # before httpx normalises it
        where = urlsplit(params.url)  # logged without user info or query: they may hold tokens
        port = f":{where.port}" if where.port else ""
        activity.logger.info(
            "%s %s://%s%s%s",
            params.method,
            where.scheme,
            where.hostname,
            port,
            where.path,
            extra={"step_id": context.step_id},
        )
        request = self._client.build_request(
            params.method,
            # merged by hand: httpx's params= would replace the URL's own query string
            httpx.URL(params.url).copy_merge_params(params.query) if params.query else params.url,
            headers=with_idempotency_key(params, context),
            json=params.json_body,
            content=params.text_body,
            timeout=params.timeout_seconds,
        )
        try:
            async with heartbeating():
                response = await self._send_checked(request, context.policy)
                try:
                    body = await _read_capped(response, params.max_response_bytes)
                finally:
                    await response.aclose()
        except httpx.HTTPError as exc:
            raise from_httpx(exc, params.url) from exc
        text = body.decode(response.encoding or "utf-8", errors="replace")
        if response.status_code >= 400:
            raise from_status("HTTP server", response.status_code, text, response.headers)
        parsed: JsonValue = text
        if "json" in response.headers.get("content-type", ""):
            try:
                parsed = parse_json(text, "the response body") if text else None
            except ApplicationError as exc:  # too deep or too large: fail the step
                if exc.type != "InvalidData":
                    raise
                parsed = text  # mislabelled body: keep the text rather than fail the step
        return ActionResult(
            output={
                "status": response.status_code,
                "headers": {k: response.headers[k] for k in KEPT_HEADERS if k in response.headers},
                "body": parsed,
            },
            attempt=activity.info().attempt,
        )

    async def _send_checked(self, request: httpx.Request, policy: Policy) -> httpx.Response:
        """Send, following redirects by hand so every hop passes the egress policy. The
        caller checked the URL as written; each request is checked again as httpx will
        send it, in case its parser reads the host differently."""
        for _ in range(MAX_REDIRECTS + 1):
            await check_destination(str(request.url), policy)
            response = await self._client.send(request, stream=True, follow_redirects=False)
            if response.next_request is None:
                return response
            await response.aclose()
            request = response.next_request
        raise action_error(
            f"more than {MAX_REDIRECTS} redirects from {redact_url(str(request.url))}",
            error_type="TooManyRedirects",
            retryable=False,
        )


def with_idempotency_key(params: HttpRequestParams, context: ActionContext) -> dict[str, str]:
    """Headers plus an Idempotency-Key for POST/PATCH: the same on every retry of this
    step's exact call, so a server can recognise a repeat; a different call gets another."""
    headers = dict(params.headers)
    if params.method in NON_IDEMPOTENT and not any(
        name.lower() == "idempotency-key" for name in headers
    ):
        call = json.dumps([context.run_id, context.step_id, params.model_dump(mode="json")])
        headers["Idempotency-Key"] = hashlib.sha256(call.encode()).hexdigest()[:32]
    return headers


async def check_destination(url: str, policy: Policy) -> None:
    """The egress policy on the final URL and on every address its host resolves to.

    IP literals are resolved too, so a spelling the resolver reads differently from
    ``parse_address`` is judged by what it really reaches. Known limit (DNS rebinding):
    httpx resolves the name again to connect, and a hostile DNS server with a zero TTL
    can answer differently then; pinning the checked address needs a custom httpcore
    network backend, which httpx does not expose.
    """
    problem = url_problem(url, policy.allow_hosts)
    parts = urlsplit(url)
    host = parts.hostname or ""
    if problem is None:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            found = await asyncio.get_running_loop().getaddrinfo(host, port)
        except (OSError, UnicodeError):
            found = []  # unresolvable: the request itself fails with a clear error
        for *_, sockaddr in found:
            address = parse_address(str(sockaddr[0]))
            if address is not None:
                problem = address_problem(address, host, policy.allow_hosts)
                if problem:
                    break
    if problem:
        raise action_error(
            f"blocked by the run's policy: {problem}",
            error_type="BlockedByPolicy",
            retryable=False,
        )


async def _read_capped(response: httpx.Response, limit: int) -> bytes:
    """Read at most ``limit`` bytes; a larger body is an error, never a silent cut."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise action_error(
                f"response from {redact_url(str(response.request.url))} exceeds {limit} bytes; "
                "raise max_response_bytes or request less data",
                error_type="ResponseTooLarge",
                retryable=False,
            )
        chunks.append(chunk)
    return b"".join(chunks)
