import ipaddress
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from durable_agents.activities.http import HttpActions
from durable_agents.contracts import ActionContext, Policy
from durable_agents.contracts.actions import HttpRequestParams
from tests.local_http import LocalHttp, json_route

LOOPBACK = Policy(allow_hosts=["127.0.0.1"])
CTX = ActionContext(run_id="r", step_id="s", workspace="/tmp", policy=LOOPBACK)


def echo(handler: object, body: bytes) -> tuple[int, dict[str, str], bytes]:
    return 201, {"Content-Type": "text/plain"}, b"got " + body


@pytest.fixture
def server() -> Iterator[LocalHttp]:
    local = LocalHttp(
        {
            "/items": json_route({"items": [1, 2]}),
            "/echo": echo,
            "/busy": lambda h, b: (429, {"Retry-After": "2"}, b"busy"),
            "/broken": lambda h, b: (500, {}, b"oops"),
            "/big": lambda h, b: (200, {}, b"x" * 5000),
            "/hop": lambda h, b: (302, {"Location": "/items"}, b""),
            "/to-metadata": lambda h, b: (302, {"Location": "http://169.254.169.254/x"}, b""),
            "/to-alibaba": lambda h, b: (302, {"Location": "http://100.100.100.200./x"}, b""),
            "/loop": lambda h, b: (302, {"Location": "/loop"}, b""),
        }
    )
    yield local
    local.stop()


@pytest.fixture
async def http() -> AsyncIterator[HttpActions]:
    async with httpx.AsyncClient() as client:
        yield HttpActions(client)


async def call(http: HttpActions, context: ActionContext = CTX, **params: object) -> object:
    return await ActivityEnvironment().run(
        http.http_request, context, HttpRequestParams.model_validate(params)
    )


async def test_json_get_with_query(server: LocalHttp, http: HttpActions) -> None:
    result = await call(http, url=server.url("/items"), query={"limit": "2"})
    assert result.output["body"] == {"items": [1, 2]}  # type: ignore[attr-defined]
    assert server.hits == [("GET", "/items?limit=2")]


async def test_post_text_body(server: LocalHttp, http: HttpActions) -> None:
    result = await call(http, method="POST", url=server.url("/echo"), text_body="hi")
    assert result.output == {  # type: ignore[attr-defined]
        "status": 201,
        "headers": {"content-type": "text/plain", "content-length": "6"},
        "body": "got hi",
    }


async def test_statuses_are_classified(server: LocalHttp, http: HttpActions) -> None:
    with pytest.raises(ApplicationError) as busy:
        await call(http, url=server.url("/busy"))
    assert not busy.value.non_retryable
    assert busy.value.next_retry_delay == timedelta(seconds=2)
    with pytest.raises(ApplicationError) as broken:
        await call(http, url=server.url("/broken"))
    assert not broken.value.non_retryable and broken.value.type == "HttpStatus500"
    with pytest.raises(ApplicationError) as missing:
        await call(http, url=server.url("/nowhere"))
    assert missing.value.non_retryable and "HTTP 404" in missing.value.message


async def test_limits_and_schemes(server: LocalHttp, http: HttpActions, tmp_path: Path) -> None:
    with pytest.raises(ApplicationError, match="exceeds 1000 bytes"):
        await call(http, url=server.url("/big"), max_response_bytes=1000)
    with pytest.raises(ApplicationError, match="scheme 'file' is not allowed") as scheme:
        await call(http, url=f"file://{tmp_path}")
    assert scheme.value.type == "BlockedByPolicy" and scheme.value.non_retryable
    with pytest.raises(ApplicationError) as refused:
        await call(http, url="http://127.0.0.1:9/")
    assert refused.value.type == "HttpConnection" and not refused.value.non_retryable


async def test_every_redirect_hop_passes_the_policy(server: LocalHttp, http: HttpActions) -> None:
    result = await call(http, url=server.url("/hop"))
    assert result.output["body"] == {"items": [1, 2]}  # type: ignore[attr-defined]
    with pytest.raises(ApplicationError, match=r"169\.254\.169\.254 is a link-local") as caught:
        await call(http, url=server.url("/to-metadata"))
    assert caught.value.type == "BlockedByPolicy" and caught.value.non_retryable
    with pytest.raises(ApplicationError, match=r"Alibaba Cloud metadata\); never allowed"):
        await call(http, url=server.url("/to-alibaba"))
    with pytest.raises(ApplicationError, match="more than 5 redirects"):
        await call(http, url=server.url("/loop"))


async def test_loopback_needs_allowing_even_by_ip(server: LocalHttp, http: HttpActions) -> None:
    plain = ActionContext(run_id="r", step_id="s", workspace="/tmp")
    hint = r'--allow-host 127\.0\.0\.1 on the starter, or allow_hosts = \["127\.0\.0\.1"\]'
    with pytest.raises(ApplicationError, match=f"is a loopback address .*{hint}") as caught:
        await call(http, plain, url=server.url("/items"))
    assert caught.value.type == "BlockedByPolicy"
    assert server.hits == []  # refused before anything was sent
    await call(http, url=server.url("/items"))  # CTX lists 127.0.0.1
    assert server.hits == [("GET", "/items")]


async def test_a_name_is_judged_by_the_addresses_it_resolves_to(http: HttpActions) -> None:
    name = socket.gethostname()  # resolves through /etc/hosts to this machine
    assert ipaddress.ip_address(socket.gethostbyname(name)).is_private, "needs a local name"
    plain = ActionContext(run_id="r", step_id="s", workspace="/tmp")
    blocked = f"{name} is a (loopback|private) address .*--allow-host {name} on the starter"
    with pytest.raises(ApplicationError, match=blocked):
        await call(http, plain, url=f"http://{name}:9/")


async def test_posts_carry_an_idempotency_key_stable_across_retries(
    http: HttpActions,
) -> None:
    keys: list[str | None] = []

    def record(handler: object, body: bytes) -> tuple[int, dict[str, str], bytes]:
        keys.append(handler.headers.get("Idempotency-Key"))  # type: ignore[attr-defined]
        return 200, {}, b"ok"

    server = LocalHttp({"/r": record})
    try:
        await call(http, method="POST", url=server.url("/r"), text_body="a")
        await call(http, method="POST", url=server.url("/r"), text_body="a")  # a retry
        await call(http, method="POST", url=server.url("/r"), text_body="b")  # another call
        await call(http, method="GET", url=server.url("/r"))
        own = {"Idempotency-Key": "mine"}
        await call(http, method="POST", url=server.url("/r"), text_body="a", headers=own)
    finally:
        server.stop()
    assert keys[0] is not None and len(keys[0]) == 32
    assert keys[1] == keys[0] and keys[2] not in (None, keys[0])
    assert keys[3] is None and keys[4] == "mine"
