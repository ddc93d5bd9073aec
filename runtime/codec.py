"""Payload encryption: AES-GCM over every payload (prompts, plans, step outputs) so Temporal
history holds ciphertext only; the key comes from the environment, never from a run.

``AGENT_PAYLOAD_KEY`` is 32 random bytes, base64-encoded (make one with
``python -m durable_agents.runtime.codec_server --new-key``); ``AGENT_PAYLOAD_KEY_ID``
names it, so a payload written under another key fails with a message naming both, not
with garbage.

Failures are sealed too: with a codec, the failure converter moves each failure's message
and stack trace into an encoded attribute payload (the message left in history reads
"Encoded failure"), so an error text that quotes a file or a response body stays
ciphertext; clients with the key read the real message, the Web UI needs the codec server.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from durable_agents.runtime.settings import SettingsProblem

ENCODING = b"binary/encrypted"
KEY_ID_HEADER = "encryption-key-id"
NONCE_BYTES = 12


class PayloadKeyProblem(SettingsProblem):
    """The configured key is unusable, or a payload was encrypted under another key."""


def parse_key(encoded: str) -> bytes:
    """A base64 AES-256 key; anything else is refused with what to do."""
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PayloadKeyProblem("AGENT_PAYLOAD_KEY is not base64") from exc
    if len(key) != 32:
        raise PayloadKeyProblem(
            f"AGENT_PAYLOAD_KEY must be 32 bytes (base64 of 32 random bytes), got {len(key)}"
        )
    return key


class EncryptionCodec(PayloadCodec):
    """Encrypts whole serialized payloads; payloads it did not encrypt pass through."""

    def __init__(self, key: bytes, key_id: str = "default") -> None:
        self._aead = AESGCM(key)
        self.key_id = key_id

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)  # never reused: 96 random bits per payload
        sealed = self._aead.encrypt(nonce, payload.SerializeToString(), None)
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_HEADER: self.key_id.encode()},
            data=nonce + sealed,
        )

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID_HEADER, b"").decode()
        if key_id != self.key_id:
            raise PayloadKeyProblem(
                f"payload encrypted with key {key_id!r}, but this process has key "
                f"{self.key_id!r}; set AGENT_PAYLOAD_KEY/AGENT_PAYLOAD_KEY_ID to that key"
            )
        try:
            plain = self._aead.decrypt(payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], None)
        except InvalidTag as exc:
            raise PayloadKeyProblem(
                f"payload under key id {key_id!r} does not decrypt: wrong key or altered data"
            ) from exc
        return Payload.FromString(plain)


def codec_from_env(env: dict[str, str] | None = None) -> EncryptionCodec | None:
    """The codec AGENT_PAYLOAD_KEY asks for, or None (payloads stay plain)."""
    env = dict(os.environ) if env is None else env
    encoded = env.get("AGENT_PAYLOAD_KEY")
    if not encoded:
        return None
    return EncryptionCodec(parse_key(encoded), env.get("AGENT_PAYLOAD_KEY_ID") or "default")


def data_converter(codec: PayloadCodec | None = None) -> DataConverter:
    """The pydantic converter every client and worker uses, with ``codec`` if any (and
    then failure messages and stack traces encoded by it as well)."""
    if codec is None:
        return pydantic_data_converter
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def new_key() -> str:
    """A fresh random key, base64, for AGENT_PAYLOAD_KEY."""
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()
