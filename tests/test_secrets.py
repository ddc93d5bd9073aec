"""Secrets stay out of Temporal history and the worker's log: failure messages are sealed
by the payload codec, the worker's own secrets are scrubbed from errors and log lines, and
URLs lose their user info and query values."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from durable_agents.activities.redaction import REDACTED
from durable_agents.cli import outcome
from durable_agents.cli.report import fetch_report
from durable_agents.runtime.codec import EncryptionCodec, data_converter, new_key, parse_key
from tests.conftest import running_worker
from tests.fake_llm import FakeLlm
from tests.local_http import LocalHttp, Route
from tests.processes import spawn_worker
from tests.runtime.test_codec import _base64_strings
from tests.scripted_llm import Fault, ScriptedLlm
from tests.test_starter import clean_env
from tests.workflows.runs import plan, run_failure, start

MARKER = "SECRET-IN-BODY-4b7e"
KEY = "sk-echoed-key-9c21f0"
PASSWORD, TOKEN = "s3cretpw", "tok123"
LOCAL = {"allow_hosts": ["127.0.0.1"]}  # explicit: loopback is outside the default egress


def text_route(status: int, body: str) -> Route:
    return lambda handler, data: (status, {"Content-Type": "text/plain"}, body.encode())


def assert_absent(history_json: str, *secrets: str) -> None:
    """Not in the history's text, nor inside any base64 payload data."""
    decoded = _base64_strings(json.loads(history_json))
    for secret in secrets:
        assert secret not in history_json
        assert not any(secret.encode() in data for data in decoded), secret


async def keyed_client(temporal_env: WorkflowEnvironment, key: str) -> Client:
    target = temporal_env.client.service_client.config.target_host
    codec = EncryptionCodec(parse_key(key), "default")
    return await Client.connect(target, data_converter=data_converter(codec))


@asynccontextmanager
async def worker_process(env: dict[str, str]) -> AsyncIterator[list[str]]:
    """worker.py with ``env``; after the block, the list holds its stderr (the log)."""
    log: list[str] = []
    worker = await spawn_worker(env, stderr=asyncio.subprocess.PIPE)
    try:
        yield log
    finally:
        worker.terminate()
        _, raw = await worker.communicate()
        log.append(raw.decode())


async def test_failure_messages_are_ciphertext_in_history_and_readable_with_the_key(
    temporal_env: WorkflowEnvironment,
    task_queue: str,
    workspace: Path,
    fake_llm: FakeLlm,
    capsys: pytest.CaptureFixture[str],
) -> None:
    keyed = await keyed_client(temporal_env, new_key())
    api = LocalHttp({"/private": text_route(404, f"no such record {MARKER}")})
    fetch = plan({"id": "fetch", "action": "http_request", "params": {"url": api.url("/private")}})
    try:
        async with running_worker(keyed, task_queue, fake_llm):
            handle = await start(
                keyed, task_queue, workspace, plan=fetch, review=False, policy=LOCAL
            )
            with pytest.raises(WorkflowFailureError) as raised:
                await handle.result()
    finally:
        api.stop()

    history = await temporal_env.client.get_workflow_handle(handle.id).fetch_history()
    assert_absent(history.to_json(), MARKER)
    assert "Encoded failure" in history.to_json()
    summaries = [e.user_metadata.summary for e in history.events if e.user_metadata.summary.data]
    assert summaries and {s.metadata["encoding"] for s in summaries} == {b"binary/encrypted"}
    # With the key: the run's reason, the step's error, the activity failure and the
    # starter's output are all readable.
    cause = raised.value.cause
    assert isinstance(cause, ApplicationError) and MARKER in cause.message
    assert outcome.failed(raised.value) == 1 and MARKER in capsys.readouterr().err
    report = await fetch_report(keyed, handle.id)
    assert report.status == "failed" and [row.status for row in report.steps] == ["failed"]
    failed = [e for e in history.events if e.HasField("activity_task_failed_event_attributes")]
    error = await keyed.data_converter.decode_failure(
        failed[0].activity_task_failed_event_attributes.failure
    )
    assert isinstance(error, ApplicationError) and error.type == "HttpStatus404"
    assert MARKER in error.message and error.non_retryable


async def test_a_provider_echoing_the_key_leaves_it_in_neither_history_nor_log(
    client: Client, task_queue: str, workspace: Path, scripted_llm: ScriptedLlm, tmp_path: Path
) -> None:
    key_file = tmp_path / "openai-key"
    key_file.write_text(f"{KEY}\n")  # read through OPENAI_API_KEY_FILE, as in Docker
    echo = {"error": {"message": f"Incorrect API key provided: {KEY}.", "code": "invalid_api_key"}}
    scripted_llm.queue("plan", Fault(401, json.dumps(echo)))
    env = clean_env(
        TEMPORAL_ADDRESS=client.service_client.config.target_host,
        AGENT_TASK_QUEUE=task_queue,
        OPENAI_API_KEY_FILE=str(key_file),
        OPENAI_BASE_URL=scripted_llm.base_url,
    )
    async with worker_process(env) as log:
        handle = await start(client, task_queue, workspace)
        async with asyncio.timeout(60):
            failure = await run_failure(handle)

    assert failure.type == "LlmFailed" and "401" in failure.message
    assert f"Incorrect API key provided: {REDACTED}" in failure.message
    assert KEY not in log[0] and REDACTED in log[0]  # the failure was logged, scrubbed
    assert_absent((await handle.fetch_history()).to_json(), KEY)


async def test_url_credentials_and_query_values_stay_out_of_log_and_history(
    temporal_env: WorkflowEnvironment,
    task_queue: str,
    workspace: Path,
    scripted_llm: ScriptedLlm,
) -> None:
    key = new_key()
    keyed = await keyed_client(temporal_env, key)
    api = LocalHttp({"/x": text_route(200, "ok"), "/big": text_route(200, "x" * 500)})
    base = api.url("").replace("http://", f"http://user:{PASSWORD}@")
    steps = plan(
        {
            "id": "get",
            "action": "http_request",
            "params": {"url": f"{base}/x?token={TOKEN}", "query": {"page": "2"}},
        },
        {
            "id": "big",
            "action": "http_request",
            "params": {"url": f"{base}/big?token={TOKEN}", "max_response_bytes": 100},
            "depends_on": ["get"],
        },
    )
    env = clean_env(
        TEMPORAL_ADDRESS=keyed.service_client.config.target_host,
        AGENT_TASK_QUEUE=task_queue,
        OPENAI_BASE_URL=scripted_llm.base_url,
        AGENT_PAYLOAD_KEY=key,
        AGENT_LOG_FORMAT="json",
    )
    try:
        async with worker_process(env) as log:
            handle = await start(
                keyed, task_queue, workspace, plan=steps, review=False, policy=LOCAL
            )
            async with asyncio.timeout(60):
                failure = await run_failure(handle)
    finally:
        api.stop()

    assert ("GET", f"/x?token={TOKEN}&page=2") in api.hits  # the URL's query is sent
    assert "ResponseTooLarge" in failure.message
    assert "/big?token=***" in failure.message  # readable with the key, without secrets
    for secret in (PASSWORD, TOKEN):
        assert secret not in failure.message and secret not in log[0]
    assert "HTTP Request: GET http://127.0.0.1:" in log[0]  # httpx's line, redacted
    raw = await temporal_env.client.get_workflow_handle(handle.id).fetch_history()
    assert_absent(raw.to_json(), PASSWORD, TOKEN)
