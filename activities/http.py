"""The ``http_request`` action over one shared ``httpx.AsyncClient`` (injected)."""

from __future__ import annotations

import json

import httpx
from pydantic import JsonValue
from temporalio import activity

from activities.errors import action_error, from_httpx, from_status
from contracts import ActionContext, ActionResult
from contracts.actions import HttpRequestParams

KEPT_HEADERS = ("content-type", "content-length", "location", "etag", "last-modified")


class HttpActions:
    """Holds the worker's HTTP client; its bound method is the registered activity."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    @activity.defn(name="http_request")
    async def http_request(self, context: ActionContext, params: HttpRequestParams) -> ActionResult:
        """Send the request; 408/429/5xx retry, other 4xx fail the step with the body."""
        url = httpx.URL(params.url)
        if url.scheme not in ("http", "https"):
            raise action_error(
                f"URL scheme {url.scheme!r} is not allowed; use http or https",
                error_type="InvalidUrl",
                retryable=False,
            )
        request = self._client.build_request(
            params.method,
            url,
            headers=params.headers,
            params=params.query,
            json=params.json_body,
            content=params.text_body,
            timeout=params.timeout_seconds,
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise from_httpx(exc, params.url) from exc
        try:
            body = await _read_capped(response, params.max_response_bytes)
        except httpx.HTTPError as exc:
            raise from_httpx(exc, params.url) from exc
        finally:
            await response.aclose()
        text = body.decode(response.encoding or "utf-8", errors="replace")
        if response.status_code >= 400:
            raise from_status("HTTP server", response.status_code, text, response.headers)
        parsed: JsonValue = text
        if "json" in response.headers.get("content-type", ""):
            try:
                parsed = json.loads(text) if text else None
            except json.JSONDecodeError:
                parsed = text  # mislabelled body: keep the text rather than fail the step
        return ActionResult(
            output={
                "status": response.status_code,
                "headers": {k: response.headers[k] for k in KEPT_HEADERS if k in response.headers},
                "body": parsed,
            },
            attempt=activity.info().attempt,
        )


async def _read_capped(response: httpx.Response, limit: int) -> bytes:
    """Read at most ``limit`` bytes; a larger body is an error, never a silent cut."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise action_error(
                f"response from {response.request.url} exceeds {limit} bytes; "
                "raise max_response_bytes or request less data",
                error_type="ResponseTooLarge",
                retryable=False,
            )
        chunks.append(chunk)
    return b"".join(chunks)
