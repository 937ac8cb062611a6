"""Feishu/Lark event-callback crypto and bodies, written from the protocol notes
(feishu-lark.md sections 3.3, 3.4 and 5.1), independently of botgate's C++ code.

- encrypt: key = SHA-256(encrypt_key), random 16-byte IV, AES-256-CBC, PKCS#7,
  output base64(iv || ciphertext)
- sign: X-Lark-Signature = lower hex SHA-256(timestamp + nonce + encrypt_key + raw_body)
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import time
from typing import Any, Optional

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def _key(encrypt_key: str) -> bytes:
    return hashlib.sha256(encrypt_key.encode("utf-8")).digest()


def encrypt(encrypt_key: str, plaintext: bytes | str, iv: Optional[bytes] = None) -> str:
    if isinstance(plaintext, str):
        plaintext = plaintext.encode("utf-8")
    iv = os.urandom(16) if iv is None else iv
    assert len(iv) == 16
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    enc = Cipher(algorithms.AES(_key(encrypt_key)), modes.CBC(iv)).encryptor()
    ct = enc.update(padded) + enc.finalize()
    return base64.b64encode(iv + ct).decode("ascii")


def decrypt(encrypt_key: str, encrypted: str) -> bytes:
    buf = base64.b64decode(encrypted, validate=True)
    iv, ct = buf[:16], buf[16:]
    if len(iv) != 16 or not ct or len(ct) % 16:
        raise ValueError("bad ciphertext length")
    dec = Cipher(algorithms.AES(_key(encrypt_key)), modes.CBC(iv)).decryptor()
    padded = dec.update(ct) + dec.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def sign(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    h = hashlib.sha256()
    h.update(timestamp.encode("utf-8"))
    h.update(nonce.encode("utf-8"))
    h.update(encrypt_key.encode("utf-8"))
    h.update(body)
    return h.hexdigest()


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def wrap(payload: dict, encrypt_key: Optional[str]) -> bytes:
    """The raw callback body: the payload itself, or {"encrypt": ...} when a key is set."""
    if encrypt_key is None:
        return dumps(payload)
    return dumps({"encrypt": encrypt(encrypt_key, dumps(payload))})


def signed_headers(
    body: bytes, encrypt_key: Optional[str], timestamp: Optional[str] = None,
    nonce: Optional[str] = None,
) -> dict[str, str]:
    """The X-Lark-* headers for `body` (no signature header when there is no key)."""
    ts = timestamp if timestamp is not None else str(int(time.time()))
    nc = nonce if nonce is not None else secrets.token_hex(8)
    headers = {"X-Lark-Request-Timestamp": ts, "X-Lark-Request-Nonce": nc}
    if encrypt_key is not None:
        headers["X-Lark-Signature"] = sign(ts, nc, encrypt_key, body)
    return headers


def url_verification(challenge: str, token: str) -> dict:
    return {"challenge": challenge, "token": token, "type": "url_verification"}


def new_message_id() -> str:
    return "om_" + secrets.token_hex(16)


def new_event_id() -> str:
    return secrets.token_hex(16)


def message_event(
    *,
    text: str,
    token: str,
    app_id: str,
    chat_type: str = "p2p",
    sender_open_id: Optional[str] = None,
    sender_type: str = "user",
    message_id: Optional[str] = None,
    event_id: Optional[str] = None,
    chat_id: Optional[str] = None,
    mentions: Optional[list[dict]] = None,
) -> dict:
    """An im.message.receive_v1 event (schema 2.0) carrying a text message."""
    now_ms = str(int(time.time() * 1000))
    tenant = "2ca1d211f64f6438"
    message: dict[str, Any] = {
        "message_id": message_id or new_message_id(),
        "root_id": "",
        "parent_id": "",
        "create_time": now_ms,
        "update_time": now_ms,
        "chat_id": chat_id or ("oc_" + secrets.token_hex(16)),
        "chat_type": chat_type,
        "message_type": "text",
        "content": json.dumps({"text": text}, ensure_ascii=False),
        "user_agent": "Mozilla/5.0 (Macintosh) Lark/6.9.0",
    }
    if mentions:
        message["mentions"] = mentions
    return {
        "schema": "2.0",
        "header": {
            "event_id": event_id or new_event_id(),
            "event_type": "im.message.receive_v1",
            "create_time": now_ms,
            "token": token,
            "app_id": app_id,
            "tenant_key": tenant,
        },
        "event": {
            "sender": {
                "sender_id": {
                    "open_id": sender_open_id or ("ou_" + secrets.token_hex(16)),
                    "union_id": "on_" + secrets.token_hex(16),
                    "user_id": "e33ggbyz",
                },
                "sender_type": sender_type,
                "tenant_key": tenant,
            },
            "message": message,
        },
    }


def bot_mention(bot_open_id: str, key: str = "@_user_1", name: str = "botgate") -> dict:
    return {
        "key": key,
        "id": {"open_id": bot_open_id, "union_id": "on_" + secrets.token_hex(16), "user_id": ""},
        "name": name,
        "tenant_key": "2ca1d211f64f6438",
    }
