"""WeCom callback crypto (WXBizMsgCrypt) and callback bodies, written from the protocol notes
(wecom.md sections 3, 4.3, 5 and 7.1), independently of botgate's C++ code.

- AESKey = base64_decode(EncodingAESKey + "="), 32 bytes; IV = AESKey[:16]; AES-256-CBC
- plaintext = random(16) || len(msg) as 4 bytes big-endian || msg || receiveid,
  padded with PKCS#7 to a multiple of 32 bytes (pad value 1..32)
- msg_signature = lower hex SHA-1 of the concatenation of sorted([token, timestamp, nonce, encrypt])
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
import struct
import time
import urllib.parse
from typing import Any, Optional

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32  # WeCom's PKCS#7 block size (not AES's 16)


def aes_key(encoding_aes_key: str) -> bytes:
    if len(encoding_aes_key) != 43:
        raise ValueError("EncodingAESKey must have 43 characters")
    key = base64.b64decode(encoding_aes_key + "=", validate=True)
    if len(key) != 32:
        raise ValueError("EncodingAESKey does not decode to 32 bytes")
    return key


def pad32(data: bytes) -> bytes:
    k = BLOCK - len(data) % BLOCK  # 1..32; a full block when already aligned
    return data + bytes([k]) * k


def unpad32(data: bytes) -> bytes:
    if not data:
        raise ValueError("empty plaintext")
    k = data[-1]
    if not 1 <= k <= BLOCK or k > len(data) or data[-k:] != bytes([k]) * k:
        raise ValueError("bad padding")
    return data[:-k]


def encrypt(encoding_aes_key: str, msg: bytes | str, receive_id: str = "",
            random_prefix: Optional[bytes] = None) -> str:
    """msg_encrypt (base64) for `msg`; `random_prefix` (16 bytes) only for fixed test vectors."""
    if isinstance(msg, str):
        msg = msg.encode("utf-8")
    prefix = os.urandom(16) if random_prefix is None else random_prefix
    assert len(prefix) == 16
    plain = prefix + struct.pack(">I", len(msg)) + msg + receive_id.encode("utf-8")
    key = aes_key(encoding_aes_key)
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    ct = enc.update(pad32(plain)) + enc.finalize()
    return base64.b64encode(ct).decode("ascii")


def encrypt_raw(encoding_aes_key: str, plain: bytes) -> str:
    """AES-256-CBC of `plain` exactly as given (padded to 32), for malformed-layout tests."""
    key = aes_key(encoding_aes_key)
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(pad32(plain)) + enc.finalize()).decode("ascii")


def decrypt_full(encoding_aes_key: str, msg_encrypt: str) -> tuple[bytes, bytes, bytes, int]:
    """(random prefix, msg, receiveid, pad length) of `msg_encrypt`; ValueError when invalid."""
    try:
        ct = base64.b64decode(msg_encrypt, validate=True)
    except binascii.Error as e:
        raise ValueError(f"bad base64: {e}") from e
    if not ct or len(ct) % 16:
        raise ValueError("bad ciphertext length")
    key = aes_key(encoding_aes_key)
    dec = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    padded = dec.update(ct) + dec.finalize()
    plain = unpad32(padded)
    if len(plain) < 20:
        raise ValueError("plaintext too short")
    (n,) = struct.unpack(">I", plain[16:20])
    if 20 + n > len(plain):
        raise ValueError("bad msg_len")
    return plain[:16], plain[20 : 20 + n], plain[20 + n :], padded[-1]


def decrypt(encoding_aes_key: str, msg_encrypt: str) -> tuple[bytes, str]:
    """(msg, receiveid)."""
    _, msg, rid, _ = decrypt_full(encoding_aes_key, msg_encrypt)
    return msg, rid.decode("utf-8")


def signature(token: str, timestamp: str, nonce: str, msg_encrypt: str) -> str:
    parts = sorted([token, timestamp, nonce, msg_encrypt])
    return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()


def new_nonce() -> str:
    return str(secrets.randbelow(9_000_000_000) + 1_000_000_000)


def signed_query(token: str, msg_encrypt: str, *, echostr: bool = False,
                 timestamp: Optional[str] = None, nonce: Optional[str] = None,
                 msg_signature: Optional[str] = None) -> str:
    """The callback URL's query string (URL-encoded): msg_signature, timestamp, nonce
    [, echostr]. `msg_signature` overrides the computed one (tampering tests)."""
    ts = timestamp if timestamp is not None else str(int(time.time()))
    nc = nonce if nonce is not None else new_nonce()
    sig = msg_signature if msg_signature is not None else signature(token, ts, nc, msg_encrypt)
    q = [("msg_signature", sig), ("timestamp", ts), ("nonce", nc)]
    if echostr:
        q.append(("echostr", msg_encrypt))
    return urllib.parse.urlencode(q, quote_via=urllib.parse.quote, safe="")


def cdata(s: str) -> str:
    # "]]>" cannot appear inside one CDATA section: split it across two.
    return "<![CDATA[" + s.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def envelope_xml(msg_encrypt: str, to_user: Optional[str] = None,
                 agent_id: Optional[str] = None) -> bytes:
    """The POST body WeCom sends: <xml><ToUserName/><AgentID/><Encrypt/></xml>."""
    parts = ["<xml>"]
    if to_user is not None:
        parts.append(f"<ToUserName>{cdata(to_user)}</ToUserName>")
    if agent_id is not None:
        parts.append(f"<AgentID>{cdata(agent_id)}</AgentID>")
    parts.append(f"<Encrypt>{cdata(msg_encrypt)}</Encrypt></xml>")
    return "".join(parts).encode("utf-8")


def new_msg_id() -> str:
    # Group-bot MsgIds look like base64 ("CAIQz7..."); app MsgIds are decimal.
    return "CAIQ" + base64.b64encode(os.urandom(15)).decode("ascii")


def group_message_xml(*, text: str, webhook_url: str, user_id: str = "zhangsan",
                      name: str = "张三", chat_id: str = "wrkSFfCgAALFgnrSsWU38puiv4yvExuw",
                      chat_type: str = "group", msg_id: Optional[str] = None) -> str:
    """The decrypted XML of a group-bot text callback (notes 3.2)."""
    return (
        "<xml>"
        f"<WebhookUrl>{cdata(webhook_url)}</WebhookUrl>"
        f"<ChatId>{cdata(chat_id)}</ChatId>"
        f"<ChatType>{chat_type}</ChatType>"
        "<GetChatInfoUrl><![CDATA[https://qyapi.weixin.qq.com/cgi-bin/webhook/get_chat_info"
        "?code=m49c5aRCdEP8_QQdZmTNR52yJ5TLGcIMzaLJk3x5KqY]]></GetChatInfoUrl>"
        f"<From><UserId>{user_id}</UserId><Name>{cdata(name)}</Name>"
        f"<Alias>{cdata(user_id)}</Alias></From>"
        "<MsgType>text</MsgType>"
        f"<Text><Content>{cdata(text)}</Content></Text>"
        f"<MsgId>{msg_id or new_msg_id()}</MsgId>"
        "</xml>"
    )


def app_message_xml(*, text: str, corp_id: str, agent_id: int, from_user: str = "lisi",
                    msg_id: Optional[str] = None, create_time: Optional[int] = None) -> str:
    """The decrypted XML of a self-built app's text callback (notes 4.3)."""
    mid = msg_id or str(secrets.randbelow(9 * 10**18) + 10**18)
    ct = create_time if create_time is not None else int(time.time())
    return (
        f"<xml><ToUserName>{cdata(corp_id)}</ToUserName>"
        f"<FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{ct}</CreateTime><MsgType>{cdata('text')}</MsgType>"
        f"<Content>{cdata(text)}</Content><MsgId>{mid}</MsgId>"
        f"<AgentID>{agent_id}</AgentID></xml>"
    )


def aibot_message(*, text: str, response_url: str, user_id: str = "wangwu",
                  chat_type: str = "group", chat_id: Optional[str] = "wrkAIbotChat0001",
                  msg_id: Optional[str] = None, aibot_id: str = "aib0tTEST") -> dict[str, Any]:
    """The decrypted JSON of an AI-bot text callback (notes 7.1)."""
    m: dict[str, Any] = {
        "msgid": msg_id or new_msg_id(),
        "aibotid": aibot_id,
        "chattype": chat_type,
        "from": {"userid": user_id},
        "response_url": response_url,
        "msgtype": "text",
        "text": {"content": text},
    }
    if chat_type == "group" and chat_id:
        m["chatid"] = chat_id
    return m


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
