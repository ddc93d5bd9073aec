"""Payload encryption: history holds ciphertext only; the codec server decrypts for people
with the token."""

from __future__ import annotations

import base64
import contextlib
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from durable_agents.runtime.codec import (
    EncryptionCodec,
    PayloadKeyProblem,
    codec_from_env,
    data_converter,
    new_key,
    parse_key,
)
from durable_agents.runtime.codec_server import CodecServer
from tests.conftest import running_worker
from tests.fake_llm import FakeLlm
from tests.workflows.runs import DEMO_PLAN, start

SECRET = "SECRET-7f3a9c"


def codec(key_id: str = "k1") -> EncryptionCodec:
    return EncryptionCodec(parse_key(new_key()), key_id)


async def test_a_run_with_encryption_leaves_no_plaintext_in_history(
    temporal_env: WorkflowEnvironment, task_queue: str, workspace: Path, fake_llm: FakeLlm
) -> None:
    target = temporal_env.client.service_client.config.target_host
    encrypted = await Client.connect(target, data_converter=data_converter(codec()))
    async with running_worker(encrypted, task_queue, fake_llm):
        handle = await start(
            encrypted, task_queue, workspace, goal=f"total revenue {SECRET}", plan=DEMO_PLAN
        )
        result = await handle.result()
    assert result.status == "succeeded" and "North" in json.dumps(result.steps[1].output)

    raw = await temporal_env.client.get_workflow_handle(handle.id).fetch_history()
    text = raw.to_json()
    assert SECRET not in text and "North" not in text  # goal and step outputs
    for encoded in _base64_strings(json.loads(text)):
        assert SECRET.encode() not in encoded and b"North" not in encoded
    assert "YmluYXJ5L2VuY3J5cHRlZA==" in text  # "binary/encrypted", base64 in the JSON


def _base64_strings(value: Any) -> list[bytes]:
    """Every string in the history JSON that decodes as base64 (payload data)."""
    found: list[bytes] = []
    if isinstance(value, dict):
        for item in value.values():
            found += _base64_strings(item)
    elif isinstance(value, list):
        for item in value:
            found += _base64_strings(item)
    elif isinstance(value, str):
        with contextlib.suppress(ValueError):
            found.append(base64.b64decode(value, validate=True))
    return found


async def test_the_wrong_key_fails_with_a_message_naming_both() -> None:
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'"hello"')
    [sealed] = await codec("k1").encode([plain])
    with pytest.raises(PayloadKeyProblem, match=r"encrypted with key 'k1'.*has key 'k2'"):
        await codec("k2").decode([sealed])
    with pytest.raises(PayloadKeyProblem, match="does not decrypt"):
        await codec("k1").decode([sealed])  # same id, different key
    with pytest.raises(PayloadKeyProblem, match="must be 32 bytes"):
        codec_from_env({"AGENT_PAYLOAD_KEY": base64.b64encode(b"short").decode()})
    assert codec_from_env({}) is None


def test_the_codec_server_decodes_for_token_holders_only() -> None:
    keyed = codec()
    sealed = keyed.encrypt(Payload(metadata={"encoding": b"json/plain"}, data=b'"hi"'))
    body = json.dumps(json_format.MessageToDict(Payloads(payloads=[sealed]))).encode()
    server = CodecServer(keyed, token="t0ken").start()
    try:

        def post(token: str | None) -> tuple[int, dict[str, Any], dict[str, str]]:
            request = urllib.request.Request(server.url + "/decode", data=body, method="POST")
            request.add_header("Content-Type", "application/json")
            request.add_header("Origin", "http://localhost:8233")
            if token:
                request.add_header("Authorization", f"Bearer {token}")
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return response.status, json.loads(response.read()), dict(response.headers)
            except urllib.error.HTTPError as error:
                return error.code, json.loads(error.read()), dict(error.headers)

        status, decoded, headers = post("t0ken")
        denied, _, _ = post(None)
    finally:
        server.stop()
    assert status == 200 and denied == 401
    payload = json_format.ParseDict(decoded, Payloads()).payloads[0]
    assert payload.data == b'"hi"' and payload.metadata["encoding"] == b"json/plain"
    assert headers["Access-Control-Allow-Origin"] == "http://localhost:8233"
